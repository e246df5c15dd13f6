"""The canonical search of fitcore.c in pure Python, for machines where it cannot be built.

Same branching, pruning and node counting as `canon_search` in fitcore.c (a test compares
their results), about a hundred times slower. The skyline and sweep searches exist only in
C: without a compiler the portfolio runs this search alone.
"""

from __future__ import annotations

import time

from crewrite.measure import round_up
from crewrite.packing.timeline import Timeline

FOUND, EXHAUSTED, LIMIT, STOPPED = 1, 0, 2, 3
BIG = 1 << 62


class _Canonical:
    def __init__(
        self,
        tl: Timeline,
        capacity: int,
        rank: tuple[int, ...],
        limit: int,
        deadline: float,
        heuristic: int,
    ) -> None:
        self.tl, self.cap, self.limit, self.deadline = tl, capacity, limit, deadline
        self.rank = list(rank)
        self.heuristic = heuristic
        n, nsec = tl.n, len(tl.sections)
        self.nodes = 0
        self.off = [-1] * n
        self.minoff = [0] * n
        self.floor = [0] * nsec
        self.total = [0] * nsec
        self.cuts = [0] * max(nsec, 1)
        self.first = [secs[0] for secs in tl.buffer_sections]
        self.last = [secs[-1] for secs in tl.buffer_sections]
        self.sol = [0] * n
        self.log: list[tuple[list[int], int, int]] = []
        for i in range(n):
            for s in tl.buffer_sections[i]:
                self.total[s] += tl.size[i]
            for k in range(self.first[i], self.last[i]):
                self.cuts[k] += 1

    def set(self, array: list[int], index: int, value: int) -> None:
        self.log.append((array, index, array[index]))
        array[index] = value

    def undo(self, mark: int) -> None:
        while len(self.log) > mark:
            array, index, old = self.log.pop()
            array[index] = old

    def rerank(self, group: list[int]) -> None:
        """MiniMalloc's preorder of this (sub-)problem: W = lifetime, A = area, T = most bytes
        still unplaced in one of its sections; all descending, ties by index."""
        if self.heuristic < 0:
            return
        tl = self.tl

        def key(i: int) -> tuple[int, ...]:
            w, a = tl.width[i], tl.size[i] * tl.width[i]
            t = max((self.total[s] for s in tl.buffer_sections[i]), default=0)
            keys = ((w, a, t), (t, a, w), (t, w, a))[self.heuristic]
            return (-keys[0], -keys[1], -keys[2], i)

        for position, i in enumerate(sorted(group, key=key)):
            self.set(self.rank, i, position)

    def split(self, part: list[int], slo: int, shi: int) -> int:
        bufs = [i for i in part if self.off[i] < 0]
        group_of, g = {}, 0
        for k in range(slo, shi):
            group_of[k] = g
            if k + 1 < shi and self.cuts[k] == 0:
                g += 1
        groups: list[list[int]] = [[] for _ in range(g + 1)]
        for i in bufs:
            groups[group_of[self.first[i]]].append(i)
        for group in groups:
            if not group:
                continue
            glo = min(self.first[i] for i in group)
            ghi = max(self.last[i] for i in group) + 1
            self.rerank(group)
            status = self.search(group, glo, ghi, 0, -1)
            if status != FOUND:
                return status
        return FOUND

    def place(self, i: int, o: int, slo: int, shi: int) -> tuple[bool, bool, bool]:
        """(fits, split, hatless) after placing buffer i at offset o."""
        tl = self.tl
        top = o + tl.size[i]
        self.set(self.off, i, o)
        self.sol[i] = o
        hatless = True
        affected: dict[int, None] = {}
        for j in tl.adj[i]:
            if self.off[j] >= 0:
                continue
            hatless = False
            if self.minoff[j] >= top:
                continue
            step = tl.align[j]
            self.set(self.minoff, j, round_up(top, step))
            for s in tl.buffer_sections[j]:
                if slo <= s < shi:
                    affected[s] = None
        for s in tl.buffer_sections[i]:
            if self.floor[s] < top:
                self.set(self.floor, s, top)
            self.set(self.total, s, self.total[s] - tl.size[i])
        ok = True
        for s in affected:
            if not ok:
                break
            if self.total[s] == 0:
                continue
            low = min((self.minoff[j] for j in tl.sections[s] if self.off[j] < 0), default=BIG)
            if low > self.floor[s]:
                self.set(self.floor, s, low)
                if low + self.total[s] > self.cap:
                    ok = False
        split = False
        if tl.split:
            for k in range(self.first[i], self.last[i]):
                self.set(self.cuts, k, self.cuts[k] - 1)
                if self.cuts[k] == 0 and slo <= k and k + 1 < shi:
                    split = True
        return ok, split, hatless

    def search(self, part: list[int], slo: int, shi: int, lo_off: int, lo_rank: int) -> int:
        tl = self.tl
        if self.nodes >= self.limit:
            return LIMIT
        self.nodes += 1
        if self.nodes % 256 == 0 and time.monotonic() >= self.deadline:
            return STOPPED
        cand = [(self.minoff[i], self.rank[i], i) for i in part if self.off[i] < 0]
        if not cand:
            return FOUND
        min_top = min(o + tl.size[i] for o, _, i in cand)
        threshold = BIG
        for s in range(slo, shi):
            if self.total[s]:
                threshold = min(threshold, max(self.floor[s], self.cap - self.total[s]))
        cand.sort()
        for o, r, i in cand:
            if o >= min_top or o > threshold:
                break
            if o < lo_off or (o == lo_off and r < lo_rank):
                continue
            mark = len(self.log)
            status = EXHAUSTED
            ok, split, hatless = self.place(i, o, slo, shi)
            if ok:
                if split:
                    status = self.split(part, slo, shi)
                else:
                    status = self.search(part, slo, shi, o, r)
            self.undo(mark)
            if status != EXHAUSTED:
                return status
            if hatless:
                break
        return EXHAUSTED


def canonical(
    tl: Timeline,
    capacity: int,
    rank: tuple[int, ...],
    limit: int,
    deadline: float,
    heuristic: int = -1,
) -> tuple[int, list[int]]:
    """(status, offsets by timeline index) like crw_canonical in fitcore.c; `heuristic`
    0/1/2 re-ranks each sub-problem by WAT/TAW/TWA, -1 keeps `rank`."""
    search = _Canonical(tl, capacity, rank, limit, deadline, heuristic)
    if any(s > capacity for s in tl.size) or any(t > capacity for t in search.total):
        return EXHAUSTED, search.sol
    every = list(range(tl.n))
    if tl.split:
        status = search.split(every, 0, len(tl.sections))
    else:
        search.rerank(every)
        status = search.search(every, 0, len(tl.sections), 0, -1)
    return status, search.sol
