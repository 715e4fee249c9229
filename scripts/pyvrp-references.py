"""PyVRP reference costs for a dataset, written as NAME_sol_pyvrp.npz.

    python3 scripts/pyvrp-references.py DATASET.npz OUT_sol_pyvrp.npz [SECONDS]

Needs PyVRP (`pip install pyvrp`, 0.14 or later), which lrm itself never uses.
Two kinds of dataset (FORMAT.md, "Datasets"):

- matrix datasets (road ATSP, ACVRP, ACVRPTW): both matrices given through
  PyVRP's API, the distance matrix for costs, the duration matrix (where the
  dataset has one) for arrivals, windows and the return to the depot, as
  FORMAT.md ("Durations") says;
- coordinate datasets of the 16 capacitated variants (`lrm generate --problem
  VRPBLTW --out X.npz`): Euclidean distances, unrounded, as the shared valsets;
  open routes return to the depot at no cost or time, and classic backhauls
  are kept behind the linehauls by a prohibitive arc from every backhaul to
  every linehaul customer (both as RouteFinder's PyVRP baseline).

`SECONDS` per instance (default 10, the RRNCO issue's protocol), seed 0.

PyVRP works in integers, so every quantity is scaled by `SCALE`: distances are
rounded to the nearest unit (they only steer the search) unless a distance
limit bounds them, while every bound is kept the safe way (travel, service,
window openings and, under a distance limit, distances rounded up; window
closings and the limit down), so a solution that keeps its bounds in integers
keeps them in the dataset's floats. The
stored cost is the solution's length on the float distances, and each
solution is checked against FORMAT.md's rules in floats before it is written.
PyVRP may warn that a load penalty reached its bound (scaled distances dwarf
the loads); the check above is what vouches for each solution.

The npz holds `costs [B]` (positive), `time [B]` (seconds) and `actions [B, L]`
(the giant tour: 0 before each route, 0-padded), as the shared valsets' files.
"""
import math
import sys
import time

import numpy as np
import pyvrp
from pyvrp.stop import MaxRuntime

SCALE = 100_000
# An arc PyVRP must never take (classic backhauls: a backhaul before a linehaul).
FORBIDDEN = 1 << 40


def flag(data, name, b):
    return name in data and bool(data[name][b].ravel()[0])


def instance(data, b):
    """Row `b` as a dict: float distances and durations, integer loads, the variant's flags."""
    if "distance_matrix" in data:
        dist = data["distance_matrix"][b].astype(np.float64)
    else:
        locs = data["locs"][b].astype(np.float64)
        dist = np.sqrt(((locs[:, None, :] - locs[None, :, :]) ** 2).sum(-1))
    row = {"dist": dist, "dur": None, "delivery": None, "pickup": None, "cap": None}
    if "duration_matrix" in data:
        row["dur"] = data["duration_matrix"][b].astype(np.float64)
    if "demand_linehaul" in data:
        cap = float(data["capacity_original"][b, 0])
        row["delivery"] = np.rint(data["demand_linehaul"][b].astype(np.float64) * cap).astype(np.int64)
        row["load"] = data["demand_linehaul"][b]
        if "demand_backhaul" in data:
            row["pickup"] = np.rint(data["demand_backhaul"][b].astype(np.float64) * cap).astype(np.int64)
        row["cap"] = int(round(cap))
    row["tw"] = data["time_windows"][b].astype(np.float64) if "time_windows" in data else None
    row["service"] = data["service_time"][b].astype(np.float64) if "service_time" in data else None
    row["limit"] = float(data["distance_limit"][b, 0]) if "distance_limit" in data else None
    row["open"] = flag(data, "open_route", b)
    if flag(data, "backhaul_class", b) and int(data["backhaul_class"][b].ravel()[0]) != 1:
        sys.exit("mixed backhauls (backhaul_class 2) are not supported here")
    row["classic"] = row["pickup"] is not None and bool((row["pickup"] > 0).any())
    return row


