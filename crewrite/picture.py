"""The picture (`--svg`): memory over the program, as written and in crewrite's arena, side by
side for each module.

Left, the runtime's stack allocator as the code is written: every buffer from its alloc to
its free, stacked on what is held below it. Right, crewrite's arena: every live range only
where its bytes matter, at its planned offset. One box per buffer (per live range on the
right), both panels on one scale in KB, operator calls marked along the time axis and named
in the legend; a box too small for its name keeps it in a tooltip (SVG `<title>`).
"""

from __future__ import annotations

import colorsys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import drawsvg

from crewrite.explanation import abbreviate, operator_calls, short_name, stack_offsets
from crewrite.extract import AllocSite, is_entry
from crewrite.extract.pools import SliceSite
from crewrite.liveness import LiveBuffer
from crewrite.measure import peak, round_up
from crewrite.pipeline import ModuleResult
from crewrite.report import peak_point
from crewrite.usmp import PoolResult

PANEL_W, PANEL_H = 540, 330
MARGIN_L, GAP, MARGIN_R = 70, 60, 20
TITLE_H, AXIS_H = 64, 46
FONT = "DejaVu Sans, Verdana, Arial, sans-serif"
TENSOR = "tensor"  # colour key of the buffers the entry allocates (between operators)
INK, GRID, BEFORE, AFTER, BOUND = "#222", "#ddd", "#c0392b", "#1e7d45", "#555"


@dataclass(frozen=True)
class Box:
    """One buffer's bytes over an inclusive span of program points."""

    key: str  # colour group: the allocating operator, or TENSOR
    label: str  # drawn inside the box when it fits
    tooltip: str
    first: int
    last: int
    offset: int
    size: int
    used: tuple[tuple[int, int], ...] = ()  # where its bytes matter, if not all of it


@dataclass(frozen=True)
class Side:
    """One panel: a title, its boxes, and the peak to mark."""

    title: str
    boxes: tuple[Box, ...]
    peak_bytes: int
    peak_point: int
    peak_text: str
    colour: str


@dataclass(frozen=True)
class Row:
    """One module: both sides on one time axis cut into operator calls."""

    title: str
    points: int
    calls: tuple[tuple[str, int, int], ...]  # operator (short name), first, last point
    before: Side
    after: Side
    bound: int
    original: int
    original_name: str = "as written"  # what `original` is called on the right panel


def _kb(n: float) -> str:
    return f"{n / 1000:,.1f} KB"


def _namers(module: str) -> tuple[Callable[[str], str], Callable[[AllocSite], str]]:
    """How boxes are named (a function without its module prefix) and coloured (by the
    operator that allocates them; the entry's tensors apart)."""

    def name(function: str) -> str:
        return short_name(function, module)

    def key(site: AllocSite) -> str:
        return f"{TENSOR}:{site.variable}" if is_entry(site.function) else name(site.function)

    return name, key


def module_row(m: ModuleResult) -> Row:
    """Both sides of one module, from its liveness and its plan."""
    live, align = m.liveness, m.liveness.alignment
    name, key = _namers(m.module)
    offsets = stack_offsets(live)
    windows: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for b in live.buffers:
        windows.setdefault(b.site.key, []).extend(b.windows)
    before = []
    for h, offset in zip(live.held, offsets, strict=True):
        used = tuple(
            (max(s, h.first), min(e, h.last))
            for s, e in sorted(windows.get(h.site.key, []))
            if s <= h.last and h.first <= e
        )
        before.append(
            Box(
                key(h.site),
                h.site.variable,
                f"{h.site.variable} of {name(h.site.function)}: {h.site.size:,} B at "
                f"{offset:,} in the stack, held from its alloc to its free (points "
                f"{h.first}-{h.last}); its bytes used at "
                + (" ".join(f"{s}-{e}" for s, e in used) or "no point")
                + f"\n{h.site.file}:{h.site.line}",
                h.first,
                h.last,
                offset,
                round_up(h.site.size, align),
                used,
            )
        )
    title = f"as written: the runtime's stack allocator ({len(before)} buffers)"
    return _row(f"module {m.module}", m, _peak_side(title, tuple(before)), "arena", name, key)


