"""What a rewrite found and did: a few lines for people, stable JSON for machines."""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any

from crewrite.extract.pools import SliceSite
from crewrite.liveness import LiveBuffer
from crewrite.measure import peak
from crewrite.pipeline import ModuleResult, Result
from crewrite.usmp import PoolResult

if TYPE_CHECKING:  # drawsvg is imported where a picture is drawn: most runs draw none
    import drawsvg


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f} %" if whole else "-"


def peak_point(module: ModuleResult) -> tuple[int, list[str]]:
    """The program point where the most bytes are live (-1 if none is), and the buffers live
    there."""
    align = module.liveness.alignment
    _, point = peak(
        (start, end, buf.rounded_size(align))
        for buf in module.liveness.buffers
        for start, end in buf.windows
    )
    if point is None:
        return -1, []
    live = [b.id for b in module.liveness.buffers if any(s <= point <= e for s, e in b.windows)]
    return point, live


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
    if result.status == "static":
        lines += result.notes
        return "\n".join(lines) + "\n"
    for pool in result.pools:
        lines += pool_lines(pool, verbose)
    for m in result.modules:
        plan = m.plan
        point, live = peak_point(m)
        label = m.liveness.labels[point] if point >= 0 else "-"
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


def _module_json(m: ModuleResult) -> dict[str, Any]:
    point, live = peak_point(m)
    return {
        "module": m.module,
        "entry": m.liveness.roots,
        "arena_symbol": m.arena_name,
        "original_workspace_bytes": m.original_bytes,
        "original_workspace_from": m.original_from,
        "as_written_peak_bytes": m.liveness.as_written_peak,
        "arena_bytes": m.arena_bytes,
        "lower_bound_bytes": m.plan.lower_bound_bytes,
        "saved_bytes": m.saved_bytes,
        "remaining_workspace_bytes": 0,  # every site is rewritten
        "planner": m.plan.planner,
        "optimal": m.plan.optimal,
        "alignment": m.liveness.alignment,
        "peak": {
            "point": point,
            "label": m.liveness.labels[point] if point >= 0 else None,
            "buffers": live,
        },
        "buffers": [_range_json(b, m.address(b.id)) for b in m.liveness.buffers],
        "out_of_bounds": [
            {
                "function": f.function,
                "variable": f.variable,
                "allocated_bytes": f.allocated,
                "file": f.file,
                "line": f.line,
                "operator": f.operator,
                "access": f.access,
                "bytes": [f.span.lo, f.span.hi],
                "past_end_bytes": f.past_end,
                "before_start_bytes": f.before_start,
            }
            for f in m.out_of_bounds
        ],
        "unbounded": [
            {
                "function": u.function,
                "variable": u.variable,
                "file": u.file,
                "line": u.line,
                "reason": u.reason,
            }
            for u in m.unproven
        ],
    }


def _range_json(b: LiveBuffer, offset: int) -> dict[str, Any]:
    """One live range: where its buffer is declared, its size, the bytes planned for it, the
    offset its code gets and its windows."""
    return {
        "function": b.site.function,
        "variable": b.site.variable,
        "file": b.site.file,
        "line": b.site.line,
        "size": b.site.size,
        "range_bytes": b.size,  # planned for this live range, lead_bytes included
        "lead_bytes": b.lead,  # reserved below offset (accesses before the start)
        "offset": offset,
        "live": [list(w) for w in b.windows],
        "escaped": b.escaped,
        "range": b.range,
        "ranges": b.ranges,
    }


def json_report(result: Result) -> dict[str, Any]:
    """One module: its keys at the top. Several: names listed, numbers summed, buffers joined,
    and each module's own object under `modules`."""
    modules = [_module_json(m) for m in result.modules]
    top: dict[str, Any] = {
        "status": result.status,
        "notes": result.notes,
        "warnings": list(result.warnings),
        "seconds": round(result.seconds, 3),
    }
    if result.pools and not modules:
        pools = [pool_json(p) for p in result.pools]
        for key in ("usmp_pool_bytes", "arena_bytes", "lower_bound_bytes", "saved_bytes"):
            top[key] = sum(p[key] for p in pools)
        top["pools"] = pools
    elif len(modules) == 1:
        top.update(modules[0])
    else:
        top["module"] = [m["module"] for m in modules]
        for key in (
            "original_workspace_bytes",
            "arena_bytes",
            "lower_bound_bytes",
            "remaining_workspace_bytes",
            "saved_bytes",
        ):
            top[key] = sum(m[key] for m in modules)
        for key in ("buffers", "out_of_bounds", "unbounded"):
            top[key] = [dict(b, module=m["module"]) for m in modules for b in m[key]]
    top["modules"] = modules
    return top


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


