#!/usr/bin/env bash
# Held-out sets for the 16 capacitated variants (data/heldout/VARIANT/N.npz,
# N = 50 and 100): 8 instances each, drawn by `lrm generate` with seeds no
# validation set uses (7000 + variant index at 50 customers, 7100 + index at
# 100; uniform coordinates, RouteFinder's rules), with PyVRP's reference
# costs beside each (2 s per instance at 50 customers, 5 s at 100, as the
# shared valsets: scripts/pyvrp-references.py). No run selects checkpoints
# on them: they say whether a gap measured on the public valsets holds on
# instances nobody looked at. PYTHON names an interpreter that has PyVRP
# (default python3).
#
#   scripts/heldout-sets.sh path/to/lrm
set -euo pipefail
lrm=${1:?usage: scripts/heldout-sets.sh path/to/lrm}
root=$(cd "$(dirname "$0")/.." && pwd)
variants=(CVRP OVRP VRPB VRPL VRPTW OVRPTW OVRPB OVRPL VRPBL VRPBTW VRPLTW OVRPBL OVRPBTW OVRPLTW VRPBLTW OVRPBLTW)
for index in "${!variants[@]}"; do
    variant=${variants[$index]}
    dir="$root/data/heldout/${variant,,}"
    mkdir -p "$dir"
    for size in 50 100; do
        seconds=2 seed=$((7000 + index))
        [ "$size" = 100 ] && seconds=5 seed=$((7100 + index))
        "$lrm" generate --problem "$variant" --size "$size" --count 8 --seed "$seed" --out "$dir/$size.npz"
        "${PYTHON:-python3}" "$root/scripts/pyvrp-references.py" "$dir/$size.npz" "$dir/${size}_sol_pyvrp.npz" "$seconds"
    done
done
