"""`crewrite pack`: plan one instance file and print the plan (table or JSON)."""

from __future__ import annotations

import argparse
import json
import sys

from crewrite.packing.io import InstanceError, load_instance
from crewrite.packing.model import Plan, Problem
from crewrite.packing.registry import DEFAULT_TIME_LIMIT, PLANNERS, plan
from crewrite.packing.verify import PlanError

EPILOG = """\
instance formats (JSON):
  benchmark: {"name": ..., "alignment": 16,
              "buffers": [{"id": 0, "size": 1024, "start": 0, "end": 3}, ...]}
             start/end are inclusive program points (operator indices).
  general:   {"alignment": 16,
              "buffers": [{"id": "a", "size": 1024, "windows": [[0, 3], [7, 9]],
                           "alignment": 64}, ...],
              "conflicts": [["a", "b"], ...]}
             a buffer is live in every window (inclusive); two buffers conflict when
             windows share a point or the pair is listed in "conflicts". Per-buffer
             "alignment" (default 1) adds to the top-level one (default 16).
  MiniMalloc CSV (NAME.csv): header with id|buffer, lower|start|begin, upper|end, size
             and optionally alignment; lifetimes are half-open [lower, upper), as in
             MiniMalloc's published instances; the arena alignment is 1.
sizes are rounded up to the alignment; arena = max(offset + rounded size).
--capacity BYTES asks "does a plan fit in BYTES?": the search stops at the first plan that
fits. Without it the arena is minimised and reported with the lower bound and the gap.
exit status: 0 plan printed (and, with --capacity, it fits), 1 bad input, invalid plan, or
no plan within --capacity (proven impossible, or not found within the time limit).

examples (docs/kws_native_instance.json: the bundled example's 34 live ranges):
  crewrite pack docs/kws_native_instance.json
  crewrite pack docs/kws_native_instance.json --planner greedy-size --json
  crewrite pack docs/kws_native_instance.json --capacity 102432   # exit 0: it fits
"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the `pack` subcommand on an argparse subparsers object."""
    parser = subparsers.add_parser(
        "pack",
        help="plan arena offsets for buffers with known lifetimes",
        description="Assign each buffer an arena offset so that buffers live at the same "
        "time never overlap, and report how close the arena is to the lower bound.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("instance", help="instance JSON file")
    parser.add_argument(
        "--planner", default="auto", choices=sorted(PLANNERS), help="planner (default: auto)"
    )
    parser.add_argument(
        "--time-limit",
        type=_seconds,
        default=None,
        metavar="S",
        help=f"seconds for the searching planners (default {DEFAULT_TIME_LIMIT:g})",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--capacity",
        type=_bytes,
        default=None,
        metavar="BYTES",
        help="decision mode: stop at the first plan that fits in BYTES (exit 1 if none does)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def _seconds(text: str) -> float:
    value = float(text)
    if not value >= 0:  # also rejects nan
        raise argparse.ArgumentTypeError(f"time limit must be >= 0 seconds, got {text}")
    return value


def _bytes(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"capacity must be a whole number of bytes, got {text}"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"capacity must be >= 0 bytes, got {text}")
    return value


def _gap_percent(result: Plan) -> float:
    return 100.0 * result.gap_bytes / result.lower_bound_bytes if result.lower_bound_bytes else 0.0


def _as_json(problem: Problem, result: Plan) -> str:
    return json.dumps(
        {
            "instance": problem.name,
            "buffers": len(problem.buffers),
            "arena_bytes": result.arena_bytes,
            "lower_bound_bytes": result.lower_bound_bytes,
            "gap_bytes": result.gap_bytes,
            "optimal": result.optimal,
            "status": result.status,
            "capacity_bytes": result.capacity,
            "planner": result.planner,
            "seconds": round(result.seconds, 4),
            "notes": list(result.notes),
            "offsets": (
                {bid: result.offsets[bid] for bid in sorted(result.offsets, key=_id_key)}
                if result.status != "impossible" and result.status != "not_found"
                else None
            ),
        }
    )


def _id_key(bid: str) -> tuple[int, int | str]:
    return (0, int(bid)) if bid.isdigit() else (1, bid)


def _as_text(problem: Problem, result: Plan) -> str:
    lines = [
        f"instance:    {problem.name or '-'} ({len(problem.buffers)} buffers)",
        f"arena:       {result.arena_bytes:,} bytes",
        f"lower bound: {result.lower_bound_bytes:,} bytes (gap {_gap_percent(result):.2f} %)",
        f"planner:     {result.planner}",
        f"optimal:     {'yes' if result.optimal else 'not proven'}",
    ]
    if result.capacity is not None:
        lines.append(f"capacity:    {result.capacity:,} bytes: fits")
    lines += [
        f"time:        {result.seconds:.3f} s",
    ]
    lines += [f"note:        {note}" for note in result.notes]
    width = max([2] + [len(b.id) for b in problem.buffers])
    lines.append("")
    lines.append(f"{'id':<{width}}  {'size':>10}  {'offset':>10}")
    for b in sorted(problem.buffers, key=lambda b: (result.offsets[b.id], _id_key(b.id))):
        lines.append(f"{b.id:<{width}}  {b.size:>10}  {result.offsets[b.id]:>10}")
    return "\n".join(lines)


NO_FIT = {
    "impossible": "proven impossible",
    "not_found": "not found within the time limit",
}


def run(args: argparse.Namespace) -> int:
    """Plan `args.instance`; prints the plan on stdout, errors on stderr (exit 1)."""
    try:
        problem = load_instance(args.instance)
        result = plan(
            problem,
            planner=args.planner,
            time_limit=args.time_limit,
            seed=args.seed,
            capacity=args.capacity,
        )
    except InstanceError as exc:
        print(f"crewrite pack: error: {exc}", file=sys.stderr)
        return 1
    except PlanError as exc:
        print(f"crewrite pack: error: {args.instance}: invalid plan: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:  # a planner that cannot run here (cpsat without OR-Tools)
        print(f"crewrite pack: error: {exc}", file=sys.stderr)
        return 1
    if result.status in NO_FIT:
        if args.json:
            print(_as_json(problem, result))
        print(
            f"crewrite pack: {args.instance}: no plan fits in {result.capacity:,} bytes: "
            f"{NO_FIT[result.status]} (lower bound {result.lower_bound_bytes:,}, best arena "
            f"found {result.arena_bytes:,}, {result.seconds:.1f} s)",
            file=sys.stderr,
        )
        return 1
    print(_as_json(problem, result) if args.json else _as_text(problem, result))
    return 0
