"""Find a project's inputs: generated C sources, module headers and build files.

Accepted shapes (as microTVM writes them): a generated board project
(`model/codegen/host/src/*.c`), a Model Library Format folder (`codegen/host/src/*.c`) or
archive (`.tar`, `.tar.gz`, `.tgz`), or `.c` files given one by one.
Everything is read here, once, as text; later stages never touch the file system for inputs
except the preprocessor resolving `#include`.
"""

from __future__ import annotations

import ast
import os
import re
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from crewrite.errors import CrewriteError

HEADER_NAME = re.compile(r"^tvmgen_(\w+)\.h$")
# `#define TVMGEN_<MOD>_WORKSPACE_SIZE <value>`: the value runs to the end of the line or to a
# comment; copies kept by applications may write an expression, `(20*1024)`.
_DEFINE_VALUE = r"((?:[^\s/]|/(?![/*])|[ \t]+(?=[^\s/]|/(?![/*])))+)"
WORKSPACE_DEFINE = re.compile(
    r"^[ \t]*#[ \t]*define[ \t]+TVMGEN_(\w+?)_WORKSPACE_SIZE[ \t]+" + _DEFINE_VALUE,
    re.MULTILINE,
)
GENERATED_INCLUDE = "codegen/host/include/"  # where TVM writes the module header
# How a generated project sizes its runtime allocator: a CMake definition (Zephyr template)
# or a plain define in the application's own sources (templates that fill it in).
BUILD_WORKSPACE = re.compile(
    r"-DWORKSPACE_SIZE=(\d+)\b"
    r"|^[ \t]*#[ \t]*define[ \t]+WORKSPACE_SIZE[ \t]+\(?(\d+)\)?[ \t]*(?://.*|/\*.*)?$",
    re.MULTILINE,
)
# The allocator size set in a form crewrite does not edit (a CMake variable or expression,
# a define computed from other names): such a file is named in a note with the bytes to take
# off, not left silently as it was.
BUILD_WORKSPACE_OTHER = re.compile(
    r"-DWORKSPACE_SIZE=(?!\d+\b)(\([^)\s]*\)|[^\s\")]+)"
    r"|\bset[ \t]*\([ \t]*WORKSPACE_SIZE[ \t]+([^)\n]+)\)"
    r"|^[ \t]*#[ \t]*define[ \t]+WORKSPACE_SIZE[ \t]+"
    r"(?!\(?\d+\)?[ \t]*(?://.*|/\*.*)?$)(?![^\n]*\bTVMGEN_\w+_WORKSPACE_SIZE\b)(\S[^\n]*)$",
    re.MULTILINE,
)
# An application sizing its allocator (or anything else) from the module header's macros:
# the workspace, or (USMP) the size of a pool it provides.
HEADER_MACRO_USE = re.compile(r"\bTVMGEN_\w+?_WORKSPACE(?:_POOL)?_SIZE\b")
APP_FOLDERS = ("src", "include")
BACKUP_DIR = ".crewrite-backup"  # originals kept while an in-place rewrite is replacing files
# The alignment the runtime's allocator gives every workspace buffer (TVM's default: 16).
ALLOC_ALIGNMENT = re.compile(r"#\s*define\s+TVM_RUNTIME_ALLOC_ALIGNMENT_BYTES\s+\(?(\d+)")


def read_text(path: Path) -> str:
    """Read a file keeping every byte: newlines untouched, undecodable bytes round-trip."""
    try:
        return path.read_bytes().decode("utf-8", errors="surrogateescape")
    except FileNotFoundError:
        raise CrewriteError("no such file", path) from None
    except IsADirectoryError:
        raise CrewriteError("is a directory, expected a file", path) from None
    except OSError as exc:
        raise CrewriteError(f"cannot read: {exc.strerror}", path) from None


def encode_text(text: str) -> bytes:
    return text.encode("utf-8", errors="surrogateescape")


@dataclass(frozen=True)
class SizeDefine:
    """One `#define TVMGEN_<MOD>_WORKSPACE_SIZE <expr>` (or a USMP pool's
    `TVMGEN_<MOD>_<POOL>_WORKSPACE_POOL_SIZE`) in a header: where its value is and what it
    evaluates to (None when it names something we cannot see)."""

    module: str  # as spelled in the macro, upper case
    start: int
    end: int
    expr: str
    value: int | None


