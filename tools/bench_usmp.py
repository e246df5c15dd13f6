"""Re-plan every USMP pool of the USMP-built fixtures (or of the projects given) and print,
per pool: the pool as USMP planned it, crewrite's, the lower bound, the saving and how much
of it packing alone gives (the same slices with USMP's lifetimes), and the seconds the
rewrite took (planning, emission and the second look); with `--runs N`, each rewrite is
also proven with `crewrite verify` on N seeds, and its seconds given.

.venv/bin/python tools/bench_usmp.py [PROJECT ...] [-I DIR ...] [--runs N] [--json FILE]

The fixtures are read with tests/helpers/include on the include path: usmp_vendor's NPU
runtime header needs a pthread.h, which crewrite's own headers leave out on purpose.

Exits 1 if a pool is not re-planned below USMP's or a verify is not a proof.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from crewrite.api import run
from crewrite.pipeline import Options
from crewrite.verify import VerifyOptions, verify

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PTHREAD = Path(__file__).resolve().parent.parent / "tests" / "helpers" / "include"


def _usmp_fixtures() -> list[Path]:
    expected = json.loads((FIXTURES / "EXPECTED.json").read_text())
    return [FIXTURES / name for name, facts in sorted(expected.items()) if facts["usmp"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("projects", nargs="*", type=Path)
    parser.add_argument(
        "-I", dest="include_dirs", action="append", type=Path, default=[], metavar="DIR"
    )
    parser.add_argument("--runs", type=int, default=0, help="verify with N seeds (0: no)")
    parser.add_argument("--json", type=Path, help="write the rows as JSON")
    args = parser.parse_args(argv)
    projects = args.projects or _usmp_fixtures()
    include = tuple(args.include_dirs) or (() if args.projects else (PTHREAD,))
    print(
        "| project | pool | USMP pool B | crewrite B | lower bound B | saved B | saved % "
        "| by packing B | by lifetimes B | rewrite s | verify s |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows, failed = [], 0
    for path in projects:
        scratch = Path(tempfile.mkdtemp(prefix="bench-usmp-"))
        try:
            started = time.perf_counter()
            result = run(path, scratch / "out", options=Options(include_dirs=include))
            rewrite_s = time.perf_counter() - started
            verify_s = None
            if args.runs and result.new_texts:
                started = time.perf_counter()
                options = VerifyOptions(runs=args.runs, include_dirs=include)
                verdict = verify(path, scratch / "out", options)
                verify_s = time.perf_counter() - started
                if not verdict.ok:
                    failed += 1
                    print(verdict.text(), file=sys.stderr)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        if not result.pools:
            failed += 1
            print(f"| {path.name} | none re-planned: {'; '.join(result.notes)} |")
        for r in result.pools:
            row = {
                "project": path.name,
                "module": r.pool.module,
                "pool": r.pool.name,
                "usmp_pool_bytes": r.original_bytes,
                "arena_bytes": r.arena_bytes,
                "lower_bound_bytes": r.plan.lower_bound_bytes,
                "saved_bytes": r.saved_bytes,
                "saved_by_packing_bytes": r.packing_saved,
                "saved_by_lifetimes_bytes": r.lifetime_saved,
                "rewrite_seconds": round(rewrite_s, 3),
                "verify_seconds": None if verify_s is None else round(verify_s, 3),
            }
            rows.append(row)
            failed += r.saved_bytes <= 0
            verified = "-" if verify_s is None else f"{verify_s:.2f}"
            print(
                f"| {path.name} | {r.pool.module}:{r.pool.name} | {r.original_bytes:,} "
                f"| {r.arena_bytes:,} | {r.plan.lower_bound_bytes:,} | {r.saved_bytes:,} "
                f"| {100.0 * r.saved_bytes / r.original_bytes:.1f} | {r.packing_saved:,} "
                f"| {r.lifetime_saved:,} | {rewrite_s:.2f} | {verified} |"
            )
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
