#!/usr/bin/env bash
# Build the fuzz targets with libFuzzer's coverage instrumentation on stable
# Rust (the flags cargo-fuzz passes, without a sanitizer) and run each for
# RUNS inputs (default 10 million), starting from the committed seeds in
# fuzz/seeds/TARGET; what it finds goes to fuzz/corpus/TARGET (not committed).
#
#   scripts/fuzz.sh [RUNS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10000000}
shift || true
targets=("${@:-vrplib solomon solution npz config}")
read -r -a targets <<< "${targets[*]}"
triple=$(rustc -vV | sed -n 's/^host: //p')
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$HOME/.cache/lrm-fuzz-target}"
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
cargo build --release --locked --manifest-path fuzz/Cargo.toml --target "$triple" --bins
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t"
    "$CARGO_TARGET_DIR/$triple/release/$t" -runs="$runs" -max_len=65536 -rss_limit_mb=4096 -print_final_stats=1 "fuzz/corpus/$t" "fuzz/seeds/$t" 2>&1 | tail -12
done
