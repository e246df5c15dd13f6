"""Lower bounds on the arena: the heaviest clique we can find cheaply.

Buffers live at one program point pairwise conflict, so their summed sizes bound any plan.
Explicit edges can form cliques time does not see; for those we grow a clique greedily
from every explicit edge (any clique is a valid bound, a bigger one is just tighter).
"""

from __future__ import annotations

from crewrite.packing.graph import Graph, build
from crewrite.packing.model import Problem


def point_load_bound(graph: Graph) -> int:
    """Max over program points of the summed rounded sizes of the buffers live there."""
    starts, ends, weights = [], [], []
    for i, ws in enumerate(graph.windows):
        if graph.size[i]:
            for s, e in ws:
                starts.append(s)
                ends.append(e + 1)
                weights.append(graph.size[i])
    if not starts:
        return 0
    import numpy as np  # here, not at import: a run with nothing to plan never loads it

    w = np.asarray(weights, dtype=np.int64)
    times = np.concatenate([np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)])
    deltas = np.concatenate([w, -w])
    # At equal times removals (negative) sort first: a window ending at t-1 and one
    # starting at t never share a point.
    order = np.lexsort((deltas, times))
    return int(max(0, np.cumsum(deltas[order]).max()))


def extra_edge_bound(graph: Graph) -> int:
    """Weight of a greedily grown clique around each explicit edge."""
    if not graph.extra:
        return 0
    neighbours = [set(a) for a in graph.adj]
    best = 0
    for i, j in graph.extra:
        candidates = neighbours[i] & neighbours[j]  # adjacent to every clique member so far
        weight = graph.size[i] + graph.size[j]
        for k in sorted(candidates, key=lambda v: (-graph.size[v], v)):
            if k in candidates:
                weight += graph.size[k]
                candidates = candidates & neighbours[k]
        best = max(best, weight)
    return best


def graph_lower_bound(graph: Graph) -> int:
    largest = max(graph.size, default=0)
    return max(largest, point_load_bound(graph), extra_edge_bound(graph))


def lower_bound(problem: Problem) -> int:
    """No valid plan of `problem` has a smaller arena (bytes, after rounding)."""
    return graph_lower_bound(build(problem))
