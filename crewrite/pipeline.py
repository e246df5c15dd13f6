"""The pure core: project texts in, new texts and a report out. Nothing is written here.

sources -> frontend -> extract -> liveness -> packing -> emit, then a second look at the
result before anything is handed back: re-parsed and re-extracted, no workspace call left,
the layout proven from the rewritten C (crewrite.verify.layout), and a second run over it
has nothing left to do. A project without workspace calls takes the same path for its USMP
pools (crewrite.usmp plans them, crewrite.emit_pool edits them).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from pycparser import c_ast

from crewrite import packing
from crewrite.emit import (
    MARKER,
    ArenaLayout,
    Edit,
    apply_edits,
    arena_name,
    build_edits,
    combine_inserts,
    declaration_edits,
    header_edits,
    metadata_edits,
    module_edits,
)
from crewrite.emit_pool import metadata_edits as pool_metadata_edits
from crewrite.emit_pool import poison_pool_edits, pool_edits
from crewrite.errors import CrewriteError
from crewrite.extract import ALLOC, FREE, Program, extract, workspace_call
from crewrite.extract.pools import is_constant_pool, pool_of_param
from crewrite.extract.textloc import line_of
from crewrite.frontend import TranslationUnit, parse_source
from crewrite.liveness import Liveness, analyse
from crewrite.poison import poison_edits
from crewrite.project import WORKSPACE_DEFINE, Project
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
    status: str  # "rewritten" or "static" (no workspace calls: nothing to do)
    modules: tuple[ModuleResult, ...] = ()
    new_texts: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    seconds: float = 0.0
    verdict: Verdict | None = None  # when the rewrite was verified on the host (--verify)
    pools: tuple[PoolResult, ...] = ()  # re-planned USMP pools (no workspace calls)


def parse_all(project: Project, options: Options) -> dict[str, TranslationUnit]:
    """Every source, preprocessed with the project's include folders (which hold `-I`)."""
    return {
        rel: parse_source(
            rel, project.path(rel), project.texts[rel], project.include_dirs, list(options.defines)
        )
        for rel in project.sources
    }


def _header_workspace(project: Project, module: str) -> tuple[int | None, list[str]]:
    value, headers = None, []
    for rel in project.headers:
        for match in WORKSPACE_DEFINE.finditer(project.texts[rel]):
            if match.group(1).lower() == module.lower():
                headers.append(rel)
                found = int(match.group(2))
                if value is not None and found != value:
                    raise CrewriteError(
                        f"TVMGEN_{module.upper()}_WORKSPACE_SIZE is {found} here but {value} in "
                        f"{headers[0]}",
                        rel,
                    )
                value = found
    return value, headers


def _check_not_rewritten(project: Project, program: Program) -> None:
    marked = [rel for rel in project.sources if MARKER in project.texts[rel]]
    if not marked:
        return
    if program.allocs:
        site = program.allocs[0]
        raise CrewriteError(
            f"partly rewritten: {marked[0]} carries crewrite's marker but {ALLOC} calls remain "
            "(an interrupted write, or files mixed from two generations?); regenerate the "
            "model",
            site.file,
            site.line,
        )
    raise AlreadyRewritten(
        "already rewritten by crewrite: no workspace call left, nothing to do", marked[0]
    )


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
    translation_units = parse_all(project, options)
    program = extract(translation_units, project.module_names())
    result = _rewrite_program(project, translation_units, program, options)
    return replace(result, seconds=time.perf_counter() - started)


