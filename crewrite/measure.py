"""Two rules every stage measures with: a size rounded up to an alignment, and the bytes held
at the busiest program point."""

from __future__ import annotations

from collections.abc import Iterable


def round_up(size: int, alignment: int) -> int:
    """`size` rounded up to a multiple of `alignment` (the bytes a buffer takes in an arena)."""
    return -(-size // alignment) * alignment


def peak(intervals: Iterable[tuple[int, int, int]]) -> tuple[int, int | None]:
    """The most bytes held at once by `(first, last, size)` intervals (points inclusive), and
    the first point holding them (None without intervals). An interval ending at point p and
    one starting at p + 1 are never held together."""
    events: list[tuple[int, int]] = []
    for first, last, size in intervals:
        events += [(first, size), (last + 1, -size)]
    if not events:
        return 0, None
    events.sort()  # at one point, releases (negative) before acquisitions
    held = most = 0
    point = events[0][0]
    for at, delta in events:
        held += delta
        if held > most:
            most, point = held, at
    return most, point
