"""Check the extent analysis against every byte a fixture really touches.

Imported by tests; defines no tests. The fixture's model sources are copied with a marker call
before each top-level statement of each function (`__xt_stmt(fid, index, bases...)`), compiled
with gcc's thread-sanitizer instrumentation (a callback per load and store) and
-finstrument-functions, and linked with ``tests/extent_trace_rt.c`` and a table of what the
analysis claims. Running it prints, on stderr, every access no may-range explains, every
must-write run with a byte left unwritten, and the observed hull per statement and base.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pycparser import c_ast, c_generator

from crewrite.extents import FunctionExtents, analyse
from crewrite.frontend import FAKE_LIBC, TranslationUnit, parse_source
from crewrite.project import Project, load_project
from crewrite.verify.host import CMSIS_NN_HOST, HOSTRT, HOSTRT_INCLUDE, RUNTIME_SOURCES

TESTS = Path(__file__).resolve().parent
TRACE_SOURCE = TESTS / "extent_trace_rt.c"
TRACE_HEADER = str(TESTS / "extent_trace.h")  # the marker's prototype, -include'd
CC = os.environ.get("CC", "gcc")
# crewrite's host runtime (see crewrite.verify.host): the allocator and the Arm intrinsics as
# they are, the CMSIS-NN kernels traced like the model.
RUNTIME = tuple(HOSTRT / name for name in RUNTIME_SOURCES)
TRACED_RUNTIME = (HOSTRT / CMSIS_NN_HOST,)
_WORKSPACE_SIZE = re.compile(r"-DWORKSPACE_SIZE=(\d+)")


class BuildError(RuntimeError):
    """gcc failed; the message carries the command and gcc's output."""


INSTRUMENT = ("-fsanitize=thread", "-fno-builtin")
WRAPS = "-Wl,--wrap=TVMBackendAllocWorkspace,--wrap=TVMBackendFreeWorkspace," + (
    "--wrap=memcpy,--wrap=memmove,--wrap=memset"
)
# File-scope arrays registered as objects (the USMP pool, the application's tensors and
# pools, sized by a number or by the module header's define).
_STATIC_ARRAY = re.compile(
    r"^(?:__attribute__\(\([^\n]*?\)\)\s*)?static\s+(?:__attribute__\(\([^\n]*?\)\)\s*)?"
    r"(u?int8_t|u?int16_t|u?int32_t|float)\s+(?:__attribute__\(\([^\n]*?\)\)\s*)?"
    r"(\w+)\s*\[(\w+)\]",
    re.M,
)
_SIZES = {"int8_t": 1, "uint8_t": 1, "int16_t": 2, "uint16_t": 2, "int32_t": 4}
_SIZES |= {"uint32_t": 4, "float": 4}
_COMPILED: dict[tuple[str, ...], Path] = {}  # the runtime's objects, compiled once


@dataclass
class Trace:
    """What one run of an instrumented fixture saw."""

    functions: list[str]
    bases: list[list[str]]
    extents: dict[str, FunctionExtents]
    summary: dict[str, int]
    may_violations: list[str]
    must_violations: list[str]
    observed: dict[tuple[int, int, int], tuple[int, int, int, int]] = field(default_factory=dict)
    unmarked: list[str] = field(default_factory=list)


def parse_project(project: Project) -> dict[str, TranslationUnit]:
    """Every source of a project, parsed as crewrite parses it."""
    return {
        rel: parse_source(rel, project.path(rel), project.texts[rel], project.include_dirs, [])
        for rel in project.sources
    }