def _rewrite_program(
    project: Project,
    translation_units: Mapping[str, TranslationUnit],
    program: Program,
    options: Options,
    look_again: bool = True,
) -> Result:
    _check_not_rewritten(project, program)
    if not program.allocs:
        result = _rewrite_pools(project, program, options)
        if look_again and result.new_texts:
            _second_look(project, options, result, translation_units, program)
        return result

    edits: dict[str, list[Edit]] = {}
    modules: list[ModuleResult] = []
    for module in program.modules:
        allocs = program.allocs_of(module)
        if not allocs:
            continue
        live, plan = _plan_module(program, module, options, project.alloc_alignment)
        header_value, headers = _header_workspace(project, module)
        original = header_value if header_value is not None else live.as_written_peak
        if plan.arena_bytes > max(original, live.as_written_peak):
            raise CrewriteError(
                f"module '{module}': the planned arena ({plan.arena_bytes} bytes) is larger "
                f"than the workspace as written ({original}); refusing to make it worse",
                allocs[0].file,
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

    # Every site is rewritten: the runtime allocator needs nothing more for these modules,
    # and the whole original workspace moved out of it.
    notes: list[str] = list(_pools_left(program))
    for rel in project.metadata:
        meta, meta_notes = metadata_edits(rel, project.texts[rel], {m.module: 0 for m in modules})
        notes += meta_notes
        if meta:
            edits.setdefault(rel, []).extend(meta)
    saved = sum(m.original_bytes for m in modules)
    for rel in project.build_files:
        build, build_notes = build_edits(rel, project.texts[rel], saved)
        notes += build_notes
        if build:
            edits.setdefault(rel, []).extend(build)

    new_texts = {
        rel: apply_edits(project.texts[rel], file_edits)
        for rel, file_edits in sorted(edits.items())
    }
    result = Result(project, "rewritten", tuple(modules), new_texts, tuple(notes))
    if look_again:
        _second_look(project, options, result, translation_units, program)
    return result


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


def _rewrite_pools(project: Project, program: Program, options: Options) -> Result:
    """No workspace call: the project is static; USMP pools are re-planned (crewrite.usmp),
    each pool with its slices, header defines and metadata, or left with the reason."""
    plans = replan(
        project,
        program,
        planner=options.planner,
        time_limit=options.time_limit,
        liveness=options.liveness,
    )
    if not plans.results:
        note = (
            f"no {ALLOC} call in {len(project.sources)} source files: the project is already "
            "static" + ("" if plans.notes else " (USMP?)") + "; nothing to rewrite"
        )
        return Result(project, "static", notes=(note, *plans.notes))
    edits: dict[str, list[Edit]] = {}
    notes = list(plans.notes)
    for result in plans.results:
        code, more = pool_edits(result, project.texts, project.headers)
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
    for rel in project.metadata:
        meta, meta_notes = pool_metadata_edits(plans.results, rel, project.texts[rel])
        notes += meta_notes
        edits.setdefault(rel, []).extend(meta)
    saved = sum(r.saved_bytes for r in plans.results)
    for rel in project.build_files:
        build, build_notes = build_edits(rel, project.texts[rel], saved)
        notes += build_notes
        edits.setdefault(rel, []).extend(build)
    new_texts = {
        rel: apply_edits(project.texts[rel], file_edits)
        for rel, file_edits in sorted(edits.items())
        if file_edits
    }
    return Result(project, "rewritten", (), new_texts, tuple(notes), pools=plans.results)


def _workspace_calls_and_arenas(tu: TranslationUnit) -> tuple[list[int], set[str]]:
    """Lines of workspace calls left in a parsed file, and the file-scope names it declares."""
    calls: list[int] = []

    class Calls(c_ast.NodeVisitor):
        def visit_FuncCall(self, node: c_ast.FuncCall) -> None:
            if workspace_call(node) is not None:
                calls.append(line_of(node))
            self.generic_visit(node)

    Calls().visit(tu.ast)
    declared = {ext.name for ext in tu.ast.ext if isinstance(ext, c_ast.Decl) and ext.name}
    return calls, declared


def _second_look(
    project: Project,
    options: Options,
    result: Result,
    translation_units: Mapping[str, TranslationUnit],
    program: Program,
) -> None:
    """Read what was produced as a user's next run would: re-parse it (no workspace call may
    remain, every file that uses an arena must see its declaration), re-extract it with the
    same extraction, prove its layout against the original's live ranges, and run the
    rewrite over it once more, which must find nothing to do."""
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
        calls, declared = _workspace_calls_and_arenas(tu)
        if calls:
            raise CrewriteError(
                f"internal error: a {ALLOC}/{FREE} call survived the rewrite", rel, calls[0]
            )
        for module in result.modules:
            used = arena_name(module.module) + "["
            if used in result.new_texts[rel] and arena_name(module.module) not in declared:
                raise CrewriteError(
                    f"the declaration of {arena_name(module.module)} would not be seen by the "
                    "compiler here (conditional includes?); nothing was written",
                    rel,
                )
        reread[rel] = tu
    try:
        rewritten = extract(reread, project.module_names())
    except CrewriteError as exc:
        raise CrewriteError(
            f"internal error: the rewritten C cannot be read back: {exc.reason}", exc.file, exc.line
        ) from None
    headers = {rel: result.new_texts.get(rel, project.texts[rel]) for rel in project.headers}
    proof = prove_layout(program, rewritten, project.alloc_alignment, headers)
    if not proof.ok:
        raise CrewriteError(
            "internal error: the rewritten layout fails its proof, nothing was written: "
            + "; ".join(proof.problems[:3])
        )
    again = replace(project, texts={**project.texts, **result.new_texts})
    try:
        second = _rewrite_program(again, reread, rewritten, options, look_again=False)
    except AlreadyRewritten:
        return
    except CrewriteError as exc:
        raise CrewriteError(
            f"internal error: a second run over the result would fail ({exc.reason}); "
            "nothing was written",
            exc.file,
            exc.line,
        ) from None
    if second.new_texts:
        raise CrewriteError(
            "internal error: a second run would still change "
            + ", ".join(sorted(second.new_texts))
            + "; nothing was written"
        )
