"""The C core of the exact searches (fitcore.c), compiled on first use and loaded with ctypes.

Why not a Python extension: fitcore.c uses the plain C ABI, so it needs a C compiler but no
Python headers, and no build step at install time. The shared library is cached per source
hash under $CREWRITE_CACHE_DIR (default: $XDG_CACHE_HOME/crewrite or ~/.cache/crewrite); a
failed build, a missing compiler or CREWRITE_PURE_PYTHON=1 makes `library()` return None and
the planner runs the same searches in pure Python (bnb.py), only slower.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from crewrite.cache import cache_dir

SOURCE = Path(__file__).with_name("fitcore.c")
COMPILE_SECONDS = 120


class ProblemStruct(ctypes.Structure):
    """Mirror of `Problem` in fitcore.c (field order and types must match)."""

    _fields_ = [
        ("n", ctypes.c_int32),
        ("size", ctypes.POINTER(ctypes.c_int64)),
        ("align", ctypes.POINTER(ctypes.c_int64)),
        ("adj_start", ctypes.POINTER(ctypes.c_int32)),
        ("adj", ctypes.POINTER(ctypes.c_int32)),
        ("nsec", ctypes.c_int32),
        ("sec_start", ctypes.POINTER(ctypes.c_int32)),
        ("sec_buf", ctypes.POINTER(ctypes.c_int32)),
        ("bsec_start", ctypes.POINTER(ctypes.c_int32)),
        ("bsec", ctypes.POINTER(ctypes.c_int32)),
        ("split", ctypes.c_int32),
        ("ncol", ctypes.c_int32),
        ("col_a", ctypes.POINTER(ctypes.c_int32)),
        ("col_b", ctypes.POINTER(ctypes.c_int32)),
        ("width", ctypes.POINTER(ctypes.c_int64)),
    ]


def _compiler() -> str | None:
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return name
    return None


def build(target_dir: Path) -> Path | None:
    """Compile fitcore.c into `target_dir` (reusing an earlier build); None if impossible."""
    source = SOURCE.read_bytes()
    tag = hashlib.sha256(source + platform.machine().encode() + sys.platform.encode())
    target = target_dir / f"fitcore-{tag.hexdigest()[:16]}.so"
    if target.exists():
        return target
    compiler = _compiler()
    if compiler is None:
        return None
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        # Build beside the target, then rename: concurrent first uses never load half a file.
        with tempfile.TemporaryDirectory(dir=target_dir) as scratch:
            built = Path(scratch) / target.name
            argv = [compiler, "-O2", "-shared", "-fPIC", "-o", str(built), str(SOURCE)]
            done = subprocess.run(
                argv, capture_output=True, timeout=COMPILE_SECONDS, check=False, text=True
            )
            if done.returncode != 0 or not built.exists():
                return None
            os.replace(built, target)
    except (OSError, subprocess.SubprocessError):
        return None
    return target


def _bind(path: Path) -> ctypes.CDLL | None:
    try:
        lib = ctypes.CDLL(str(path))
    except OSError:
        return None
    tail: list[Any] = [
        ctypes.c_int64,  # node limit
        ctypes.POINTER(ctypes.c_int32),  # stop flag
        ctypes.POINTER(ctypes.c_int64),  # offsets out
        ctypes.POINTER(ctypes.c_int64),  # nodes used out
    ]
    head: list[Any] = [
        ctypes.POINTER(ProblemStruct),
        ctypes.c_int64,  # capacity
        ctypes.POINTER(ctypes.c_int32),  # rank
    ]
    lib.crw_canonical.argtypes = [*head, ctypes.c_int32, *tail]  # + preorder heuristic
    for name in ("crw_canonical", "crw_skyline", "crw_sweep"):
        fn = getattr(lib, name)
        fn.restype = ctypes.c_int
        if name != "crw_canonical":
            fn.argtypes = [*head, *tail]
    return lib


@cache
def library() -> ctypes.CDLL | None:
    """The loaded C core, or None when the pure-Python searches must be used."""
    if os.environ.get("CREWRITE_PURE_PYTHON"):
        return None
    path = build(cache_dir())
    return _bind(path) if path is not None else None
