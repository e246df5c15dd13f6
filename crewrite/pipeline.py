"""The pure core: project texts in, new texts and a report out. Nothing is written here.

sources -> frontend -> extract (+ extents) -> liveness -> packing -> emit, then a second look
at the result before anything is handed back: re-parsed and re-extracted, no workspace call left,
the layout proven from the rewritten C (crewrite.verify.layout), and a second run over it
has nothing left to do. A project without workspace calls takes the same path for its USMP
pools (crewrite.usmp plans them, crewrite.emit_pool edits them); one with neither calls nor
pools is told from its text, without parsing.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from pycparser import c_ast

from crewrite import extents as extent_analysis
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
    define_edits,
    metadata_edits,
    module_edits,
    object_macros,
)
from crewrite.emit_pool import poison_pool_edits, pool_edits
from crewrite.errors import CrewriteError, InternalError
from crewrite.extents import FunctionExtents
from crewrite.extract import (
    ALLOC,
    FREE,
    AllocSite,
    FreeSite,
    Program,
    extract,
    is_entry,
    workspace_call,
)
from crewrite.extract.pools import (
    PoolProblem,
    is_constant_pool,
    is_workspace_pool_param,
    pool_of_param,
    pools_named,
)
from crewrite.extract.textloc import line_of
from crewrite.footprint import OutOfBounds, Unproven, out_of_bounds, unproven
from crewrite.frontend import TranslationUnit, parse_source, paused_gc, workspace_call_lines
from crewrite.liveness import Liveness, Placed, analyse
from crewrite.poison import inserted_names, poison_edits, undeclared_uses
from crewrite.project import Project, SizeDefine, size_defines
from crewrite.reading import read_program
from crewrite.reread import reread_source
from crewrite.timing import stage
from crewrite.usmp import PoolResult, replan
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
    strict: bool = False  # an access past a buffer's allocation is an error, not a warning


@dataclass(frozen=True)
class ModuleResult(Placed):
    module: str
    liveness: Liveness
    plan: packing.Plan
    original_bytes: int
    original_from: str  # where original_bytes comes from
    files: tuple[str, ...]
    out_of_bounds: tuple[OutOfBounds, ...] = ()  # accesses past a buffer's allocation
    unproven: tuple[Unproven, ...] = ()  # where a buffer's bytes have no bound

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
    pools: tuple[PoolResult, ...] = ()  # re-planned USMP pools (no workspace calls)
    edits: Mapping[str, tuple[Edit, ...]] = field(default_factory=dict)  # new_texts, as edits

    @property
    def warnings(self) -> tuple[str, ...]:
        """One line per access past a buffer's allocation: `file:line: what`."""
        return tuple(
            f"{self.project.display(f.file)}:{f.line}: {f.message()}"
            for m in self.modules
            for f in m.out_of_bounds
        )


@dataclass(frozen=True)
class HeaderCopies:
    """Every definition of one module header macro (`TVMGEN_<MOD>_WORKSPACE_SIZE`, or a USMP
    pool's `TVMGEN_<MOD>_<POOL>_WORKSPACE_POOL_SIZE`) across the project's headers: the
    generated header's and the copies applications keep, each a number or a C constant
    expression."""

    macro: str
    truth: int | None  # as the generated header states it: the truth for the model
    defines: tuple[tuple[str, SizeDefine], ...]  # (header, definition)
    said: str | None  # every copy and its value, when they disagree

    def edits(self, value: int, why: str = "") -> list[Edit]:
        """Every copy takes `value`: one mechanism for the arena rewrite and USMP pools."""
        return [e for rel, d in self.defines for e in define_edits(rel, [d], value, why)]

    def note(self, value: int | None) -> list[str]:
        """One line naming each copy and its value when they disagreed."""
        if self.said is None:
            return []
        counted = "the generated header counts" if self.truth is not None else "none could be read"
        now = f", and every copy now says {value}" if value is not None else "; left unchanged"
        return [f"{self.macro} copies disagreed: {self.said}; {counted}{now}"]


