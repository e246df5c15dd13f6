"""The exact fit searches: C core against its Python mirror, every C search against an
exhaustive reference, the deterministic portfolio, and the paths without a C compiler."""

from __future__ import annotations

import ctypes
import itertools
import random
import time
from pathlib import Path

import pytest

from crewrite.packing import Buffer, Problem, lower_bound, plan
from crewrite.packing import native as native_module
from crewrite.packing.bnb import EXHAUSTED, FOUND, canonical
from crewrite.packing.decide import (
    PREORDERS,
    Job,
    _Native,
    _run_native,
    decide,
    exactly_full,
    orders,
    reversed_in_time,
    schedule,
)
from crewrite.packing.graph import build
from crewrite.packing.timeline import Timeline, build_timeline

FAR = float("inf")


@pytest.fixture(scope="module")
def lib() -> ctypes.CDLL:
    found = native_module.library()
    assert found is not None, "the C core must build on the test machines (gcc is required)"
    return found


def random_intervals(rng: random.Random, n: int, unit: int = 16) -> Problem:
    buffers = []
    for i in range(n):
        start = rng.randrange(8)
        buffers.append(
            Buffer(f"b{i}", unit * rng.randint(1, 6), ((start, start + rng.randrange(4)),))
        )
    return Problem(tuple(buffers), alignment=unit)


def exhaustive_fits(tl: Timeline, capacity: int) -> bool:
    """Reference: try every offset (in units) for every buffer; only for tiny problems."""
    unit = 16
    choices = [range(0, capacity - s + 1, unit) for s in tl.size]
    for offsets in itertools.product(*choices):
        if all(
            offsets[i] + tl.size[i] <= offsets[j] or offsets[j] + tl.size[j] <= offsets[i]
            for i in range(tl.n)
            for j in tl.adj[i]
            if i < j
        ):
            return True
    return False


def optimum(tl: Timeline) -> int:
    """Smallest capacity the (unlimited) Python canonical search fits."""
    capacity = max(sum(tl.size[i] for i in s) for s in tl.sections)
    rank = orders(tl)["WAT"]
    while canonical(tl, capacity, rank, 1 << 60, FAR)[0] != FOUND:
        capacity += 16
    return capacity


def check(tl: Timeline, capacity: int, offsets: list[int]) -> None:
    for i in range(tl.n):
        assert 0 <= offsets[i] and offsets[i] + tl.size[i] <= capacity
        assert offsets[i] % tl.align[i] == 0
        for j in tl.adj[i]:
            assert offsets[i] + tl.size[i] <= offsets[j] or offsets[j] + tl.size[j] <= offsets[i]


def run_c(
    lib: ctypes.CDLL, tl: Timeline, method: str, capacity: int, order: str = "WAT"
) -> tuple[int, list[int]]:
    data = {"forward": _Native(tl), "reversed": _Native(reversed_in_time(tl))}
    job = Job(method, order, orders(tl)[order], 1 << 40)
    return _run_native(lib, data, tl.n, job, capacity, ctypes.c_int32(0))


def test_the_reference_agrees_with_the_canonical_search() -> None:
    rng = random.Random(7)
    for _ in range(15):
        tl = build_timeline(build(random_intervals(rng, 5)))
        best = optimum(tl)
        assert exhaustive_fits(tl, best) and not exhaustive_fits(tl, best - 16)


@pytest.mark.parametrize("method", ["canonical", "skyline", "skyline-reversed"])
def test_each_c_search_is_sound_and_complete(lib: ctypes.CDLL, method: str) -> None:
    rng = random.Random(11)
    for _ in range(60):
        tl = build_timeline(build(random_intervals(rng, rng.randint(3, 9))))
        best = optimum(tl)
        status, offsets = run_c(lib, tl, method, best, "Z" if method != "canonical" else "WAT")
        layout = reversed_in_time(tl) if method == "skyline-reversed" else tl
        assert status == FOUND
        check(layout, best, offsets)
        assert run_c(lib, tl, method, best - 16)[0] == EXHAUSTED