def size_defines(text: str, pool: str | None = None) -> list[SizeDefine]:
    """The module workspace defines of a header text; with `pool`, that USMP pool's size
    defines instead."""
    pattern = WORKSPACE_DEFINE
    if pool is not None:
        pattern = re.compile(
            r"^[ \t]*#[ \t]*define[ \t]+TVMGEN_(\w+?)_"
            + re.escape(pool.upper())
            + r"_WORKSPACE_POOL_SIZE[ \t]+"
            + _DEFINE_VALUE,
            re.MULTILINE,
        )
    return [
        SizeDefine(m.group(1), *m.span(2), m.group(2), c_constant(m.group(2)))
        for m in pattern.finditer(text)
    ]


_C_CAST = re.compile(
    r"\(\s*(?:const\s+)?(?:unsigned\s+|signed\s+)?"
    r"(?:u?int(?:8|16|32|64)_t|size_t|uintptr_t|int|long(?:\s+long)?|unsigned|char|short)"
    r"\s*\)"
)
_C_NUMBER = re.compile(r"\b(0[xX][0-9a-fA-F]+|\d+)[uUlL]*\b")
_C_TOKEN = re.compile(r"\b[A-Za-z_]\w*")
_BINARY: dict[type[ast.operator], Callable[[int, int], int | None]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.FloorDiv: lambda a, b: int(a / b),  # C truncates toward zero
    ast.Mod: lambda a, b: a - b * int(a / b),
    ast.LShift: lambda a, b: a << b if 0 <= b < 64 else None,
    ast.RShift: lambda a, b: a >> b if 0 <= b < 64 else None,
    ast.BitOr: lambda a, b: a | b,
    ast.BitAnd: lambda a, b: a & b,
    ast.BitXor: lambda a, b: a ^ b,
}
_UNARY: dict[type[ast.unaryop], Callable[[int], int]] = {
    ast.USub: lambda a: -a,
    ast.UAdd: lambda a: a,
    ast.Invert: lambda a: ~a,
}


def _evaluate(node: ast.AST) -> int | None:
    """Integer arithmetic on a parsed expression; None for anything else or out of range."""
    value: int | None = None
    if isinstance(node, ast.Constant) and type(node.value) is int:
        value = node.value
    elif isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        inner = _evaluate(node.operand)
        value = None if inner is None else _UNARY[type(node.op)](inner)
    elif isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if left is None or right is None:
            return None
        if isinstance(node.op, (ast.FloorDiv, ast.Mod)) and right == 0:
            return None
        value = _BINARY[type(node.op)](left, right)
    return value if value is not None and abs(value) < 1 << 64 else None


def _c_int(digits: str) -> int:
    if digits[:2] in ("0x", "0X"):
        return int(digits, 16)
    return int(digits, 8) if digits.startswith("0") and len(digits) > 1 else int(digits)


def c_constant(expr: str, macros: dict[str, str] | None = None, depth: int = 0) -> int | None:
    """The value of a C integer constant expression as a header or an application writes it
    (`146448`, `(20*1024)`, `(uint32_t)(TVMGEN_X_WORKSPACE_SIZE + 512)`), expanding object-like
    `macros`; None when it is not one we can evaluate (never a guess)."""
    text = _C_CAST.sub(" ", expr.strip())
    if depth > 16:
        return None
    for name in sorted(set(_C_TOKEN.findall(text)) - {"sizeof"}):
        if macros is None or name not in macros:
            return None
        value = c_constant(macros[name], macros, depth + 1)
        if value is None:
            return None
        text = re.sub(rf"\b{name}\b", f"({value})", text)
    text = _C_NUMBER.sub(lambda m: str(_c_int(m.group(1))), text).replace("/", "//").strip()
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return None
    return _evaluate(tree.body)