def _header_copies(project: Project, module: str, pool: str | None = None) -> HeaderCopies:
    """A module's workspace define (or, with `pool`, that pool's size define) in every
    header; two generated headers of one module that disagree are refused."""
    macro = f"TVMGEN_{module.upper()}_" + (
        f"{pool.upper()}_WORKSPACE_POOL_SIZE" if pool is not None else "WORKSPACE_SIZE"
    )
    found = [
        (rel, define)
        for rel in project.headers
        for define in size_defines(project.texts[rel], pool)
        if define.module.lower() == module.lower()
    ]
    generated = [(rel, d) for rel, d in found if project.is_generated_header(rel)]
    values = {d.value for _, d in generated}
    if len(values) > 1:
        first, a = generated[0]
        rel, b = next(g for g in generated if g[1].value != a.value)
        raise CrewriteError(
            f"{macro} is {b.expr} here but {a.expr} in "
            f"{project.display(first)}: two generated headers of one module disagree",
            rel,
            project.texts[rel].count("\n", 0, b.start) + 1,
        )
    truth = next(iter(values)) if values else None
    said = None
    if len({d.value for _, d in found}) > 1 or (truth is None and generated):
        said = ", ".join(
            f"{project.display(rel)}{' (generated)' if project.is_generated_header(rel) else ''}"
            f" {d.expr}{_evaluated(d)}"
            for rel, d in found
        )
    return HeaderCopies(macro, truth, tuple(found), said)


def _evaluated(define: SizeDefine) -> str:
    """What a define's expression comes to, when that is not plain to see in it."""
    if define.value is None:
        return " (not a number crewrite can read)"
    return f" = {define.value}" if str(define.value) != define.expr.strip() else ""


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


def _static_note(project: Project, missing: str) -> str:
    return (
        f"{project.given}: {missing} in {len(project.sources)} source files: the project is "
        "already static; nothing to rewrite"
    )


def _plan_module(
    program: Program,
    module: str,
    options: Options,
    alignment: int,
    extents: Mapping[str, FunctionExtents],
) -> tuple[Liveness, packing.Plan]:
    progress.stage("liveness", f"module {module}")
    with stage("liveness"):
        live = analyse(program, module, options.liveness, alignment, extents)
    progress.stage("planning", f"module {module}")
    problem = packing.Problem(
        buffers=tuple(packing.Buffer(b.id, b.size, b.windows) for b in live.buffers),
        alignment=live.alignment,
        name=module,
    )
    with stage("pack"):
        plan = packing.plan(problem, planner=options.planner, time_limit=options.time_limit)
    return live, plan


def rewrite_project(project: Project, options: Options = Options()) -> Result:
    """Plan and compute every edit; raise CrewriteError before anything would be written."""
    with paused_gc():  # what a run builds lives until its end (see frontend.paused_gc)
        return _rewrite_project(project, options)


def _rewrite_project(project: Project, options: Options) -> Result:
    started = time.perf_counter()
    try:
        calls = _scan(project)
    except AlreadyRewritten as exc:
        note = f"{project.display(exc.file) if exc.file else project.given}: {exc.reason}"
        return Result(
            project, "already-rewritten", notes=(note,), seconds=time.perf_counter() - started
        )
    if not any(calls.values()) and not any(
        pools_named(project.texts[rel]) for rel in project.sources
    ):
        note = _static_note(project, f"no {ALLOC} call and no USMP pool")
        return Result(project, "static", notes=(note,), seconds=time.perf_counter() - started)
    reading = read_program(project, options.defines, calls)
    unreadable = {  # pools a source that does not parse may use: they stay as they are
        pool: PoolProblem(error.reason, rel, error.line or 1)
        for rel, error in reading.left_out.items()
        for pool in pools_named(project.texts[rel])
    }
    result = _rewrite_program(
        project, reading.translation_units, reading.program, options, unreadable=unreadable
    )
    return replace(
        result, notes=(*reading.notes, *result.notes), seconds=time.perf_counter() - started
    )


