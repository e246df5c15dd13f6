"""Why is the workspace this large? The answer read off a planned rewrite (`crewrite explain`).

For each module: where the runtime's stack allocator peaks as the code is written and what
it holds there (each buffer with its operator, variable, bytes, line, and why it is held at
that point), where crewrite's arena peaks and what is live there (what would have to shrink
to go lower), and the operators with the most scratch. Frozen records, the same fields as
`--json`; `text()` renders them for people.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from crewrite.extract import AllocSite, is_entry
from crewrite.liveness import Held, LiveBuffer, Liveness
from crewrite.measure import peak, round_up
from crewrite.pipeline import ModuleResult, Result
from crewrite.report import PoolReport, peak_point, pool_report, totals

# DLPack's type codes, as the last two arguments of TVMBackendAllocWorkspace hint them.
_TYPE_CODES = {0: "int", 1: "uint", 2: "float", 4: "bfloat"}
_ARGUMENTS = re.compile(r"\(([^()]*(?:\([^()]*\)[^()]*)*)\)\s*$")
TOP_OPERATORS = 5
WIDTH = 100  # of the text rendering


@dataclass(frozen=True)
class LiveAt:
    """One buffer (live range) at a peak point, and why it takes bytes there."""

    operator: str  # the function that allocates it, without the module prefix
    function: str
    variable: str
    range: int  # which live range of the variable (0 unless the entry reuses it)
    bytes: int  # as allocated (the stack as written), or planned for the live range (arena)
    offset: int  # where it sits: in the stack as written, or in the arena
    dtype: str | None  # from the allocation's type hints, e.g. "int32"
    kind: str  # "tensor" (between operators, allocated by the entry) or "scratch"
    file: str
    line: int
    why: str


@dataclass(frozen=True)
class Peak:
    """The point where the most bytes are held, and what holds them."""

    point: int
    at: str  # "function:line" of the statement at that point
    operator: str  # the operator running there
    bytes: int  # bytes taken there (sizes rounded to the allocator's alignment)
    buffers: tuple[LiveAt, ...]  # largest first


@dataclass(frozen=True)
class ScratchBuffer:
    variable: str
    bytes: int
    dtype: str | None
    line: int


@dataclass(frozen=True)
class OperatorScratch:
    """An operator's own buffers: what they take at once in one call, as written."""

    operator: str
    function: str
    calls: int
    scratch_bytes: int
    buffers: tuple[ScratchBuffer, ...]  # largest first


@dataclass(frozen=True)
class ModuleExplanation:
    module: str
    original_workspace_bytes: int
    original_workspace_from: str
    as_written_peak_bytes: int  # what the stack allocator holds at most (rounded sizes)
    arena_bytes: int
    lower_bound_bytes: int
    saved_bytes: int
    saved_percent: float
    saved_percent_of_ram: float | None  # with `ram_bytes`
    planner: str
    optimal: bool
    sites: int
    live_ranges: int
    original_peak: Peak
    arena_peak: Peak
    to_go_lower: str  # what would have to change to go below the arena's peak
    top_operators: tuple[OperatorScratch, ...]


@dataclass(frozen=True)
class Explanation:
    """`crewrite explain`: the same fields as its `--json`."""

    path: str
    status: str  # "explained", "static" (no workspace call) or "already-rewritten"
    ram_bytes: int | None
    original_workspace_bytes: int
    arena_bytes: int
    lower_bound_bytes: int
    saved_bytes: int
    saved_percent_of_ram: float | None
    modules: tuple[ModuleExplanation, ...]
    pools: tuple[PoolReport, ...]  # re-planned USMP pools, as in the rewrite's report
    notes: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def text(self) -> str:
        return render_text(self)


