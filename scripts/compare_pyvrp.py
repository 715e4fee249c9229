#!/usr/bin/env python3
"""Side-by-side `lrm solve --time-limit T` and PyVRP at the same time limit.

Usage: python3 scripts/compare_pyvrp.py [--time-limit 10] [--lrm PATH] FILE...

Needs `pip install pyvrp==0.14.1`. Each file's best-known cost comes from the
bks.csv beside it. Prints one row per file (gap of each solver and the time
each first reached a 5% gap) and the mean gaps, as a Markdown table. Solomon
files use the DIMACS convention of their best-known costs (distances
truncated to one decimal) for both solvers; CVRPLIB and TSPLIB files round to
the nearest integer.
"""
import argparse
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path


def bks_of(path):
    table = path.parent / "bks.csv"
    with open(table) as f:
        for row in csv.DictReader(f):
            if row["file"] == path.name:
                return float(row["bks"])
    return None


def family(path):
    return path.parent.name


def run_lrm(lrm, path, limit):
    args = [lrm, "solve", str(path), "--time-limit", str(limit), "--json", "--out", "/tmp/compare-lrm.sol", "-q"]
    if family(path) == "vrptw":
        args += ["--round", "trunc1"]
    out = subprocess.run(args, capture_output=True, text=True, check=False)
    line = json.loads(out.stdout.strip().splitlines()[-1])
    trace = [(p["seconds"], p["cost"]) for p in line["trace"]]
    return line["cost"] if line["feasible"] else None, trace


def run_pyvrp(path, limit):
    import pyvrp
    from pyvrp.stop import MaxRuntime

    round_func = "dimacs" if family(path) == "vrptw" else "round"
    if family(path) == "vrptw":
        # The vrplib package reads EXACT_2D as round(1000 d) (FORMAT.md); as
        # EUC_2D it reads unrounded distances, which "dimacs" then scales by
        # 10 and truncates, like the windows and service times.
        text = path.read_text().replace("EDGE_WEIGHT_TYPE : EXACT_2D", "EDGE_WEIGHT_TYPE : EUC_2D")
        path = Path(tempfile.mkdtemp()) / path.name
        path.write_text(text)
    data = pyvrp.read(str(path), round_func=round_func)
    res = pyvrp.solve(data, stop=MaxRuntime(limit), seed=1, collect_stats=True, display=False)
    scale = 10.0 if round_func == "dimacs" else 1.0
    cost = res.cost() / scale if res.is_feasible() else None
    trace = []
    elapsed = 0.0
    for runtime, datum in zip(res.stats.runtimes, res.stats.data):
        elapsed += runtime
        if datum.best_feas:
            trace.append((elapsed, datum.best_cost / scale))
    return cost, trace


def time_to(trace, target):
    return next((t for t, c in trace if c <= target), None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--lrm", default="lrm")
    ap.add_argument("--no-pyvrp", action="store_true")
    a = ap.parse_args()
    print("| file | BKS | lrm | gap | 5% at (s) | PyVRP | gap | 5% at (s) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    gaps = {"lrm": [], "pyvrp": []}
    for path in a.files:
        bks = bks_of(path)
        row = [path.name, f"{bks:g}"]
        solvers = [("lrm", lambda: run_lrm(a.lrm, path, a.time_limit))]
        if not a.no_pyvrp:
            solvers.append(("pyvrp", lambda: run_pyvrp(path, a.time_limit)))
        for name, solve in solvers:
            try:
                cost, trace = solve()
            except Exception as e:  # a solver that cannot read the file
                print(f"{path.name}: {name}: {e}", file=sys.stderr)
                cost, trace = None, []
            if cost is None:
                row += ["infeasible", "-", "-"]
                continue
            gap = 100.0 * (cost - bks) / bks
            gaps[name].append(gap)
            reach = time_to(trace, 1.05 * bks)
            row += [f"{cost:g}", f"{gap:.2f}%", "-" if reach is None else f"{reach:.2f}"]
        print("| " + " | ".join(row) + " |", flush=True)
    for name, g in gaps.items():
        if g:
            print(f"mean gap {name}: {sum(g) / len(g):.2f}% over {len(g)} files")


if __name__ == "__main__":
    main()