def _rewrite_program(
    project: Project,
    translation_units: Mapping[str, TranslationUnit],
    program: Program,
    options: Options,
    look_again: bool = True,
    unreadable: Mapping[str, PoolProblem] | None = None,
) -> Result:
    extents, notes = _extents(translation_units)
    if not program.allocs:
        result = _rewrite_pools(project, program, options, unreadable or {}, extents)
        result = replace(result, notes=(*notes, *result.notes))
        if look_again and result.new_texts:
            with stage("check"):
                _second_look(project, options, result, translation_units, program, extents)
        return result

    edits: dict[str, list[Edit]] = {}
    modules: list[ModuleResult] = []
    moved: dict[str, MovedWorkspace] = {}
    header_values: dict[str, str] = {}
    for module in program.modules:
        allocs = program.allocs_of(module)
        if not allocs:
            continue
        live, plan = _plan_module(program, module, options, project.alloc_alignment, extents)
        members = sorted(program.functions_of(module))
        beyond = tuple(out_of_bounds(program, extents, members))
        if beyond and options.strict:
            first = beyond[0]
            raise CrewriteError(
                f"{first.message()} ({len(beyond)} such access(es) in module '{module}'; "
                "--strict makes them errors)",
                first.file,
                first.line,
            )
        copies = _header_copies(project, module)
        notes += copies.note(0)
        original = copies.truth if copies.truth is not None else live.as_written_peak
        # Code that reaches past its buffers needs those bytes too (reach_peak).
        if plan.arena_bytes > max(original, live.as_written_peak, live.reach_peak):
            held = [  # the heaviest first: most bytes for most of the timeline
                b.site
                for b in sorted(
                    live.buffers,
                    key=lambda b: -b.size * sum(e - s + 1 for s, e in b.windows),
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
        offsets = dict(plan.offsets)  # LiveBuffer.id -> planned offset
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
        with stage("emit"):
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
        moved_to = f"; buffers moved to {arena_name(module)} ({plan.arena_bytes} bytes)"
        for edit in copies.edits(0, moved_to):
            edits.setdefault(edit.file, []).append(edit)
        header_values[copies.macro] = "0"
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
                    copies.macro
                    if copies.truth is not None
                    else "peak as written (no module header)"
                ),
                files=tuple(sorted(counts)),
                out_of_bounds=beyond,
                unproven=tuple(unproven(program, extents, members)),
            )
        )

    # Every site is rewritten: the whole original workspace moved out of the runtime
    # allocator (metadata_edits keeps what a graph executor still needs for its tensors).
    notes += _pools_left(program)
    with stage("emit"):
        notes += _project_edits(project, moved, header_values, edits)
        new_texts = {
            rel: apply_edits(project.texts[rel], file_edits)
            for rel, file_edits in sorted(edits.items())
        }
    result = Result(
        project,
        "rewritten",
        tuple(modules),
        new_texts,
        tuple(notes),
        edits={rel: tuple(file_edits) for rel, file_edits in edits.items()},
    )
    if look_again:
        with stage("check"):
            _second_look(project, options, result, translation_units, program, extents)
    return result


def _project_edits(
    project: Project,
    moved: Mapping[str, MovedWorkspace],
    header_values: Mapping[str, str],
    edits: dict[str, list[Edit]],
) -> list[str]:
    """What the rest of the project says about the modules' memory, lowered alike for an
    arena rewrite and a USMP re-plan: the MLF metadata, the allocator size the build sets
    (by the bytes saved), and arrays sized from the header macros (`header_values`: their
    new values) kept valid C. Adds to `edits`; returns the notes."""
    notes = []
    for rel in project.metadata:
        meta, meta_notes = metadata_edits(rel, project.texts[rel], moved)
        notes += meta_notes
        if meta:
            edits.setdefault(rel, []).extend(meta)
    saved = sum(m.moved_bytes for m in moved.values())
    macros = {  # the values after the rewrite
        **object_macros([project.texts[rel] for rel in project.build_files + project.headers]),
        **header_values,
    }
    for rel in project.build_files:
        build, build_notes = build_edits(rel, project.texts[rel], saved)
        arrays, array_notes = array_length_edits(rel, project.texts[rel], macros)
        notes += build_notes + array_notes
        if build or arrays:
            edits.setdefault(rel, []).extend(build + arrays)
    return notes


def _pools_left(program: Program) -> list[str]:
    """USMP workspace pools in a project that also calls the workspace API: left as they are
    (crewrite re-plans pools only where no workspace call is left)."""
    pools = {pool_of_param(p) for fn in program.functions.values() for p in fn.params}
    left = sorted(p for p in pools if p is not None and not is_constant_pool(p))
    if not left:
        return []
    return [
        f"USMP pool(s) {', '.join(left)} left as planned: crewrite re-plans pools only in a "
        f"project without {ALLOC} calls"
    ]