def pool_row(r: PoolResult) -> Row:
    """Both sides of one re-planned USMP pool: left, every slice where USMP put it, one box
    per stretch of points where its bytes are used; right, its live ranges where crewrite
    plans them."""
    live, module = r.liveness, r.pool.module
    name, key = _namers(module)
    slices: dict[tuple[str, str], list[LiveBuffer]] = {}
    for b in live.buffers:
        slices.setdefault(b.site.key, []).append(b)
    before = []
    for ranges in slices.values():
        site = ranges[0].site
        if not isinstance(site, SliceSite):
            continue
        for first, last in _merged(w for b in ranges for w in b.windows):
            before.append(
                Box(
                    key(site),
                    site.variable,
                    f"{site.variable} of {name(site.function)}: {site.size:,} B at "
                    f"{site.offset:,} in the pool as USMP planned it, used at points "
                    f"{first}-{last}\n{site.file}:{site.line}",
                    first,
                    last,
                    site.offset,
                    site.size,
                )
            )
    title = f"as USMP planned the pool ({len(slices)} slices)"
    # What USMP's pool needs is where its highest slice ends, not the bytes live at once.
    top = max(before, key=lambda b: b.offset + b.size, default=None)
    side = (
        _peak_side(title, tuple(before))
        if top is None
        else Side(
            title,
            tuple(before),
            top.offset + top.size,
            top.first,
            f"top slice ends at {_kb(top.offset + top.size)}",
            BEFORE,
        )
    )
    return _row(f"module {module}, USMP pool {r.pool.name}", r, side, "pool", name, key)


def _peak_side(title: str, boxes: tuple[Box, ...]) -> Side:
    """The left side with its peak: the most bytes held at one point."""
    held, held_at = peak((b.first, b.last, b.size) for b in boxes)
    return Side(
        title, boxes, held, held_at if held_at is not None else -1, f"peak {_kb(held)}", BEFORE
    )


