"""Property tests: random problems, every planner, checked by a brute-force pairwise test
that shares nothing with the library's verifier."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crewrite.packing import PLANNERS, Buffer, Problem, check_plan, lower_bound, plan

pytestmark = pytest.mark.e2e  # planners on random instances may run to their time limits


@st.composite
def problems(draw: st.DrawFn) -> Problem:
    n = draw(st.integers(0, 12))
    multi = draw(st.booleans())
    buffers = []
    for i in range(n):
        count = draw(st.integers(1, 3)) if multi else 1
        windows = []
        for _ in range(count):
            start = draw(st.integers(0, 10))
            windows.append((start, start + draw(st.integers(0, 4))))
        size = draw(st.integers(0, 100))
        align = draw(st.sampled_from([1, 1, 2, 8, 32]))
        buffers.append(Buffer(f"b{i}", size, tuple(windows), align))
    extra: list[tuple[str, str]] = []
    if n >= 2 and draw(st.booleans()):
        pairs = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1))
        extra = [(f"b{a}", f"b{b}") for a, b in draw(st.lists(pairs, max_size=6))]
    return Problem(
        tuple(buffers),
        alignment=draw(st.sampled_from([1, 4, 16])),
        extra_conflicts=tuple(extra),
    )


def brute_force_check(problem: Problem, offsets: dict[str, int]) -> int:
    """Assert the plan is valid by comparing every pair; return its arena."""
    extra = {frozenset(p) for p in problem.extra_conflicts}
    span = {}
    for b in problem.buffers:
        step = math.lcm(problem.alignment, b.alignment)
        size = -(-b.size // step) * step
        assert offsets[b.id] % step == 0 and offsets[b.id] >= 0
        span[b.id] = (offsets[b.id], offsets[b.id] + size)
    bufs = problem.buffers
    for x in range(len(bufs)):
        for y in range(x + 1, len(bufs)):
            a, b = bufs[x], bufs[y]
            (alo, ahi), (blo, bhi) = span[a.id], span[b.id]
            if alo == ahi or blo == bhi:
                continue
            live_together = any(
                s1 <= e2 and s2 <= e1 for s1, e1 in a.windows for s2, e2 in b.windows
            )
            if live_together or frozenset((a.id, b.id)) in extra:
                assert ahi <= blo or bhi <= alo, f"{a.id} and {b.id} overlap"
    return max((hi for lo, hi in span.values() if hi > lo), default=0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=problems(), planner=st.sampled_from(sorted(PLANNERS)), seed=st.integers(0, 3))
def test_random_plans_are_valid_and_deterministic(
    problem: Problem, planner: str, seed: int
) -> None:
    result = plan(problem, planner, time_limit=5, seed=seed)
    offsets = dict(result.offsets)
    check_plan(problem, offsets)
    assert brute_force_check(problem, offsets) == result.arena_bytes
    bound = lower_bound(problem)
    assert result.lower_bound_bytes == bound <= result.arena_bytes
    assert result.optimal or result.arena_bytes > bound  # at the bound means optimal
    assert dict(plan(problem, planner, time_limit=5, seed=seed).offsets) == offsets


@settings(max_examples=30, deadline=None)
@given(problem=problems())
def test_auto_is_never_worse_than_greedy(problem: Problem) -> None:
    auto = plan(problem, time_limit=1)
    assert auto.arena_bytes <= plan(problem, "greedy-size").arena_bytes
    if auto.optimal:
        assert auto.arena_bytes <= plan(problem, "cpsat", time_limit=1).arena_bytes


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    problem=problems(),
    planner=st.sampled_from(sorted(PLANNERS)),
    seed=st.integers(0, 3),
    slack=st.integers(-48, 48),
)
def test_decision_mode_is_valid_consistent_and_deterministic(
    problem: Problem, planner: str, seed: int, slack: int
) -> None:
    bound = lower_bound(problem)
    capacity = max(0, bound + slack)
    result = plan(problem, planner, time_limit=5, seed=seed, capacity=capacity)
    offsets = dict(result.offsets)
    check_plan(problem, offsets)
    assert brute_force_check(problem, offsets) == result.arena_bytes >= bound
    assert result.capacity == capacity
    assert result.status in ("fits", "impossible", "not_found")
    assert (result.status == "fits") == (result.arena_bytes <= capacity)
    if capacity < bound:
        assert result.status == "impossible"
    if planner == "auto":  # tiny instances: the exact search always decides
        assert result.status != "not_found"
        best = plan(problem, time_limit=5, seed=seed)  # minimised, proved optimal
        assert best.optimal
        assert (result.status == "fits") == (best.arena_bytes <= capacity)
    again = plan(problem, planner, time_limit=5, seed=seed, capacity=capacity)
    assert again.status == result.status and dict(again.offsets) == offsets
