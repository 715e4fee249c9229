"""Reference costs from `lrm solve --json` output, as NAME_sol_lrm.npz.

    python3 scripts/lrm-references.py SOLVE.jsonl OUT_sol_lrm.npz COUNT

Rows are sorted by instance name (the order `lrm generate` writes a
dataset in); every reference must be feasible. The npz holds `costs` and the
solutions as `actions` (the giant tour, depot before each route, 0-padded).
"""
import json
import sys

import numpy as np

rows = [json.loads(line) for line in open(sys.argv[1])]
rows.sort(key=lambda r: r["instance"])
count = int(sys.argv[3])
assert len(rows) == count and all(r["feasible"] for r in rows), "every reference must be feasible"
tours = []
for r in rows:
    routes = [line.split(":")[1].split() for line in open(r["solution"]) if line.startswith("Route")]
    tours.append([a for route in routes for a in [0] + [int(c) for c in route]])
width = max(map(len, tours)) + 1
actions = np.zeros((len(tours), width), dtype=np.int64)
for k, tour in enumerate(tours):
    actions[k, : len(tour)] = tour
np.savez(sys.argv[2], costs=np.array([r["cost"] for r in rows], dtype=np.float64), actions=actions)
