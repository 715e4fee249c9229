#!/usr/bin/env bash
# Validation sets for the explicit-matrix model (data/valsets/atsp, acvrp):
# 32 generated instances per size (asymmetric matrices closed under the
# triangle inequality, seed 901), with PyVRP's reference costs (2 s per
# instance at 20 customers, 5 s at 50, 10 s at 100, as the shared valsets:
# scripts/pyvrp-references.py) written as NAME_sol_pyvrp.npz beside each
# dataset (costs, and the solutions as actions). The model trains at 20 and
# 50; the sets at 100 measure it out of its training sizes. PYTHON names an
# interpreter that has PyVRP (default python3). Give sizes to make only
# those (PyVRP's time limit makes a remade reference differ slightly).
#
#   scripts/matrix-valsets.sh path/to/lrm [SIZE...]
set -euo pipefail
lrm=${1:?usage: scripts/matrix-valsets.sh path/to/lrm [SIZE...]}
shift
[ $# -gt 0 ] && sizes=("$@") || sizes=(20 50 100)
root=$(cd "$(dirname "$0")/.." && pwd)
for problem in ATSP ACVRP; do
    dir="$root/data/valsets/${problem,,}"
    mkdir -p "$dir"
    for size in "${sizes[@]}"; do
        case "$size" in
            20) seconds=2 ;;
            50) seconds=5 ;;
            *) seconds=10 ;;
        esac
        "$lrm" generate --problem "$problem" --size "$size" --count 32 --seed 901 --out "$dir/$size.npz"
        "${PYTHON:-python3}" "$root/scripts/pyvrp-references.py" "$dir/$size.npz" "$dir/${size}_sol_pyvrp.npz" "$seconds"
    done
done
