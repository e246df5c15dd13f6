"""Arena per fixture under each liveness model, side by side, measured in one run.

.venv/bin/python tools/compare_liveness.py [PROJECT ...]   (default: every fixture)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from crewrite.errors import CrewriteError
from crewrite.pipeline import Options, rewrite_project
from crewrite.project import load_project

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("projects", nargs="*", type=Path)
    parser.add_argument("--planner", default="auto")
    args = parser.parse_args(argv)
    projects = args.projects or sorted(p for p in FIXTURES.iterdir() if p.is_dir())
    print(
        "| project | module | sites | as written | coarse arena (LB) | fine arena (LB) "
        "| ranges | fine vs as written | seconds |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for path in projects:
        results = {}
        seconds = 0.0
        for model in ("coarse", "fine"):
            project = load_project([path])
            try:
                started = time.perf_counter()
                results[model] = rewrite_project(
                    project, Options(planner=args.planner, liveness=model)
                )
                seconds += time.perf_counter() - started
            except CrewriteError as exc:
                print(f"| {path.name} | error: {exc.format()} |")
                break
            finally:
                project.close()
        else:
            if results["fine"].status == "static":
                print(f"| {path.name} | - | 0 | - | - | - | - | already static | - |")
                continue
            for coarse, fine in zip(
                results["coarse"].modules, results["fine"].modules, strict=True
            ):
                sites = len({b.site.key for b in fine.liveness.buffers})
                saved = 100.0 * (fine.original_bytes - fine.arena_bytes) / fine.original_bytes
                print(
                    f"| {path.name} | {fine.module} | {sites} | {fine.original_bytes:,} "
                    f"| {coarse.arena_bytes:,} ({coarse.plan.lower_bound_bytes:,}) "
                    f"| {fine.arena_bytes:,} ({fine.plan.lower_bound_bytes:,}) "
                    f"| {len(fine.liveness.buffers)} | -{saved:.1f} % | {seconds:.2f} |"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
