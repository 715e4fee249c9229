#!/usr/bin/env bash
# Validation sets for the explicit-matrix model (data/valsets/atsp, acvrp):
# 32 generated instances per size (asymmetric matrices closed under the
# triangle inequality, seed 901), with reference costs from lrm's own search
# (5,000 ruin-and-recreate iterations, no neural share), written as
# NAME_sol_lrm.npz beside each dataset (costs, and the solutions as actions).
#
#   scripts/matrix-valsets.sh path/to/lrm
set -euo pipefail
lrm=${1:?usage: scripts/matrix-valsets.sh path/to/lrm}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for problem in ATSP ACVRP; do
    dir="$root/data/valsets/${problem,,}"
    mkdir -p "$dir"
    for size in 20 50; do
        "$lrm" generate --problem "$problem" --size "$size" --count 32 --seed 901 --out "$dir/$size.npz"
        "$lrm" generate --problem "$problem" --size "$size" --count 32 --seed 901 --out "$work/$problem$size"
        "$lrm" solve "$work/$problem$size"/*.vrp --iterations 5000 --neural-share 0 --json -q \
            --out "$work/$problem$size-sol" > "$work/$problem$size.jsonl"
        python3 "$root/scripts/lrm-references.py" "$work/$problem$size.jsonl" "$dir/${size}_sol_lrm.npz" 32
    done
done
