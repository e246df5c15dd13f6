"""The pure core: project texts in, new texts and a report out. Nothing is written here.

sources -> frontend -> extract -> liveness -> packing -> emit, then a second look at the
result (re-parse, no workspace call left, plan re-checked) before anything is handed back.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pycparser import c_ast

from crewrite import packing
from crewrite.emit import (
    MARKER,
    ArenaLayout,
    Edit,
    MovedWorkspace,
    apply_edits,
    arena_name,
    array_length_edits,
    build_edits,
    combine_inserts,
    header_edits,
    metadata_edits,
    module_edits,
    object_macros,
)
from crewrite.errors import CrewriteError, InternalError
from crewrite.extract import ALLOC, FREE, AllocSite, FreeSite, Program, extract
from crewrite.frontend import (
    TranslationUnit,
    code_only,
    defined_functions,
    parse_source,
    workspace_call_lines,
)
from crewrite.liveness import Liveness, analyse, is_entry
from crewrite.poison import inserted_names, poison_edits, undeclared_uses
from crewrite.project import Project, size_defines


class AlreadyRewritten(CrewriteError):
    """Every workspace call is gone and crewrite's marker is there: nothing to do."""


@dataclass(frozen=True)
class Options:
    include_dirs: tuple[Path, ...] = ()  # -I, searched after crewrite's own headers
    defines: tuple[str, ...] = ()
    planner: str = "auto"
    time_limit: float | None = None
    section: str | None = None
    liveness: str = "fine"
    poison_shift: int | None = None  # diagnostic build: poison dead bytes (see poison.py)


@dataclass
class ModuleResult:
    module: str
    liveness: Liveness
    plan: packing.Plan
    original_bytes: int
    original_from: str  # where original_bytes comes from
    files: list[str]

    @property
    def remaining_bytes(self) -> int:
        """What the runtime allocator still needs for this module: every site is rewritten."""
        return 0

    @property
    def offsets(self) -> Mapping[str, int]:  # LiveBuffer.id -> offset
        return self.plan.offsets

    @property
    def arena_name(self) -> str:
        return arena_name(self.module)

    @property
    def saved_bytes(self) -> int:
        return self.original_bytes - self.arena_bytes

    @property
    def arena_bytes(self) -> int:
        return self.plan.arena_bytes


@dataclass
class Result:
    project: Project
    status: str  # "rewritten" or "static" (no workspace calls: nothing to do)
    modules: list[ModuleResult] = field(default_factory=list)
    new_texts: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def parse_all(project: Project, options: Options) -> dict[str, TranslationUnit]:
    """Every source, preprocessed with the project's include folders (which hold `-I`)."""
    return {
        rel: parse_source(
            rel, project.path(rel), project.texts[rel], project.include_dirs, list(options.defines)
        )
        for rel in project.sources
    }


def parse_needed(
    project: Project, options: Options, calls: dict[str, list[int]]
) -> tuple[dict[str, TranslationUnit], dict[str, CrewriteError]]:
    """Parse every source; one that does not parse is set aside unless it has workspace calls
    (then its error is the answer). Whether crewrite needed it is decided once the others are
    read (`_check_set_aside`)."""
    units, failed = {}, {}
    for rel in project.sources:
        try:
            units[rel] = parse_source(
                rel,
                project.path(rel),
                project.texts[rel],
                project.include_dirs,
                list(options.defines),
            )
        except CrewriteError as exc:
            if calls[rel]:
                raise
            failed[rel] = exc
    return units, failed


def _check_set_aside(
    project: Project, program: Program, failed: dict[str, CrewriteError]
) -> list[str]:
    """A source that does not parse and has no workspace call may be left out, unless it
    defines a function the parsed sources call, or names a function that crewrite follows
    (any but an entry point, which runs whole from wherever it is called). Then its parse
    error stands."""
    if not failed:
        return []
    roots = {r for module in program.modules for r in program.roots(module)}
    followed = {name.split("@")[0] for name in program.functions} - roots
    called = set()
    for tu in program.units.values():
        called |= set(re.findall(r"\b([A-Za-z_]\w*)\s*\(", code_only(tu.text)))
    notes = []
    for rel, error in failed.items():
        code = code_only(project.texts[rel])
        needed = (defined_functions(project.texts[rel]) & called) | {
            name for name in followed if re.search(rf"\b{re.escape(name)}\b", code)
        }
        if needed:
            raise CrewriteError(
                f"{error.reason} (crewrite must read this file: it defines or uses "
                f"{', '.join(sorted(needed)[:3])})",
                error.file,
                error.line,
            )
        where = f"line {error.line}: " if error.line is not None else ""
        notes.append(
            f"{project.display(rel)}: left out: it does not parse ({where}{error.reason}), "
            "and it has no workspace call and nothing crewrite follows"
        )
    return notes


