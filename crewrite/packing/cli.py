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
sizes are rounded up to the alignment; arena = max(offset + rounded size).
exit status: 0 plan printed, 1 bad input or invalid plan.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
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
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def _seconds(text: str) -> float:
    value = float(text)
    if not value >= 0:  # also rejects nan
        raise argparse.ArgumentTypeError(f"time limit must be >= 0 seconds, got {text}")
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
            "planner": result.planner,
            "seconds": round(result.seconds, 4),
            "notes": list(result.notes),
            "offsets": {bid: result.offsets[bid] for bid in sorted(result.offsets, key=_id_key)},
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
        f"time:        {result.seconds:.3f} s",
    ]
    lines += [f"note:        {note}" for note in result.notes]
    width = max([2] + [len(b.id) for b in problem.buffers])
    lines.append("")
    lines.append(f"{'id':<{width}}  {'size':>10}  {'offset':>10}")
    for b in sorted(problem.buffers, key=lambda b: (result.offsets[b.id], _id_key(b.id))):
        lines.append(f"{b.id:<{width}}  {b.size:>10}  {result.offsets[b.id]:>10}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Plan `args.instance`; prints the plan on stdout, errors on stderr (exit 1)."""
    try:
        problem = load_instance(args.instance)
        result = plan(problem, planner=args.planner, time_limit=args.time_limit, seed=args.seed)
    except InstanceError as exc:
        print(f"crewrite pack: error: {exc}", file=sys.stderr)
        return 1
    except PlanError as exc:
        print(f"crewrite pack: error: {args.instance}: invalid plan: {exc}", file=sys.stderr)
        return 1
    print(_as_json(problem, result) if args.json else _as_text(problem, result))
    return 0
