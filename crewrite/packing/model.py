"""Plain data shared by every planner: what to pack and what a plan says.

A buffer is live in one or more windows of program points (inclusive); two buffers conflict
when any of their windows share a point, or when the problem lists the pair explicitly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Buffer:
    """One block of memory to place. `id` is unique within its problem."""

    id: str
    size: int
    windows: tuple[tuple[int, int], ...] = ()
    alignment: int = 1  # offset must also be a multiple of this (on top of the problem's)


@dataclass(frozen=True)
class Problem:
    """Buffers and their conflicts. Sizes are rounded up to `alignment` before planning and
    every offset is a multiple of it (the TFLM and benchmark convention)."""

    buffers: tuple[Buffer, ...]
    alignment: int = 16
    extra_conflicts: tuple[tuple[str, str], ...] = ()
    name: str = ""


@dataclass(frozen=True)
class Plan:
    """Offsets for every buffer of a problem, with the evidence a user needs to trust them."""

    offsets: Mapping[str, int]
    arena_bytes: int
    lower_bound_bytes: int
    optimal: bool
    planner: str
    seconds: float
    notes: tuple[str, ...] = field(default=())
    capacity: int | None = None  # decision mode: the budget asked for
    proven_impossible: bool = False  # decision mode: no plan fits in `capacity`

    @property
    def gap_bytes(self) -> int:
        return self.arena_bytes - self.lower_bound_bytes

    @property
    def status(self) -> str:
        """Minimisation: "optimal" or "feasible". Decision mode: "fits", "impossible" (proved)
        or "not_found" (within the time limit)."""
        if self.capacity is None:
            return "optimal" if self.optimal else "feasible"
        if self.arena_bytes <= self.capacity:
            return "fits"
        return "impossible" if self.proven_impossible else "not_found"
