"""The planner interface, the registry behind `--planner`, and `plan()`, which checks
every plan with the independent verifier before handing it out."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from crewrite.packing.bound import graph_lower_bound
from crewrite.packing.graph import Graph, build
from crewrite.packing.model import Plan, Problem
from crewrite.packing.verify import PlanError, arena_of, check_plan


@dataclass(frozen=True)
class Request:
    """What a planner gets: the graph, its lower bound, and how long it may run."""

    graph: Graph
    lower_bound: int
    seed: int
    deadline: float  # time.monotonic() value; planners that search stop by then
    capacity: int | None = None  # decision mode: any plan within it will do

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    @property
    def target(self) -> int:
        """The arena worth stopping at: the lower bound, or the capacity if one is given."""
        return self.lower_bound if self.capacity is None else max(self.lower_bound, self.capacity)


@dataclass(frozen=True)
class Outcome:
    """Offsets in bytes by buffer index; `proven_optimal` only for a solver's proof,
    `infeasible` only for a proof that nothing fits in the requested capacity."""

    offsets: list[int]
    proven_optimal: bool = False
    notes: tuple[str, ...] = ()
    infeasible: bool = False


Planner = Callable[[Request], Outcome]

PLANNERS: dict[str, Planner] = {}

DEFAULT_TIME_LIMIT = 30.0  # seconds; auto stops far earlier whenever it reaches the bound


def register(name: str) -> Callable[[Planner], Planner]:
    """Decorator: make a planner available to `plan()` and the CLI under `name`."""

    def add(fn: Planner) -> Planner:
        if name in PLANNERS:
            raise ValueError(f"planner {name!r} registered twice")
        PLANNERS[name] = fn
        return fn

    return add


def arena(graph: Graph, offsets: list[int]) -> int:
    return max((o + s for o, s in zip(offsets, graph.size, strict=True) if s), default=0)


def plan(
    problem: Problem,
    planner: str = "auto",
    time_limit: float | None = None,
    seed: int = 0,
    capacity: int | None = None,
) -> Plan:
    """Place every buffer of `problem`; raises PlanError if the planner's result is invalid.

    `time_limit` (seconds, default DEFAULT_TIME_LIMIT) bounds the searching planners; the
    greedy ones ignore it. Same problem, planner and seed give the same plan as long as
    no search is cut short by the clock. With `capacity` (bytes) the question becomes
    "does a plan fit in it?": searching planners stop at the first plan that fits, and the
    Plan's `status` says "fits", "impossible" (proved) or "not_found".
    """
    if capacity is not None and (
        isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 0
    ):
        raise ValueError(f"capacity must be a non-negative integer, got {capacity!r}")
    if planner not in PLANNERS:
        raise ValueError(f"unknown planner {planner!r}; choose from {sorted(PLANNERS)}")
    started = time.monotonic()
    limit = DEFAULT_TIME_LIMIT if time_limit is None else time_limit
    graph = build(problem)
    bound = graph_lower_bound(graph)
    request = Request(
        graph=graph, lower_bound=bound, seed=seed, deadline=started + limit, capacity=capacity
    )
    outcome = PLANNERS[planner](request)
    offsets = {bid: int(off) for bid, off in zip(graph.ids, outcome.offsets, strict=True)}
    check_plan(problem, offsets)
    arena_bytes = arena_of(problem, offsets)
    if arena_bytes != arena(graph, outcome.offsets):
        raise PlanError(f"planner {planner!r}: arena disagrees with the verifier's")
    if arena_bytes < bound:
        raise PlanError(f"arena {arena_bytes} below the lower bound {bound}: bound is wrong")
    optimal = outcome.proven_optimal or arena_bytes == bound
    impossible = (
        capacity is not None
        and arena_bytes > capacity
        and (outcome.infeasible or bound > capacity or optimal)
    )
    return Plan(
        offsets=offsets,
        arena_bytes=arena_bytes,
        lower_bound_bytes=bound,
        optimal=optimal,
        planner=planner,
        seconds=time.monotonic() - started,
        notes=outcome.notes,
        capacity=capacity,
        proven_impossible=impossible,
    )