def _statement_insert(tu: TranslationUnit, func: c_ast.FuncDef, item: c_ast.Node) -> int | None:
    """Offset where a marker can go right before a top-level statement: the start of its line
    (above the `#pragma` lines that belong to it), or just after the body's `{` on its line."""
    line = item.coord.line
    begin = tu.line_starts[line - 1]
    if isinstance(item, c_ast.Label):  # after `name:`, where a jump lands
        label = re.compile(rf"\b{re.escape(item.name)}\s*:")
        found = label.search(tu.text, begin)
        return found.end() if found is not None else None
    column = item.coord.column or 1
    before = tu.text[begin : begin + column - 1]
    if not any(c in before for c in ";{}"):  # a declaration's column is its name's
        while line > 1:
            above = tu.text[tu.line_starts[line - 2] : tu.line_starts[line - 1]].strip()
            if not above.startswith("#pragma"):
                break
            line -= 1
        return tu.line_starts[line - 1]
    if before.rstrip().endswith("{") and func.body.block_items[0] is item:
        return begin + before.rindex("{") + 1
    return None


def _marked_source(
    tu: TranslationUnit, extents: dict[str, FunctionExtents], fids: dict[str, int]
) -> tuple[str, list[str]]:
    """The file's text with markers, and the functions that could not be marked."""
    by_place = {(fx.file, fx.line): name for name, fx in extents.items()}
    inserts: list[tuple[int, str]] = []
    unmarked: list[str] = []
    for ext in tu.ast.ext:
        if not (isinstance(ext, c_ast.FuncDef) and tu.is_own(ext)):
            continue
        name = by_place.get((tu.rel, ext.coord.line))
        if name is None:
            continue
        fx = extents[name]
        items = ext.body.block_items or []
        declared = {
            item.name: index
            for index, item in enumerate(items)
            if isinstance(item, c_ast.Decl) and item.name in fx.bases
        }
        marks = []
        for index, item in enumerate(items):
            where = _statement_insert(tu, ext, item)
            if where is None:
                marks = []
                unmarked.append(name)
                break
            args = []
            for base in fx.bases:
                known = fx.bases[base].kind == "param" or declared.get(base, index) < index
                args.append(f"(void*)({base})" if known else "(void*)0")
            call = ", ".join([str(fids[name]), str(index), *args])
            marks.append((where, f"__xt_stmt({call}); "))
        inserts += marks
    text = tu.text
    for where, mark in sorted(inserts, reverse=True):
        text = text[:where] + mark + text[where:]
    return text + _registrations(tu.text), unmarked


def _registrations(text: str) -> str:
    """A constructor registering the file's static arrays (USMP pools, application tensors)."""
    calls = [
        f"__xt_object({name}, (unsigned long)({count}) * {_SIZES[ctype]}UL);"
        for ctype, name, count in _STATIC_ARRAY.findall(text)
    ]
    if not calls:
        return ""
    return (
        "\n__attribute__((constructor)) static void crewrite_xt_objects(void) {\n  "
        + "\n  ".join(calls)
        + "\n}\n"
    )


def _table(extents: dict[str, FunctionExtents], names: list[str]) -> str:
    rows, musts, first = [], [], []
    for name in names:
        fx = extents[name]
        first.append(len(rows))
        for statement in fx.statements:
            for base in fx.bases:
                extent = statement.bases.get(base)
                if extent is None:
                    rows.append("{0, 0, 0, 0, 0, 0, 0}")
                    continue
                flags = (1 if extent.reads is not None else 0) | (2 if extent.writes else 0)
                rlo, rhi = _ends(extent.reads)
                wlo, whi = _ends(extent.writes)
                rows.append(
                    f"{{{flags}, {rlo}, {rhi}, {wlo}, {whi}, {len(musts)}, "
                    f"{len(extent.must_write)}}}"
                )
                musts += [f"{{{lo}LL, {hi}LL}}" for lo, hi in extent.must_write]
    nbases = [str(len(extents[n].bases)) for n in names]
    nstmts = [str(len(extents[n].statements)) for n in names]
    quoted = [f'"{n}"' for n in names]
    return (
        '#include "extent_trace.h"\n'
        f"const int xt_nfuncs = {len(names)};\n"
        f"const char* const xt_fname[] = {{{', '.join(quoted) or '0'}}};\n"
        f"const int xt_nbases[] = {{{', '.join(nbases) or '0'}}};\n"
        f"const int xt_nstmts[] = {{{', '.join(nstmts) or '0'}}};\n"
        f"const int xt_first[] = {{{', '.join(map(str, first)) or '0'}}};\n"
        f"const xt_ext_t xt_ext[] = {{{', '.join(rows) or '{0}'}}};\n"
        f"const long long xt_must[][2] = {{{', '.join(musts) or '{0, 0}'}}};\n"
    )


