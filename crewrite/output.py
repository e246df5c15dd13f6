"""Writing results: in place all-or-nothing, or a complete copy elsewhere. The thin shell
around the pure core; every input stays untouched unless the whole run succeeded."""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
from collections.abc import Mapping
from pathlib import Path

from crewrite.errors import CrewriteError
from crewrite.project import BACKUP_DIR, Project, encode_text


def check_no_interrupted_write(root: Path) -> None:
    backup = root / BACKUP_DIR
    if backup.exists():
        raise CrewriteError(
            f"an earlier in-place rewrite was interrupted: the original files are in {backup}/. "
            f"Copy them back (cp -r '{backup}/.' '{root}/'), remove {BACKUP_DIR}, and run again",
            backup,
        )


def write_in_place(project: Project, new_texts: Mapping[str, str]) -> None:
    """Originals are copied to `.crewrite-backup/` first, then each file is replaced
    atomically; the backup goes away only once every file is in place."""
    if project.tar_path is not None:
        _write_tar(project, new_texts, project.tar_path)
        return
    root = project.root
    check_no_interrupted_write(root)
    staged: list[tuple[Path, Path]] = []
    backup = root / BACKUP_DIR
    try:
        for rel, text in sorted(new_texts.items()):
            target = root / rel
            tmp = target.with_name(f".{target.name}.crewrite-tmp")
            tmp.write_bytes(encode_text(text))
            shutil.copymode(target, tmp)
            staged.append((tmp, target))
        for rel in sorted(new_texts):
            saved = backup / rel
            saved.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / rel, saved)
    except OSError as exc:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        shutil.rmtree(backup, ignore_errors=True)
        raise CrewriteError(
            f"cannot write: {exc.strerror}; nothing was changed", exc.filename
        ) from None
    try:
        for tmp, target in staged:
            os.replace(tmp, target)
    except OSError as exc:
        for rel in sorted(new_texts):  # put every original back
            shutil.copy2(backup / rel, root / rel)
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        shutil.rmtree(backup, ignore_errors=True)
        raise CrewriteError(
            f"cannot replace: {exc.strerror}; the originals were put back", exc.filename
        ) from None
    shutil.rmtree(backup)


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
        if out_dir.exists():
            out_dir.rmdir()
        os.replace(tree, out_dir)
    except OSError as exc:
        raise CrewriteError(f"cannot write: {exc.strerror}", exc.filename or out_dir) from None
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


def _write_tar(project: Project, new_texts: Mapping[str, str], tar_path: Path) -> None:
    """Rebuild the archive from the extracted tree and swap it in atomically."""
    for rel, text in new_texts.items():
        project.path(rel).write_bytes(encode_text(text))
    tmp = tar_path.with_name(f".{tar_path.name}.crewrite-tmp")
    try:
        with tarfile.open(tar_path) as old, tarfile.open(tmp, "w") as new:
            for member in old.getmembers():
                path = project.root / member.name
                if member.isfile():
                    data = path.read_bytes()
                    member.size = len(data)
                    with open(path, "rb") as handle:
                        new.addfile(member, handle)
                else:
                    new.addfile(member)
        os.replace(tmp, tar_path)
    except (OSError, tarfile.TarError) as exc:
        tmp.unlink(missing_ok=True)
        raise CrewriteError(
            f"cannot write the archive: {exc}; nothing was changed", tar_path
        ) from None
