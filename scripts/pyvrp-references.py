"""PyVRP reference costs for a matrix dataset (road ATSP, ACVRP, ACVRPTW), as NAME_sol_pyvrp.npz.

    python3 scripts/pyvrp-references.py DATASET.npz OUT_sol_pyvrp.npz [SECONDS]

Needs PyVRP (`pip install pyvrp`, 0.14 or later), which lrm itself never uses.
Each instance is solved with both matrices given through PyVRP's API: the
distance matrix for costs, the duration matrix (where the dataset has one) for
arrivals, windows and the return to the depot, as FORMAT.md ("Durations") says;
`SECONDS` per instance (default 10, the RRNCO issue's protocol), seed 0.

PyVRP works in integers, so every quantity is scaled by `SCALE`: distances are
rounded to the nearest unit (they only steer the search), while every time is
rounded the safe way (travel, service and window openings up, window closings
down), so a tour that keeps its windows in integers keeps them in the dataset's
floats. The stored cost is the tour's length on the float32 distances, and each
tour is checked against FORMAT.md's rules in floats before it is written.
PyVRP may warn that a load penalty reached its bound (scaled distances dwarf
the loads); the check above is what vouches for each tour.

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


def instance(data, b):
    """The arrays of row `b`, with integer demands and the capacity (None for ATSP)."""
    dist = data["distance_matrix"][b].astype(np.float64)
    dur = data["duration_matrix"][b].astype(np.float64) if "duration_matrix" in data else None
    if "demand_linehaul" in data:
        cap = float(data["capacity_original"][b, 0])
        demand = np.rint(data["demand_linehaul"][b].astype(np.float64) * cap).astype(np.int64)
        cap = int(round(cap))
    else:
        demand, cap = None, None
    tw = data["time_windows"][b].astype(np.float64) if "time_windows" in data else None
    service = data["service_time"][b].astype(np.float64) if "service_time" in data else None
    return dist, dur, demand, cap, tw, service


def model(dist, dur, demand, cap, tw, service):
    n = dist.shape[0]
    m = pyvrp.Model()
    locs = [m.add_location(0.0, 0.0) for _ in range(n)]
    # Vehicles leave at the depot's early time and are back by its late time.
    shift = {} if tw is None else {"tw_early": math.ceil(tw[0, 0] * SCALE), "tw_late": math.floor(tw[0, 1] * SCALE)}
    depot = m.add_depot(locs[0], **shift)
    for j in range(1, n):
        kwargs = {}
        if demand is not None:
            kwargs["delivery"] = [int(demand[j - 1])]
        if tw is not None:
            kwargs["tw_early"] = math.ceil(tw[j, 0] * SCALE)
            kwargs["tw_late"] = math.floor(tw[j, 1] * SCALE)
        if service is not None:
            kwargs["service_duration"] = math.ceil(service[j] * SCALE)
        m.add_client(locs[j], **kwargs)
    if cap is None:
        m.add_vehicle_type(num_available=1, start_depot=depot, end_depot=depot)
    else:
        m.add_vehicle_type(num_available=n - 1, capacity=[cap], start_depot=depot, end_depot=depot, **shift)
    travel = dur if dur is not None else dist
    for i in range(n):
        for j in range(n):
            if i != j:
                m.add_edge(locs[i], locs[j], int(round(dist[i, j] * SCALE)), math.ceil(travel[i, j] * SCALE))
    return m


def check(routes, dist, dur, demand, cap, tw, service, load=None):
    """FORMAT.md's rules in floats; returns the cost (closed routes only: these sets have none open).
    `load` holds the dataset's demands divided by the capacity, checked as floats."""
    n = dist.shape[0]
    seen = sorted(c for r in routes for c in r)
    assert seen == list(range(1, n)), "every customer exactly once"
    travel = dur if dur is not None else dist
    cost = 0.0
    for r in routes:
        path = [0] + r + [0]
        cost += sum(dist[a, b] for a, b in zip(path, path[1:]))
        if cap is not None:
            assert sum(demand[c - 1] for c in r) <= cap, "capacity"
        if load is not None:
            assert sum(float(load[c - 1]) for c in r) <= 1.0 + 1e-6, "capacity (dataset floats)"
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
    count = data["distance_matrix"].shape[0]
    costs, times, tours = [], [], []
    for b in range(count):
        arrays = instance(data, b)
        start = time.time()
        result = model(*arrays).solve(stop=MaxRuntime(seconds), seed=0, display=False)
        assert result.is_feasible(), f"instance {b}: PyVRP found no feasible solution"
        # A client activity's idx counts clients from 0; node 0 is the depot.
        routes = [[int(a.idx) + 1 for a in r if a.is_client()] for r in result.best.routes()]
        load = data["demand_linehaul"][b] if "demand_linehaul" in data else None
        costs.append(check(routes, *arrays, load=load))
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
