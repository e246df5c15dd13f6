"""Seconds of a whole rewrite (parse, extract, extents, liveness, plan, emit, second look) per
fixture, this tree against a baseline git revision, measured side by side in one run.

.venv/bin/python tools/bench_rewrite.py [PROJECT ...] [--baseline REV] [--repeat N]
    (default: vww_big, baseline main, 7 rounds)

The baseline is exported with `git archive` into a scratch folder; each round runs one
rewrite of each side in a fresh process, alternating, so that a busy machine slows both
alike. The table gives, per side, the median and the fastest round of the wall-clock time and
the median CPU time of the process (steadier on a shared machine), their ratios, and the share
of this tree's time spent in the extent analysis.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"

_ONE_RUN = """
import json, sys, time
from pathlib import Path
from crewrite.pipeline import Options, rewrite_project
from crewrite.project import load_project
project = load_project([Path(sys.argv[1])])
started, cpu = time.perf_counter(), time.process_time()
result = rewrite_project(project, Options())
seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
share = None
try:
    from crewrite.extents import analyse
    from crewrite.pipeline import parse_all
    units = parse_all(project, Options())
    started = time.perf_counter()
    analyse(units)
    share = (time.perf_counter() - started) / seconds
except ImportError:
    pass
print(json.dumps({"seconds": seconds, "cpu": cpu, "share": share,
                  "arena": [m.arena_bytes for m in result.modules]}))
"""


def export_revision(revision: str, into: Path) -> Path:
    """The files of a git revision of this repository, unpacked into a new folder `into`
    (bench_pipeline.py's --baseline uses it too)."""
    into.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", revision], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def _run(root: Path, project: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(root))
    done = subprocess.run(
        [sys.executable, "-c", _ONE_RUN, str(project)],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        check=True,
    )
    result: dict = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("projects", nargs="*", type=Path)
    parser.add_argument("--baseline", default="main", help="git revision to compare against")
    parser.add_argument("--repeat", type=int, default=7, help="rounds per project")
    args = parser.parse_args(argv)
    projects = args.projects or [FIXTURES / "vww_big"]
    with tempfile.TemporaryDirectory(prefix="crewrite-bench-") as scratch:
        baseline = export_revision(args.baseline, Path(scratch) / "baseline")
        print(
            f"| project | {args.baseline} wall s: median (fastest) | this tree wall s "
            f"| wall ratio | {args.baseline} CPU s | this tree CPU s | CPU ratio "
            "| extents share | arenas (baseline -> this) |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
        for project in projects:
            before, after = [], []
            for _ in range(args.repeat):
                before.append(_run(baseline, project.resolve()))
                after.append(_run(REPO, project.resolve()))
            old = [r["seconds"] for r in before]
            new = [r["seconds"] for r in after]
            old_cpu = statistics.median(r["cpu"] for r in before)
            new_cpu = statistics.median(r["cpu"] for r in after)
            shares = [r["share"] for r in after if r["share"] is not None]
            share = f"{100 * statistics.median(shares):.0f} %" if shares else "-"
            print(
                f"| {project.name} | {statistics.median(old):.3f} ({min(old):.3f}) "
                f"| {statistics.median(new):.3f} ({min(new):.3f}) "
                f"| {statistics.median(new) / statistics.median(old):.2f} "
                f"| {old_cpu:.3f} | {new_cpu:.3f} | {new_cpu / old_cpu:.2f} | {share} "
                f"| {before[0]['arena']} -> {after[0]['arena']} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
