"""The Python entry point, for use right after `generated_project.build()` or
`export_model_library_format(...)`: the same work as `crewrite rewrite`, returning the result."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from crewrite.errors import CrewriteError
from crewrite.output import check_no_interrupted_write, write_copy, write_in_place
from crewrite.packing import PlanError
from crewrite.pipeline import Options, Result, rewrite_project
from crewrite.project import load_project
from crewrite.verify import VerifyOptions, verify_rewrite


def rewrite(
    path: str | Path | Sequence[str | Path],
    out: str | Path | None = None,
    *,
    header: str | Path | None = None,
    options: Options | None = None,
    dry_run: bool = False,
    verify: VerifyOptions | None = None,
) -> Result:
    """Rewrite a project folder, MLF `.tar` or list of `.c` files; in place unless `out`.

    Raises `CrewriteError` (with file, line and reason) and writes nothing on bad input, and
    `AlreadyRewritten` when there is nothing left to do. With `verify`, the rewrite is proven
    on the host first (crewrite.verify) and nothing is written unless `result.verdict.ok`.
    """
    options = options or Options()
    paths = [Path(p) for p in ([path] if isinstance(path, (str, Path)) else path)]
    for p in paths:
        if p.is_dir():
            check_no_interrupted_write(p.resolve())
    project = load_project(
        paths, Path(header) if header else None, [Path(d) for d in options.include_dirs]
    )
    try:
        result = rewrite_project(project, options)
        if verify is not None and result.new_texts:
            result = replace(result, verdict=verify_rewrite(project, result.new_texts, verify))
            if result.verdict is not None and not result.verdict.ok:
                return result
        if not dry_run:
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
        raise CrewriteError(f"internal error, the offset plan failed its check: {exc}") from None
    finally:
        project.close()
