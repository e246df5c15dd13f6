"""An overlap check that trusts nothing of crewrite but its report's lifetimes: offsets are
read back from the rewritten C text itself."""

from __future__ import annotations

import re
from pathlib import Path

_FUNC_START = re.compile(r"^[A-Za-z_][\w \t\*]*?\b(\w+)\s*\([^;{}]*\)\s*\{\s*$", re.MULTILINE)
_ARENA_USE = re.compile(r"\b(\w+)\s*=\s*\(\(void\*\)&(tvmgen_\w+_crewrite_arena)\[(\d+)\]\)")


def emitted_offsets(sources: list[Path]) -> dict[tuple[str, str], list[tuple[str, int]]]:
    """(function, variable) -> [(arena, offset)] in text order, one per live range."""
    found: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for path in sources:
        text = path.read_text()
        starts = [(m.start(), m.group(1)) for m in _FUNC_START.finditer(text)]
        for use in _ARENA_USE.finditer(text):
            owner = [name for at, name in starts if at < use.start()][-1]
            found.setdefault((owner, use.group(1)), []).append((use.group(2), int(use.group(3))))
    return found


def overlapping_pairs(report: dict, sources: list[Path]) -> list[str]:
    """Pairs of buffer ranges live at a common point whose emitted bytes intersect."""
    emitted = emitted_offsets(sources)
    placed = []
    for buf in report["buffers"]:
        module = buf.get("module")
        alignment = next(
            m["alignment"] for m in report["modules"] if module is None or m["module"] == module
        )
        key = (buf["function"], buf["variable"])
        arena, offset = emitted[key][buf["range"]]
        size = -(-buf["size"] // alignment) * alignment
        points = {p for s, e in buf["live"] for p in range(s, e + 1)}
        placed.append((f"{key[0]}:{key[1]}#{buf['range']}", arena, offset, size, points))
    bad = []
    for i, (a, arena_a, off_a, size_a, live_a) in enumerate(placed):
        for b, arena_b, off_b, size_b, live_b in placed[i + 1 :]:
            if (
                arena_a == arena_b
                and live_a & live_b
                and off_a < off_b + size_b
                and off_b < off_a + size_a
            ):
                bad.append(f"{a} [{off_a}, +{size_a}) and {b} [{off_b}, +{size_b})")
    return bad