def short_name(function: str, module: str) -> str:
    """An operator as people read it: `tvmgen_default_fused_nn_conv2d_2` -> `nn_conv2d_2`."""
    name = function.split("@")[0]
    for prefix in (f"tvmgen_{module}_", "tvmgen_"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    return name.removeprefix("fused_") or function


def dtype_hint(site: AllocSite, texts: Mapping[str, str]) -> str | None:
    """The element type TVM hints for a buffer (`..., 0, 32)` is int32), when the two hints
    are plain numbers in the call's text."""
    text = texts.get(site.file)
    if text is None:
        return None
    match = _ARGUMENTS.search(text[site.start : site.end])
    args = [a.strip() for a in match.group(1).split(",")] if match else []
    if len(args) != 5 or not (args[3].isdigit() and args[4].isdigit()):
        return None
    code = _TYPE_CODES.get(int(args[3]))
    return f"{code}{args[4]}" if code else None


def _percent(part: int, whole: int | None) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


@dataclass(frozen=True)
class _Call:
    """One operator call on the timeline: its name and its points."""

    operator: str
    first: int
    last: int


def timeline_calls(live: Liveness) -> list[_Call]:
    """The timeline cut into calls: a call ends at the entry's statement that makes it, or
    where the running operator changes."""
    calls: list[_Call] = []
    closed = True
    for point, name in enumerate(live.operators):
        if calls and calls[-1].operator == name and not closed:
            calls[-1] = _Call(name, calls[-1].first, point)
        else:
            calls.append(_Call(name, point, point))
        closed = is_entry(live.labels[point].rsplit(":", 1)[0]) and not is_entry(name)
    return calls


def operator_calls(live: Liveness) -> list[_Call]:
    """The operator calls the AOT entry makes (without an entry, every root's run)."""
    calls = timeline_calls(live)
    if not any(is_entry(label.rpartition(":")[0]) for label in live.labels):
        return calls
    return [c for c in calls if not is_entry(c.operator) and c.operator not in live.roots]


def _call_at(calls: Sequence[_Call], point: int) -> _Call:
    return next(c for c in calls if c.first <= point <= c.last)


def stack_offsets(live: Liveness) -> list[int]:
    """Where the runtime's stack allocator puts each held instance as written: on top of
    everything still held when it is allocated (LIFO)."""
    offsets = [0] * len(live.held)
    order = sorted(range(len(live.held)), key=lambda i: (live.held[i].first, i))
    held: list[int] = []
    for i in order:
        first = live.held[i].first
        held = [j for j in held if live.held[j].last >= first]
        offsets[i] = max(
            (offsets[j] + round_up(live.held[j].site.size, live.alignment) for j in held), default=0
        )
        held.append(i)
    return offsets


class _Module:
    """What one module's explanation is computed from."""

    def __init__(self, m: ModuleResult, texts: Mapping[str, str]):
        self.m = m
        self.live = m.liveness
        self.texts = texts
        self.calls = timeline_calls(self.live)
        self.operator_calls = operator_calls(self.live)

    def name(self, function: str) -> str:
        return short_name(function, self.m.module)

    def kind(self, site: AllocSite) -> str:
        return "tensor" if is_entry(site.function) else "scratch"

    def label(self, point: int) -> str:
        function, _, line = self.live.labels[point].rpartition(":")
        return f"{self.name(function)}:{line}"

    def calls_touching(self, windows: Sequence[tuple[int, int]]) -> int:
        return sum(
            any(s <= c.last and c.first <= e for s, e in windows) for c in self.operator_calls
        )

    def original_peak(self) -> Peak:
        live, align = self.live, self.live.alignment
        held_bytes, point = peak((h.first, h.last, round_up(h.site.size, align)) for h in live.held)
        if point is None:
            return Peak(-1, "-", "-", 0, ())
        offsets = stack_offsets(live)
        operators = len(self.operator_calls)
        windows: dict[tuple[str, str], list[tuple[int, int]]] = {}
        for b in live.buffers:
            windows.setdefault(b.site.key, []).extend(b.windows)
        rows = []
        for i, h in enumerate(live.held):
            if not h.first <= point <= h.last:
                continue
            if self.kind(h.site) == "tensor":
                used = self.calls_touching(windows.get(h.site.key, []))
                why = (
                    f"held by the entry from line {h.site.line} to "
                    f"{live.labels[h.last].rpartition(':')[2]}, across all {operators} "
                    f"operator calls; its bytes are used in {used} of them"
                )
            elif offsets[i]:
                why = f"stacked on the {offsets[i]:,} B held below it while its operator runs"
            else:
                why = "at the bottom of the stack while its operator runs"
            rows.append(self.row(h.site, 0, h.site.size, offsets[i], why))
        return self.peak(point, held_bytes, rows)

    def arena_peak(self) -> Peak:
        live_bytes, point, at_peak = peak_point(self.m)
        if point < 0:
            return Peak(-1, "-", "-", 0, ())
        rows = []
        for b in at_peak:
            window = next((s, e) for s, e in b.windows if s <= point <= e)
            why = self.why_live(b, window)
            rows.append(self.row(b.site, b.range, b.size, self.m.address(b.id), why))
        return self.peak(point, live_bytes, rows)

    def why_live(self, b: LiveBuffer, window: tuple[int, int]) -> str:
        first, last = window
        if b.escaped:
            return (
                "its pointer goes where crewrite cannot follow: held from its alloc to its free "
                f"({self.label(first)} to {self.label(last)})"
            )
        if self.kind(b.site) == "tensor":
            return (
                f"written by {abbreviate(self.name(self.live.operators[first]))}, last used by "
                f"{abbreviate(self.name(self.live.operators[last]))}"
            )
        owner = self.name(b.site.function)
        return f"used from {_at(self.label(first), owner)} to {_at(self.label(last), owner)}"

    def row(self, site: AllocSite, rng: int, size: int, offset: int, why: str) -> LiveAt:
        return LiveAt(
            operator=self.name(site.function),
            function=site.function,
            variable=site.variable,
            range=rng,
            bytes=size,
            offset=offset,
            dtype=dtype_hint(site, self.texts),
            kind=self.kind(site),
            file=site.file,
            line=site.line,
            why=why,
        )

    def peak(self, point: int, held: int, rows: list[LiveAt]) -> Peak:
        rows.sort(key=lambda r: (-r.bytes, r.offset, r.function, r.variable))
        return Peak(
            point, self.label(point), self.name(self.live.operators[point]), held, tuple(rows)
        )

    def to_go_lower(self, arena_peak: Peak) -> str:
        """What would have to shrink to go below the arena's peak, said of its largest buffer."""
        if not arena_peak.buffers:
            return ""
        top = arena_peak.buffers[0]
        what = (
            f"{top.dtype + ' ' if top.dtype else ''}`{top.variable}` of {abbreviate(top.operator)}"
        )
        more = ""
        if top.kind == "scratch":
            call = _call_at(self.calls, arena_peak.point)
            written = [
                b
                for b in self.live.buffers
                if self.kind(b.site) == "tensor"
                and any(call.first <= s <= call.last for s, _ in b.windows)
            ]
            if written:
                out = max(written, key=lambda b: b.site.size)
                more = (
                    f", {top.bytes / out.site.size:.1f}x the {out.site.size:,} B tensor the "
                    f"operator writes, `{out.site.variable}`"
                )
        return (
            f"these {len(arena_peak.buffers)} buffers must shrink, or stop being live "
            f"together; the largest is the {what} ({top.bytes:,} B{more})"
        )

    def top_operators(self) -> tuple[OperatorScratch, ...]:
        """Operators by the most bytes their own buffers take at once in one call."""
        align = self.live.alignment
        per_call: dict[tuple[str, int], list[Held]] = {}
        for h in self.live.held:
            if self.kind(h.site) == "scratch":
                call = _call_at(self.calls, h.first)
                per_call.setdefault((call.operator, call.first), []).append(h)
        found: dict[str, tuple[int, int, dict[tuple[str, str], AllocSite]]] = {}
        for (operator, _), held in per_call.items():
            most, _ = peak((h.first, h.last, round_up(h.site.size, align)) for h in held)
            calls, best, sites = found.get(operator, (0, 0, {}))
            sites.update({h.site.key: h.site for h in held})
            found[operator] = (calls + 1, max(best, most), sites)
        ranked = sorted(found.items(), key=lambda item: (-item[1][1], item[0]))
        return tuple(
            OperatorScratch(
                operator=self.name(operator),
                function=operator,
                calls=calls,
                scratch_bytes=most,
                buffers=tuple(
                    ScratchBuffer(s.variable, s.size, dtype_hint(s, self.texts), s.line)
                    for s in sorted(sites.values(), key=lambda s: (-s.size, s.variable))
                ),
            )
            for operator, (calls, most, sites) in ranked[:TOP_OPERATORS]
        )

    def explain(self, ram: int | None) -> ModuleExplanation:
        m = self.m
        arena_peak = self.arena_peak()
        return ModuleExplanation(
            module=m.module,
            original_workspace_bytes=m.original_bytes,
            original_workspace_from=m.original_from,
            as_written_peak_bytes=self.live.as_written_peak,
            arena_bytes=m.arena_bytes,
            lower_bound_bytes=m.plan.lower_bound_bytes,
            saved_bytes=m.saved_bytes,
            saved_percent=_percent(m.saved_bytes, m.original_bytes) or 0.0,
            saved_percent_of_ram=_percent(m.saved_bytes, ram),
            planner=m.plan.planner,
            optimal=m.plan.optimal,
            sites=len({b.site.key for b in self.live.buffers}),
            live_ranges=len(self.live.buffers),
            original_peak=self.original_peak(),
            arena_peak=arena_peak,
            to_go_lower=self.to_go_lower(arena_peak),
            top_operators=self.top_operators(),
        )


def explain_result(result: Result, path: str, ram: int | None = None) -> Explanation:
    """The explanation of a planned rewrite (`result`, written or not)."""
    texts = result.project.texts
    modules = tuple(_Module(m, texts).explain(ram) for m in result.modules)
    pools = tuple(pool_report(p) for p in result.pools)
    total = totals(result.modules, pools)
    return Explanation(
        path=path,
        status="explained" if result.status == "rewritten" else result.status,
        ram_bytes=ram,
        original_workspace_bytes=total.original_workspace_bytes,
        arena_bytes=total.arena_bytes,
        lower_bound_bytes=total.lower_bound_bytes,
        saved_bytes=total.saved_bytes,
        saved_percent_of_ram=_percent(total.saved_bytes, ram),
        modules=modules,
        pools=pools,
        notes=result.notes,
    )


def _pool_lines(p: PoolReport, ram: int | None) -> list[str]:
    """A USMP-built project: no runtime allocator, a static pool whose size USMP's placement
    decided; what crewrite's plan of the same slices takes, and where the saving comes from."""
    share = _percent(p.saved_bytes, ram)
    of_ram = f"; {share} % of {ram:,} B of RAM" if share is not None and ram else ""
    proof = "optimal" if p.optimal else "not proven optimal"
    slices = {(s.function, s.variable) for s in p.slices}
    return [
        f"module {p.module}, USMP pool {p.pool}: {len(slices)} slices ({len(p.slices)} live "
        "ranges), planned statically by USMP: no runtime allocator",
        f"  pool as USMP planned it {p.usmp_pool_bytes:>10,} B  ({p.usmp_pool_from})",
        f"  crewrite's plan         {p.arena_bytes:>10,} B  (planner {p.planner}, {proof})",
        f"  lower bound             {p.lower_bound_bytes:>10,} B  "
        "(the most bytes live at one point)",
        f"  saved                   {p.saved_bytes:>10,} B  "
        f"({_percent(p.saved_bytes, p.usmp_pool_bytes) or 0.0} %{of_ram})",
        *textwrap.wrap(
            f"Why {_kb(p.usmp_pool_bytes)}: USMP places each slice above every slice it overlaps "
            "in time that was placed before it, and never fills the gaps below; packing USMP's "
            f"own lifetimes saves {p.saved_by_packing_bytes:,} B, and knowing which bytes each "
            f"statement uses {p.saved_by_lifetimes_bytes:,} B more.",
            WIDTH,
            initial_indent="  ",
            subsequent_indent="  ",
        ),
        "",
    ]


def _kb(n: int) -> str:
    return f"{n:,} B"


def abbreviate(name: str, width: int = 30) -> str:
    """A long fused operator name cut in the middle at underscores, keeping its distinctive
    end (`nn_conv2d_add_cast_multiply_add_right_shift_cast_add_clip_cast_clip_2` ->
    `nn_conv2d_add..cast_clip_2`)."""
    if len(name) <= width:
        return name
    words = name.split("_")
    head, tail = words[0], words[-1]
    i, j = 1, len(words) - 2
    while i <= j and len(head) + len(words[i]) + 1 <= width * 3 // 5:
        head, i = f"{head}_{words[i]}", i + 1
    while j >= i and len(tail) + len(words[j]) + 1 <= width * 2 // 5:
        tail, j = f"{words[j]}_{tail}", j - 1
    return f"{head}..{tail}" if i <= j else name


def _where(label: str) -> str:
    function, _, line = label.rpartition(":")
    return f"{abbreviate(function)}:{line}"


def _at(label: str, operator: str) -> str:
    """A statement named briefly: its line alone inside `operator`, else function:line."""
    function, _, line = label.rpartition(":")
    return f"line {line}" if function == operator else _where(label)


def _buffer_lines(b: LiveAt) -> list[str]:
    dtype = f" ({b.dtype})" if b.dtype else ""
    name = b.variable if not b.range else f"{b.variable}#{b.range}"
    owner = (
        "tensor between operators" if b.kind == "tensor" else f"scratch of {abbreviate(b.operator)}"
    )
    return [
        f"    {b.bytes:>9,} B  {name}{dtype}: {owner}, {b.file.rsplit('/', 1)[-1]}:{b.line}",
        *textwrap.wrap(b.why, WIDTH, initial_indent=" " * 17, subsequent_indent=" " * 17),
    ]


def render_text(e: Explanation) -> str:
    """The plain-text answer: a few lines per module, largest buffers first."""
    if e.status != "explained" or not (e.modules or e.pools):
        return "".join(f"crewrite: {note}\n" for note in e.notes)
    lines: list[str] = []
    for p in e.pools:
        lines += _pool_lines(p, e.ram_bytes)
    for m in e.modules:
        ram = (
            f"; {m.saved_percent_of_ram} % of {e.ram_bytes:,} B of RAM"
            if m.saved_percent_of_ram is not None and e.ram_bytes
            else ""
        )
        proof = "optimal" if m.optimal else "not proven optimal"
        op, ap = m.original_peak, m.arena_peak
        extra = m.original_workspace_bytes - m.as_written_peak_bytes
        beyond = f"; {extra:,} B more are reserved beyond it" if extra > 0 else ""
        lines += [
            f"module {m.module}: {m.sites} workspace buffers ({m.live_ranges} live ranges)",
            f"  workspace as written {m.original_workspace_bytes:>10,} B  "
            f"({m.original_workspace_from})",
            f"  crewrite's arena     {m.arena_bytes:>10,} B  (planner {m.planner}, {proof})",
            f"  lower bound          {m.lower_bound_bytes:>10,} B  "
            "(the most bytes live at one point)",
            f"  saved                {m.saved_bytes:>10,} B  ({m.saved_percent} %{ram})",
            "",
            f"  Why {_kb(m.original_workspace_bytes)}: the runtime's stack allocator peaks at "
            f"{_kb(op.bytes)}{beyond},",
            f"  in {abbreviate(op.operator)} ({_at(op.at, op.operator)}), holding "
            f"{len(op.buffers)} buffers:",
        ]
        for b in op.buffers:
            lines += _buffer_lines(b)
        lines += [
            "",
            f"  crewrite's arena peaks at {_kb(ap.bytes)}, in {abbreviate(ap.operator)}",
            f"  ({_at(ap.at, ap.operator)}), with {len(ap.buffers)} buffers live:",
        ]
        for b in ap.buffers:
            lines += _buffer_lines(b)
        if m.to_go_lower:
            lines += textwrap.wrap(
                f"To go lower: {m.to_go_lower}.",
                WIDTH,
                initial_indent="  ",
                subsequent_indent="  ",
            )
        lines += [
            "",
            "  Operators with the most scratch (bytes held at once in one call, as written):",
        ]
        for o in m.top_operators:
            calls = f" ({o.calls} calls)" if o.calls > 1 else ""
            parts = ", ".join(
                f"{b.variable} {b.bytes:,}{' ' + b.dtype if b.dtype else ''}" for b in o.buffers
            )
            lines.append(f"    {o.scratch_bytes:>9,} B  {abbreviate(o.operator)}{calls}: {parts}")
        lines.append("")
    if e.notes:
        lines.append("A rewrite would also say:")
        lines += [f"  {note}" for note in e.notes]
    return "\n".join(lines).rstrip("\n") + "\n"