@dataclass
class Project:
    """Everything crewrite reads, keyed by path relative to `root`.

    `sources`, `headers` and `build_files` are relative paths; `texts` holds the original
    text of each of them. `include_dirs` are absolute, for the preprocessor.
    """

    root: Path
    kind: str  # "project", "mlf", "mlf-tar" or "files"
    sources: list[str]
    headers: list[str]
    build_files: list[str]
    include_dirs: list[Path]
    metadata: list[str] = field(default_factory=list)  # Model Library Format metadata.json
    alloc_alignment: int = 16  # what the project's crt_config.h promises workspace buffers
    texts: dict[str, str] = field(default_factory=dict)
    tar_path: Path | None = None
    tar_stamp: tuple[int, int] | None = None  # (mtime, size) of the archive when read
    given: str = ""  # the input as the user named it, for messages
    _tmp: tempfile.TemporaryDirectory[str] | None = None  # keeps an extracted tar alive

    def path(self, rel: str) -> Path:
        return self.root / rel

    def display(self, file: str) -> str:
        """A name the user can open for a file crewrite mentions (`model.tar:member` for an
        archive), whether it comes root-relative, absolute or relative to the cwd."""
        path = Path(file)
        candidate = (path if path.is_absolute() else Path.cwd() / path).resolve()
        if not candidate.is_relative_to(self.root):
            candidate = (self.root / path).resolve()
        if not candidate.is_relative_to(self.root):
            return file
        rel = candidate.relative_to(self.root).as_posix()
        if self.tar_path is not None:
            return f"{self.given}:{rel}"
        if self.kind == "files":
            return os.path.relpath(candidate)
        return str(Path(self.given) / rel)

    def is_generated_header(self, rel: str) -> bool:
        """The module header TVM wrote beside the sources (or the one named by --header): the
        truth for the model. Other copies belong to the application."""
        return self.kind == "files" or f"/{GENERATED_INCLUDE}" in f"/{rel}"

    def module_names(self) -> list[str]:
        """Modules named by their headers (`tvmgen_<mod>.h`), in a stable order."""
        matches = [HEADER_NAME.match(Path(h).name) for h in self.headers]
        return sorted({m.group(1) for m in matches if m is not None})

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def _codegen_dirs(root: Path) -> list[Path]:
    """Every `codegen/host` folder below a project root (one per Model Library Format)."""
    found = []
    for src in sorted(root.rglob("codegen/host/src")):
        if src.is_dir() and BACKUP_DIR not in src.parts:
            found.append(src.parent)
    return found


def _relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _headers_below(root: Path) -> list[Path]:
    return sorted(
        p
        for p in root.rglob("tvmgen_*.h")
        if p.is_file() and HEADER_NAME.match(p.name) and BACKUP_DIR not in p.parts
    )


def _build_files(root: Path) -> dict[str, str]:
    """Files that size the runtime allocator: with a number (`-DWORKSPACE_SIZE=N` in a
    CMakeLists.txt, or `#define WORKSPACE_SIZE N` in the application's own sources), or from
    the module header's macro (`static uint8_t g_aot_memory[TVMGEN_<MOD>_WORKSPACE_SIZE];`),
    with their text: each candidate is read once, here. Module headers are not among them."""
    candidates = list(root.rglob("CMakeLists.txt"))
    for folder in APP_FOLDERS:
        for pattern in ("*.c", "*.h", "*.cc", "*.cpp", "*.ino"):
            candidates += (root / folder).rglob(pattern)
    found = {}
    for path in sorted(set(candidates)):
        if path.is_file() and BACKUP_DIR not in path.parts and not HEADER_NAME.match(path.name):
            text = read_text(path)
            if any(
                r.search(text) for r in (BUILD_WORKSPACE, BUILD_WORKSPACE_OTHER, HEADER_MACRO_USE)
            ):
                found[_relative(root, path)] = text
    return found


ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz")
_COMPRESSIONS = {b"\x1f\x8b": "gz", b"BZh": "bz2", b"\xfd7zXZ": "xz"}


def is_archive(path: Path) -> bool:
    """A Model Library Format archive, by its name: `.tar`, `.tar.gz` or `.tgz`."""
    return path.name.lower().endswith(ARCHIVE_SUFFIXES)


def compression(path: Path) -> str:
    """How an archive is compressed, from its first bytes: "" (plain tar), "gz", "bz2" or
    "xz" (tarfile's mode suffixes), so that a rewrite keeps it as it was."""
    with open(path, "rb") as handle:
        magic = handle.read(6)
    return next((mode for head, mode in _COMPRESSIONS.items() if magic.startswith(head)), "")


def _safe_extract(tar_path: Path, dest: Path) -> None:
    """Unpack a Model Library Format archive, refusing anything that is not a whole tar: one
    readable line, never tarfile's own text."""
    try:
        archive = tarfile.open(tar_path)
    except (tarfile.TarError, EOFError):
        raise CrewriteError(
            "not a tar archive (expected a Model Library Format .tar, .tar.gz or .tgz)",
            tar_path,
        ) from None
    member = None
    try:
        with archive:
            for member in archive:
                target = (dest / member.name).resolve()
                if not str(target).startswith(str(dest.resolve())) or member.issym():
                    raise CrewriteError(f"archive member {member.name!r} points outside", tar_path)
            # A plain tar ends with two zero blocks; cut at a member boundary it has none.
            if not compression(tar_path) and tar_path.stat().st_size - archive.offset < 1024:
                raise tarfile.ReadError("no end-of-archive marker")
            archive.extractall(dest, filter="data")
    except (tarfile.TarError, EOFError, OSError):
        where = f" (after {member.name!r})" if member is not None else ""
        raise CrewriteError(
            f"truncated or damaged tar archive: it ends early{where}; copy it again", tar_path
        ) from None


