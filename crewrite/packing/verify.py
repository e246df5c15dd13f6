"""Plan checking that shares no code with the planners, so a planner bug cannot hide itself.

Overlaps are found by a sweep over time: at every point the live buffers' byte ranges are
kept in a list sorted by offset, and a range that starts is compared only with its two
neighbours in that list (the list is overlap-free by induction). O(W log W) for W windows.
Explicit extra conflicts are checked pair by pair.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping

from crewrite.measure import round_up
from crewrite.packing.model import Problem


class PlanError(Exception):
    """A plan breaks the problem's rules (overlap, misalignment, missing buffer...)."""


def _rounded(problem: Problem) -> dict[str, tuple[int, int]]:
    """id -> (rounded size, required offset multiple)."""
    out = {}
    for b in problem.buffers:
        step = math.lcm(problem.alignment, b.alignment)
        out[b.id] = (round_up(b.size, step), step)
    return out


def arena_of(problem: Problem, offsets: Mapping[str, int]) -> int:
    """max(offset + rounded size) over all buffers; 0 for an empty problem."""
    rounded = _rounded(problem)
    return max((offsets[i] + size for i, (size, _) in rounded.items() if size), default=0)


def _live_windows(windows: tuple[tuple[int, int], ...]) -> list[tuple[int, int]]:
    spans: list[list[int]] = []
    for start, end in sorted(windows):
        if spans and start <= spans[-1][1] + 1:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    return [(s, e) for s, e in spans]


def check_plan(problem: Problem, offsets: Mapping[str, int]) -> None:
    """Raise PlanError unless `offsets` places every buffer legally."""
    rounded = _rounded(problem)
    if set(offsets) != set(rounded):
        missing = sorted(set(rounded) - set(offsets))[:5]
        unknown = sorted(set(offsets) - set(rounded))[:5]
        raise PlanError(f"offsets do not match the buffers: missing {missing}, unknown {unknown}")
    for bid, (_, step) in rounded.items():
        off = offsets[bid]
        if not isinstance(off, int) or isinstance(off, bool) or off < 0:
            raise PlanError(f"buffer {bid!r}: offset {off!r} is not a non-negative integer")
        if off % step:
            raise PlanError(f"buffer {bid!r}: offset {off} is not a multiple of {step}")

    events: list[tuple[int, int, str]] = []  # (time, 0 = end / 1 = start, id)
    for b in problem.buffers:
        if rounded[b.id][0]:
            for start, end in _live_windows(b.windows):
                events.append((start, 1, b.id))
                events.append((end + 1, 0, b.id))
    events.sort()
    live_lo: list[int] = []  # sorted offsets of live buffers
    live_id: list[str] = []
    for time, kind, bid in events:
        lo = offsets[bid]
        hi = lo + rounded[bid][0]
        if kind == 0:
            k = bisect.bisect_left(live_lo, lo)
            while live_id[k] != bid:
                k += 1
            del live_lo[k], live_id[k]
            continue
        k = bisect.bisect_left(live_lo, lo)
        for other in (k - 1, k):
            if 0 <= other < len(live_id):
                o_id = live_id[other]
                o_lo = live_lo[other]
                if o_lo < hi and lo < o_lo + rounded[o_id][0]:
                    raise PlanError(
                        f"buffers {o_id!r} and {bid!r} are both live at point {time} and "
                        f"overlap in bytes [{max(lo, o_lo)}, {min(hi, o_lo + rounded[o_id][0])})"
                    )
        live_lo.insert(k, lo)
        live_id.insert(k, bid)

    for one, two in problem.extra_conflicts:
        if one == two or not rounded[one][0] or not rounded[two][0]:
            continue
        if (
            offsets[one] < offsets[two] + rounded[two][0]
            and offsets[two] < offsets[one] + rounded[one][0]
        ):
            raise PlanError(f"conflicting buffers {one!r} and {two!r} overlap in memory")
