"""USMP's default offset planner, as the fixtures need it: TVM's greedy by size.

Every buffer is live for whole operator calls of the AOT entry: a tensor between operators
from the call that writes it to the last call that reads it, an operator's scratch during
each call of its operator. These are USMP's lifetimes as the fixtures model them, coarser
than crewrite's (which follow each statement inside an operator). Buffers are placed
largest first (ties: more conflicts first, then the order given), each at the lowest offset
above every conflicting buffer already placed (rounded up to the pool's alignment); the pool
is the highest end.
"""

from __future__ import annotations

from dataclasses import dataclass

from .cfmt import round16


@dataclass(frozen=True)
class PoolBuffer:
    key: str
    size: int
    calls: frozenset[int]  # the entry calls it is live during


def greedy_by_size(buffers: list[PoolBuffer]) -> tuple[dict[str, int], int]:
    """Offsets by key and the pool size, as USMP's greedy_by_size places them."""

    def conflict(a: PoolBuffer, b: PoolBuffer) -> bool:
        return bool(a.calls & b.calls)

    conflicts = {b.key: sum(conflict(b, o) for o in buffers if o is not b) for b in buffers}
    order = sorted(
        range(len(buffers)), key=lambda i: (-buffers[i].size, -conflicts[buffers[i].key], i)
    )
    offsets: dict[str, int] = {}
    placed: list[PoolBuffer] = []
    for i in order:
        buf = buffers[i]
        at = 0
        for other in placed:
            if conflict(buf, other):
                at = max(at, offsets[other.key] + round16(other.size))
        offsets[buf.key] = round16(at)
        placed.append(buf)
    pool = max((offsets[b.key] + round16(b.size) for b in buffers), default=0)
    return offsets, pool
