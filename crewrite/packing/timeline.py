"""What the exact searches see: the non-empty buffers, their sections and time columns.

A section is a maximal set of buffers live together at some program point (a maximal clique
of the time conflicts): the active set just before buffers start to end. Sections give the
searches their capacity check and their decomposition points. Time columns (the spans
between consecutive window boundaries) are the x axis of the skyline search, which needs
every buffer to be one interval and no explicit conflict outside time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from crewrite.packing.graph import Graph


@dataclass(frozen=True)
class Timeline:
    """The search input, indexed 0..n-1 over the non-empty buffers of a graph."""

    index: tuple[int, ...]  # graph index of each buffer
    size: tuple[int, ...]
    align: tuple[int, ...]
    adj: tuple[tuple[int, ...], ...]
    sections: tuple[tuple[int, ...], ...]  # ascending time
    buffer_sections: tuple[tuple[int, ...], ...]  # ascending
    split: bool  # decomposition is sound (no explicit conflicts)
    columns: tuple[tuple[int, int], ...] | None  # (first, end) column per buffer, or None
    ncol: int
    width: tuple[int, ...]  # program points live

    @property
    def n(self) -> int:
        return len(self.index)

    def load(self) -> tuple[int, ...]:
        """Bytes live in each section."""
        return tuple(sum(self.size[i] for i in sec) for sec in self.sections)


def _sections(windows: list[list[tuple[int, int]]]) -> list[list[int]]:
    """Maximal cliques of the interval windows: the live set right before each batch of
    ends that follows at least one start."""
    events: list[tuple[int, int, int]] = []  # (time, 0 = end / 1 = start, buffer)
    for i, ws in enumerate(windows):
        for s, e in ws:
            events.append((s, 1, i))
            events.append((e + 1, 0, i))
    events.sort()
    live: dict[int, None] = {}
    grown = False
    out: list[list[int]] = []
    for _, kind, i in events:
        if kind == 1:
            live[i] = None
            grown = True
        else:
            if grown:
                out.append(sorted(live))
                grown = False
            del live[i]
    return out


def build_timeline(graph: Graph) -> Timeline:
    index = [i for i in range(graph.n) if graph.size[i]]
    local = {g: k for k, g in enumerate(index)}
    windows = [graph.windows[g] for g in index]
    sections = _sections(windows)
    buffer_sections: list[list[int]] = [[] for _ in index]
    for s, members in enumerate(sections):
        for i in members:
            buffer_sections[i].append(s)
    adj = tuple(tuple(sorted(local[j] for j in graph.adj[g])) for g in index)
    sizes = [graph.size[g] for g in index]
    aligns = [graph.align[g] for g in index]
    columns: tuple[tuple[int, int], ...] | None = None
    ncol = 0
    step = math.lcm(*aligns) if aligns else 1
    if not graph.extra and all(len(w) == 1 for w in windows) and all(s % step == 0 for s in sizes):
        cuts = sorted({t for w in windows for t in (w[0][0], w[0][1] + 1)})
        at = {t: k for k, t in enumerate(cuts)}
        columns = tuple((at[w[0][0]], at[w[0][1] + 1]) for w in windows)
        ncol = max(len(cuts) - 1, 0)
    return Timeline(
        index=tuple(index),
        size=tuple(sizes),
        align=tuple(aligns),
        adj=adj,
        sections=tuple(tuple(s) for s in sections),
        buffer_sections=tuple(tuple(b) for b in buffer_sections),
        split=not graph.extra,
        columns=columns,
        ncol=ncol,
        width=tuple(sum(e - s + 1 for s, e in w) for w in windows),
    )
