"""The pure core: project texts in, new texts and a report out. Nothing is written here.

sources -> frontend -> extract -> liveness -> packing -> emit, then a second look at the
result before anything is handed back: re-parsed and re-extracted, no workspace call left,
the layout proven from the rewritten C (crewrite.verify.layout), and a second run over it
has nothing left to do.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from pycparser import c_ast

from crewrite import packing, progress
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
    declaration_edits,
    header_edits,
    metadata_edits,
    module_edits,
    object_macros,
)
from crewrite.errors import CrewriteError, InternalError
from crewrite.extract import ALLOC, FREE, AllocSite, FreeSite, Program, extract, workspace_call
from crewrite.extract.textloc import line_of
from crewrite.frontend import TranslationUnit, parse_source, workspace_call_lines
from crewrite.liveness import Liveness, analyse, is_entry
from crewrite.poison import inserted_names, poison_edits, undeclared_uses
from crewrite.project import Project, size_defines
from crewrite.reading import read_program
from crewrite.verify import Verdict, prove_layout


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


@dataclass(frozen=True)
class ModuleResult:
    module: str
    liveness: Liveness
    plan: packing.Plan
    original_bytes: int
    original_from: str  # where original_bytes comes from
    files: tuple[str, ...]

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


@dataclass(frozen=True)
class Result:
    """What a run found and would write. Every workspace site of a rewritten module is
    rewritten, so the runtime allocator needs nothing more for it (reported as 0)."""

    project: Project
    status: str  # "rewritten", "static" (no workspace call) or "already-rewritten"
    modules: tuple[ModuleResult, ...] = ()
    new_texts: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    seconds: float = 0.0
    verdict: Verdict | None = None  # when the rewrite was verified on the host (--verify)


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
    progress.stage("liveness", f"module {module}")
    live = analyse(program, module, options.liveness, alignment)
    progress.stage("planning", f"module {module}")
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
    if not any(calls.values()):
        return Result(
            project,
            "static",
            notes=(_static_note(project),),
            seconds=time.perf_counter() - started,
        )
    reading = read_program(project, options.defines, calls)
    result = _rewrite_program(project, reading.translation_units, reading.program, options)
    return replace(
        result, notes=(*reading.notes, *result.notes), seconds=time.perf_counter() - started
    )


def _static_note(project: Project) -> str:
    return (
        f"no {ALLOC} call in {len(project.sources)} source files: the "
        "project is already static (USMP?); nothing to rewrite"
    )


def _rewrite_program(
    project: Project,
    translation_units: Mapping[str, TranslationUnit],
    program: Program,
    options: Options,
    look_again: bool = True,
) -> Result:
    if not program.allocs:
        return Result(project, "static", notes=(_static_note(project),))

    edits: dict[str, list[Edit]] = {}
    modules: list[ModuleResult] = []
    notes: list[str] = []
    moved: dict[str, MovedWorkspace] = {}
    header_values: dict[str, str] = {}
    for module in program.modules:
        allocs = program.allocs_of(module)
        if not allocs:
            continue
        live, plan = _plan_module(program, module, options, project.alloc_alignment)
        header_value, headers, header_notes = _header_sizes(project, module)
        notes += header_notes
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
        arena_file = max(sorted(counts), key=lambda rel: counts[rel])
        layout = ArenaLayout(
            module,
            plan.arena_bytes,
            live.alignment,
            max(live.alignment, program.max_alignment),
            offsets,
            original,
            arena_file,
            options.section,
        )
        code_edits = module_edits(layout, live.buffers, program.frees_of(module), project.texts)
        if options.poison_shift is not None:
            code_edits = combine_inserts(
                code_edits
                + poison_edits(
                    program,
                    live,
                    offsets,
                    plan.arena_bytes,
                    arena_file,
                    declaration_edits(layout, live.buffers, project.texts),
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
        notes += _allocator_notes(allocs, program.frees_of(module))
        moved[module] = MovedWorkspace(
            original,
            any(is_entry(root) for root in live.roots),
            frozenset(s.function.split("@")[0] for s in allocs),
        )
        modules.append(
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
                files=tuple(sorted(counts)),
            )
        )

    # Every site is rewritten: the whole original workspace moved out of the runtime
    # allocator (metadata_edits keeps what a graph executor still needs for its tensors).
    for rel in project.metadata:
        meta, meta_notes = metadata_edits(rel, project.texts[rel], moved)
        notes += meta_notes
        if meta:
            edits.setdefault(rel, []).extend(meta)
    saved = sum(m.original_bytes for m in modules)
    macros = {  # the values after the rewrite: rewritten modules' header macros say 0
        **object_macros([project.texts[rel] for rel in project.build_files + project.headers]),
        **header_values,
    }
    for rel in project.build_files:
        build, build_notes = build_edits(rel, project.texts[rel], saved)
        arrays, array_notes = array_length_edits(rel, project.texts[rel], macros)
        notes += build_notes + array_notes
        if build or arrays:
            edits.setdefault(rel, []).extend(build + arrays)

    new_texts = {
        rel: apply_edits(project.texts[rel], file_edits)
        for rel, file_edits in sorted(edits.items())
    }
    result = Result(project, "rewritten", tuple(modules), new_texts, tuple(notes))
    if look_again:
        _second_look(project, options, result, translation_units, program)
    return result


def _allocator_notes(allocs: Sequence[AllocSite], frees: Sequence[FreeSite]) -> list[str]:
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
            if workspace_call(node) is not None:
                calls.append(line_of(node))
            self.generic_visit(node)

    Calls().visit(tu.ast)
    return calls


def _second_look(
    project: Project,
    options: Options,
    result: Result,
    translation_units: Mapping[str, TranslationUnit],
    program: Program,
) -> None:
    """Read what was produced as a user's next run would: re-parse it (no workspace call may
    remain, and every name crewrite inserted (arenas, the poison build's clock) must be
    declared before each use, as a compiler would check), re-extract it with the same
    extraction, prove its layout against the original's live ranges, and run the rewrite
    over it once more, which must find nothing to do."""
    progress.stage("checking", "the rewritten C")
    names = {n for m in result.modules for n in inserted_names(m.module)}
    reread = dict(translation_units)
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
        reread[rel] = tu
    try:
        rewritten = extract(reread, project.module_names())
    except CrewriteError as exc:
        raise InternalError(
            f"the rewritten C cannot be read back: {exc.reason}", exc.file, exc.line
        ) from None
    proof = prove_layout(program, rewritten, project.alloc_alignment)
    if not proof.ok:
        raise InternalError(
            "the rewritten layout fails its proof, nothing was written: "
            + "; ".join(proof.problems[:3])
        )
    again = replace(project, texts={**project.texts, **result.new_texts})
    try:
        _scan(again)
        second = _rewrite_program(again, reread, rewritten, options, look_again=False)
    except AlreadyRewritten:
        return
    except CrewriteError as exc:
        raise InternalError(
            f"a second run over the result would fail ({exc.reason}); nothing was written",
            exc.file,
            exc.line,
        ) from None
    if second.new_texts:
        raise InternalError(
            "a second run would still change "
            + ", ".join(sorted(second.new_texts))
            + "; nothing was written"
        )
