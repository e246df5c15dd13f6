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

# Local search reaches the bound within milliseconds per thousand buffers when it can;
# when it cannot (the optimum is above the bound), CP-SAT needs the time to prove it.
HEURISTIC_SHARE = 0.3  # at most this share of the time limit goes to the heuristics...
HEURISTIC_SECONDS = 0.25  # ...and at most this plus
HEURISTIC_SECONDS_PER_BUFFER = 1e-4
# Local-search placements, so that the result does not depend on the machine's speed
# (the clock budget above only cuts in on large instances).
HEURISTIC_STEPS = 2000
HEURISTIC_STEPS_PER_BUFFER = 2


@register("auto")
def auto(request: Request) -> Outcome:
    graph, bound = request.graph, request.lower_bound
    started = time.monotonic()
    budget = HEURISTIC_SECONDS + HEURISTIC_SECONDS_PER_BUFFER * graph.n
    heuristic_deadline = started + min(HEURISTIC_SHARE * request.remaining(), budget)
    steps = HEURISTIC_STEPS + HEURISTIC_STEPS_PER_BUFFER * graph.n
    best = place(graph, ORDERINGS["size"](graph))
    best_arena = arena(graph, best)
    notes = [f"greedy by size: {best_arena}"]
    for k, name in enumerate(ORDERINGS):
        if best_arena <= bound or time.monotonic() >= heuristic_deadline:
            break
        start = best if k == 0 else place(graph, ORDERINGS[name](graph))
        # The first ordering gets half the heuristic budget; the others share the rest.
        portion = 2 if k == 0 else 2 * (len(ORDERINGS) - 1)
        share = (heuristic_deadline - time.monotonic()) / (2 if k == 0 else len(ORDERINGS) - k)
        found = squeeze(
            graph, start, bound, time.monotonic() + share, request.seed + k, steps // portion
        )
        found_arena = arena(graph, found)
        if found_arena < best_arena:
            best, best_arena = found, found_arena
            notes.append(f"greedy by {name} + local search: {best_arena}")
    proven = best_arena <= bound
    if not proven and request.remaining() > 0:
        best, proven = solve(graph, best, bound, request.remaining(), request.seed)
        notes.append(f"CP-SAT: {arena(graph, best)}{' (proved optimal)' if proven else ''}")
    return Outcome(best, proven_optimal=proven, notes=tuple(notes))
