"""What a rewrite found and did: a few lines for people, stable JSON for machines."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from crewrite.extract.pools import SliceSite
from crewrite.footprint import OutOfBounds, Unproven
from crewrite.liveness import LiveBuffer
from crewrite.measure import peak
from crewrite.pipeline import ModuleResult, Result
from crewrite.usmp import PoolResult


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f} %" if whole else "-"


def peak_point(module: ModuleResult | PoolResult) -> tuple[int, int, list[LiveBuffer]]:
    """The most bytes live at once in crewrite's memory (sizes rounded as planned), the first
    program point holding them (-1 if none is), and the buffers live there."""
    align = module.liveness.alignment
    most, point = peak(
        (start, end, buf.rounded_size(align))
        for buf in module.liveness.buffers
        for start, end in buf.windows
    )
    if point is None:
        return most, -1, []
    live = [b for b in module.liveness.buffers if any(s <= point <= e for s, e in b.windows)]
    return most, point, live


def buffer_table(m: ModuleResult) -> list[str]:
    """One line per live range: its address, the bytes planned for it and its allocation's,
    its windows and where it is allocated."""
    rows = [f"  {'offset':>8} {'bytes':>8} {'of alloc':>8}  {'live (program points)':<24} buffer"]
    for b in sorted(m.liveness.buffers, key=lambda b: (m.offsets[b.id], b.id)):
        windows = " ".join(f"{s}-{e}" for s, e in b.windows) or "never used"
        flags = " (escapes: alloc..free)" if b.escaped else ""
        if b.lead:
            flags += f" ({b.lead} bytes reserved before it)"
        rows.append(
            f"  {m.address(b.id):>8} {b.size:>8} {b.site.size:>8}  {windows:<24} "
            f"{b.id}  [{b.site.file}:{b.site.line}]{flags}"
        )
    return rows


def range_summary(m: ModuleResult) -> str:
    """How live ranges were sized: below their allocation (a small tensor in a reused
    buffer), above it (code reaching past it), or whole (bytes not bounded)."""
    buffers = m.liveness.buffers
    smaller = [b for b in buffers if b.size < b.site.size]
    larger = [b for b in buffers if b.size > b.site.size]
    saved = sum(b.site.size - b.size for b in smaller)
    text = (
        f"  live ranges sized by their use: {len(smaller)} of {len(buffers)} below their "
        f"allocation ({saved:,} B fewer to place)"
    )
    if larger:
        text += f", {len(larger)} above it (code reaching past the buffer)"
    if m.unproven:
        unbounded = len({(u.function, u.variable) for u in m.unproven})
        text += f"; {unbounded} buffer(s) whose bytes are not bounded (-v lists why)"
    return text


def text_report(result: Result, verbose: bool = False) -> str:
    lines: list[str] = []
    if result.status != "rewritten":  # nothing to do: the note says why
        return "".join(f"crewrite: {note}\n" for note in result.notes)
    for pool in result.pools:
        lines += pool_lines(pool, verbose)
    for m in result.modules:
        plan = m.plan
        _, point, at_peak = peak_point(m)
        label = m.liveness.labels[point] if point >= 0 else "-"
        live = [b.id for b in at_peak]
        proof = "optimal" if plan.optimal else f"gap {plan.gap_bytes} B to the bound"
        lines += [
            f"module {m.module}: {len({b.site.key for b in m.liveness.buffers})} workspace sites"
            f" ({len(m.liveness.buffers)} live ranges, {m.liveness.model} liveness) in "
            f"{len(m.files)} file(s), entry {', '.join(m.liveness.roots)}",
            f"  original workspace ({m.original_from}): {m.original_bytes:,} B",
            f"  arena {m.arena_name}: {m.arena_bytes:,} B  (planner {plan.planner}, {proof})",
            f"  lower bound: {plan.lower_bound_bytes:,} B",
            f"  saved: {m.saved_bytes:,} B ({_pct(m.saved_bytes, m.original_bytes)})",
            "  runtime allocator still needs for this module: 0 B",  # every site rewritten
            f"  peak at {label} with {len(live)} buffers live: {', '.join(live[:6])}"
            + (" ..." if len(live) > 6 else ""),
            range_summary(m),
        ]
        if m.out_of_bounds:
            lines.append(
                f"  {len(m.out_of_bounds)} access(es) past a buffer's allocation, each planned "
                "with the bytes it reaches (see the warnings)"
            )
        if verbose:
            lines += [f"  unbounded: {u.file}:{u.line}: {u.message()}" for u in m.unproven]
            lines += buffer_table(m)
    lines += [f"  {note}" for note in result.notes]
    return "\n".join(lines) + "\n"


def pool_lines(r: PoolResult, verbose: bool = False) -> list[str]:
    """A re-planned USMP pool: USMP's size, crewrite's, the bound, and where the saving came
    from (packing alone: the same slices with USMP's lifetimes; the rest: finer lifetimes)."""
    plan, live = r.plan, r.liveness
    proof = "optimal" if plan.optimal else f"gap {plan.gap_bytes} B to the bound"
    where = "provided by the application" if r.pool.definition is None else "static"
    lines = [
        f"module {r.pool.module}, USMP pool {r.pool.name} ({where}): "
        f"{len({b.site.key for b in live.buffers})} slices ({len(live.buffers)} live ranges, "
        f"{live.model} liveness), entry {', '.join(live.roots)}",
        f"  pool as USMP planned it ({r.original_from}): {r.original_bytes:,} B",
        f"  re-planned by crewrite: {r.arena_bytes:,} B  (planner {plan.planner}, {proof})",
        f"  lower bound: {plan.lower_bound_bytes:,} B",
        f"  saved: {r.saved_bytes:,} B ({_pct(r.saved_bytes, r.original_bytes)}): "
        f"{r.packing_saved:,} B from packing (USMP's lifetimes packed by crewrite: "
        f"{r.usmp_lifetimes.arena_bytes:,} B), {r.lifetime_saved:,} B from finer lifetimes",
    ]
    if verbose:
        lines.append(
            f"  {'offset':>8} {'bytes':>8}  {'was':>8}  {'live (program points)':<24} slice"
        )
        for b in sorted(live.buffers, key=lambda b: (r.offsets[b.id], b.id)):
            site = b.site
            was = site.offset if isinstance(site, SliceSite) else "-"
            windows = " ".join(f"{s}-{e}" for s, e in b.windows) or "never used"
            lines.append(
                f"  {r.address(b.id):>8} {b.size:>8}  {was:>8}  {windows:<24} {b.id}  "
                f"[{site.file}:{site.line}]"
            )
    return lines


@dataclass(frozen=True)
class BufferReport:
    """One live range: where its buffer is allocated, its allocation's size, the bytes
    planned for this range, the offset its code gets and its live windows."""

    function: str
    variable: str
    file: str
    line: int
    size: int  # the allocation (a USMP slice: the bytes its code reaches)
    range_bytes: int  # planned for this live range, lead_bytes included
    lead_bytes: int  # reserved below offset (accesses before the start)
    offset: int
    live: tuple[tuple[int, int], ...]  # inclusive windows of program points
    escaped: bool  # its pointer goes where crewrite cannot follow: live alloc..free
    range: int
    ranges: int
    usmp_offset: int | None = None  # a USMP slice: where USMP had put it


@dataclass(frozen=True)
class PeakReport:
    point: int  # -1 when nothing is live anywhere
    label: str | None  # "function:line" of the statement at that point
    buffers: tuple[str, ...]  # ids of the live ranges live there


@dataclass(frozen=True)
class OutOfBoundsReport:
    """A statement that may touch bytes outside its buffer's allocation."""

    function: str
    variable: str
    allocated_bytes: int
    file: str
    line: int
    operator: str
    access: str  # "reads" or "writes"
    bytes: tuple[int, int]  # [lo, hi) relative to the buffer
    past_end_bytes: int
    before_start_bytes: int


@dataclass(frozen=True)
class UnboundedReport:
    """Where the bytes a statement touches in a buffer have no bound (planned whole)."""

    function: str
    variable: str
    file: str
    line: int
    reason: str


@dataclass(frozen=True)
class ModuleReport:
    module: str
    entry: tuple[str, ...]
    arena_symbol: str
    original_workspace_bytes: int
    original_workspace_from: str
    as_written_peak_bytes: int
    arena_bytes: int
    lower_bound_bytes: int
    saved_bytes: int
    remaining_workspace_bytes: int  # what the runtime allocator still needs: every site moved
    planner: str
    optimal: bool
    alignment: int
    peak: PeakReport
    buffers: tuple[BufferReport, ...]
    out_of_bounds: tuple[OutOfBoundsReport, ...]
    unbounded: tuple[UnboundedReport, ...]


@dataclass(frozen=True)
class PoolReport:
    """A re-planned USMP workspace pool: USMP's size, crewrite's, and where the saving came
    from (packing USMP's own lifetimes, then finer lifetimes)."""

    module: str
    pool: str
    defined: str | None  # "file:line" of the pool's array, None when the application owns it
    usmp_pool_bytes: int
    usmp_pool_from: str
    arena_bytes: int
    lower_bound_bytes: int
    saved_bytes: int
    saved_by_packing_bytes: int
    saved_by_lifetimes_bytes: int
    usmp_lifetimes_arena_bytes: int
    planner: str
    optimal: bool
    alignment: int
    slices: tuple[BufferReport, ...]


@dataclass(frozen=True)
class Report:
    """What `crewrite rewrite` found and did: the fields of `--report-json`, in this order.
    The totals add modules (workspace calls) and USMP pools (their size as USMP planned it
    counts as the original workspace)."""

    path: str  # the input as given
    status: str  # "rewritten", "static" (nothing to rewrite) or "already-rewritten"
    written: bool  # False under --check, --diff, --dry-run, or when nothing changes
    changed_files: tuple[str, ...]  # files that change (or would), named as given
    original_workspace_bytes: int  # totals over the modules and pools
    arena_bytes: int
    lower_bound_bytes: int
    saved_bytes: int
    remaining_workspace_bytes: int
    modules: tuple[ModuleReport, ...]
    pools: tuple[PoolReport, ...]
    warnings: tuple[str, ...]  # accesses past a buffer's allocation, `file:line: what`
    notes: tuple[str, ...]
    seconds: float
    verified: bool | None  # with verify: whether the rewrite was proven on the host

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _buffer_report(b: LiveBuffer, address: int) -> BufferReport:
    return BufferReport(
        function=b.site.function,
        variable=b.site.variable,
        file=b.site.file,
        line=b.site.line,
        size=b.site.size,
        range_bytes=b.size,
        lead_bytes=b.lead,
        offset=address,
        live=b.windows,
        escaped=b.escaped,
        range=b.range,
        ranges=b.ranges,
        usmp_offset=b.site.offset if isinstance(b.site, SliceSite) else None,
    )


def _out_of_bounds_report(f: OutOfBounds) -> OutOfBoundsReport:
    assert f.span.lo is not None and f.span.hi is not None  # findings are bounded
    return OutOfBoundsReport(
        function=f.function,
        variable=f.variable,
        allocated_bytes=f.allocated,
        file=f.file,
        line=f.line,
        operator=f.operator,
        access=f.access,
        bytes=(f.span.lo, f.span.hi),
        past_end_bytes=f.past_end,
        before_start_bytes=f.before_start,
    )


def _unbounded_report(u: Unproven) -> UnboundedReport:
    return UnboundedReport(u.function, u.variable, u.file, u.line, u.reason)


def _module_report(m: ModuleResult) -> ModuleReport:
    _, point, live = peak_point(m)
    return ModuleReport(
        module=m.module,
        entry=m.liveness.roots,
        arena_symbol=m.arena_name,
        original_workspace_bytes=m.original_bytes,
        original_workspace_from=m.original_from,
        as_written_peak_bytes=m.liveness.as_written_peak,
        arena_bytes=m.arena_bytes,
        lower_bound_bytes=m.plan.lower_bound_bytes,
        saved_bytes=m.saved_bytes,
        remaining_workspace_bytes=0,  # every site is rewritten
        planner=m.plan.planner,
        optimal=m.plan.optimal,
        alignment=m.liveness.alignment,
        peak=PeakReport(
            point, m.liveness.labels[point] if point >= 0 else None, tuple(b.id for b in live)
        ),
        buffers=tuple(_buffer_report(b, m.address(b.id)) for b in m.liveness.buffers),
        out_of_bounds=tuple(_out_of_bounds_report(f) for f in m.out_of_bounds),
        unbounded=tuple(_unbounded_report(u) for u in m.unproven),
    )


def pool_report(r: PoolResult) -> PoolReport:
    definition = r.pool.definition
    return PoolReport(
        module=r.pool.module,
        pool=r.pool.name,
        defined=None if definition is None else f"{definition.file}:{definition.line}",
        usmp_pool_bytes=r.original_bytes,
        usmp_pool_from=r.original_from,
        arena_bytes=r.arena_bytes,
        lower_bound_bytes=r.plan.lower_bound_bytes,
        saved_bytes=r.saved_bytes,
        saved_by_packing_bytes=r.packing_saved,
        saved_by_lifetimes_bytes=r.lifetime_saved,
        usmp_lifetimes_arena_bytes=r.usmp_lifetimes.arena_bytes,
        planner=r.plan.planner,
        optimal=r.plan.optimal,
        alignment=r.liveness.alignment,
        slices=tuple(_buffer_report(b, r.address(b.id)) for b in r.liveness.buffers),
    )


def changed_files(result: Result) -> tuple[str, ...]:
    """The files a rewrite changes, named as the user gave the input."""
    return tuple(result.project.display(rel) for rel in sorted(result.new_texts))


def unified_diff(result: Result) -> str:
    """`diff -u` of every file the rewrite changes, named as the user gave the input; a
    last line without a newline gets diff's marker, so the output stays a valid patch."""
    lines: list[str] = []
    for rel in sorted(result.new_texts):
        name = result.project.display(rel)
        lines += difflib.unified_diff(
            result.project.texts[rel].splitlines(keepends=True),
            result.new_texts[rel].splitlines(keepends=True),
            name,
            name,
        )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


@dataclass(frozen=True)
class Totals:
    """A project's sizes: its modules' and its re-planned pools' summed (for a pool, the
    original is USMP's pool)."""

    original_workspace_bytes: int
    arena_bytes: int
    lower_bound_bytes: int
    saved_bytes: int


def totals(modules: Sequence[ModuleResult], pools: Sequence[PoolReport]) -> Totals:
    return Totals(
        sum(m.original_bytes for m in modules) + sum(p.usmp_pool_bytes for p in pools),
        sum(m.arena_bytes for m in modules) + sum(p.arena_bytes for p in pools),
        sum(m.plan.lower_bound_bytes for m in modules) + sum(p.lower_bound_bytes for p in pools),
        sum(m.saved_bytes for m in modules) + sum(p.saved_bytes for p in pools),
    )


def make_report(result: Result, path: str, written: bool) -> Report:
    modules = tuple(_module_report(m) for m in result.modules)
    pools = tuple(pool_report(p) for p in result.pools)
    total = totals(result.modules, pools)
    return Report(
        path=path,
        status=result.status,
        written=written,
        changed_files=changed_files(result),
        original_workspace_bytes=total.original_workspace_bytes,
        arena_bytes=total.arena_bytes,
        lower_bound_bytes=total.lower_bound_bytes,
        saved_bytes=total.saved_bytes,
        remaining_workspace_bytes=0,
        modules=modules,
        pools=pools,
        warnings=result.warnings,
        notes=result.notes,
        seconds=round(result.seconds, 3),
        verified=None if result.verdict is None else result.verdict.ok,
    )
