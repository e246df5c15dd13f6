"""The default planner: cheap heuristics first, the exact solver only for what they leave.

1. greedy by size (the plan to never be worse than);
2. local search from it towards the lower bound;
3. if a gap remains, other greedy orderings, each followed by local search;
4. if a gap still remains, CP-SAT with the best plan as hint for the remaining time.
Every stage stops as soon as the arena equals the lower bound.
"""

from __future__ import annotations

import time

from crewrite.packing.exact import solve
from crewrite.packing.greedy import ORDERINGS, place
from crewrite.packing.registry import Outcome, Request, arena, register
from crewrite.packing.search import squeeze

HEURISTIC_SHARE = 0.3  # of the time limit, before CP-SAT takes over


@register("auto")
def auto(request: Request) -> Outcome:
    graph, bound = request.graph, request.lower_bound
    started = time.monotonic()
    heuristic_deadline = started + HEURISTIC_SHARE * request.remaining()
    best = place(graph, ORDERINGS["size"](graph))
    best_arena = arena(graph, best)
    notes = [f"greedy by size: {best_arena}"]
    for k, name in enumerate(ORDERINGS):
        if best_arena <= bound or time.monotonic() >= heuristic_deadline:
            break
        start = best if k == 0 else place(graph, ORDERINGS[name](graph))
        # The first ordering gets half the heuristic time; later ones share what is left.
        share = (heuristic_deadline - time.monotonic()) / (2 if k == 0 else len(ORDERINGS) - k)
        found = squeeze(graph, start, bound, time.monotonic() + share, request.seed + k)
        found_arena = arena(graph, found)
        if found_arena < best_arena:
            best, best_arena = found, found_arena
            notes.append(f"greedy by {name} + local search: {best_arena}")
    proven = best_arena <= bound
    if not proven and request.remaining() > 0:
        best, proven = solve(graph, best, bound, request.remaining(), request.seed)
        notes.append(f"CP-SAT: {arena(graph, best)}{' (proved optimal)' if proven else ''}")
    return Outcome(best, proven_optimal=proven, notes=tuple(notes))
