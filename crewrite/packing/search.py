"""Local search: squeeze a plan under a target arena by evicting and re-placing buffers.

Buffers that end above the target are lifted out. Each is put back at the lowest fit under
the target if there is one; otherwise at the position under the target whose overlapping
neighbours are cheapest to move, and those neighbours are lifted out in turn (a
min-conflicts ruin-and-recreate). Moving a buffer makes it dearer to move again, which
breaks cycles. Most of an instance sits well below its peak, so evictions stay local and
a plan near the bound is usually fixed after a few hundred moves.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
import random
import time

from crewrite.measure import round_up
from crewrite.packing.graph import Graph
from crewrite.packing.greedy import by_size, lowest_fit, place
from crewrite.packing.registry import Outcome, Request, arena, register


def repair(
    graph: Graph, start: list[int], target: int, deadline: float, seed: int, steps: float
) -> list[int] | None:
    """Offsets with arena <= target derived from `start`, or None if neither `steps`
    placements nor the clock suffice. A step budget keeps results independent of speed."""
    size, align, adj = graph.size, graph.align, graph.adj
    if max(size, default=0) > target:
        return None
    rng = random.Random(seed)
    offsets, universal = sink_universal(graph, start)
    placed = [True] * graph.n
    moves = [0] * graph.n
    # Evicting a big or long-lived (many conflicts) buffer is hard to undo; a buffer that
    # conflicts with all others never needs to move once it is at the bottom.
    never = (1 + sum(size)) * (1 + graph.n) ** 3
    price = [never if i in universal else size[i] * (1 + len(adj[i])) for i in range(graph.n)]
    queue: list[tuple[int, float, int]] = []
    for i in range(graph.n):
        if size[i] and offsets[i] + size[i] > target:
            placed[i] = False
            heapq.heappush(queue, (-size[i], rng.random(), i))
    done = 0
    while queue:
        done += 1
        if done > steps or (done % 32 == 0 and time.monotonic() > deadline):
            return None
        _, _, i = heapq.heappop(queue)
        s, a = size[i], align[i]
        occupied = sorted((offsets[j], offsets[j] + size[j], j) for j in adj[i] if placed[j])
        fit = lowest_fit([(lo, hi) for lo, hi, _ in occupied], s, a)
        top = (target - s) // a * a
        if fit > top:
            fit = _least_disruptive(occupied, s, a, top, moves, price, rng)
            for lo, hi, j in occupied:
                if lo < fit + s and hi > fit:
                    placed[j] = False
                    moves[j] += 1
                    heapq.heappush(queue, (-size[j], rng.random(), j))
        offsets[i] = fit
        placed[i] = True
    return offsets


def sink_universal(graph: Graph, offsets: list[int]) -> tuple[list[int], set[int]]:
    """Same arena, with the buffers that conflict with all others stacked at the bottom;
    returns the new offsets and the stacked buffers (empty if nothing could be stacked).

    Nothing shares such a buffer's byte range, so moving it to the bottom and lifting
    what was below it by its size keeps the plan valid, provided the lift keeps every
    alignment (sizes multiples of all alignments, the usual case)."""
    others = sum(1 for s in graph.size if s) - 1
    universal = {i for i in range(graph.n) if graph.size[i] and len(graph.adj[i]) == others}
    step = math.lcm(*(a for a, s in zip(graph.align, graph.size, strict=True) if s), 1)
    if not universal or any(graph.size[u] % step for u in universal):
        return list(offsets), set()
    stack = sorted(universal, key=lambda u: offsets[u])
    tops = [offsets[u] for u in stack]
    sizes = [graph.size[u] for u in stack]
    above = list(itertools.accumulate(reversed(sizes), initial=0))[::-1]  # size above k-th
    out = list(offsets)
    for i in range(graph.n):
        if graph.size[i] and i not in universal:
            out[i] = offsets[i] + above[bisect.bisect_right(tops, offsets[i])]
    base = 0
    for u in stack:
        out[u] = base
        base += graph.size[u]
    return out, universal


def _least_disruptive(
    occupied: list[tuple[int, int, int]],
    s: int,
    a: int,
    top: int,
    moves: list[int],
    price: list[int],
    rng: random.Random,
) -> int:
    """Aligned offset in [0, top] whose overlapping neighbours weigh least to evict.

    Only offsets flush with 0, the top, or a neighbour's edge can be minimal. The ranges
    overlapping [c, c+s) are those starting below c+s minus those ending at or below c
    (a subset of the former), so prefix sums over both orders price each candidate in
    O(log d): buffers live all program long have d in the thousands."""
    weight = [price[j] * (1 + moves[j]) for _, _, j in occupied]
    los = [lo for lo, _, _ in occupied]
    lo_sums = list(itertools.accumulate(weight, initial=0))
    by_hi = sorted(range(len(occupied)), key=lambda k: occupied[k][1])
    his = [occupied[k][1] for k in by_hi]
    hi_sums = list(itertools.accumulate((weight[k] for k in by_hi), initial=0))
    candidates = {0, top}
    for lo, hi, _ in occupied:
        candidates.add(round_up(hi, a))
        candidates.add((lo - s) // a * a)
    best, best_key = 0, None
    for c in candidates:
        if c < 0 or c > top:
            continue
        cost = lo_sums[bisect.bisect_left(los, c + s)] - hi_sums[bisect.bisect_right(his, c)]
        key = (cost * (1.0 + 0.3 * rng.random()), c)
        if best_key is None or key < best_key:
            best, best_key = c, key
    return best


def squeeze(
    graph: Graph,
    start: list[int],
    bound: int,
    deadline: float,
    seed: int,
    steps: float = math.inf,
) -> list[int]:
    """Best plan found by repairing `start` towards `bound` within `steps` placements
    (and the deadline).

    Aims at the bound first; if that fails within half the remaining steps, it halves the
    distance between the best arena and the bound and tries again, so the result improves
    steadily even when the bound itself is out of reach."""
    best = start
    best_arena = arena(graph, start)
    unit = graph.unit
    attempt = 0
    left = steps
    while best_arena > bound and left >= 1 and time.monotonic() < deadline:
        gap_units = (best_arena - bound) // unit
        target = bound if attempt % 2 == 0 else best_arena - max(1, gap_units // 2) * unit
        if math.isinf(left):
            share, budget = max(0.05, (deadline - time.monotonic()) / 2), left
        else:
            share, budget = deadline - time.monotonic(), max(1, left // 2)
        left -= budget
        found = repair(
            graph, best, target, min(deadline, time.monotonic() + share), seed + attempt, budget
        )
        attempt += 1
        if found is not None:
            best, best_arena = found, arena(graph, found)
    return best


@register("search")
def search(request: Request) -> Outcome:
    """Greedy by size, then local search towards the lower bound (or the capacity asked
    for) until the time limit."""
    graph = request.graph
    start = place(graph, by_size(graph))
    return Outcome(squeeze(graph, start, request.target, request.deadline, request.seed))