def load_project(
    paths: list[Path], header: Path | None = None, include_dirs: list[Path] | None = None
) -> Project:
    """Recognise the input shape and read every file crewrite needs."""
    include_dirs = list(include_dirs or [])
    if not paths:
        raise CrewriteError("no input given")
    for p in paths:
        if not p.exists():
            raise CrewriteError("no such file or directory", p)

    if len(paths) == 1 and paths[0].is_dir():
        project = _load_directory(paths[0].resolve())
    elif len(paths) == 1 and is_archive(paths[0]):
        tmp = tempfile.TemporaryDirectory(prefix="crewrite-mlf-")
        root = Path(tmp.name)
        _safe_extract(paths[0], root)
        project = _load_directory(root, kind="mlf-tar")
        project.tar_path = paths[0].resolve()
        info = project.tar_path.stat()
        project.tar_stamp = (info.st_mtime_ns, info.st_size)
        project._tmp = tmp
    else:
        project = _load_files([p.resolve() for p in paths], header)

    project.given = str(paths[0])
    project.include_dirs = project.include_dirs + [d.resolve() for d in include_dirs]
    for rel in project.sources + project.headers + project.build_files + project.metadata:
        if rel not in project.texts:
            project.texts[rel] = read_text(project.path(rel))
    return project


def _load_directory(root: Path, kind: str | None = None) -> Project:
    codegen = _codegen_dirs(root)
    if not codegen:
        raise CrewriteError(
            "no codegen/host/src folder found: expected a generated project "
            "(model/codegen/host/src/*.c), a Model Library Format folder or archive, or .c files",
            root,
        )
    sources: list[str] = []
    include_dirs: list[Path] = []
    for host in codegen:
        sources += [_relative(root, p) for p in sorted((host / "src").glob("*.c"))]
        if (host / "include").is_dir():
            include_dirs.append(host / "include")
    for extra in ("include", "crt/include", "crt_config"):
        if (root / extra).is_dir():  # a generated project's own headers and runtime
            include_dirs.append(root / extra)
    if not sources:
        raise CrewriteError("codegen/host/src holds no .c files", codegen[0] / "src")
    if kind is None:
        kind = "mlf" if (root / "codegen" / "host" / "src").is_dir() else "project"
    build = _build_files(root)
    alloc_alignment = 16
    for config in sorted(root.rglob("crt_config.h")):
        match = ALLOC_ALIGNMENT.search(read_text(config))
        if match and BACKUP_DIR not in config.parts:
            alloc_alignment = max(alloc_alignment, int(match.group(1)))
    return Project(
        root=root,
        kind=kind,
        alloc_alignment=alloc_alignment,
        sources=sources,
        headers=[_relative(root, p) for p in _headers_below(root)],
        build_files=list(build),
        texts=dict(build),
        include_dirs=include_dirs,
        metadata=[
            _relative(root, host.parent.parent / "metadata.json")
            for host in codegen
            if (host.parent.parent / "metadata.json").is_file()
        ],
    )


def _load_files(files: list[Path], header: Path | None) -> Project:
    for f in files:
        if f.is_dir() or f.suffix != ".c":
            raise CrewriteError(
                "expected one project folder, one .tar/.tar.gz archive, or .c files", f
            )
    headers = [header.resolve()] if header is not None else []
    for h in headers:
        if not h.is_file():
            raise CrewriteError("no such header", h)
        if not HEADER_NAME.match(h.name):
            raise CrewriteError("module header must be named tvmgen_<module>.h", h)
    everything = files + headers
    root = Path(_common_parent(everything))
    return Project(
        root=root,
        kind="files",
        sources=[_relative(root, f) for f in files],
        headers=[_relative(root, h) for h in headers],
        build_files=[],
        include_dirs=sorted({h.parent for h in headers}),
    )


def _common_parent(paths: list[Path]) -> Path:
    parents = [p.parent for p in paths]
    common = parents[0]
    while not all(p == common or common in p.parents for p in parents):
        common = common.parent
    return common
