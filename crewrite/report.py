"""What a rewrite found and did: a few lines for people, stable JSON for machines."""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass
from typing import Any

from crewrite.measure import peak
from crewrite.pipeline import ModuleResult, Result


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
    """One line per live range: where it is, its size, its offset and its windows."""
    rows = [f"  {'offset':>8} {'size':>8}  {'live (program points)':<24} buffer"]
    for b in sorted(m.liveness.buffers, key=lambda b: (m.offsets[b.id], b.id)):
        windows = " ".join(f"{s}-{e}" for s, e in b.windows) or "never used"
        flags = " (escapes: alloc..free)" if b.escaped else ""
        rows.append(
            f"  {m.offsets[b.id]:>8} {b.site.size:>8}  {windows:<24} "
            f"{b.id}  [{b.site.file}:{b.site.line}]{flags}"
        )
    return rows


def text_report(result: Result, verbose: bool = False) -> str:
    lines: list[str] = []
    if result.status != "rewritten":  # nothing to do: the note says why
        return "".join(f"crewrite: {note}\n" for note in result.notes)
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
        ]
        if verbose:
            lines += buffer_table(m)
    lines += [f"  {note}" for note in result.notes]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class BufferReport:
    """One live range: where its buffer is allocated, its size, offset and live windows."""

    function: str
    variable: str
    file: str
    line: int
    size: int
    offset: int
    live: tuple[tuple[int, int], ...]  # inclusive windows of program points
    escaped: bool  # its pointer goes where crewrite cannot follow: live alloc..free
    range: int
    ranges: int


@dataclass(frozen=True)
class PeakReport:
    point: int  # -1 when nothing is live anywhere
    label: str | None  # "function:line" of the statement at that point
    buffers: tuple[str, ...]  # ids of the live ranges live there


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


@dataclass(frozen=True)
class Report:
    """What `crewrite rewrite` found and did: the fields of `--report-json`, in this order."""

    path: str  # the input as given
    status: str  # "rewritten", "static" (no workspace call) or "already-rewritten"
    written: bool  # False under --check, --diff, --dry-run, or when nothing changes
    changed_files: tuple[str, ...]  # files that change (or would), named as given
    original_workspace_bytes: int  # totals over the modules
    arena_bytes: int
    lower_bound_bytes: int
    saved_bytes: int
    remaining_workspace_bytes: int
    modules: tuple[ModuleReport, ...]
    notes: tuple[str, ...]
    seconds: float
    verified: bool | None  # with verify: whether the rewrite was proven on the host

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _module_report(m: ModuleResult) -> ModuleReport:
    point, live = peak_point(m)
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
        peak=PeakReport(point, m.liveness.labels[point] if point >= 0 else None, tuple(live)),
        buffers=tuple(
            BufferReport(
                function=b.site.function,
                variable=b.site.variable,
                file=b.site.file,
                line=b.site.line,
                size=b.site.size,
                offset=m.offsets[b.id],
                live=b.windows,
                escaped=b.escaped,
                range=b.range,
                ranges=b.ranges,
            )
            for b in m.liveness.buffers
        ),
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


def make_report(result: Result, path: str, written: bool) -> Report:
    modules = tuple(_module_report(m) for m in result.modules)
    return Report(
        path=path,
        status=result.status,
        written=written,
        changed_files=changed_files(result),
        original_workspace_bytes=sum(m.original_workspace_bytes for m in modules),
        arena_bytes=sum(m.arena_bytes for m in modules),
        lower_bound_bytes=sum(m.lower_bound_bytes for m in modules),
        saved_bytes=sum(m.saved_bytes for m in modules),
        remaining_workspace_bytes=0,
        modules=modules,
        notes=result.notes,
        seconds=round(result.seconds, 3),
        verified=None if result.verdict is None else result.verdict.ok,
    )
