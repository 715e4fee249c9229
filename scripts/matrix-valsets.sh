#!/usr/bin/env bash
# Validation sets for the explicit-matrix model (data/valsets/atsp, acvrp):
# 32 generated instances per size (asymmetric matrices closed under the
# triangle inequality, seed 901), with PyVRP's reference costs (2 s per
# instance at 20 customers, 5 s at 50, as the shared valsets:
# scripts/pyvrp-references.py) written as NAME_sol_pyvrp.npz beside each
# dataset (costs, and the solutions as actions). PYTHON names an interpreter
# that has PyVRP (default python3).
#
#   scripts/matrix-valsets.sh path/to/lrm
set -euo pipefail
lrm=${1:?usage: scripts/matrix-valsets.sh path/to/lrm}
root=$(cd "$(dirname "$0")/.." && pwd)
for problem in ATSP ACVRP; do
    dir="$root/data/valsets/${problem,,}"
    mkdir -p "$dir"
    for size in 20 50; do
        seconds=2
        [ "$size" = 50 ] && seconds=5
        "$lrm" generate --problem "$problem" --size "$size" --count 32 --seed 901 --out "$dir/$size.npz"
        "${PYTHON:-python3}" "$root/scripts/pyvrp-references.py" "$dir/$size.npz" "$dir/${size}_sol_pyvrp.npz" "$seconds"
    done
done
