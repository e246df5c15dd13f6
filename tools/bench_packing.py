"""Run the planners on the benchmark families and print one table row per instance.

Families: ../shared/benchmarks/dsa/ (minimise; published reference numbers), ../shared/
benchmarks/dsa-hard/ (planted perfect packings: capacity = the "optimum" in each file) and,
with --minimalloc-csv DIR, MiniMalloc's published CSV instances (NAME.CAPACITY.csv, read at
run time, never committed). Minimising planners print the arena (* = proved optimal); the
decision column runs `auto` with the capacity and prints fits/no (why: impossible or time).
Each (instance, planner) runs in a child process, so its peak RSS is measured alone (it
includes the Python and numpy baseline, ~60 MB). With --minimalloc-bin, MiniMalloc's own
solver runs side by side on the CSV instances (same capacity, same time limit).

    .venv/bin/python tools/bench_packing.py [--families dsa dsa-hard minimalloc]
        [--minimalloc-csv DIR] [--minimalloc-bin PATH] [--time-limit S] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared/benchmarks"
MINIMISERS = ["greedy-size", "search", "auto"]
DECISION = "auto --capacity"


def child(path: str, planner: str, time_limit: float, seed: int, capacity: int | None) -> None:
    """Plan one instance and print one JSON line (run in a fresh process)."""
    sys.path.insert(0, str(REPO))
    from crewrite.packing import load_instance, plan

    problem = load_instance(path)
    started = time.monotonic()
    result = plan(problem, planner, time_limit=time_limit, seed=seed, capacity=capacity)
    wall = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "buffers": len(problem.buffers),
                "arena": result.arena_bytes,
                "bound": result.lower_bound_bytes,
                "optimal": result.optimal,
                "status": result.status,
                "seconds": round(wall, 3),
                "peak_mb": round(peak, 1),
                "notes": list(result.notes),
            }
        )
    )


def run_child(
    path: Path, planner: str, time_limit: float, seed: int, capacity: int | None
) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--child", str(path), planner, str(time_limit), str(seed)]
    argv.append(str(capacity) if capacity is not None else "-")
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def run_minimalloc(binary: Path, path: Path, capacity: int, time_limit: float) -> dict[str, Any]:
    """MiniMalloc's solver on the same CSV; wall time and RSS measured from outside."""
    out = path.with_suffix(".minimalloc-out.csv")
    argv = [str(binary), f"--capacity={capacity}", f"--input={path}", f"--output={out}"]
    argv.append(f"--timeout={time_limit}s")
    started = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    out.unlink(missing_ok=True)
    return {"status": "fits" if done.returncode == 0 else "no", "seconds": round(wall, 3),
            "peak_mb": round(peak, 1)}  # fmt: skip


def instances(args: argparse.Namespace) -> list[tuple[str, Path, int | None]]:
    """(family, path, capacity) for every instance asked for."""
    found: list[tuple[str, Path, int | None]] = []
    if "dsa" in args.families:
        found += [("dsa", p, None) for p in sorted((SHARED / "dsa").glob("*.json"))]
    if "dsa-hard" in args.families:
        for p in sorted((SHARED / "dsa-hard").glob("*.json")):
            found.append(("dsa-hard", p, int(json.loads(p.read_text())["optimum"])))
    if "minimalloc" in args.families and args.minimalloc_csv:
        for p in sorted(args.minimalloc_csv.glob("*.csv")):
            if p.name.endswith(".minimalloc-out.csv"):
                continue
            parts = p.name.split(".")
            capacity = int(parts[-2]) if len(parts) >= 3 and parts[-2].isdigit() else None
            found.append(("minimalloc", p, capacity))
    return found


def cell(result: dict[str, Any], decision: bool) -> str:
    if "error" in result:
        return "ERR"
    if decision:
        word = {"fits": "fits", "impossible": "no (proved)", "not_found": "no (time)"}
        return f"{word.get(result['status'], result['status'])} {result['seconds']:.2f}s"
    star = "*" if result.get("optimal") else ""
    return f"{result['arena']:,}{star} {result['seconds']:.2f}s"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--families", nargs="*", default=["dsa", "dsa-hard", "minimalloc"])
    parser.add_argument("--minimalloc-csv", type=Path, help="folder of MiniMalloc CSV files")
    parser.add_argument("--minimalloc-bin", type=Path, help="MiniMalloc's solver, to compare")
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds per run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--planners", nargs="*", default=MINIMISERS, help="minimising planners")
    parser.add_argument("--json", type=Path, help="also write all results here")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        path, planner, limit, seed, capacity = args.child
        child(path, planner, float(limit), int(seed), None if capacity == "-" else int(capacity))
        return 0

    todo = instances(args)
    if not todo:
        print("bench_packing: no instances found", file=sys.stderr)
        return 1
    header = ["family", "instance", "buffers", "bound", "capacity", *args.planners, DECISION]
    if args.minimalloc_bin:
        header.append("MiniMalloc")
    header.append("max MB")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" if h in ("family", "instance") else "---:" for h in header) + "|")
    results: dict[str, Any] = {}
    totals: dict[str, float] = {}
    for family, path, capacity in todo:
        row = {p: run_child(path, p, args.time_limit, args.seed, None) for p in args.planners}
        if capacity is not None:
            row[DECISION] = run_child(path, "auto", args.time_limit, args.seed, capacity)
            if args.minimalloc_bin and family == "minimalloc":
                row["MiniMalloc"] = run_minimalloc(
                    args.minimalloc_bin, path, capacity, args.time_limit
                )
        results[path.name] = {"family": family, "capacity": capacity, **row}
        first = next((r for r in row.values() if "bound" in r), {})
        cells = [family, path.stem, str(first.get("buffers", "?")), f"{first.get('bound', 0):,}"]
        cells.append(f"{capacity:,}" if capacity is not None else "-")
        cells += [cell(row[p], decision=False) for p in args.planners]
        cells.append(cell(row[DECISION], decision=True) if DECISION in row else "-")
        if args.minimalloc_bin:
            mm = row.get("MiniMalloc")
            cells.append(f"{mm['status']} {mm['seconds']:.2f}s" if mm else "-")
        cells.append(f"{max((r.get('peak_mb', 0) for r in row.values()), default=0):.0f}")
        print("| " + " | ".join(cells) + " |", flush=True)
        for name, r in row.items():
            if "seconds" in r and capacity is not None and family == "minimalloc":
                totals[name] = totals.get(name, 0.0) + r["seconds"]
    if totals:
        print("\nMiniMalloc family, total seconds: " + ", ".join(
            f"{name} {sec:.1f}" for name, sec in totals.items()))  # fmt: skip
    print("\n* = proved optimal (arena equals the lower bound, or proved by a search). Times")
    print("are wall clock inside the child, including building the graph and checking the plan.")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