def _header_sizes(project: Project, module: str) -> tuple[int | None, list[str], list[str]]:
    """The module's workspace as its generated header states it (the truth for the model),
    every header that defines it, and a note when copies disagree."""
    found = [
        (rel, define)
        for rel in project.headers
        for define in size_defines(project.texts[rel])
        if define.module.lower() == module.lower()
    ]
    generated = [(rel, d) for rel, d in found if project.is_generated_header(rel)]
    values = {d.value for _, d in generated}
    if len(values) > 1:
        first, a = generated[0]
        rel, b = next(g for g in generated if g[1].value != a.value)
        raise CrewriteError(
            f"TVMGEN_{module.upper()}_WORKSPACE_SIZE is {b.expr} here but {a.expr} in "
            f"{project.display(first)}: two generated headers of one module disagree",
            rel,
            project.texts[rel].count("\n", 0, b.start) + 1,
        )
    truth = next(iter(values)) if values else None
    notes = []
    shown = {d.value for _, d in found}
    if len(shown) > 1 or (truth is None and generated):
        said = ", ".join(
            f"{project.display(rel)}{' (generated)' if project.is_generated_header(rel) else ''}"
            f" {d.expr}" + (f" = {d.value}" if str(d.value) != d.expr.strip() else "")
            for rel, d in found
        )
        notes.append(
            f"TVMGEN_{module.upper()}_WORKSPACE_SIZE copies disagreed: {said}; "
            f"{'the generated header counts' if truth is not None else 'none could be read'}"
            f", and every copy now says 0"
        )
    return truth, [rel for rel in dict.fromkeys(rel for rel, _ in found)], notes


def _scan(project: Project) -> dict[str, list[int]]:
    """Workspace calls per source and the marker, from the text alone: a project with nothing
    to do (or already rewritten) is never parsed."""
    calls = {rel: workspace_call_lines(project.texts[rel]) for rel in project.sources}
    marked = [rel for rel in project.sources if MARKER in project.texts[rel]]
    with_calls = [rel for rel in project.sources if calls[rel]]
    if marked and with_calls:
        raise CrewriteError(
            f"partly rewritten: {project.display(marked[0])} carries crewrite's marker but "
            f"{ALLOC} calls remain (an interrupted write, or files mixed from two "
            "generations?); regenerate the model",
            with_calls[0],
            calls[with_calls[0]][0],
        )
    if marked:
        raise AlreadyRewritten(
            "already rewritten by crewrite: no workspace call left, nothing to do", marked[0]
        )
    return calls


def _plan_module(
    program: Program, module: str, options: Options, alignment: int
) -> tuple[Liveness, packing.Plan]:
    live = analyse(program, module, options.liveness, alignment)
    problem = packing.Problem(
        buffers=tuple(packing.Buffer(b.id, b.site.size, b.windows) for b in live.buffers),
        alignment=live.alignment,
        name=module,
    )
    plan = packing.plan(problem, planner=options.planner, time_limit=options.time_limit)
    return live, plan