def test_c_and_python_canonical_searches_agree(lib: ctypes.CDLL) -> None:
    rng = random.Random(3)
    for _ in range(40):
        problem = random_intervals(rng, rng.randint(4, 12))
        if rng.random() < 0.3:  # multi-window buffers and explicit conflicts too
            a, b = problem.buffers[0], problem.buffers[1]
            problem = Problem(
                (Buffer(a.id, a.size, (*a.windows, (20, 21))), *problem.buffers[1:]),
                alignment=16,
                extra_conflicts=((a.id, b.id),),
            )
        tl = build_timeline(build(problem))
        for capacity in (lower_bound(problem), lower_bound(problem) + 32):
            for order in (*PREORDERS, "Z"):  # re-ranked per sub-problem, and fixed
                heuristic = PREORDERS.index(order) if order in PREORDERS else -1
                py = canonical(tl, capacity, orders(tl)[order], 1 << 40, FAR, heuristic)
                c = run_c(lib, tl, "canonical", capacity, order)
                assert c[0] == py[0]
                if c[0] == FOUND:
                    assert c[1] == py[1]


def planted_perfect(rng: random.Random, capacity: int, steps: int) -> Problem:
    """Memory kept exactly full: free segments are refilled at every step (the dsa-hard
    recipe in miniature)."""
    live: list[list[int]] = [[0, capacity, 0, rng.randint(1, 3)]]  # lo, hi, start, end
    buffers = []
    for t in range(1, steps + 1):
        ending = [b for b in live if b[3] == t] if t < steps else list(live)
        for b in ending:
            live.remove(b)
            buffers.append(Buffer(f"b{len(buffers)}", b[1] - b[0], ((b[2], t - 1),)))
        if t == steps:
            break
        free = sorted((b[0], b[1]) for b in ending)
        merged: list[list[int]] = []
        for lo, hi in free:
            if merged and merged[-1][1] == lo:
                merged[-1][1] = hi
            else:
                merged.append([lo, hi])
        for lo, hi in merged:
            cuts = sorted(
                rng.sample(range(lo + 16, hi, 16), min(rng.randint(0, 2), (hi - lo) // 16 - 1))
            )
            edges = [lo, *cuts, hi]
            for x, y in itertools.pairwise(edges):
                live.append([x, y, t, t + rng.randint(1, 4)])
    return Problem(tuple(buffers), alignment=16)


def test_the_sweep_finds_planted_perfect_packings(lib: ctypes.CDLL) -> None:
    rng = random.Random(5)
    for _ in range(20):
        problem = planted_perfect(rng, 256, 12)
        tl = build_timeline(build(problem))
        assert exactly_full(tl, 256) and lower_bound(problem) == 256
        status, offsets = run_c(lib, tl, "sweep", 256, "Z")
        assert status == FOUND
        check(tl, 256, offsets)


def exactly_full_random(rng: random.Random) -> Problem:
    """Random intervals, then one single-point filler per point up to the busiest point:
    exactly full everywhere, and often impossible to tile (each filler needs the other
    buffers live there to be contiguous)."""
    problem = random_intervals(rng, rng.randint(3, 6))
    load = [0] * 12
    for b in problem.buffers:
        for t in range(b.windows[0][0], b.windows[0][1] + 1):
            load[t] += b.size
    top = max(load)
    used = [t for t in range(12) if load[t]]
    fillers = tuple(
        Buffer(f"f{t}", top - load[t], ((t, t),))
        for t in range(used[0], used[-1] + 1)
        if load[t] < top
    )
    return Problem(problem.buffers + fillers, alignment=16)


def test_the_sweep_agrees_with_the_canonical_search_on_exactly_full_instances(
    lib: ctypes.CDLL,
) -> None:
    rng = random.Random(9)
    verdicts = set()
    for _ in range(60):
        problem = exactly_full_random(rng)
        tl = build_timeline(build(problem))
        capacity = lower_bound(problem)
        assert exactly_full(tl, capacity)
        expected = canonical(tl, capacity, orders(tl)["WAT"], 1 << 40, FAR)[0]
        status, offsets = run_c(lib, tl, "sweep", capacity, "Z")
        assert status == expected
        if status == FOUND:
            check(tl, capacity, offsets)
        verdicts.add(expected)
    assert verdicts == {FOUND, EXHAUSTED}  # both answers were exercised


def exactly_full_fillers(rng: random.Random) -> Problem:
    """Like exactly_full_random with more buffers, and fillers in one or two pieces living
    up to three points: deeper sweeps, where backjumping and remembered failures act."""
    buffers = list(random_intervals(rng, rng.randint(8, 16)).buffers)
    load = [0] * 12
    for b in buffers:
        for t in range(b.windows[0][0], b.windows[0][1] + 1):
            load[t] += b.size
    top = max(load)
    t = min(b.windows[0][0] for b in buffers)
    last = max(b.windows[0][1] for b in buffers)
    while t <= last:
        need = top - load[t]
        if not need:
            t += 1
            continue
        span = 1
        while span < 3 and t + span <= last and load[t + span] == load[t]:
            span += 1
        span = rng.randint(1, span)
        cut = 16 * rng.randint(1, need // 16 - 1) if need >= 32 and rng.random() < 0.5 else need
        for k, size in enumerate((cut, need - cut) if cut < need else (need,)):
            buffers.append(Buffer(f"f{t}.{k}", size, ((t, t + span - 1),)))
        t += span
    return Problem(tuple(buffers), alignment=16)


def test_the_sweep_agrees_with_the_canonical_search_on_deeper_instances(
    lib: ctypes.CDLL,
) -> None:
    rng = random.Random(4)
    verdicts = []
    for _ in range(150):
        problem = exactly_full_fillers(rng)
        tl = build_timeline(build(problem))
        capacity = lower_bound(problem)
        assert exactly_full(tl, capacity)
        expected = run_c(lib, tl, "canonical", capacity)[0]
        for order in ("Z", "A"):
            status, offsets = run_c(lib, tl, "sweep", capacity, order)
            assert status == expected
            if status == FOUND:
                check(tl, capacity, offsets)
        verdicts.append(expected)
    assert verdicts.count(EXHAUSTED) >= 10 and verdicts.count(FOUND) >= 10


def test_the_portfolio_is_deterministic_and_checks_its_plans() -> None:
    rng = random.Random(2)
    for _ in range(10):
        graph = build(random_intervals(rng, 10))
        tl = build_timeline(graph)
        best = optimum(tl)
        first = decide(graph, best, time.monotonic() + 30, seed=1)
        again = decide(graph, best, time.monotonic() + 30, seed=1)
        assert first == again and first.status == "fits"
        assert decide(graph, best - 16, time.monotonic() + 30).status == "impossible"


def test_schedule_uses_the_sweep_only_for_exactly_full_instances() -> None:
    problem = planted_perfect(random.Random(1), 256, 6)
    tl = build_timeline(build(problem))
    assert {j.method for j in schedule(tl, 256, 0, native=True)} >= {"sweep", "skyline"}
    assert "sweep" not in {j.method for j in schedule(tl, 272, 0, native=True)}
    assert {j.method for j in schedule(tl, 256, 0, native=False)} == {"canonical"}


def test_without_the_c_core_the_python_search_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREWRITE_PURE_PYTHON", "1")
    native_module.library.cache_clear()
    try:
        assert native_module.library() is None
        rng = random.Random(4)
        for _ in range(5):
            problem = random_intervals(rng, 8)
            graph = build(problem)
            best = optimum(build_timeline(graph))
            found = decide(graph, best, time.monotonic() + 30)
            assert found.status == "fits" and found.method.startswith("canonical")
            assert decide(graph, best - 16, time.monotonic() + 30).status == "impossible"
            result = plan(problem, time_limit=10)
            assert result.arena_bytes == best and result.optimal
    finally:
        native_module.library.cache_clear()


def test_a_failed_build_means_no_c_core(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CC", "false")  # a "compiler" that always fails
    monkeypatch.setattr(native_module.shutil, "which", lambda name: "/bin/false")
    assert native_module.build(tmp_path / "broken") is None
    assert not list((tmp_path / "broken").glob("*.so"))


def test_the_build_is_cached_per_source(tmp_path: Path) -> None:
    first = native_module.build(tmp_path)
    assert first is not None and first.exists()
    stamp = first.stat().st_mtime_ns
    assert native_module.build(tmp_path) == first and first.stat().st_mtime_ns == stamp
