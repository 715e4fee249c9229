#!/usr/bin/env bash
# Two `mtvrp` checkpoints compared on fresh instances, without references:
# COUNT instances (default 128) per capacitated variant at 50 and 100
# customers, drawn by `lrm generate` with seeds no other set uses (9000 +
# variant index at 50 customers, 9100 + index at 100; uniform coordinates,
# RouteFinder's rules), solved by both with every start and x8, the same
# instances for both. Prints, per size, the mean of B's relative change in
# mean cost over the 16 variants (negative: B is better), its standard error
# across variants and the variants B wins; a variant where either leaves an
# instance infeasible is left out and named (mean costs over different
# solved instances do not compare).
#
# This is the tie-breaker when the valsets and the held-out sets disagree
# about two checkpoints (models/README.md): their 32 and 8 instances per
# variant cannot separate gaps 0.1 point apart, 2,048 instances per size
# can, since only a difference in cost is needed, not a gap to PyVRP.
#
# Each evaluation is cached under $LRM_COMPARE_CACHE (default
# ~/.cache/lrm/compare-weights), keyed by the binary, the card, its
# weights, the variant, the size, the seed and COUNT: comparing several
# stretches against the same shipped weights evaluates those once.
#
#   scripts/compare-weights.sh path/to/lrm A.toml B.toml [COUNT]
set -euo pipefail
lrm=${1:?usage: scripts/compare-weights.sh path/to/lrm A.toml B.toml [COUNT]}
first=${2:?a checkpoint card A.toml}
second=${3:?a checkpoint card B.toml}
count=${4:-128}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cache=${LRM_COMPARE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lrm/compare-weights}
mkdir -p "$cache"
binary_hash=$(sha256sum < "$lrm" | cut -c1-64)
# The card and the weights beside it (NAME.toml, NAME.safetensors).
card_hash() { cat "$1" "${1%.toml}.safetensors" | sha256sum | cut -c1-64; }
first_hash=$(card_hash "$first")
second_hash=$(card_hash "$second")
# One eval row of CARD (its hash CARD_HASH) on the instances of VARIANT,
# SIZE and SEED, from the cache when there; the instances are generated on
# the first miss, and an entry is written atomically so an interrupted run
# leaves no partial one.
eval_cached() {
    local card=$1 card_hash=$2 variant=$3 size=$4 seed=$5
    local entry="$cache/$(echo "$binary_hash $variant $size $seed $count $card_hash" | sha256sum | cut -c1-64).json"
    local data="$work/$variant-$size.npz"
    if [ ! -s "$entry" ]; then
        [ -f "$data" ] || "$lrm" generate --problem "$variant" --size "$size" --count "$count" --seed "$seed" --out "$data" -q
        "$lrm" eval --data "$data" --model "$card" --starts all --aug 8 --json --out "$work/eval.csv" -q > "$entry.$$"
        mv "$entry.$$" "$entry"
    fi
    cat "$entry"
}
variants=(CVRP OVRP VRPB VRPL VRPTW OVRPTW OVRPB OVRPL VRPBL VRPBTW VRPLTW OVRPBL OVRPBTW OVRPLTW VRPBLTW OVRPBLTW)
for index in "${!variants[@]}"; do
    for size in 50 100; do
        seed=$((9000 + index))
        [ "$size" = 100 ] && seed=$((9100 + index))
        eval_cached "$first" "$first_hash" "${variants[$index]}" "$size" "$seed"
        eval_cached "$second" "$second_hash" "${variants[$index]}" "$size" "$seed"
    done
done > "$work/results.jsonl"
python3 - "$work/results.jsonl" "$first" "$second" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
first, second = rows[0::2], rows[1::2]
for a, b in zip(first, second):
    assert (a["variant"], a["size"]) == (b["variant"], b["size"]), "eval rows out of order"
for size in (50, 100):
    change, left_out = [], []
    for a, b in (pair for pair in zip(first, second) if pair[0]["size"] == size):
        if a["instance_infeasible_percent"] or b["instance_infeasible_percent"]:
            # Mean costs over different solved instances do not compare.
            left_out.append(f"{a['variant']} (infeasible: A {a['instance_infeasible_percent']:.1f}%, "
                            f"B {b['instance_infeasible_percent']:.1f}%)")
            continue
        change.append(100 * (b["mean_cost"] / a["mean_cost"] - 1))
    if len(change) < 2:
        print(f"n = {size}: fewer than 2 variants without infeasible instances; left out {', '.join(left_out)}")
        continue
    print(f"n = {size}: B's mean cost {statistics.mean(change):+.3f}% against A "
          f"(standard error {statistics.stdev(change) / len(change) ** 0.5:.3f} across {len(change)} variants), "
          f"B lower in {sum(c < 0 for c in change)}"
          + (f"; left out {', '.join(left_out)}" if left_out else "; no instance infeasible"))
print(f"A = {sys.argv[2]}, B = {sys.argv[3]}, {first[0]['instances']} instances per variant and size")
PY
