"""The Python entry point, for use right after `generated_project.build()` or
`export_model_library_format(...)`: the same work as `crewrite rewrite`, returning the result."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from crewrite import cache as results_cache
from crewrite.errors import CrewriteError, InternalError
from crewrite.output import recover_interrupted_write, write_copy, write_in_place
from crewrite.packing import PlanError
from crewrite.pipeline import AlreadyRewritten, Options, Result, rewrite_project
from crewrite.project import Project, load_project
from crewrite.timing import stage
from crewrite.verify import VerifyOptions, verify_rewrite


def rewrite(
    path: str | Path | Sequence[str | Path],
    out: str | Path | None = None,
    *,
    header: str | Path | None = None,
    options: Options | None = None,
    dry_run: bool = False,
    verify: VerifyOptions | None = None,
    cache: bool = False,
) -> Result:
    """Rewrite a project folder, MLF `.tar` or list of `.c` files; in place unless `out`.

    Raises `CrewriteError` (with file, line and reason) and writes nothing on bad input, and
    `AlreadyRewritten` when there is nothing left to do. An in-place rewrite that was killed
    earlier is repaired first (the project is then as it was before that run). With `verify`,
    the rewrite is proven on the host first (crewrite.verify) and nothing is written unless
    `result.verdict.ok`. With `cache`, a project seen before with the same options is
    answered from crewrite.cache without parsing (the CLI does so).
    """
    options = options or Options()
    paths = [Path(p) for p in ([path] if isinstance(path, (str, Path)) else path)]
    repaired = _repair(paths)
    with stage("load"):
        project = load_project(
            paths, Path(header) if header else None, [Path(d) for d in options.include_dirs]
        )
    try:
        try:
            result = _analysed(project, options, cache)
        except AlreadyRewritten as exc:
            if repaired:
                raise AlreadyRewritten(f"{exc.reason} ({repaired})", exc.file, exc.line) from None
            raise
        if repaired:
            result = replace(result, notes=(repaired, *result.notes))
        if verify is not None and result.new_texts:
            result = replace(result, verdict=verify_rewrite(project, result.new_texts, verify))
            if result.verdict is not None and not result.verdict.ok:
                return result
        if not dry_run:
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
    """`rewrite_project`, or its result kept from a run over the same inputs."""
    if not use_cache or not results_cache.enabled():
        return rewrite_project(project, options)
    started = time.perf_counter()
    digest = results_cache.key(project, options)
    found = results_cache.load(digest, project)
    if found is not None:
        return replace(found, seconds=time.perf_counter() - started)
    result = rewrite_project(project, options)
    results_cache.store(digest, result)
    return result


def _repair(paths: list[Path]) -> str | None:
    """Undo what an interrupted in-place run left behind, before reading anything."""
    if len(paths) == 1 and paths[0].is_dir():
        return recover_interrupted_write(paths[0].resolve())
    if len(paths) == 1 and paths[0].suffix == ".tar":
        stale = paths[0].with_name(f".{paths[0].name}.crewrite-tmp")
        if stale.is_file():
            stale.unlink()
        return None
    files = [p.resolve() for p in paths if p.is_file()]
    if not files:
        return None
    root = Path(os.path.commonpath([f.parent for f in files]))
    return recover_interrupted_write(root, files)
