"""A slice used for two things in sequence: its live byte range shrinks with it.

TVM merges an operator's scratch buffers whose lifetimes do not overlap into one
allocation, so one USMP slice can hold a padded input first and a much smaller packed
kernel after it. Such a slice need not be one box: it is split into *phases* at every
statement that provably rewrites all the bytes the statements after it read (until the next
phase), each phase a live range of its own with its own size (the bytes its statements
touch) and its own offset; the emitted code points the slice variable at each phase's
place before the statement that starts it.

The proof is the extent analysis's (crewrite.extents): statement `k` of the slice's function
starts a phase when it has no may-read of the slice and its must-write covers the hull of
the slice's may-reads from `k` to the next accepted start (decided from the last statement
to the first, README of crewrite/extents, point 2). An unbounded read is never covered.
Only let slices declared at the top of an operator's body are split (a declaration inside a
loop would undo a re-pointing), never the AOT entry's (liveness splits those by its own
rule), never one whose pointer escapes, nor in a function with a `goto`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from pycparser import c_ast

from crewrite.extents import FunctionExtents, Span
from crewrite.extract import Program
from crewrite.extract.pools import SliceSite
from crewrite.liveness import LiveBuffer, Liveness, is_entry


def phase_starts(fx: FunctionExtents, variable: str, first: int) -> list[int]:
    """Statements after `first` (the declaration) that start a new phase of `variable`."""
    touching = [s.index for s in fx.statements if s.index > first and variable in s.bases]
    starts: list[int] = []
    end = len(fx.statements)
    for index in reversed(touching[1:]):
        extent = fx.statements[index].bases[variable]
        if extent.reads is not None or not extent.must_write:
            continue
        reads: Span | None = None
        for later in fx.statements[index:end]:
            found = later.bases.get(variable)
            if found is not None and found.reads is not None:
                reads = found.reads if reads is None else reads.join(found.reads)
        if extent.writes_all(reads):
            starts.append(index)
            end = index
    return sorted(starts)


def _top_level_declaration(program: Program, function: str, variable: str) -> int | None:
    """Index of the top-level statement of `function` that declares `variable`."""
    fn = program.functions[function]
    tu = program.translation_units[fn.file]
    name = function.split("@", 1)[0]
    for ext in tu.ast.ext:
        if isinstance(ext, c_ast.FuncDef) and ext.decl.name == name and tu.is_own(ext):
            for index, item in enumerate(ext.body.block_items or []):
                if isinstance(item, c_ast.Decl) and item.name == variable:
                    return index
    return None


def _units_at(live: Liveness, function: str, units: int) -> dict[int, int]:
    """Program point -> the statement of `function` it belongs to (its own point, or a point
    of a call it makes), for every point up to that function's last statement."""
    out: dict[int, int] = {}
    seen = 0
    pending: list[int] = []
    for point, label in enumerate(live.labels):
        pending.append(point)
        if label.rsplit(":", 1)[0] == function:
            index = seen % units
            seen += 1
            for p in pending:
                out[p] = index
            pending = []
    return out


def _split_windows(
    windows: tuple[tuple[int, int], ...], phase_of: Mapping[int, int], phases: int
) -> list[tuple[tuple[int, int], ...]]:
    """A range's windows cut where the phase of their points changes."""
    out: list[list[tuple[int, int]]] = [[] for _ in range(phases)]
    for first, last in windows:
        start, current = first, phase_of.get(first, 0)
        for point in range(first + 1, last + 1):
            phase = phase_of.get(point, current)
            if phase != current:
                out[current].append((start, point - 1))
                start, current = point, phase
        out[current].append((start, last))
    return [tuple(w) for w in out]


def split_phases(
    live: Liveness, program: Program, extents: Mapping[str, FunctionExtents]
) -> Liveness:
    """`live` with every let slice of an operator that is used for several things in
    sequence split into one live range per phase (see the module docstring)."""
    buffers: list[LiveBuffer] = []
    for buf in live.buffers:
        buffers += _phases(buf, live, program, extents) or [buf]
    return replace(live, buffers=tuple(buffers))


def _phases(
    buf: LiveBuffer,
    live: Liveness,
    program: Program,
    extents: Mapping[str, FunctionExtents],
) -> list[LiveBuffer] | None:
    site = buf.site
    if not isinstance(site, SliceSite) or site.form != "let" or buf.ranges != 1 or buf.escaped:
        return None
    fn = program.functions[site.function]
    fx = extents.get(site.function)
    if fx is None or is_entry(fn.name) or fn.jumps or fn.loops_back:
        return None
    declared = _top_level_declaration(program, site.function, site.variable)
    if declared is None:
        return None
    starts = phase_starts(fx, site.variable, declared)
    if not starts or any(fn.units[i].start is None for i in starts):
        return None
    bounds = [0, *starts, len(fx.statements)]
    sizes = []
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        span: Span | None = None
        for statement in fx.statements[lo:hi]:
            extent = statement.bases.get(site.variable)
            touched = extent.touched if extent is not None else None
            if touched is not None:
                span = touched if span is None else span.join(touched)
        if span is None:
            sizes.append(0)
            continue
        if span.lo is None or span.hi is None or span.lo < 0:
            return None
        sizes.append(span.hi)
    unit_of = _units_at(live, fn.name, len(fn.units))
    phase_of = {point: sum(index >= start for start in starts) for point, index in unit_of.items()}
    windows = _split_windows(buf.windows, phase_of, len(starts) + 1)
    out = []
    for phase, (size, phase_windows) in enumerate(zip(sizes, windows, strict=True)):
        unit = fn.units[starts[phase - 1]] if phase else None
        out.append(
            replace(
                buf,
                site=replace(site, size=size),
                windows=phase_windows,
                range=phase,
                ranges=len(sizes),
                start_offset=unit.start if unit is not None else None,
                start_line=unit.line if unit is not None else None,
            )
        )
    return out