def _merged(windows: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Inclusive windows joined where they overlap or touch."""
    joined: list[tuple[int, int]] = []
    for first, last in sorted(windows):
        if joined and first <= joined[-1][1] + 1:
            joined[-1] = (joined[-1][0], max(joined[-1][1], last))
        else:
            joined.append((first, last))
    return joined


def _row(
    title: str,
    m: ModuleResult | PoolResult,
    before: Side,
    kind: str,
    name: Callable[[str], str],
    key: Callable[[AllocSite], str],
) -> Row:
    """A row from its left side and the plan's live ranges (the right side); `kind` is what
    crewrite's memory is called: the arena, or the re-planned pool."""
    live, align = m.liveness, m.liveness.alignment
    after = []
    for b in live.buffers:
        label = b.site.variable if b.ranges == 1 else f"{b.site.variable}#{b.range}"
        for first, last in b.windows:
            after.append(
                Box(
                    key(b.site),
                    label,
                    f"{label} of {name(b.site.function)}: {b.size:,} B (of {b.site.size:,}) at "
                    f"{m.address(b.id):,} in the {kind}, live at points {first}-{last}\n"
                    f"{b.site.file}:{b.site.line}",
                    first,
                    last,
                    m.offsets[b.id],
                    b.rounded_size(align),
                )
            )
    live_bytes, live_at, _ = peak_point(m)
    calls = tuple((name(c.operator), c.first, c.last) for c in operator_calls(live))
    saved = m.original_bytes - m.arena_bytes
    pct = 100.0 * saved / m.original_bytes if m.original_bytes else 0.0
    bound = m.plan.lower_bound_bytes
    usmp = isinstance(m, PoolResult)
    written = "in USMP's pool" if usmp else "as written"
    return Row(
        title=f"{title}: {_kb(m.original_bytes)} {written}, {_kb(m.arena_bytes)} in "
        f"crewrite's {kind} (saves {_kb(saved)}, {pct:.1f} %)",
        points=len(live.labels),
        calls=calls,
        before=before,
        after=Side(
            f"crewrite's {kind} ({len(live.buffers)} live ranges)",
            tuple(after),
            live_bytes if m.arena_bytes == bound else m.arena_bytes,
            live_at,
            f"{kind} {_kb(m.arena_bytes)}"
            + (" = lower bound" if m.arena_bytes == bound else f", lower bound {_kb(bound)}"),
            AFTER,
        ),
        bound=bound,
        original=m.original_bytes,
        original_name="USMP's pool" if usmp else "as written",
    )


def _hsl(hue: float, saturation: float, lightness: float) -> str:
    """`#rrggbb` (SVG renderers differ on `hsl()`; every one reads hex)."""
    r, g, b = colorsys.hls_to_rgb(hue / 360, lightness, saturation)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def _palette(keys: Sequence[str]) -> dict[str, str]:
    """A distinct fill per operator (golden-angle hues, blues left to tensors)."""
    colours = {TENSOR: _hsl(212, 0.45, 0.62)}
    tensors = sorted({k for k in keys if k.startswith(f"{TENSOR}:")})
    for j, k in enumerate(tensors):  # blues, one shade per buffer the entry allocates
        colours[k] = _hsl(198 + 14 * (j % 3), 0.5, (0.5, 0.62, 0.72)[j % 3 - (j // 3) % 2])
    hue, i = 20.0, 0
    for k in keys:
        if k in colours:
            continue
        while 190 <= hue % 360 <= 240:
            hue += 137.5
        colours[k] = _hsl(hue % 360, 0.62, 0.72 if i % 2 else 0.64)
        hue += 137.5
        i += 1
    return colours


def _nice_step(top: float) -> float:
    """A tick step in bytes giving 4 to 8 ticks up to `top`."""
    step = 1000.0
    while top / step > 8:
        for factor in (2, 2.5, 2):
            step *= factor
            if top / step <= 8:
                break
    return step


def _panel(
    d: drawsvg.Drawing,
    side: Side,
    row: Row,
    colours: Mapping[str, str],
    left: float,
    top: float,
    ceiling: float,
) -> None:
    """One side: grid in KB, operator bands, boxes with labels that fit, the peak marked."""
    points = max(1, row.points)

    def x(point: float) -> float:
        return left + PANEL_W * point / points

    def y(offset: float) -> float:
        return top + PANEL_H - PANEL_H * offset / ceiling

    d.append(drawsvg.Text(side.title, 13, left, top - 10, font_weight="bold", fill=INK))
    d.append(drawsvg.Rectangle(left, top, PANEL_W, PANEL_H, fill="white", stroke="#999"))
    for index, (_, first, last) in enumerate(row.calls):
        if index % 2:
            d.append(
                drawsvg.Rectangle(x(first), top, x(last + 1) - x(first), PANEL_H, fill="#f3f3f3")
            )
    step = _nice_step(ceiling)
    tick = 0.0
    while tick <= ceiling:
        d.append(drawsvg.Line(left, y(tick), left + PANEL_W, y(tick), stroke=GRID))
        d.append(
            drawsvg.Text(f"{tick / 1000:g}", 11, left - 6, y(tick) + 4, text_anchor="end", fill=INK)
        )
        tick += step
    d.append(
        drawsvg.Text(
            "KB (1,000 B)",
            11,
            left - 40,
            top + PANEL_H / 2,
            fill=INK,
            transform=f"rotate(-90 {left - 40} {top + PANEL_H / 2})",
        )
    )
    for box in sorted(side.boxes, key=lambda b: -b.size):
        bx, by = x(box.first), y(box.offset + box.size)
        bw, bh = max(x(box.last + 1) - bx, 1.0), max(y(box.offset) - by, 1.0)
        group = drawsvg.Group()
        group.append_title(box.tooltip)
        fill = colours[box.key]
        idle = box.used and box.used != ((box.first, box.last),)
        group.append(
            drawsvg.Rectangle(
                bx,
                by,
                bw,
                bh,
                fill=fill,
                fill_opacity=0.35 if idle else 1,
                stroke="#333",
                stroke_width=0.6,
            )
        )
        if idle:
            for first, last in box.used:
                group.append(
                    drawsvg.Rectangle(x(first), by, max(x(last + 1) - x(first), 1.0), bh, fill=fill)
                )
        size = 10 if bh < 16 else 11
        if bh >= size + 2 and bw >= 0.62 * size * len(box.label) + 4:
            group.append(
                drawsvg.Text(
                    box.label,
                    size,
                    bx + bw / 2,
                    by + bh / 2 + size * 0.36,
                    text_anchor="middle",
                    fill=INK,
                )
            )
        d.append(group)
    # Operator calls: numbered under the axis, where the band is wide enough.
    numbers = {name: i + 1 for i, name in enumerate(dict.fromkeys(n for n, _, _ in row.calls))}
    free_from = left
    for name, first, last in row.calls:
        mid, half = (x(first) + x(last + 1)) / 2, 2.8 * len(str(numbers[name]))
        if mid - half >= free_from:
            free_from = mid + half + 3
            d.append(
                drawsvg.Text(
                    str(numbers[name]), 9, mid, top + PANEL_H + 12, text_anchor="middle", fill=INK
                )
            )
    d.append(
        drawsvg.Text(
            "operator calls in execution order (numbers: see the legend)",
            11,
            left + PANEL_W / 2,
            top + PANEL_H + 30,
            text_anchor="middle",
            fill="#555",
        )
    )
    if side.colour == AFTER and row.original > side.peak_bytes:
        on_scale = row.original <= ceiling
        oy = y(row.original) if on_scale else top + 1
        if on_scale:
            d.append(
                drawsvg.Line(left, oy, left + PANEL_W, oy, stroke=BEFORE, stroke_dasharray="2,3")
            )
        d.append(
            drawsvg.Text(
                f"{row.original_name} {_kb(row.original)}"
                + ("" if on_scale else " (above the scale)"),
                11,
                left + PANEL_W - 4,
                oy - 4 if on_scale else oy + 12,
                text_anchor="end",
                fill=BEFORE,
            )
        )
    # The peak: a dashed line at its height, a marker at its point.
    if side.peak_point >= 0:
        py = y(side.peak_bytes)
        d.append(
            drawsvg.Line(
                left,
                py,
                left + PANEL_W,
                py,
                stroke=side.colour,
                stroke_width=1.5,
                stroke_dasharray="6,3",
            )
        )
        px = (x(side.peak_point) + x(side.peak_point + 1)) / 2
        d.append(
            drawsvg.Lines(px - 6, py - 9, px + 6, py - 9, px, py - 1, close=True, fill=side.colour)
        )
        fits = px + 10 + 7.8 * len(side.peak_text) < left + PANEL_W
        anchor, tx = ("start", px + 10) if fits else ("end", px - 10)
        d.append(
            drawsvg.Text(
                side.peak_text,
                12,
                tx,
                py - 5,
                text_anchor=anchor,
                fill=side.colour,
                font_weight="bold",
            )
        )


def _legend(
    d: drawsvg.Drawing, row: Row, colours: Mapping[str, str], left: float, top: float
) -> float:
    """Operators by number with their colour, in columns; returns the height used."""
    names = list(dict.fromkeys(n for n, _, _ in row.calls))
    entries = [
        (TENSOR, "tensors between operators (allocated by the entry)"),
        ("", "pale: held by the allocator, bytes not in use"),
    ] + [(n, f"{i + 1}  {abbreviate(n, 44)}") for i, n in enumerate(names)]
    columns = 3
    width = (2 * PANEL_W + GAP) / columns
    rows = -(-len(entries) // columns)
    for index, (k, text) in enumerate(entries):
        col, line = divmod(index, rows)
        ex, ey = left + col * width, top + line * 16
        swatch = colours.get(k or TENSOR, "#fff")
        d.append(
            drawsvg.Rectangle(
                ex,
                ey - 9,
                11,
                11,
                fill=swatch,
                fill_opacity=1 if k else 0.35,
                stroke="#333",
                stroke_width=0.6,
            )
        )
        label = drawsvg.Text(text, 11, ex + 16, ey, fill=INK)
        label.append_title(n if (n := k) != TENSOR else text)
        d.append(label)
    return rows * 16


def render(rows: Sequence[Row], empty: str = "") -> str:
    """The SVG text: one band per module, before and after side by side (without any, one
    line saying why: `empty`)."""
    heights = []
    for row in rows:
        names = len(dict.fromkeys(n for n, _, _ in row.calls)) + 2
        heights.append(TITLE_H + PANEL_H + AXIS_H + 16 * -(-names // 3) + 30)
    width = MARGIN_L + 2 * PANEL_W + GAP + MARGIN_R
    total = sum(heights) or 40
    d = drawsvg.Drawing(width, total, font_family=FONT)
    d.append(drawsvg.Rectangle(0, 0, width, total, fill="white"))
    if not rows:
        d.append(drawsvg.Text(f"nothing to draw: {empty}", 13, MARGIN_L, 25, fill=INK))
    top = 0.0
    for row, height in zip(rows, heights, strict=True):
        colours = _palette(
            [TENSOR, *(n for n, _, _ in row.calls), *(b.key for b in row.before.boxes)]
        )
        drawn = max(
            row.before.peak_bytes,
            *(b.offset + b.size for b in row.before.boxes),
            row.after.peak_bytes,
            1,
        )
        # A header that reserves far more than is ever held would squash every box.
        ceiling = 1.08 * (row.original if row.original <= 1.5 * drawn else drawn)
        d.append(drawsvg.Text(row.title, 16, MARGIN_L, top + 24, font_weight="bold", fill=INK))
        panel_top = top + TITLE_H
        _panel(d, row.before, row, colours, MARGIN_L, panel_top, ceiling)
        _panel(d, row.after, row, colours, MARGIN_L + PANEL_W + GAP, panel_top, ceiling)
        _legend(d, row, colours, MARGIN_L, panel_top + PANEL_H + AXIS_H + 8)
        top += height
    svg: str = d.as_svg()
    return svg


def svg_picture(
    modules: Sequence[ModuleResult],
    empty: str = "no workspace call",
    pools: Sequence[PoolResult] = (),
) -> str:
    return render([*(module_row(m) for m in modules), *(pool_row(p) for p in pools)], empty)
