"""Mutation fuzzing at scale: every mutation kind on the fixtures, a table of outcomes per
kind, and every defect listed with what reproduces it.

    python tools/fuzz_mutants.py --cases 1000 [--jobs 2] [--seed 0] [--bases a b] [--kinds k]

Exit 0 when no mutant is a defect (see tools/mutants.py).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mutants  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=2, help="mutants judged at once (default 2)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bases", nargs="*", default=list(mutants.BASES))
    ap.add_argument("--kinds", nargs="*", default=list(mutants.KINDS))
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    cases = [
        (rng.choice(args.bases), rng.choice(args.kinds), rng.randrange(2**31))
        for _ in range(args.cases)
    ]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="crewrite-fuzz-") as work:
        with get_context("fork").Pool(args.jobs) as pool:
            results = pool.map(mutants.judge, [(*c, work) for c in cases], chunksize=4)
    outcomes = [*mutants.GOOD, *mutants.BAD, "not-applicable"]
    short = dict(
        zip(
            outcomes,
            "refused nothing equal invalid WRONG BROKEN INTERNAL HANG UNCLEAR n/a".split(),
            strict=True,
        )
    )
    counts = Counter((kind, outcome) for _, kind, _, outcome, _, _ in results)
    width = max(len(k) for k in args.kinds)
    print(
        f"{len(cases)} mutants of {', '.join(args.bases)} in {time.perf_counter() - started:.0f} s"
    )
    print(f"{'kind':{width}s} " + " ".join(f"{short[o]:>8s}" for o in outcomes))
    for kind in args.kinds:
        row = " ".join(f"{counts[(kind, o)]:>8d}" for o in outcomes)
        print(f"{kind:{width}s} {row}")
    totals = Counter(outcome for _, _, _, outcome, _, _ in results)
    print(f"{'all':{width}s} " + " ".join(f"{totals[o]:>8d}" for o in outcomes))
    print(
        "equal: rewritten, outputs byte-equal; invalid: rewritten, but the mutant itself does not "
        "build, fails, or reads stale memory (nothing to compare); capitals: defects"
    )
    defects = [r for r in results if r[3] in mutants.BAD]
    for base, kind, choice, outcome, what, detail in defects:
        print(f"{outcome}: {base} {kind} choice={choice}: {what}: {detail[:300]}")
    return int(bool(defects))


if __name__ == "__main__":
    sys.exit(main())
