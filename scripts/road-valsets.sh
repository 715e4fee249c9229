#!/usr/bin/env bash
# Validation sets for road networks (RRNCO; data/valsets/road): 32 instances
# each of ATSP, ACVRP and ACVRPTW with 100 customers, drawn uniformly (seed
# 902) from two synthetic cities that training never sees (`lrm city --seed
# 101`, `--seed 102`; training uses seeds from 1), with reference costs from
# lrm's own search (5,000 ruin-and-recreate iterations, no neural share),
# written as 100_sol_lrm.npz beside each dataset. PyVRP is not available on
# the machines this runs on; its references would replace these.
#
#   scripts/road-valsets.sh path/to/lrm
set -euo pipefail
lrm=${1:?usage: scripts/road-valsets.sh path/to/lrm}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$lrm" city --seed 101 --out "$work/cities/c101.npz"
"$lrm" city --seed 102 --out "$work/cities/c102.npz"
for pair in ATSP:atsp CVRP:acvrp VRPTW:acvrptw; do
    problem=${pair%%:*}
    dir="$root/data/valsets/road/${pair#*:}"
    mkdir -p "$dir"
    "$lrm" generate --city "$work/cities" --problem "$problem" --size 100 --count 32 --seed 902 --out "$dir/100.npz"
    "$lrm" generate --city "$work/cities" --problem "$problem" --size 100 --count 32 --seed 902 --out "$work/$problem"
    "$lrm" solve "$work/$problem"/*.vrp --iterations 5000 --neural-share 0 --json -q --out "$work/$problem-sol" > "$work/$problem.jsonl"
    python3 "$root/scripts/lrm-references.py" "$work/$problem.jsonl" "$dir/100_sol_lrm.npz" 32
done
