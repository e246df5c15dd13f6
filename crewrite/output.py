"""Writing results: in place all-or-nothing, or a complete copy elsewhere. The thin shell
around the pure core; every input stays untouched unless the whole run succeeded.

In place, the commit sequence is: stage every new file beside its target, copy every
original into `.crewrite-backup/`, write the backup's manifest (the point after which targets
may change), replace the targets one by one, remove the manifest (the commit), remove the
backup. A run killed anywhere leaves a state the next run repairs before anything else
(`recover_interrupted_write`): with a manifest the originals are put back; without one no
target was touched, or all of them were, and only leftovers are removed. Either way the
project is wholly original or wholly rewritten.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import stat
import tarfile
import tempfile
from collections.abc import Mapping
from pathlib import Path

from crewrite.errors import CrewriteError
from crewrite.project import BACKUP_DIR, Project, compression, encode_text

MANIFEST = "MANIFEST.json"
STAGED_SUFFIX = ".crewrite-tmp"
# Tests only: "kill@N" (SIGKILL) or "enospc@N" (a full disk) at the N-th step of a write.
FAULT_ENV = "CREWRITE_FAULT"
_steps_taken = 0


def _step(path: Path) -> None:
    """A point of the commit sequence (writing `path`) where a test may inject a fault."""
    global _steps_taken
    plan = os.environ.get(FAULT_ENV)
    if not plan:
        return
    _steps_taken += 1
    kind, _, at = plan.partition("@")
    if at.isdigit() and int(at) == _steps_taken:
        if kind == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        elif kind == "enospc":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


def _staged(target: Path) -> Path:
    return target.with_name(f".{target.name}{STAGED_SUFFIX}")


def _write_durably(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def recover_interrupted_write(root: Path, files: list[Path] | None = None) -> str | None:
    """Finish what an interrupted in-place rewrite left (see the module docstring) in a
    project folder, or around the given files; returns a note for the user, or None when there
    was nothing to repair."""
    backup = root / BACKUP_DIR
    if files is None:
        leftovers = [p for p in root.rglob(f"*{STAGED_SUFFIX}") if BACKUP_DIR not in p.parts]
    else:
        leftovers = [_staged(f) for f in files if _staged(f).exists()]
    if not backup.exists() and not leftovers:
        return None
    manifest = backup / MANIFEST
    try:
        if manifest.is_file():
            files = json.loads(manifest.read_text())["files"]
            for rel in files:
                target = root / rel
                staged = _staged(target)
                _write_durably(staged, (backup / rel).read_bytes())
                shutil.copymode(backup / rel, staged)
                os.replace(staged, target)
            note = (
                f"an earlier in-place rewrite was interrupted: the {len(files)} original "
                f"file(s) it was replacing are back ({BACKUP_DIR} held them)"
            )
        else:
            note = "an earlier in-place rewrite was interrupted before changing any file"
            if backup.exists() and not leftovers:
                note = "an earlier in-place rewrite was interrupted while cleaning up"
        for path in leftovers:
            path.unlink(missing_ok=True)
        shutil.rmtree(backup, ignore_errors=True)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CrewriteError(
            f"an earlier in-place rewrite was interrupted and cannot be undone automatically "
            f"({exc}); the original files are in {backup}/: copy them back "
            f"(cp -r '{backup}/.' '{root}/'), remove {BACKUP_DIR}, and run again",
            backup,
        ) from None
    return note + "; the project is as it was before that run"


def _read_only(path: Path) -> bool:
    """No write permission for anyone (checked from the mode, so that a run as root, which
    may write anywhere, still respects a file or folder the user made read-only)."""
    mode = path.stat().st_mode
    return not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(path, os.W_OK)


def check_writable(project: Project, rels: list[str]) -> None:
    """Refuse before writing anything when a file to replace, or its folder, is read-only."""
    folders = {project.root} | {(project.root / rel).parent for rel in rels}
    for rel in rels:
        if _read_only(project.root / rel):
            raise CrewriteError(
                "read-only file: crewrite will not replace it (make it writable, or write a "
                "rewritten copy with --out DIR); nothing was changed",
                project.root / rel,
            )
    for folder in sorted(folders):
        if _read_only(folder):
            raise CrewriteError(
                "read-only folder: crewrite cannot replace files in it (make it writable, or "
                "use --out DIR); nothing was changed",
                folder,
            )


def check_unchanged(project: Project) -> None:
    """Every input still holds the bytes crewrite read: a file edited while crewrite ran
    (a build, an editor, a second crewrite) would otherwise be overwritten or mixed in."""
    if project.tar_path is not None:
        if project.tar_stamp != _stamp(project.tar_path):
            raise CrewriteError(
                "changed while crewrite was running; nothing was written, run again",
                project.tar_path,
            )
        return
    for rel, text in project.texts.items():
        try:
            same = (project.root / rel).read_bytes() == encode_text(text)
        except OSError:
            same = False
        if not same:
            raise CrewriteError(
                "changed while crewrite was running; nothing was written, run again",
                project.root / rel,
            )


def _stamp(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_mtime_ns, info.st_size


def write_in_place(project: Project, new_texts: Mapping[str, str]) -> None:
    """Replace the changed files all or nothing, by the commit sequence of the module
    docstring."""
    if project.tar_path is not None:
        check_unchanged(project)
        _write_tar(project, new_texts, project.tar_path)
        return
    root = project.root
    rels = sorted(new_texts)
    check_writable(project, rels)
    check_unchanged(project)
    backup = root / BACKUP_DIR
    staged: list[tuple[Path, Path]] = []
    try:
        for rel in rels:
            target = root / rel
            tmp = _staged(target)
            staged.append((tmp, target))
            _write_durably(tmp, encode_text(new_texts[rel]))
            shutil.copymode(target, tmp)
            _step(tmp)
        for rel in rels:
            saved = backup / rel
            saved.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / rel, saved)
            _step(saved)
        manifest = backup / MANIFEST
        _write_durably(manifest.with_suffix(".tmp"), json.dumps({"files": rels}).encode())
        os.replace(manifest.with_suffix(".tmp"), manifest)
        _step(manifest)
    except OSError as exc:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        shutil.rmtree(backup, ignore_errors=True)
        raise CrewriteError(
            f"cannot write: {exc.strerror}; nothing was changed", _shown(exc, staged, root)
        ) from None
    try:
        for tmp, target in staged:
            os.replace(tmp, target)
            _step(target)
    except OSError as exc:
        for rel in rels:  # put every original back
            shutil.copy2(backup / rel, root / rel)
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        shutil.rmtree(backup, ignore_errors=True)
        raise CrewriteError(
            f"cannot replace: {exc.strerror}; the originals were put back, nothing was changed",
            _shown(exc, staged, root),
        ) from None
    (backup / MANIFEST).unlink()  # the commit: every target holds its new text
    try:
        _step(backup)
        shutil.rmtree(backup)
    except OSError:
        pass  # only leftovers now; the next run removes them


def _shown(exc: OSError, staged: list[tuple[Path, Path]], root: Path) -> str | None:
    """The file to name in a write error: the project's file, not our temporary name for it
    or its copy in the backup (the manifest names the project)."""
    name = str(exc.filename) if exc.filename else None
    for tmp, target in staged:
        if name == str(tmp):
            return str(target)
    backup = root / BACKUP_DIR
    if name is not None and Path(name).is_relative_to(backup):
        rel = Path(name).relative_to(backup)
        return str(root) if rel == Path(MANIFEST) else str(root / rel)
    return name


def write_copy(project: Project, new_texts: Mapping[str, str], out_dir: Path) -> None:
    """A complete copy of the project with the rewritten files, made beside `out_dir` and
    renamed into place so that a failure leaves no half-written folder."""
    out_dir = out_dir.resolve()
    if out_dir.exists() and not out_dir.is_dir():
        raise CrewriteError("output path exists and is not a folder", out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise CrewriteError("output folder exists and is not empty", out_dir)
    files_only = project.kind == "files"  # loose .c files: copy those, not their folder
    if not files_only and (out_dir == project.root or project.root in out_dir.parents):
        raise CrewriteError("output folder lies inside the input project", out_dir)
    check_unchanged(project)
    staging = None
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
        tree = staging / "tree"
        if files_only:
            for rel in project.sources + project.headers:
                (tree / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(project.root / rel, tree / rel)
        else:
            shutil.copytree(
                project.root, tree, symlinks=True, ignore=shutil.ignore_patterns(BACKUP_DIR)
            )
        for rel, text in new_texts.items():
            (tree / rel).write_bytes(encode_text(text))
        _step(tree)
        if out_dir.exists():
            out_dir.rmdir()
        os.replace(tree, out_dir)
    except OSError as exc:
        raise CrewriteError(f"cannot write: {exc.strerror}", exc.filename or out_dir) from None
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


def _open_like(path: Path, compressed: str) -> tarfile.TarFile:
    """A new archive compressed as the one it replaces (a .tar.gz stays gzip)."""
    if compressed == "gz":
        return tarfile.open(path, "w:gz")
    if compressed == "bz2":
        return tarfile.open(path, "w:bz2")
    if compressed == "xz":
        return tarfile.open(path, "w:xz")
    return tarfile.open(path, "w")


def _write_tar(project: Project, new_texts: Mapping[str, str], tar_path: Path) -> None:
    """Rebuild the archive from the extracted tree and swap it in atomically."""
    for rel, text in new_texts.items():
        project.path(rel).write_bytes(encode_text(text))
    tmp = tar_path.with_name(f".{tar_path.name}{STAGED_SUFFIX}")
    try:
        with tarfile.open(tar_path) as old, _open_like(tmp, compression(tar_path)) as new:
            for member in old.getmembers():
                path = project.root / member.name
                if member.isfile():
                    data = path.read_bytes()
                    member.size = len(data)
                    with open(path, "rb") as handle:
                        new.addfile(member, handle)
                else:
                    new.addfile(member)
        _step(tmp)
        os.replace(tmp, tar_path)
    except (OSError, tarfile.TarError) as exc:
        tmp.unlink(missing_ok=True)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise CrewriteError(
            f"cannot write the archive: {reason}; nothing was changed", tar_path
        ) from None
