#!/usr/bin/env bash
# Validation sets for road networks (RRNCO; data/valsets/road): 32 instances
# each of ATSP, ACVRP and ACVRPTW with 100 customers, drawn uniformly (seed
# 902) from two synthetic cities that training never sees (`lrm city --seed
# 101`, `--seed 102`; training uses seeds from 1), with PyVRP's reference
# costs (both matrices given through its API, 10 s per instance:
# scripts/pyvrp-references.py) written as 100_sol_pyvrp.npz beside each
# dataset. PYTHON names an interpreter that has PyVRP (default python3).
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
    "${PYTHON:-python3}" "$root/scripts/pyvrp-references.py" "$dir/100.npz" "$dir/100_sol_pyvrp.npz" 10
done
