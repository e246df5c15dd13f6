"""A project's sources read into one `Program`, the same way for the rewrite and for
`crewrite verify`: every source parsed, and one that does not parse set aside when crewrite
needs nothing from it (real projects ship hand-extended or vendor files that our headers
cannot read: `pthread.h`, an NPU runtime). A file with a workspace call, or one that defines
or names a function crewrite follows, must parse: its parse error is the answer. A USMP pool
that a file left out uses stays as USMP planned it (`left_out` tells the pipeline which)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from crewrite import progress
from crewrite.errors import CrewriteError
from crewrite.extract import Program, extract
from crewrite.extract.pools import pools_named
from crewrite.frontend import (
    TranslationUnit,
    code_only,
    defined_functions,
    parse_source,
    paused_gc,
    workspace_call_lines,
)
from crewrite.project import Project
from crewrite.timing import stage

_CALLED = re.compile(r"\b([A-Za-z_]\w*)\s*\(")


@dataclass(frozen=True)
class Reading:
    translation_units: Mapping[str, TranslationUnit]  # the sources that parsed
    program: Program
    notes: tuple[str, ...]  # one per source left out, with its parse error
    left_out: Mapping[str, CrewriteError]  # source -> its parse error


def read_program(
    project: Project,
    defines: Sequence[str],
    calls: Mapping[str, list[int]] | None = None,
) -> Reading:
    """Parse and extract the project's sources; `calls` (lines of workspace calls per source,
    from `workspace_call_lines`) is found from the text when not given."""
    if calls is None:
        calls = {rel: workspace_call_lines(project.texts[rel]) for rel in project.sources}
    translation_units: dict[str, TranslationUnit] = {}
    failed: dict[str, CrewriteError] = {}
    for rel in project.sources:
        progress.stage("parsing", project.display(rel))
        try:
            translation_units[rel] = parse_source(
                rel, project.path(rel), project.texts[rel], project.include_dirs, list(defines)
            )
        except CrewriteError as exc:
            if calls[rel]:
                raise
            failed[rel] = exc
    progress.stage("extracting", project.given)
    with stage("extract"), paused_gc():
        program = extract(translation_units, project.module_names())
    notes = tuple(_check_set_aside(project, program, failed))
    return Reading(translation_units, program, notes, failed)


def _check_set_aside(
    project: Project, program: Program, failed: Mapping[str, CrewriteError]
) -> list[str]:
    """A source that does not parse and has no workspace call may be left out, unless it
    defines a function the parsed sources call, or names a function that crewrite follows
    (any but an entry point, which runs whole from wherever it is called). Then its parse
    error stands. With no workspace site at all, nothing is followed."""
    if not failed:
        return []
    roots = {r for module in program.modules for r in program.roots(module)}
    followed = {name.split("@")[0] for name in program.functions} - roots
    called: set[str] = set()
    for tu in program.translation_units.values():
        called |= set(_CALLED.findall(code_only(tu.text)))
    notes = []
    for rel, error in failed.items():
        code = code_only(project.texts[rel])
        needed = (defined_functions(project.texts[rel]) & called) | {
            name for name in followed if re.search(rf"\b{re.escape(name)}\b", code)
        }
        if needed and program.allocs:
            raise CrewriteError(
                f"{error.reason} (crewrite must read this file: it defines or uses "
                f"{', '.join(sorted(needed)[:3])})",
                error.file,
                error.line,
            )
        where = f"line {error.line}: " if error.line is not None else ""
        pools = sorted(pools_named(project.texts[rel]))
        notes.append(
            f"{project.display(rel)}: left out: it does not parse ({where}{error.reason}), "
            + (
                f"and it has no workspace call; the USMP pool(s) it uses ({', '.join(pools)}) "
                "stay as USMP planned them: crewrite moves a pool's slices only when it reads "
                "every source that uses the pool"
                if pools
                else "and it has no workspace call and nothing crewrite follows"
            )
        )
    return notes
