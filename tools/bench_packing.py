"""Run every registered planner on every benchmark instance and print a table.

Each (instance, planner) runs in its own child process so its peak RSS can be measured
alone (the child reports its own ru_maxrss; that includes the Python, numpy and OR-Tools
baseline of ~100 MB).

    .venv/bin/python tools/bench_packing.py [--data DIR] [--time-limit S] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared/benchmarks/dsa"
COLUMNS = ["greedy-size", "greedy-size-tflm", "greedy-conflicts", "search", "cpsat", "auto"]


def child(path: str, planner: str, time_limit: float, seed: int) -> None:
    """Plan one instance and print one JSON line (run in a fresh process)."""
    sys.path.insert(0, str(REPO))
    from crewrite.packing import load_instance, plan

    problem = load_instance(path)
    started = time.monotonic()
    result = plan(problem, planner, time_limit=time_limit, seed=seed)
    wall = time.monotonic() - started
    print(
        json.dumps(
            {
                "buffers": len(problem.buffers),
                "arena": result.arena_bytes,
                "bound": result.lower_bound_bytes,
                "optimal": result.optimal,
                "seconds": round(wall, 3),
                "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )


def run_child(path: Path, planner: str, time_limit: float, seed: int) -> dict:
    argv = [sys.executable, __file__, "--child", str(path), planner, str(time_limit), str(seed)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    return json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="instance folder")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per planner")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--planners", nargs="*", default=COLUMNS, help="planners to run")
    parser.add_argument("--json", type=Path, help="also write all results here")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        path, planner, limit, seed = args.child
        child(path, planner, float(limit), int(seed))
        return 0

    files = sorted(p for p in args.data.glob("*.json"))
    if not files:
        print(f"bench_packing: no instances in {args.data}", file=sys.stderr)
        return 1
    results = {}
    short = {"greedy-size": "size", "greedy-size-tflm": "tflm", "greedy-conflicts": "confl"}
    header = ["instance", "buffers", "LB"] + [short.get(p, p) for p in args.planners]
    header += ["auto/LB", "auto s", "auto MB", "max MB"]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" if h == "instance" else "---:" for h in header) + "|")
    for path in files:
        row = {p: run_child(path, p, args.time_limit, args.seed) for p in args.planners}
        results[path.stem] = row
        first = next((r for r in row.values() if "bound" in r), {})
        cells = [path.stem, str(first.get("buffers", "?")), f"{first.get('bound', 0):,}"]
        for p in args.planners:
            r = row[p]
            star = "*" if r.get("optimal") else ""
            cells.append(f"{r['arena']:,}{star} ({r['seconds']:.2f}s)" if "arena" in r else "ERR")
        auto = row.get("auto", {})
        if "arena" in auto:
            cells += [f"{auto['arena'] / auto['bound']:.4f}", f"{auto['seconds']:.2f}"]
            cells.append(f"{auto['peak_mb']:.0f}")
        else:
            cells += ["-", "-", "-"]
        cells.append(f"{max((r.get('peak_mb', 0) for r in row.values()), default=0):.0f}")
        print("| " + " | ".join(cells) + " |", flush=True)
    print("\n* = optimal (arena equals the lower bound, or proved by CP-SAT); times are wall")
    print("clock inside the child, including building the graph and verifying the plan.")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