def _rewrite_pools(
    project: Project,
    program: Program,
    options: Options,
    unreadable: Mapping[str, PoolProblem],
    extents: Mapping[str, FunctionExtents],
) -> Result:
    """No workspace call: the project is static; USMP pools are re-planned (crewrite.usmp),
    each pool with its slices, or left with the reason; then every copy of the module
    header's defines, the metadata and the build, as for an arena."""
    with stage("usmp"):
        plans = replan(
            project,
            program,
            planner=options.planner,
            time_limit=options.time_limit,
            liveness=options.liveness,
            unreadable=unreadable,
            extents=extents,
        )
    if not plans.results:
        note = _static_note(project, f"no {ALLOC} call")
        return Result(project, "static", notes=(note, *plans.notes))
    edits: dict[str, list[Edit]] = {}
    notes = list(plans.notes)
    for result in plans.results:
        code, more = pool_edits(result, project.texts)
        if options.poison_shift is not None:
            if sum(r.pool.module == result.pool.module for r in plans.results) > 1:
                raise CrewriteError(
                    f"poison build: module '{result.pool.module}' has several pools to re-plan; "
                    "the diagnostic build takes one"
                )
            code = combine_inserts(
                code + poison_pool_edits(result, plans.program, project.texts, options.poison_shift)
            )
        notes += more
        for edit in code:
            edits.setdefault(edit.file, []).append(edit)
    # several pools of one module: their markers go to the same places in the files they share
    edits = {rel: combine_inserts(found) for rel, found in edits.items()}
    moved: dict[str, MovedWorkspace] = {}
    header_values: dict[str, str] = {}
    for module in dict.fromkeys(r.pool.module for r in plans.results):
        mine = [r for r in plans.results if r.pool.module == module]
        saved = sum(r.saved_bytes for r in mine)
        for r in mine:
            copies = _header_copies(project, module, r.pool.name)
            notes += copies.note(r.arena_bytes)
            header_values[copies.macro] = str(r.arena_bytes)
            for edit in copies.edits(r.arena_bytes):
                edits.setdefault(edit.file, []).append(edit)
        notes += _lowered_workspace(project, module, saved, header_values, edits)
        moved[module] = MovedWorkspace(
            saved, True, frozenset(), {r.pool.name: (r.original_bytes, r.arena_bytes) for r in mine}
        )
    notes += _project_edits(project, moved, header_values, edits)
    new_texts = {
        rel: apply_edits(project.texts[rel], file_edits)
        for rel, file_edits in sorted(edits.items())
        if file_edits
    }
    return Result(
        project,
        "rewritten",
        (),
        new_texts,
        tuple(notes),
        pools=plans.results,
        edits={rel: tuple(file_edits) for rel, file_edits in edits.items() if file_edits},
    )


def _lowered_workspace(
    project: Project,
    module: str,
    saved: int,
    header_values: dict[str, str],
    edits: dict[str, list[Edit]],
) -> list[str]:
    """USMP: `TVMGEN_<MOD>_WORKSPACE_SIZE` is the module's pools' total; every copy drops to
    the generated header's value less what re-planning saved."""
    copies = _header_copies(project, module)
    if not copies.defines:
        return []
    if copies.truth is None or copies.truth < saved:
        why = "cannot be read" if copies.truth is None else f"is below the {saved} bytes saved"
        return [
            *copies.note(None),
            f"{copies.macro}: the generated header's value {why}; left unchanged",
        ]
    value = copies.truth - saved
    header_values[copies.macro] = str(value)
    for edit in copies.edits(value):
        edits.setdefault(edit.file, []).append(edit)
    return copies.note(value)


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


def _extents(
    translation_units: Mapping[str, TranslationUnit],
) -> tuple[Mapping[str, FunctionExtents], list[str]]:
    """The extent analysis of every function, and a note if it failed: then no buffer is
    split and every live range gets its whole allocation (and no USMP slice can be sized, so
    every pool stays as planned), which is always safe."""
    try:
        with stage("extents"):
            found = extent_analysis.analyse(translation_units, slices=is_workspace_pool_param)
        return found, []
    except Exception as exc:  # a bug of the analysis must not stop a rewrite it only refines
        return {}, [
            f"the byte-extent analysis failed ({type(exc).__name__}: {exc}): no buffer is "
            "split into live ranges and every one is planned with its whole allocation"
        ]


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
    extents: Mapping[str, FunctionExtents],
) -> None:
    """Read what was produced as a user's next run would: re-parse it (no workspace call may
    remain, and every name crewrite inserted (arenas, the poison build's clock) must be
    declared before each use, as a compiler would check), re-extract it with the same
    extraction, prove its layout against the original's live ranges, and run the rewrite
    over it once more, which must find nothing to do."""
    progress.stage("checking", "the rewritten C")
    modules = [m.module for m in result.modules] + [p.pool.module for p in result.pools]
    names = {n for module in modules for n in inserted_names(module)}
    reread = dict(translation_units)
    for rel in project.sources:
        if rel not in result.new_texts:
            continue
        if rel in translation_units:  # parsed again only where it changed
            tu = reread_source(
                translation_units[rel],
                result.new_texts[rel],
                result.edits.get(rel, ()),
                project.include_dirs,
                list(options.defines),
            )
        else:
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
        with stage("extract"):
            rewritten = extract(reread, project.module_names())
    except CrewriteError as exc:
        raise InternalError(
            f"the rewritten C cannot be read back: {exc.reason}", exc.file, exc.line
        ) from None
    headers = {rel: result.new_texts.get(rel, project.texts[rel]) for rel in project.headers}
    proof = prove_layout(program, rewritten, project.alloc_alignment, headers, extents)
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
