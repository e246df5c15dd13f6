"""Does every buffer fit under a given capacity? The exact searches, run as a portfolio.

Three complete searches (see fitcore.c): `canonical` (MiniMalloc's, any conflict graph),
`skyline` and `sweep` (interval buffers; sweep only when every time column is exactly full
at that capacity, the planted "perfect packing" family). No single order of decisions wins
everywhere, so, as MiniMalloc does, each search is restarted with several buffer orders and
node limits that double every round. The jobs of that schedule run on two threads (the C
core releases the GIL); the answer is the decisive job (fits, or proved impossible) with
the lowest position in the schedule, so it never depends on which thread was faster, only
on whether the clock cut the schedule short.
"""

from __future__ import annotations

import ctypes
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from crewrite.packing import bnb
from crewrite.packing.graph import Graph
from crewrite.packing.native import ProblemStruct, library
from crewrite.packing.timeline import Timeline, build_timeline

FOUND, EXHAUSTED, LIMIT, STOPPED, NOMEM = 1, 0, 2, 3, 4
WORKERS = 2
# A canonical node costs ~100x a skyline or sweep node (it sorts every unplaced buffer).
CHEAP_NODES = 64
RANDOM_ORDERS_MAX = 64  # per method and round

Status = Literal["fits", "impossible", "unknown"]


@dataclass(frozen=True)
class Decision:
    status: Status
    offsets: tuple[int, ...] | None  # graph-indexed, when it fits
    method: str  # which job decided ("" when none did)
    jobs: int  # jobs started


@dataclass(frozen=True)
class Job:
    method: str  # canonical | skyline | skyline-reversed | sweep
    order: str
    rank: tuple[int, ...]
    nodes: int

    @property
    def heuristic(self) -> int:
        """Canonical jobs re-rank every sub-problem by MiniMalloc's preorder of that name."""
        return PREORDERS.index(self.order) if self.order in PREORDERS else -1


PREORDERS = ("WAT", "TAW", "TWA")


def _ranks(n: int, key: Callable[[int], tuple[int, ...]]) -> tuple[int, ...]:
    rank = [0] * n
    for position, i in enumerate(sorted(range(n), key=key)):
        rank[i] = position
    return tuple(rank)


def orders(tl: Timeline) -> dict[str, tuple[int, ...]]:
    """MiniMalloc's static preorders (W = lifetime, A = area, T = heaviest section it is in,
    Z = size; all descending, ties by index)."""
    load = tl.load()
    total = [max((load[s] for s in secs), default=0) for secs in tl.buffer_sections]
    width, size = tl.width, tl.size
    area = [size[i] * width[i] for i in range(tl.n)]
    return {
        "WAT": _ranks(tl.n, lambda i: (-width[i], -area[i], -total[i], i)),
        "TAW": _ranks(tl.n, lambda i: (-total[i], -area[i], -width[i], i)),
        "TWA": _ranks(tl.n, lambda i: (-total[i], -width[i], -area[i], i)),
        "Z": _ranks(tl.n, lambda i: (-size[i], -width[i], i)),
        "A": _ranks(tl.n, lambda i: (-area[i], i)),
        "W": _ranks(tl.n, lambda i: (-width[i], -size[i], i)),
    }


def exactly_full(tl: Timeline, capacity: int) -> bool:
    """Every time column holds exactly `capacity` bytes (the sweep's precondition)."""
    if tl.columns is None or not tl.n:
        return False
    load = [0] * tl.ncol
    for (a, b), s in zip(tl.columns, tl.size, strict=True):
        for c in range(a, b):
            load[c] += s
    return all(x == capacity for x in load)