def _ends(span) -> tuple[str, str]:
    if span is None:
        return "0", "0"
    lo = f"{span.lo}LL" if span.lo is not None else "LLONG_MIN"
    hi = f"{span.hi}LL" if span.hi is not None else "LLONG_MAX"
    return lo, hi


@dataclass
class Instrumented:
    exe: Path
    names: list[str]
    extents: dict[str, FunctionExtents]
    unmarked: list[str]


def build(
    project_dir: Path,
    out_dir: Path,
    tamper: Callable[[dict[str, FunctionExtents]], dict[str, FunctionExtents]] | None = None,
) -> Instrumented:
    """Analyse a fixture, instrument its model and build it against the trace runtime;
    `tamper` may change the claims first (to show the check catches a wrong one)."""
    project_dir = Path(project_dir).resolve()
    # pthread.h: two fixtures ship a file crewrite's headers cannot read, on purpose.
    project = load_project([project_dir], include_dirs=[TESTS / "helpers" / "include"])
    units = parse_project(project)
    extents = analyse(units)
    if tamper is not None:
        extents = tamper(extents)
    apps = {
        f"app{i}_{app.name}": app.read_text() + _registrations(app.read_text())
        for i, app in enumerate(sorted((project_dir / "src").glob("*.c")))
    }
    includes = [
        project_dir / "model" / "codegen" / "host" / "include",
        project_dir / "include",
    ]
    found = _WORKSPACE_SIZE.findall((project_dir / "CMakeLists.txt").read_text())
    define = f"-DWORKSPACE_SIZE={found[0] if found else 1 << 20}"
    return _link(units, extents, apps, out_dir, includes, define)