def model(row):
    dist, tw, n = row["dist"], row["tw"], row["dist"].shape[0]
    travel = row["dur"] if row["dur"] is not None else dist
    m = pyvrp.Model()
    locs = [m.add_location(0.0, 0.0) for _ in range(n)]
    # Vehicles leave at the depot's early time and, unless routes are open,
    # are back by its late time.
    shift = {} if tw is None else {"tw_early": math.ceil(tw[0, 0] * SCALE)}
    if tw is not None and not row["open"]:
        shift["tw_late"] = math.floor(tw[0, 1] * SCALE)
    depot = m.add_depot(locs[0], **shift)
    for j in range(1, n):
        kwargs = {}
        if row["delivery"] is not None:
            kwargs["delivery"] = [int(row["delivery"][j - 1])]
        if row["pickup"] is not None:
            kwargs["pickup"] = [int(row["pickup"][j - 1])]
        if tw is not None:
            kwargs["tw_early"] = math.ceil(tw[j, 0] * SCALE)
            kwargs["tw_late"] = math.floor(tw[j, 1] * SCALE)
        if row["service"] is not None:
            kwargs["service_duration"] = math.ceil(row["service"][j] * SCALE)
        m.add_client(locs[j], **kwargs)
    vehicles = {"start_depot": depot, "end_depot": depot, **shift}
    if row["limit"] is not None:
        vehicles["max_distance"] = math.floor(row["limit"] * SCALE)
    length = math.ceil if row["limit"] is not None else round
    if row["cap"] is None:
        m.add_vehicle_type(num_available=1, **vehicles)
    else:
        m.add_vehicle_type(num_available=n - 1, capacity=[row["cap"]], **vehicles)
    backhaul = set() if not row["classic"] else {j for j in range(1, n) if row["pickup"][j - 1] > 0}
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            if j == 0 and row["open"]:
                m.add_edge(locs[i], locs[j], 0, 0)
            elif i in backhaul and j != 0 and j not in backhaul:
                m.add_edge(locs[i], locs[j], FORBIDDEN, FORBIDDEN)
            else:
                m.add_edge(locs[i], locs[j], int(length(dist[i, j] * SCALE)), math.ceil(travel[i, j] * SCALE))
    return m


def check(routes, row):
    """FORMAT.md's rules in floats; returns the cost. The dataset's demands,
    divided by the capacity, are checked as floats too."""
    dist, tw, service, n = row["dist"], row["tw"], row["service"], row["dist"].shape[0]
    travel = row["dur"] if row["dur"] is not None else dist
    seen = sorted(c for r in routes for c in r)
    assert seen == list(range(1, n)), "every customer exactly once"
    cost = 0.0
    for r in routes:
        path = [0] + r + ([] if row["open"] else [0])
        length = sum(dist[a, b] for a, b in zip(path, path[1:]))
        cost += length
        if row["limit"] is not None:
            assert length <= row["limit"], "distance limit"
        if row["cap"] is not None:
            assert sum(row["delivery"][c - 1] for c in r) <= row["cap"], "capacity"
            assert sum(float(row["load"][c - 1]) for c in r) <= 1.0 + 1e-6, "capacity (dataset floats)"
        if row["pickup"] is not None:
            picked = [row["pickup"][c - 1] > 0 for c in r]
            assert sum(row["pickup"][c - 1] for c in r) <= row["cap"], "backhaul capacity"
            assert picked == sorted(picked), "a linehaul after a backhaul"
        if tw is not None:
            t = tw[0, 0]
            for a, b in zip(path, path[1:]):
                t += travel[a, b]
                if b == 0:
                    assert t <= tw[0, 1] + 1e-9, "late back at the depot"
                else:
                    t = max(t, tw[b, 0])
                    assert t <= tw[b, 1] + 1e-9, f"late at {b}"
                    t += service[b] if service is not None else 0.0
    return cost


def main():
    data = np.load(sys.argv[1])
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 10.0
    count = data["locs"].shape[0] if "locs" in data else data["distance_matrix"].shape[0]
    costs, times, tours = [], [], []
    for b in range(count):
        row = instance(data, b)
        start = time.time()
        result = model(row).solve(stop=MaxRuntime(seconds), seed=0, display=False)
        assert result.is_feasible(), f"instance {b}: PyVRP found no feasible solution"
        # A client activity's idx counts clients from 0; node 0 is the depot.
        routes = [[int(a.idx) + 1 for a in r if a.is_client()] for r in result.best.routes()]
        costs.append(check(routes, row))
        times.append(time.time() - start)
        tours.append([a for r in routes for a in [0] + r])
        print(f"{b}: {costs[-1]:.6f} ({len(routes)} routes, {times[-1]:.1f} s)", flush=True)
    width = max(map(len, tours)) + 1
    actions = np.zeros((count, width), dtype=np.int64)
    for k, tour in enumerate(tours):
        actions[k, : len(tour)] = tour
    np.savez(sys.argv[2], costs=np.array(costs), time=np.array(times), actions=actions)


if __name__ == "__main__":
    main()