def pool_json(r: PoolResult) -> dict[str, Any]:
    return {
        "module": r.pool.module,
        "pool": r.pool.name,
        "defined": (
            f"{r.pool.definition.file}:{r.pool.definition.line}"
            if r.pool.definition is not None
            else None
        ),
        "usmp_pool_bytes": r.original_bytes,
        "usmp_pool_from": r.original_from,
        "arena_bytes": r.arena_bytes,
        "lower_bound_bytes": r.plan.lower_bound_bytes,
        "saved_bytes": r.saved_bytes,
        "saved_by_packing_bytes": r.packing_saved,
        "saved_by_lifetimes_bytes": r.lifetime_saved,
        "usmp_lifetimes_arena_bytes": r.usmp_lifetimes.arena_bytes,
        "planner": r.plan.planner,
        "optimal": r.plan.optimal,
        "alignment": r.liveness.alignment,
        "slices": [
            dict(
                _range_json(b, r.address(b.id)),
                usmp_offset=b.site.offset if isinstance(b.site, SliceSite) else None,
            )
            for b in r.liveness.buffers
        ],
    }


def _panel(
    drawing: drawsvg.Drawing,
    m: ModuleResult | PoolResult,
    left: float,
    top: float,
    width: float,
    height: float,
) -> None:
    """One module (or USMP pool): its live windows as rectangles, offsets up, program points
    across."""
    import drawsvg

    points = max(1, len(m.liveness.labels))
    ceiling = max(m.original_bytes, m.arena_bytes, 1)

    def x(point: float) -> float:
        return left + width * point / points

    def y(offset: float) -> float:
        return top + height - height * offset / ceiling

    align = m.liveness.alignment
    drawing.append(drawsvg.Rectangle(left, top, width, height, fill="#f7f7f7", stroke="#999"))
    for buf in m.liveness.buffers:
        size = buf.rounded_size(align)
        offset = m.offsets[buf.id]
        hue = zlib.crc32(buf.site.function.encode()) % 360
        for start, end in buf.windows:
            rect = drawsvg.Rectangle(
                x(start),
                y(offset + size),
                max(x(end + 1) - x(start), 0.5),
                max(y(offset) - y(offset + size), 0.5),
                fill=f"hsl({hue}, 60%, 65%)",
                stroke="#333",
                stroke_width=0.3,
            )
            rect.append_title(
                f"{buf.id}\n{buf.size} B (of {buf.site.size}) at offset {offset}, live "
                f"{start}-{end}\n{buf.site.file}:{buf.site.line}"
            )
            drawing.append(rect)
    before = "USMP's pool" if isinstance(m, PoolResult) else "runtime allocator before"
    lines = [(m.original_bytes, "#c0392b", f"{before}: {m.original_bytes:,} B")]
    if m.arena_bytes == m.plan.lower_bound_bytes:
        lines.append((m.arena_bytes, "#27ae60", f"arena = lower bound: {m.arena_bytes:,} B"))
    else:
        lines += [
            (m.arena_bytes, "#2c3e50", f"arena: {m.arena_bytes:,} B"),
            (m.plan.lower_bound_bytes, "#27ae60", f"lower bound: {m.plan.lower_bound_bytes:,} B"),
        ]
    for value, colour, label in lines:
        drawing.append(
            drawsvg.Line(
                left, y(value), left + width, y(value), stroke=colour, stroke_dasharray="6,3"
            )
        )
        drawing.append(
            drawsvg.Text(label, 11, left + width - 4, y(value) - 3, fill=colour, text_anchor="end")
        )
    drawing.append(
        drawsvg.Text(
            f"module {m.module}: {len(m.liveness.buffers)} live ranges; program points left to "
            "right, arena offset bottom to top",
            13,
            left,
            top - 8,
        )
    )


def svg_report(result: Result, width: int = 1000, panel: int = 360) -> str:
    """The layout as a picture, one panel per module (hover a rectangle for its buffer), with
    lines at the lower bound and at the workspace the runtime allocator needed before."""
    import drawsvg

    margin, gap = 60, 50
    panels: list[ModuleResult | PoolResult] = [*result.modules, *result.pools]
    height = max(1, len(panels)) * (panel + gap) + gap
    drawing = drawsvg.Drawing(width + 2 * margin, height, font_family="sans-serif")
    drawing.append(drawsvg.Rectangle(0, 0, width + 2 * margin, height, fill="white"))
    for index, m in enumerate(panels):
        _panel(drawing, m, margin, gap + index * (panel + gap), width, panel)
    svg: str = drawing.as_svg()
    return svg
