#!/usr/bin/env bash
# Issue 14's comparison on road networks: RRNet against coordinate-only POMO
# and RADAR (explicit matrix: SVD features, Sinkhorn attention; without the
# mixed scores the radar preset has had since, as the published run), trained for
# the same wall time on the same synthetic cities and batches
# (configs/rrnco-cpu.toml with only the preset changed; all three at 64 x 3),
# then evaluated on the road validation sets (ATSP, ACVRP, ACVRPTW at 100
# customers; gaps to PyVRP) with every customer a start, and x8 where the
# model allows it (RRNet, which reads the coordinates beside the matrices).
# The three runs go side by side, so that each gets the same share of the
# machine whatever else runs on it.
#
#   scripts/road-equal-time.sh path/to/lrm SECONDS [OUT_DIR]
set -euo pipefail
lrm=${1:?usage: scripts/road-equal-time.sh path/to/lrm SECONDS [OUT_DIR]}
seconds=${2:?usage: scripts/road-equal-time.sh path/to/lrm SECONDS [OUT_DIR]}
root=$(cd "$(dirname "$0")/.." && pwd)
out=${3:-$root/runs/road-equal-time}
mkdir -p "$out"
for preset in rrnco pomo radar; do
    sed -e "s/^preset = \"rrnco\"/preset = \"$preset\"/" -e "s/^validate_every = .*/validate_every = 0/" \
        -e "s|\"\.\./data/|\"$root/data/|" "$root/configs/rrnco-cpu.toml" > "$out/$preset.toml"
    if [ "$preset" != rrnco ]; then
        # RRNet's own fields are not the others'; keep the shared width and depth.
        sed -i -e '/^d_ff = /s/.*/d_ff = 256\nn_heads = 4/' "$out/$preset.toml"
    fi
    if [ "$preset" = radar ]; then
        sed -i -e '/^d_ff = /s/$/\nmixed_score = false/' "$out/$preset.toml"
    fi
    rm -rf "${out:?}/$preset"
    # --foreground: the Ctrl-C goes to lrm alone; without it timeout also signals its
    # process group, which lrm hears as a second Ctrl-C and stops at once, without a checkpoint.
    timeout --foreground -s INT "$seconds" nice -n 19 "$lrm" train --config "$out/$preset.toml" --out "$out/$preset" > "$out/$preset.log" 2>&1 &
done
wait || true
for preset in rrnco pomo radar; do
    for set in atsp acvrp acvrptw; do
        data="$root/data/valsets/road/$set/100.npz"
        augs=1
        [ "$preset" = rrnco ] && augs="1 8"
        for aug in $augs; do
            printf '%s %s x%s steps=%s ' "$preset" "$set" "$aug" "$(tail -n 1 "$out/$preset/metrics.csv" | cut -d, -f1)"
            "$lrm" eval --data "$data" --ref "$root/data/valsets/road/$set/100_sol_pyvrp.npz" --model "$out/$preset/latest.toml" --starts all --aug "$aug" 2>/dev/null | tail -n 1
        done
    done
done | tee "$out/results.txt"