def build_snippet(source: str, prelude: str, out_dir: Path) -> Instrumented:
    """Analyse one C file and build it with a driver that calls each of its non-static
    functions once: every pointer parameter gets its own 64 KB window of one random-filled
    1 MB array (an object: any access in it must be explained), every integer 3."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "snippet.c"
    path.write_text(source)
    tu = parse_source("snippet.c", path, source, [], [])
    units = {"snippet.c": tu}
    prototypes, calls = [], []
    generator = c_generator.CGenerator()
    for ext in tu.ast.ext:
        if not (isinstance(ext, c_ast.FuncDef) and tu.is_own(ext)):
            continue
        if "static" in (ext.decl.storage or []):
            continue
        params = ext.decl.type.args.params if ext.decl.type.args is not None else []
        args = []
        for i, param in enumerate(p for p in params if isinstance(p, c_ast.Decl)):
            pointer = isinstance(param.type, c_ast.PtrDecl | c_ast.ArrayDecl)
            args.append(f"(void*)(xt_mem + {(i + 1) * 65536})" if pointer else "3")
        prototypes.append(generator.visit(ext.decl) + ";")
        calls.append(f"  {ext.decl.name}({', '.join(args)});")
    driver = (
        prelude
        + '#include <stdlib.h>\n#include "crewrite_shim.h"\n'
        + "\n".join(prototypes)
        + "\nstatic uint8_t xt_pool[1 << 18];\n"
        + "static int8_t xt_mem[1048576] __attribute__((aligned(64)));\n"
        + "int main(int argc, char** argv) {\n"
        + "  uint32_t x = 2463534242u ^ (uint32_t)(argc > 1 ? atoi(argv[1]) : 0);\n"
        + "  for (long i = 0; i < (long)sizeof xt_mem; ++i) {\n"
        + "    x ^= x << 13; x ^= x >> 17; x ^= x << 5; xt_mem[i] = (int8_t)(x >> 24);\n  }\n"
        + "  shim_workspace_init(xt_pool, sizeof xt_pool);\n"
        + "\n".join(calls)
        + "\n  return 0;\n}\n"
    )
    apps = {"driver.c": driver + _registrations(driver)}
    return _link(units, analyse(units), apps, out_dir, [], "-DWORKSPACE_SIZE=0")


def _link(
    units: dict[str, TranslationUnit],
    extents: dict[str, FunctionExtents],
    apps: dict[str, str],
    out_dir: Path,
    include_dirs: list[Path],
    define: str,
) -> Instrumented:
    out_dir.mkdir(parents=True, exist_ok=True)
    names = sorted(extents)
    fids = {name: i for i, name in enumerate(names)}
    includes = [HOSTRT_INCLUDE, *include_dirs, FAKE_LIBC / "cmsis", FAKE_LIBC / "tvm", TESTS]
    base = [CC, "-std=gnu11", "-w", "-fno-strict-aliasing", "-fwrapv", define]
    base += ["-include", "crewrite_arm.h"]
    base += [f"-I{d}" for d in includes]
    objects: list[Path] = []
    unmarked: list[str] = []

    def compile_one(source: Path, extra: tuple[str, ...], shared: bool = False) -> None:
        """Compile into out_dir; `shared` sources (the runtime) once per process."""
        key = (str(source), *base, *extra)
        if shared and key in _COMPILED and _COMPILED[key].exists():
            objects.append(_COMPILED[key])
            return
        obj = out_dir / (source.stem + ".o")
        cmd = [*base, *extra, "-c", str(source), "-o", str(obj)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise BuildError(f"{' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
        objects.append(obj)
        if shared:
            _COMPILED[key] = obj

    for i, (rel, tu) in enumerate(units.items()):
        text, missed = _marked_source(tu, extents, fids)
        unmarked += missed
        copy = out_dir / f"model{i}_{Path(rel).name}"
        copy.write_text(text)
        compile_one(copy, ("-O0", *INSTRUMENT, "-finstrument-functions", "-include", TRACE_HEADER))
    for name, text in apps.items():
        (out_dir / name).write_text(text)
        compile_one(out_dir / name, ("-O1",))
    for source in RUNTIME:
        compile_one(source, ("-O0",), shared=True)
    for source in TRACED_RUNTIME:
        compile_one(source, ("-O0", *INSTRUMENT), shared=True)
    table = out_dir / "xt_table.c"
    table.write_text("#include <limits.h>\n" + _table(extents, names))
    compile_one(table, ("-O0",))
    compile_one(TRACE_SOURCE, ("-O1",), shared=True)
    exe = out_dir / "traced"
    cmd = [CC, *(str(o) for o in objects), WRAPS, "-o", str(exe), "-lm"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"{' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
    return Instrumented(exe, names, extents, unmarked)


def run(built: Instrumented, seed: int = 1, fill_seed: int = 1, timeout: float = 600) -> Trace:
    proc = subprocess.run(
        [str(built.exe), str(seed)],
        capture_output=True,
        env={"CREWRITE_FILL_SEED": str(fill_seed)},
        timeout=timeout,
    )
    err = proc.stderr.decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{built.exe} exited {proc.returncode}:\n{err[-3000:]}")
    summary_line = re.search(r"^XTSUM (.*)$", err, re.M)
    if summary_line is None:
        raise RuntimeError(f"no XTSUM line:\n{err[-3000:]}")
    summary = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", summary_line.group(1))}
    observed = {}
    for match in re.finditer(r"^XTOBS (-?\d+) (-?\d+) (-?\d+) (\S+) (\S+) (\S+) (\S+)$", err, re.M):
        f, s, b, *hull = (int(x) for x in match.groups())
        observed[(f, s, b)] = tuple(hull)
    return Trace(
        built.names,
        [list(built.extents[n].bases) for n in built.names],
        built.extents,
        summary,
        re.findall(r"^XTMAY .*$", err, re.M),
        re.findall(r"^XTMUST .*$", err, re.M),
        observed,  # type: ignore[arg-type]
        built.unmarked,
    )