def schedule(tl: Timeline, capacity: int, seed: int, native: bool) -> list[Job]:
    """The first rounds of the restart schedule (callers stop early)."""
    ords = orders(tl)
    methods: list[tuple[str, list[str], int]] = [("canonical", list(PREORDERS), 1)]
    if native and tl.columns is not None:
        if exactly_full(tl, capacity):
            methods.append(("sweep", ["Z", "W", "A"], CHEAP_NODES))
        methods.append(("skyline", ["Z", "A", "W"], CHEAP_NODES))
        methods.append(("skyline-reversed", ["Z", "A", "W"], CHEAP_NODES))
    rng = random.Random(seed)
    jobs: list[Job] = []
    base = 2 * max(tl.n, 1)
    for r in range(40):
        short = base << (r // 2)
        for method, names, weight in methods:
            # Canonical limits double every round (its proofs need long runs, and it is
            # the slow one per node: 1.5 rounds per doubling); the cheap searches get many
            # short runs instead, their number and length both growing by sqrt(2) a round.
            grown = (base << (2 * r // 3)) if method == "canonical" else short * weight
            for name in names:
                jobs.append(Job(method, name, ords[name], grown))
            if method != "canonical":  # random orders break their heavy tails
                for k in range(min(1 << ((r + 1) // 2), RANDOM_ORDERS_MAX)):
                    perm = list(range(tl.n))
                    rng.shuffle(perm)
                    jobs.append(Job(method, f"random{r}.{k}", tuple(perm), short * weight))
    return jobs


class _Native:
    """ctypes arrays for one timeline, kept alive while jobs run."""

    def __init__(self, tl: Timeline) -> None:
        def flat(rows: Sequence[Sequence[int]]) -> tuple[list[int], list[int]]:
            start, items = [0], list[int]()
            for row in rows:
                items.extend(row)
                start.append(len(items))
            return start, items

        adj_start, adj = flat(tl.adj)
        sec_start, sec_buf = flat(tl.sections)
        bs_start, bs = flat(tl.buffer_sections)
        cols = tl.columns or ((0, 0),)
        self.arrays = [
            self._arr(ctypes.c_int64, tl.size),
            self._arr(ctypes.c_int64, tl.align),
            self._arr(ctypes.c_int32, adj_start),
            self._arr(ctypes.c_int32, adj),
            self._arr(ctypes.c_int32, sec_start),
            self._arr(ctypes.c_int32, sec_buf),
            self._arr(ctypes.c_int32, bs_start),
            self._arr(ctypes.c_int32, bs),
            self._arr(ctypes.c_int32, [a for a, _ in cols]),
            self._arr(ctypes.c_int32, [b for _, b in cols]),
            self._arr(ctypes.c_int64, tl.width),
        ]
        a = self.arrays
        self.struct = ProblemStruct(
            tl.n, a[0], a[1], a[2], a[3], len(tl.sections), a[4], a[5], a[6], a[7],
            int(tl.split), tl.ncol, a[8], a[9], a[10],
        )  # fmt: skip

    @staticmethod
    def _arr(kind: type[ctypes.c_int32] | type[ctypes.c_int64], xs: Sequence[int]) -> ctypes.Array:  # type: ignore[type-arg]
        return (kind * max(len(xs), 1))(*xs)


def reversed_in_time(tl: Timeline) -> Timeline:
    """The same problem with time running backwards (a plan of one is a plan of the other);
    the skyline search fills it in a different order."""
    if tl.columns is None:
        return tl
    m = tl.ncol
    return replace(tl, columns=tuple((m - b, m - a) for a, b in tl.columns))


def _run_native(
    lib: ctypes.CDLL, data: dict[str, _Native], n: int, job: Job, capacity: int,
    stop: ctypes.c_int32,
) -> tuple[int, list[int]]:  # fmt: skip
    out = (ctypes.c_int64 * max(n, 1))()
    nodes = ctypes.c_int64(0)
    rank = (ctypes.c_int32 * max(n, 1))(*job.rank)
    fn = {
        "canonical": lib.crw_canonical,
        "skyline": lib.crw_skyline,
        "skyline-reversed": lib.crw_skyline,
        "sweep": lib.crw_sweep,
    }
    layout = data["reversed" if job.method == "skyline-reversed" else "forward"]
    head = (ctypes.byref(layout.struct), capacity, rank)
    tail = (job.nodes, ctypes.byref(stop), out, ctypes.byref(nodes))
    if job.method == "canonical":
        status = fn[job.method](*head, job.heuristic, *tail)
    else:
        status = fn[job.method](*head, *tail)
    return int(status), list(out[:n])


def decide(graph: Graph, capacity: int, deadline: float, seed: int = 0) -> Decision:
    """Search until a plan within `capacity` is found, proved impossible, or `deadline`
    (a time.monotonic() value) passes."""
    tl = build_timeline(graph)
    if not tl.n:
        return Decision("fits", tuple(0 for _ in range(graph.n)), "empty", 0)
    if max(tl.size) > capacity or any(sum(tl.size[i] for i in s) > capacity for s in tl.sections):
        return Decision("impossible", None, "bound", 0)
    lib = library()
    jobs = schedule(tl, capacity, seed, native=lib is not None)

    def result(index: int, status: int, offsets: list[int]) -> Decision:
        job = jobs[index]
        method = f"{job.method}/{job.order}"
        if status == EXHAUSTED:
            return Decision("impossible", None, method, index + 1)
        full = [0] * graph.n
        for k, g in enumerate(tl.index):
            full[g] = offsets[k]
        return Decision("fits", tuple(full), method, index + 1)

    if lib is None:
        for index, job in enumerate(jobs):
            if time.monotonic() >= deadline:
                break
            status, offsets = bnb.canonical(
                tl, capacity, job.rank, job.nodes, deadline, job.heuristic
            )
            if status in (FOUND, EXHAUSTED):
                return result(index, status, offsets)
        return Decision("unknown", None, "", len(jobs))
    return _portfolio(lib, tl, jobs, capacity, deadline, result)


def _portfolio(
    lib: ctypes.CDLL,
    tl: Timeline,
    jobs: list[Job],
    capacity: int,
    deadline: float,
    result: Callable[[int, int, list[int]], Decision],
) -> Decision:
    data = {"forward": _Native(tl), "reversed": _Native(reversed_in_time(tl))}
    lock = threading.Condition()
    stops = [ctypes.c_int32(0) for _ in jobs]
    outcome: dict[int, tuple[int, list[int]]] = {}
    state = {"next": 0, "best": len(jobs), "running": 0}

    def worker() -> None:
        while True:
            with lock:
                index = state["next"]
                if index >= state["best"] or time.monotonic() >= deadline:
                    lock.notify_all()
                    return
                state["next"] = index + 1
                state["running"] += 1
            status, offsets = _run_native(lib, data, tl.n, jobs[index], capacity, stops[index])
            with lock:
                state["running"] -= 1
                if status in (FOUND, EXHAUSTED) and index < state["best"]:
                    outcome[index] = (status, offsets)
                    state["best"] = index
                    for later in range(index + 1, len(jobs)):
                        stops[later].value = 1
                lock.notify_all()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(WORKERS)]
    for t in threads:
        t.start()
    with lock:
        while any(t.is_alive() for t in threads):
            # Done once nothing below the best decisive job is still running or queued.
            if state["best"] < len(jobs) and state["running"] == 0:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                for s in stops:
                    s.value = 1
                break
            lock.wait(timeout=min(left, 0.05))
    for t in threads:
        t.join()
    best = state["best"]
    if best < len(jobs):
        status, offsets = outcome[best]
        return result(best, status, offsets)
    return Decision("unknown", None, "", state["next"])
