"""Greedy planners: place buffers one by one, each at the lowest aligned offset clear of
every already placed buffer it conflicts with. Only the order differs between them.

"size" (ties in instance order) and "size-tflm" (ties in reverse order, what TFLM's
GreedyMemoryPlanner does) are the baselines in the benchmark README.
"""

from __future__ import annotations

from collections.abc import Iterable

from crewrite.measure import round_up
from crewrite.packing.graph import Graph
from crewrite.packing.registry import Outcome, Request, register


def lowest_fit(occupied: list[tuple[int, int]], size: int, align: int) -> int:
    """Lowest multiple of `align` where [o, o+size) misses every (lo, hi) in `occupied`,
    which must be sorted by lo."""
    cand = 0
    for lo, hi in occupied:
        if cand + size <= lo:
            break
        if hi > cand:
            cand = round_up(hi, align)
    return cand


def place(graph: Graph, order: Iterable[int]) -> list[int]:
    """First-fit offsets for the buffers in `order` (all non-empty ones must appear)."""
    size, align, adj = graph.size, graph.align, graph.adj
    offsets = [0] * graph.n
    placed = [False] * graph.n
    for i in order:
        if not size[i]:
            continue
        occupied = sorted((offsets[j], offsets[j] + size[j]) for j in adj[i] if placed[j])
        offsets[i] = lowest_fit(occupied, size[i], align[i])
        placed[i] = True
    return offsets


def by_size(graph: Graph) -> list[int]:
    return sorted(range(graph.n), key=lambda i: -graph.size[i])


def by_size_reverse_ties(graph: Graph) -> list[int]:
    return sorted(range(graph.n), key=lambda i: (-graph.size[i], -i))


def by_conflicts(graph: Graph) -> list[int]:
    """Most conflicted first (they constrain most), then larger, then instance order."""
    return sorted(range(graph.n), key=lambda i: (-len(graph.adj[i]), -graph.size[i]))


def by_neighbourhood(graph: Graph) -> list[int]:
    """Largest size times crowding first: big buffers in busy stretches are hardest."""
    weight = [sum(graph.size[j] for j in graph.adj[i]) + graph.size[i] for i in range(graph.n)]
    return sorted(range(graph.n), key=lambda i: (-graph.size[i] * weight[i], -graph.size[i]))


def by_lifetime(graph: Graph) -> list[int]:
    """Long-lived first (ties by size): they cross the most crowded points."""
    span = [sum(e - s + 1 for s, e in ws) for ws in graph.windows]
    return sorted(range(graph.n), key=lambda i: (-span[i], -graph.size[i]))


def by_start(graph: Graph) -> list[int]:
    """Execution order, as a runtime allocator would see the buffers."""
    first = [min((s for s, _ in ws), default=0) for ws in graph.windows]
    return sorted(range(graph.n), key=lambda i: (first[i], -graph.size[i]))


ORDERINGS = {
    "size": by_size,
    "size-tflm": by_size_reverse_ties,
    "conflicts": by_conflicts,
    "neighbourhood": by_neighbourhood,
    "lifetime": by_lifetime,
    "start": by_start,
}


@register("greedy-size")
def greedy_size(request: Request) -> Outcome:
    return Outcome(place(request.graph, by_size(request.graph)))


@register("greedy-size-tflm")
def greedy_size_tflm(request: Request) -> Outcome:
    return Outcome(place(request.graph, by_size_reverse_ties(request.graph)))


@register("greedy-conflicts")
def greedy_conflicts(request: Request) -> Outcome:
    return Outcome(place(request.graph, by_conflicts(request.graph)))
