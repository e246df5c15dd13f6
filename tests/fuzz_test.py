"""Mutation fuzzing (issue 12): hypothesis draws mutants of the small fixtures (every kind in
tools/mutants.py) and each must come out as a clear refusal,
"nothing to do", or a rewrite whose outputs are byte-equal to the mutant's own wherever the
mutant builds, runs and reads no stale memory: never a silently wrong rewrite, a broken
build, an internal error, a hang or an unclear refusal. Larger counts, every kind, and a table
of outcomes: `python tools/fuzz_mutants.py --cases 1000`."""

from __future__ import annotations

import random
import sys
from collections import Counter
from multiprocessing import get_context
from pathlib import Path

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import mutants  # noqa: E402

pytestmark = pytest.mark.e2e  # every judged mutant is crewrite plus up to two gcc builds
COMBOS = [(base, kind) for base in mutants.BASES for kind in mutants.KINDS]
DRAWS = 6  # each draw: one mutant of every kind on every base (2 x 12), 144 cases in all


SEEN: Counter = Counter()


@settings(
    max_examples=DRAWS, derandomize=True, database=None, deadline=None, phases=[Phase.generate]
)
@given(seed=st.integers(0, 2**63 - 1))
def test_mutants_are_rewritten_right_or_refused_clearly(seed, tmp_path_factory):
    """Hypothesis draws a seed; from it, which site each mutant changes. Mutants are judged two
    at a time (each is crewrite plus up to two gcc builds)."""
    rng = random.Random(seed)
    work = tmp_path_factory.mktemp("fuzz")
    jobs = [(base, kind, rng.randrange(2**31), str(work)) for base, kind in COMBOS]
    with get_context("fork").Pool(2) as pool:
        results = pool.map(mutants.judge, jobs, chunksize=2)
    SEEN.update((kind, outcome) for _, kind, _, outcome, _, _ in results)
    bad = [r for r in results if r[3] in mutants.BAD]
    assert not bad, "\n".join(
        f"{base} {kind} choice={choice}: {outcome}: {what}: {detail[:500]}"
        for base, kind, choice, outcome, what, detail in bad
    )


def test_the_draws_judged_mutants_of_every_kind_and_outcome():
    """Runs after the fuzz test (file order): its counts, printed with -s."""
    if not SEEN:
        pytest.skip("run with the fuzz test")
    table = "\n".join(f"  {k:18s} {o:26s} {n}" for (k, o), n in sorted(SEEN.items()))
    print(f"\nfuzz outcomes ({sum(SEEN.values())} cases):\n{table}")
    assert sum(SEEN.values()) == DRAWS * len(COMBOS)
    judged = {kind for (kind, outcome) in SEEN if outcome != "not-applicable"}
    assert judged == set(mutants.KINDS)
    assert {outcome for (_, outcome) in SEEN} >= {"refused", "rewritten-equal", "nothing-to-do"}