def rewrite_project(project: Project, options: Options = Options()) -> Result:
    """Plan and compute every edit; raise CrewriteError before anything would be written."""
    started = time.perf_counter()
    calls = _scan(project)
    result = Result(project, "rewritten")
    if not any(calls.values()):
        result.status = "static"
        result.notes.append(
            f"no {ALLOC} call in {len(project.sources)} source files: the "
            "project is already static (USMP?); nothing to rewrite"
        )
        result.seconds = time.perf_counter() - started
        return result
    units, failed = parse_needed(project, options, calls)
    program = extract(units, project.module_names())
    result.notes += _check_set_aside(project, program, failed)

    edits: dict[str, list[Edit]] = {}
    moved: dict[str, MovedWorkspace] = {}
    header_values: dict[str, str] = {}
    for module in program.modules:
        allocs = [s for s in program.allocs if program.functions[s.function].module == module]
        if not allocs:
            continue
        frees = [s for s in program.frees if program.functions[s.function].module == module]
        live, plan = _plan_module(program, module, options, project.alloc_alignment)
        header_value, headers, notes = _header_sizes(project, module)
        result.notes += notes
        original = header_value if header_value is not None else live.as_written_peak
        if plan.arena_bytes > max(original, live.as_written_peak):
            held = [  # the heaviest first: most bytes for most of the timeline
                b.site
                for b in sorted(
                    live.buffers,
                    key=lambda b: -b.site.size * sum(e - s + 1 for s, e in b.windows),
                )
                if b.escaped
            ]
            why = (
                f": {len(held)} buffer(s) must stay live beyond their uses, since their pointers "
                f"go where crewrite cannot follow (first '{held[0].variable}' in "
                f"{held[0].function})"
                if held
                else ""
            )
            raise CrewriteError(
                f"module '{module}': the planned arena ({plan.arena_bytes} bytes) is larger "
                f"than the workspace as written ({original}){why}; refusing to make it worse",
                held[0].file if held else allocs[0].file,
                held[0].line if held else None,
            )
        offsets = dict(plan.offsets)  # LiveBuffer.id -> offset
        counts: dict[str, int] = {}
        for site in allocs:
            counts[site.file] = counts.get(site.file, 0) + 1
        host = max(sorted(counts), key=lambda rel: counts[rel])
        layout = ArenaLayout(
            module,
            plan.arena_bytes,
            live.alignment,
            max(live.alignment, program.max_alignment),
            offsets,
            original,
            host,
            options.section,
        )
        code_edits = module_edits(layout, live.buffers, frees, project.texts)
        if options.poison_shift is not None:
            declarations = {
                e.file: e
                for e in code_edits
                if e.start == e.end and MARKER in e.text and arena_name(module) + "[" in e.text
            }
            code_edits = combine_inserts(
                code_edits
                + poison_edits(
                    program,
                    live,
                    offsets,
                    plan.arena_bytes,
                    host,
                    declarations,
                    project.texts,
                    options.poison_shift,
                )
            )
        for edit in code_edits:
            edits.setdefault(edit.file, []).append(edit)
        for rel in headers:
            for edit in header_edits(module, rel, project.texts[rel], plan.arena_bytes):
                edits.setdefault(rel, []).append(edit)
        header_values[f"TVMGEN_{module.upper()}_WORKSPACE_SIZE"] = "0"
        result.notes += _allocator_notes(allocs, frees)
        moved[module] = MovedWorkspace(
            original,
            any(is_entry(root) for root in live.roots),
            frozenset(s.function.split("@")[0] for s in allocs),
        )
        result.modules.append(
            ModuleResult(
                module=module,
                liveness=live,
                plan=plan,
                original_bytes=original,
                original_from=(
                    f"TVMGEN_{module.upper()}_WORKSPACE_SIZE"
                    if header_value is not None
                    else "peak as written (no module header)"
                ),
                files=sorted(counts),
            )
        )

    for rel in project.metadata:
        meta, notes = metadata_edits(rel, project.texts[rel], moved)
        result.notes += notes
        if meta:
            edits.setdefault(rel, []).extend(meta)
    saved = sum(m.original_bytes - m.remaining_bytes for m in result.modules)
    macros = {  # the values after the rewrite: rewritten modules' header macros say 0
        **object_macros([project.texts[rel] for rel in project.build_files + project.headers]),
        **header_values,
    }
    for rel in project.build_files:
        build, notes = build_edits(rel, project.texts[rel], saved)
        arrays, array_notes = array_length_edits(rel, project.texts[rel], macros)
        result.notes += notes + array_notes
        if build or arrays:
            edits.setdefault(rel, []).extend(build + arrays)

    for rel, file_edits in sorted(edits.items()):
        result.new_texts[rel] = apply_edits(project.texts[rel], file_edits)
    _second_look(project, options, result)
    result.seconds = time.perf_counter() - started
    return result


def _allocator_notes(allocs: list[AllocSite], frees: list[FreeSite]) -> list[str]:
    """What the original asks of its allocator that the arena does not need, worth saying: a
    buffer never freed (the original leaks it on every call), frees out of LIFO order (TVM's
    stack allocator refuses them, so the original fails there)."""
    notes = []
    freed = {(s.function, s.variable): s for s in frees}
    for site in allocs:
        if site.key not in freed:
            notes.append(
                f"{site.file}:{site.line}: '{site.variable}' in {site.function} is never freed: "
                "the original leaks it on every call; in the arena it keeps one place"
            )
    for a in allocs:
        for b in allocs:
            fa, fb = freed.get(a.key), freed.get(b.key)
            if a.function == b.function and fa and fb and a.start < b.start < fa.start < fb.start:
                notes.append(
                    f"{fa.file}:{fa.line}: '{a.variable}' is freed before '{b.variable}', which "
                    "was allocated after it: TVM's stack allocator (LIFO) refuses that, so the "
                    "original fails there; the rewrite does not depend on the order"
                )
    return notes


def _workspace_calls(tu: TranslationUnit) -> list[int]:
    """Lines of workspace calls left in a parsed file."""
    calls: list[int] = []

    class Calls(c_ast.NodeVisitor):
        def visit_FuncCall(self, node: c_ast.FuncCall) -> None:
            if isinstance(node.name, c_ast.ID) and node.name.name in (ALLOC, FREE):
                calls.append(node.coord.line)
            self.generic_visit(node)

    Calls().visit(tu.ast)
    return calls


def _second_look(project: Project, options: Options, result: Result) -> None:
    """Re-parse what was produced: no workspace call may remain, and every name crewrite
    inserted (arenas, the poison build's clock) must be declared before each use, as a
    compiler would check. (Plans were checked by `packing.plan` already, and the tests check
    the emitted offsets once more from the text.)"""
    names = {n for m in result.modules for n in inserted_names(m.module)}
    for rel in project.sources:
        if rel not in result.new_texts:
            continue
        tu = parse_source(
            rel,
            project.path(rel),
            result.new_texts[rel],
            project.include_dirs,
            list(options.defines),
        )
        calls = _workspace_calls(tu)
        if calls:
            raise InternalError(f"a {ALLOC}/{FREE} call survived the rewrite", rel, calls[0])
        for name, line in undeclared_uses(tu.ast, names, tu.filename)[:1]:
            raise CrewriteError(
                f"'{name}' that crewrite inserts would be used here before the compiler sees "
                "its declaration (conditional includes?); nothing was written",
                rel,
                line,
            )
