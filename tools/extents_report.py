"""What the extent analysis finds per fixture, and (with --check) whether it holds.

.venv/bin/python tools/extents_report.py [PROJECT ...] [--check] [--seeds N]

Per project: functions analysed, top-level statements, (statement, base) pairs touched and how
many are bounded, must-write runs claimed, workspace buffers whose extent is exactly their
allocation, USMP-style slices whose extent is bounded, the analysis time.

--check builds each project with every load and store traced (see tests/extent_trace.py;
needs gcc with -fsanitize=thread) and runs it on N input seeds: every access must lie in its
statement's may-ranges and every must-write run must be written.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from crewrite.extents import analyse
from crewrite.frontend import parse_source
from crewrite.project import load_project

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("projects", nargs="*", type=Path)
    parser.add_argument("--check", action="store_true", help="trace real runs against it")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)
    projects = args.projects or sorted(p for p in FIXTURES.iterdir() if (p / "model").is_dir())
    header = "| project | functions | statements | touched | bounded | unbounded | must runs "
    header += "| workspace exact | slices bounded | seconds |"
    if args.check:
        header += " traced accesses | may violations | must runs checked | must violations |"
        sys.path.insert(0, str(REPO / "tests"))
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    failed = False
    for path in projects:
        project = load_project([path])
        units = {
            rel: parse_source(rel, project.path(rel), project.texts[rel], project.include_dirs, [])
            for rel in project.sources
        }
        started = time.perf_counter()
        result = analyse(units)
        seconds = time.perf_counter() - started
        pairs = [e for fx in result.values() for s in fx.statements for e in s.bases.values()]
        bounded = sum(e.bounded for e in pairs)
        runs = sum(len(e.must_write) for e in pairs)
        workspace = [(fx, b) for fx in result.values() for b in fx.bases.values()]
        workspace = [(fx, b) for fx, b in workspace if b.kind == "workspace"]
        exact = sum(
            1
            for fx, b in workspace
            if (span := fx.touched(b.name)) is not None and (span.lo, span.hi) == (0, b.size)
        )
        slices = [(fx, b) for fx in result.values() for b in fx.bases.values() if b.root]
        sized = sum(1 for fx, b in slices if fx.max_touched(b.name) is not None)
        row = (
            f"| {path.name} | {len(result)} | {sum(len(fx.statements) for fx in result.values())}"
            f" | {len(pairs)} | {bounded} | {len(pairs) - bounded} | {runs}"
            f" | {exact}/{len(workspace)} | {sized}/{len(slices)} | {seconds:.3f} |"
        )
        if args.check:
            row += _check(path, args.seeds)
            failed |= "FAIL" in row
        print(row)
    return 1 if failed else 0


def _check(path: Path, seeds: int) -> str:
    import extent_trace  # tests/extent_trace.py

    with tempfile.TemporaryDirectory(prefix="crewrite-extents-") as tmp:
        built = extent_trace.build(path, Path(tmp))
        accesses = may = checked = must = 0
        for seed in range(1, seeds + 1):
            trace = extent_trace.run(built, seed=seed, fill_seed=seed)
            accesses += trace.summary["relevant"]
            may += trace.summary["violations"]
            checked += trace.summary["must_runs"]
            must += trace.summary["must_violations"]
    verdict = "" if may == must == 0 else " FAIL"
    return f" {accesses:,} | {may}{verdict} | {checked:,} | {must}{verdict} |"


if __name__ == "__main__":
    sys.exit(main())
