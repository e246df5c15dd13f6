"""`crewrite verify` on every fixture, with more seeded inputs than the test suite uses, and
the time each step takes, measured in one run.

.venv/bin/python tools/bench_verify.py [PROJECT ...] [--runs N] [--sanitize]
    (default: every fixture, 50 seeds)

Each project is rewritten into a scratch folder, then verified against its original; the
table gives the seconds of the rewrite and of the verify (layout proof, two builds, runs),
and the bytes compared. Exits 1 if any verify is not a proof.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from crewrite.api import run
from crewrite.verify import VerifyOptions, verify

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("projects", nargs="*", type=Path)
    parser.add_argument("--runs", type=int, default=50, help="seeded inputs per project")
    parser.add_argument("--sanitize", action="store_true", help="also under the sanitizers")
    args = parser.parse_args(argv)
    projects = args.projects or sorted(p for p in FIXTURES.iterdir() if p.is_dir())
    options = VerifyOptions(runs=args.runs, sanitize=args.sanitize)
    print("| project | rewrite s | verify s | seeds | bytes compared | layout ranges | result |")
    print("|---|---:|---:|---:|---:|---:|---|")
    failed = 0
    for path in projects:
        scratch = Path(tempfile.mkdtemp(prefix="bench-verify-"))
        try:
            started = time.perf_counter()
            result = run(path, scratch / "out")
            rewritten = scratch / "out" if result.changed_files else path
            rewrite_s = time.perf_counter() - started
            started = time.perf_counter()
            verdict = verify(path, rewritten, options)
            verify_s = time.perf_counter() - started
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        failed += not verdict.ok
        print(
            f"| {path.name} | {rewrite_s:.2f} | {verify_s:.2f} | {len(verdict.seeds)} "
            f"| {verdict.bytes_compared:,} | {len(verdict.layout.placements)} "
            f"| {'EQUAL' if verdict.ok else 'NOT PROVEN'} |"
        )
        if not verdict.ok:
            print(verdict.text(), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
