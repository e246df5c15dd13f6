"""The default planner: cheap heuristics first, the exact searches only for what they leave.

1. greedy by size (the plan to never be worse than);
2. local search from it towards the target (the lower bound, or the capacity asked for);
3. if a gap remains, other greedy orderings, each followed by local search;
4. if a gap still remains, the exact fit searches (decide.py): in decision mode on the
   capacity; when minimising, first on the lower bound (3/4 of the time left), then
   bisecting between the best capacity proved impossible and the best arena found, each
   question getting half of the time left.
Every stage stops as soon as the target is reached.
"""

from __future__ import annotations

import time

from crewrite.packing.decide import decide
from crewrite.packing.greedy import ORDERINGS, place
from crewrite.packing.registry import Outcome, Request, arena, register
from crewrite.packing.search import squeeze

# Local search reaches the bound within milliseconds per thousand buffers when it can;
# when it cannot (the optimum is above the bound, or the instance is tight), the exact
# searches need the time.
HEURISTIC_SHARE = 0.3  # at most this share of the time limit goes to the heuristics...
HEURISTIC_SECONDS = 0.25  # ...and at most this plus
HEURISTIC_SECONDS_PER_BUFFER = 1e-4
# Local-search placements, so that the result does not depend on the machine's speed
# (the clock budget above only cuts in on large instances).
HEURISTIC_STEPS = 2000
HEURISTIC_STEPS_PER_BUFFER = 2
FIRST_PROBE_SHARE = 0.75  # of the time left, for the exact search at the lower bound


def heuristics(request: Request) -> tuple[list[int], list[str]]:
    """Best plan of the greedy orderings and local search, stopping at the target."""
    graph, target = request.graph, request.target
    started = time.monotonic()
    budget = HEURISTIC_SECONDS + HEURISTIC_SECONDS_PER_BUFFER * graph.n
    heuristic_deadline = started + min(HEURISTIC_SHARE * request.remaining(), budget)
    steps = HEURISTIC_STEPS + HEURISTIC_STEPS_PER_BUFFER * graph.n
    best = place(graph, ORDERINGS["size"](graph))
    best_arena = arena(graph, best)
    notes = [f"greedy by size: {best_arena}"]
    for k, name in enumerate(ORDERINGS):
        if best_arena <= target or time.monotonic() >= heuristic_deadline:
            break
        start = best if k == 0 else place(graph, ORDERINGS[name](graph))
        # The first ordering gets half the heuristic budget; the others share the rest.
        portion = 2 if k == 0 else 2 * (len(ORDERINGS) - 1)
        share = (heuristic_deadline - time.monotonic()) / (2 if k == 0 else len(ORDERINGS) - k)
        found = squeeze(
            graph, start, target, time.monotonic() + share, request.seed + k, steps // portion
        )
        found_arena = arena(graph, found)
        if found_arena < best_arena:
            best, best_arena = found, found_arena
            notes.append(f"greedy by {name} + local search: {best_arena}")
    return best, notes


def _fit(request: Request, best: list[int], notes: list[str]) -> Outcome:
    """Decision mode: the first plan within the capacity, or why there is none."""
    assert request.capacity is not None
    capacity = request.capacity
    if request.lower_bound > capacity:
        notes.append(f"lower bound {request.lower_bound} above the capacity")
        return Outcome(best, notes=tuple(notes), infeasible=True)
    if arena(request.graph, best) <= capacity:
        return Outcome(best, notes=tuple(notes))
    found = decide(request.graph, capacity, request.deadline, request.seed)
    notes.append(f"exact search at {capacity}: {found.status} ({found.method or 'no verdict'})")
    if found.offsets is not None:
        return Outcome(list(found.offsets), notes=tuple(notes))
    return Outcome(best, notes=tuple(notes), infeasible=found.status == "impossible")


def _minimise(request: Request, best: list[int], notes: list[str]) -> Outcome:
    """Bisect the capacity between what is proved impossible and what was found."""
    graph = request.graph
    unit = graph.unit
    low, high = request.lower_bound, arena(graph, best)  # nothing below low fits; high does
    probe = low
    share = FIRST_PROBE_SHARE  # tight instances are usually solved at the bound itself
    while low < high and request.remaining() > 0:
        deadline = time.monotonic() + request.remaining() * share
        share = 0.5
        found = decide(graph, probe, deadline, request.seed)
        notes.append(f"exact search at {probe}: {found.status} ({found.method or 'no verdict'})")
        if found.offsets is not None:
            best, high = list(found.offsets), arena(graph, list(found.offsets))
        elif found.status == "impossible":
            low = probe + unit
        if low >= high:
            break
        # After a verdict, or after running out of time at `probe`, ask halfway up.
        start = low if found.status != "unknown" else probe + unit
        if start > high - unit:
            break
        probe = start + (high - unit - start) // (2 * unit) * unit
    return Outcome(best, proven_optimal=low >= high, notes=tuple(notes))


@register("auto")
def auto(request: Request) -> Outcome:
    best, notes = heuristics(request)
    if request.capacity is not None:
        return _fit(request, best, notes)
    if arena(request.graph, best) <= request.lower_bound:
        return Outcome(best, proven_optimal=True, notes=tuple(notes))
    return _minimise(request, best, notes)
