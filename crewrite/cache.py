"""Results of the pure core kept by content hash, so that a run over a project it has already
seen (a second `--check`, a pre-commit hook on a commit that did not touch the model) is
answered without preprocessing or parsing anything.

An entry is keyed by everything the result depends on: crewrite's own code and headers (not
only its version: a source checkout changes without one), the options, the `CREWRITE_*`
environment, the alignment crt_config.h promises, every project file's text and every file
below the include folders and the sources' own folders; an entry also holds the content
hash of every header its run read, wherever it was (`#include "../common/x.h"`), and is no
answer once one of them changed. It lives under $CREWRITE_CACHE_DIR
(default: $XDG_CACHE_HOME/crewrite or ~/.cache/crewrite), in `results/`, which is safe to
delete at any time; an entry that cannot be read is ignored (and replaced by the next run).
CREWRITE_NO_CACHE=1 turns it off (the test suite does).
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import tempfile
from collections.abc import Iterable
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crewrite import __version__

if TYPE_CHECKING:
    from crewrite.pipeline import Options, Result
    from crewrite.project import Project

CACHE_DIR_ENV = "CREWRITE_CACHE_DIR"
NO_CACHE_ENV = "CREWRITE_NO_CACHE"
_PACKAGE = Path(__file__).resolve().parent
_FORMAT = 2  # of an entry: bumped when what is stored changes shape


def cache_dir() -> Path:
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "crewrite"


def enabled() -> bool:
    return not os.environ.get(NO_CACHE_ENV)


@functools.cache
def _code_digest() -> str:
    """crewrite's own sources and headers, as installed or checked out."""
    from crewrite.frontend import FAKE_LIBC

    digest = hashlib.sha256(__version__.encode())
    for root in (_PACKAGE, FAKE_LIBC):
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix in (".py", ".h", ".c"):
                digest.update(str(path.relative_to(root)).encode() + b"\0")
                digest.update(path.read_bytes())
    return digest.hexdigest()


def key(project: Project, options: Options) -> str:
    """What the result of `rewrite_project(project, options)` depends on, hashed."""
    digest = hashlib.sha256(_code_digest().encode())
    environment = sorted(
        (name, value)
        for name, value in os.environ.items()
        if name.startswith("CREWRITE_") and name not in (CACHE_DIR_ENV, NO_CACHE_ENV)
    )
    digest.update(
        repr((_FORMAT, options, environment, str(project.root), project.alloc_alignment)).encode()
    )
    for rel in sorted(project.texts):
        digest.update(f"\0{rel}\0".encode())
        digest.update(project.texts[rel].encode("utf-8", "surrogateescape"))
    # pcpp looks for `#include "x.h"` in the including source's own folder first; the
    # project's own files are in the digest already, from their texts (not read again)
    folders = set(project.include_dirs) | {project.path(rel).parent for rel in project.sources}
    hashed = {project.path(rel) for rel in project.texts}
    for folder in sorted(folders):
        for path in sorted(Path(folder).rglob("*")) if Path(folder).is_dir() else []:
            if path.is_file() and path not in hashed:
                digest.update(f"\0{path}\0".encode("utf-8", "surrogateescape"))
                digest.update(path.read_bytes())
    return digest.hexdigest()


def _entry(digest: str) -> Path:
    return cache_dir() / "results" / digest[:2] / f"{digest}.pickle"


def headers_digest(paths: Iterable[str]) -> dict[str, str]:
    """Each header's content hash, but crewrite's own (in the code digest already); a header
    that cannot be read hashes as missing, which no later read matches."""
    from crewrite.frontend import FAKE_LIBC

    own = str(FAKE_LIBC.resolve())
    found = {}
    for path in sorted(paths):
        if path.startswith(own):
            continue
        try:
            found[path] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        except OSError:
            found[path] = "missing"
    return found


def load(digest: str, project: Project) -> Result | None:
    """The result stored under `digest`, for this project; None when there is none, it
    cannot be read, or a header its run read has changed since."""
    from crewrite.pipeline import Result

    try:
        with open(_entry(digest), "rb") as f:
            stored = pickle.load(f)
        if not isinstance(stored, dict) or stored.get("_format") != _FORMAT:
            return None
        headers = stored.pop("_headers")
        if headers_digest(headers) != headers:
            return None
        del stored["_format"]
        return Result(project=project, **stored)
    except Exception:  # missing, truncated, from another version of a class: not an answer
        return None


def store(digest: str, result: Result, headers: Iterable[str]) -> None:
    """Keep `result` under `digest` with the content of every header its run read (`headers`,
    absolute paths), written whole, then renamed: a reader never sees half an entry; a cache
    that cannot be written is no error."""
    stored: dict[str, Any] = {
        f.name: getattr(result, f.name) for f in fields(result) if f.name != "project"
    }
    stored["_format"] = _FORMAT
    stored["_headers"] = headers_digest(headers)
    target = _entry(digest)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(stored, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, target)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
    except Exception:  # a full disk, a result that does not pickle (too deep): no entry
        return
