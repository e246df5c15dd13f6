"""The Python entry points, for a build script right after the project is generated:
`crewrite.rewrite(path)` does what `crewrite rewrite` does and returns its `Report`;
`crewrite.explain(path)` says why the workspace is as large as it is. Both raise
`CrewriteError` (`.file`, `.line`, `.reason`) on bad input, having written nothing.

`run` is the shared core of those and of the command line: the planned rewrite (`Result`),
written or not.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from crewrite import cache as results_cache
from crewrite import frontend, progress
from crewrite.errors import CrewriteError, InternalError
from crewrite.explanation import Explanation, explain_result
from crewrite.output import recover_interrupted_write, write_copy, write_in_place
from crewrite.packing import PlanError
from crewrite.pipeline import Options, Result, rewrite_project
from crewrite.project import Project, is_archive, load_project
from crewrite.report import Report, make_report
from crewrite.timing import stage
from crewrite.verify import VerifyOptions, verify_rewrite

PathLike = str | os.PathLike[str]


def run(
    path: PathLike | Sequence[PathLike],
    out: PathLike | None = None,
    *,
    header: PathLike | None = None,
    options: Options | None = None,
    write: bool = True,
    verify: VerifyOptions | None = None,
    cache: bool = False,
) -> Result:
    """Plan the rewrite of a project folder, MLF archive or list of `.c` files, and write it
    (in place unless `out`) when `write`.

    Raises `CrewriteError` (with file, line and reason) and writes nothing on bad input. A
    project with nothing to do comes back with status "static" (no workspace call) or
    "already-rewritten", and a note saying so. An in-place rewrite that was killed earlier
    is repaired first (the project is then as it was before that run). With `verify`, the
    rewrite is proven on the host first (crewrite.verify) and nothing is written unless
    `result.verdict.ok`. With `cache`, a project seen before with the same options is
    answered from crewrite.cache without parsing (the CLI does so).
    """
    options = options or Options()
    paths = [Path(p) for p in ([path] if isinstance(path, (str, os.PathLike)) else path)]
    repaired = _repair(paths)
    progress.stage("reading", str(paths[0]) if paths else "")
    with stage("load"):
        project = load_project(
            paths, Path(header) if header else None, [Path(d) for d in options.include_dirs]
        )
    try:
        result = _analysed(project, options, cache)
        if repaired:
            result = replace(result, notes=(repaired, *result.notes))
        if verify is not None and result.new_texts:
            progress.stage("verifying", project.given)
            result = replace(result, verdict=verify_rewrite(project, result.new_texts, verify))
            if result.verdict is not None and not result.verdict.ok:
                return result
        if write:
            progress.stage("writing", str(out) if out is not None else project.given)
            with stage("write"):
                if out is not None:
                    write_copy(project, result.new_texts, Path(out))
                elif result.new_texts:
                    write_in_place(project, result.new_texts)
        return result
    except CrewriteError as exc:
        if exc.file is not None:
            exc = type(exc)(exc.reason, project.display(exc.file), exc.line)
        raise exc from None
    except PlanError as exc:
        raise InternalError(f"the offset plan failed its check: {exc}") from None
    finally:
        project.close()


def _analysed(project: Project, options: Options, use_cache: bool) -> Result:
    """`rewrite_project`, or its result kept from a run over the same inputs (not for an
    archive: each run reads it in a new temporary folder, which its result names)."""
    if not use_cache or not results_cache.enabled() or project.tar_path is not None:
        return rewrite_project(project, options)
    started = time.perf_counter()
    digest = results_cache.key(project, options)
    found = results_cache.load(digest, project)
    if found is not None:
        return replace(found, seconds=time.perf_counter() - started)
    with frontend.recording_headers() as headers:
        result = rewrite_project(project, options)
    results_cache.store(digest, result, headers)
    return result


def rewrite(
    path: PathLike | Sequence[PathLike],
    out: PathLike | None = None,
    *,
    check: bool = False,
    header: PathLike | None = None,
    include_dirs: Sequence[PathLike] = (),
    defines: Sequence[str] = (),
    planner: str = "auto",
    time_limit: float | None = None,
    section: str | None = None,
    liveness: str = "fine",
    verify: bool | VerifyOptions = False,
) -> Report:
    """Rewrite a generated project so that no workspace call remains (in place unless
    `out`); with `check`, write nothing and report what would change (`changed_files`).

    The same work as `crewrite rewrite`: `Report` has the fields of `--report-json`. A
    project with nothing to do is no error (status "static" or "already-rewritten").
    `verify=True` proves the rewrite on the host before anything is written and raises
    `CrewriteError` when it cannot be proven.
    """
    options = _options(include_dirs, defines, planner, time_limit, liveness, section)
    proof = VerifyOptions() if verify is True else (verify or None)
    result = run(path, out, header=header, options=options, write=not check, verify=proof)
    if result.verdict is not None and not result.verdict.ok:
        raise CrewriteError(
            "the rewrite could not be proven, nothing was written:\n" + result.verdict.text()
        )
    written = not check and (out is not None or bool(result.new_texts))
    return make_report(result, _given(path), written)


def explain(
    path: PathLike | Sequence[PathLike],
    *,
    ram: int | None = None,
    header: PathLike | None = None,
    include_dirs: Sequence[PathLike] = (),
    defines: Sequence[str] = (),
    planner: str = "auto",
    time_limit: float | None = None,
    liveness: str = "fine",
) -> Explanation:
    """Why the workspace is as large as it is, and what crewrite's arena would need; writes
    nothing. `ram`: the board's RAM in bytes, to state the saving as a share of it."""
    options = _options(include_dirs, defines, planner, time_limit, liveness)
    return explain_result(run(path, header=header, options=options, write=False), _given(path), ram)


def _options(
    include_dirs: Sequence[PathLike],
    defines: Sequence[str],
    planner: str,
    time_limit: float | None,
    liveness: str,
    section: str | None = None,
) -> Options:
    return Options(
        include_dirs=tuple(Path(d) for d in include_dirs),
        defines=tuple(defines),
        planner=planner,
        time_limit=time_limit,
        section=section,
        liveness=liveness,
    )


def _given(path: PathLike | Sequence[PathLike]) -> str:
    if isinstance(path, (str, os.PathLike)):
        return os.fspath(path)
    return " ".join(os.fspath(p) for p in path)


def _repair(paths: list[Path]) -> str | None:
    """Undo what an interrupted in-place run left behind, before reading anything."""
    if len(paths) == 1 and paths[0].is_dir():
        return recover_interrupted_write(paths[0].resolve())
    if len(paths) == 1 and is_archive(paths[0]):
        stale = paths[0].with_name(f".{paths[0].name}.crewrite-tmp")
        if stale.is_file():
            stale.unlink()
        return None
    files = [p.resolve() for p in paths if p.is_file()]
    if not files:
        return None
    root = Path(os.path.commonpath([f.parent for f in files]))
    return recover_interrupted_write(root, files)
