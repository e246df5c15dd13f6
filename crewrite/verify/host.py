"""Build a generated project for the build machine and run it: the project's own model
sources, a driver crewrite writes for its interface, and crewrite's host runtime
(`crewrite/hostrt/`: the workspace allocator, the Arm intrinsics in C, host CMSIS-NN kernels),
compiled with the host C compiler."""

from __future__ import annotations

import functools
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from crewrite.errors import CrewriteError
from crewrite.frontend import FAKE_LIBC
from crewrite.project import Project, size_defines
from crewrite.verify.interface import Interface

HOSTRT = Path(__file__).resolve().parent.parent / "hostrt"
HOSTRT_INCLUDE = HOSTRT / "include"
RUNTIME_SOURCES = ("crewrite_shim.c", "arm_intrinsics.c")
DRIVER_SOURCE = "verify_main.c"
CMSIS_NN_HOST = "cmsis_nn_host.c"
# Generated code casts between pointer types freely and may rely on int32 wrap-around.
BASE_FLAGS = ("-std=gnu11", "-O1", "-w", "-fno-strict-aliasing")
PLAIN_FLAGS = ("-fwrapv",)
SANITIZE_FLAGS = (
    "-g",
    "-fno-omit-frame-pointer",
    "-fsanitize=address,undefined",
    "-fsanitize-recover=all",
    "-DCREWRITE_SHIM_EXACT_MALLOC",
    "-DCREWRITE_SANITIZE",
)
# A kernel library's sources take the code paths of a Cortex-M with the DSP extension.
LIB_FLAGS = ("-D__ARM_FEATURE_DSP=1",)
MIN_POOL_BYTES = 16 << 20
_STAT = re.compile(r"^crewrite-stat module=(\S+) seed=(\d+) peak=(\d+) calls=(\d+)$", re.M)
_ERROR = re.compile(r"^crewrite-error: (.*)$", re.M)
_FILLS = {"float32": "CREWRITE_FLOAT32", "float64": "CREWRITE_FLOAT64"}


@dataclass(frozen=True)
class Toolchain:
    """The host compiler and what the user adds to every build."""

    cc: str
    defines: tuple[str, ...] = ()  # -D (the user's -I are among the project's folders)
    lib_src: tuple[Path, ...] = ()  # a kernel library to compile instead of ours
    lib_include: tuple[Path, ...] = ()
    cflags: tuple[str, ...] = ()

    @property
    def version(self) -> str:
        return compiler_version(self.cc)


@dataclass(frozen=True)
class HostBuild:
    """A project built for the build machine, ready to run any number of times."""

    exe: Path
    interface: Interface
    sanitize: bool
    label: str  # the project as the user named it


@dataclass(frozen=True)
class RunOutput:
    outputs: dict[tuple[int, str, str], bytes]  # (seed, module, output) -> its bytes
    stats: dict[tuple[int, str], tuple[int, int]]  # (seed, module) -> (peak, workspace calls)
    stderr: str


class RunFailed(Exception):
    """The program did not finish its runs; `reason` says why in a sentence."""

    def __init__(self, reason: str, stderr: str):
        super().__init__(reason)
        self.reason = reason
        self.stderr = stderr


def find_compiler(cc: str | None) -> str:
    """`cc` as given, else the first of gcc, clang, cc on PATH ($CC is not read: in an
    embedded shell it is often the cross compiler)."""
    if cc:
        found = shutil.which(cc)
        if found is None:
            raise CrewriteError(f"--cc {cc}: no such compiler on PATH")
        return found
    for name in ("gcc", "clang", "cc"):
        found = shutil.which(name)
        if found is not None:
            return found
    raise CrewriteError("no host C compiler found: install gcc or clang, or pass --cc PATH")


@functools.lru_cache(maxsize=8)
def compiler_version(cc: str) -> str:
    try:
        proc = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return Path(cc).name
    first = proc.stdout.splitlines()[0] if proc.stdout else Path(cc).name
    return first.strip()


def pool_bytes(project: Project) -> int:
    """The pool the host allocator serves workspace from: the largest workspace a module
    header declares, twice over (copies of headers can be stale), and at least 16 MiB (only
    the bytes used are ever touched)."""
    declared = [
        define.value
        for rel in project.headers
        for define in size_defines(project.texts[rel])
        if define.value is not None
    ]
    return max([MIN_POOL_BYTES] + [2 * d for d in declared])


@dataclass(frozen=True)
class StaticPool:
    """A USMP pool the generated code defines (`static uint8_t pool[N];`), reached through a
    parameter of an AOT entry defined in another file than the one that calls it: the build
    wraps the entry (`ld --wrap`) so that the driver fills the pool before every run, as it
    fills the pools it hands the model itself."""

    entry: str
    params: int  # the entry's parameter count (every one a pointer)
    position: int  # of the pool's parameter
    size: int


_STATIC_POOL = re.compile(r"\bstatic\s+uint8_t\s+(\w+)\s*\[\s*(\d+)\s*\]\s*;")
_ENTRY = re.compile(r"\bint32_t\s+(tvmgen_\w+___tvm_main__)\s*\(([^)]*)\)\s*\{")
_POOL_PARAM = re.compile(r"(\w+?)_\d+_var$")


def static_pools(project: Project) -> list[StaticPool]:
    """The static USMP pools of a project, by a scan of its sources (an entry in the file
    that calls it cannot be wrapped: its pool is left unfilled, as before)."""
    pools: dict[str, int] = {}
    entries: dict[str, tuple[str, list[str]]] = {}
    for rel in project.sources:
        text = project.texts[rel]
        pools.update({m.group(1): int(m.group(2)) for m in _STATIC_POOL.finditer(text)})
        for m in _ENTRY.finditer(text):
            params = [p.strip().split()[-1].lstrip("*") for p in m.group(2).split(",")]
            entries[m.group(1)] = (rel, params)
    found = []
    for entry, (rel, params) in sorted(entries.items()):
        callers = [r for r in project.sources if r != rel and entry in project.texts[r]]
        if not callers:
            continue
        for position, name in enumerate(params):
            match = _POOL_PARAM.match(name)
            if match and match.group(1) in pools:
                found.append(StaticPool(entry, len(params), position, pools[match.group(1)]))
    return found


def _wrapped(pools: list[StaticPool]) -> str:
    out = []
    for entry in sorted({p.entry for p in pools}):
        mine = [p for p in pools if p.entry == entry]
        count = mine[0].params
        params = ", ".join(f"void* a{i}" for i in range(count))
        args = ", ".join(f"a{i}" for i in range(count))
        fills = "".join(f"  shim_fill(a{p.position}, {p.size}u);\n" for p in mine)
        out.append(
            f"int32_t __real_{entry}({', '.join(['void*'] * count)});\n"
            f"int32_t __wrap_{entry}({params}) {{\n{fills}"
            f"  return __real_{entry}({args});\n}}\n\n"
        )
    return "".join(out)


def glue_source(interface: Interface, pools: list[StaticPool] | None = None) -> str:
    """The project-specific half of the driver: the tensor table and one call per module
    (and the wrappers that fill the project's static pools before every run)."""
    out = [
        "/* Written by crewrite verify: the tensors of every module and a call of each\n"
        "   tvmgen_<mod>_run, for crewrite's driver (hostrt/verify_main.c). */\n",
        "#include <stddef.h>\n#include <stdint.h>\n#include <string.h>\n\n",
        '#include "crewrite_shim.h"\n#include "crewrite_verify.h"\n',
    ]
    out += [f'#include "{m.header}"\n' for m in interface.modules]
    out.append("\n" + _wrapped(pools or []))
    tensors = interface.tensors
    index = {id(t): i for i, t in enumerate(tensors)}
    out.append("\nconst crewrite_tensor crewrite_tensors[] = {\n")
    for t in tensors:
        module = next(i for i, m in enumerate(interface.modules) if t in m.tensors)
        kind = f"CREWRITE_{t.kind.upper()}"
        fill = _FILLS.get(t.dtype or "", "CREWRITE_BYTES")
        out.append(f'  {{{module}, {kind}, {fill}, {t.size}u, "{t.name}"}},\n')
    if not tensors:
        out.append('  {0, CREWRITE_POOL, CREWRITE_BYTES, 0u, ""},\n')
    out.append(f"}};\nconst int crewrite_tensor_count = {len(tensors)};\n\n")
    for number, m in enumerate(interface.modules):
        p = f"tvmgen_{m.module}"
        body = []
        structs = {"inputs": "input", "outputs": "output", "workspace_pools": "pool"}
        needed = set(m.run_params) | ({"inputs", "outputs"} if m.maps_io else set())
        for struct in ("workspace_pools", "devices", "inputs", "outputs"):
            if struct not in needed:
                continue
            if m.maps_io and struct in ("inputs", "outputs"):
                continue
            body.append(f"  struct {p}_{struct} {struct};\n")
            body.append(f"  memset(&{struct}, 0, sizeof({struct}));\n")
            for t in m.of_kind(structs.get(struct, "")):
                body.append(f"  {struct}.{t.name} = buffers[{index[id(t)]}];\n")
        if m.maps_io:
            body.append(f"  struct {p}_inputs inputs = {p}_map_inputs(&workspace_pools);\n")
            for t in m.of_kind("input"):
                body.append(f"  memcpy(inputs.{t.name}, buffers[{index[id(t)]}], {t.size}u);\n")
        args = ", ".join(f"&{struct}" for struct in m.run_params)
        body.append(f"  int32_t rc = {p}_run({args});\n")
        if m.maps_io:
            body.append(f"  struct {p}_outputs outputs = {p}_map_outputs(&workspace_pools);\n")
            for t in m.of_kind("output"):
                body.append(f"  memcpy(buffers[{index[id(t)]}], outputs.{t.name}, {t.size}u);\n")
        body.append("  return rc;\n")
        out.append(
            f"static int32_t crewrite_run_{number}(uint8_t* const* buffers) {{\n"
            + "".join(body)
            + "}\n\n"
        )
    out.append("const crewrite_module crewrite_modules[] = {\n")
    out += [
        f'  {{"{m.module}", crewrite_run_{number}}},\n'
        for number, m in enumerate(interface.modules)
    ]
    out.append(f"}};\nconst int crewrite_module_count = {len(interface.modules)};\n")
    return "".join(out)


def _compile(command: list[str], what: str, log: Path, kept: bool) -> None:
    with log.open("a", encoding="utf-8") as script:
        script.write(shlex.join(command) + "\n")
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=600)
    except OSError as exc:
        raise CrewriteError(f"cannot run the compiler {command[0]}: {exc.strerror}") from None
    except subprocess.TimeoutExpired:
        raise CrewriteError(f"building {what} took more than 600 s") from None
    if proc.returncode != 0:
        shown = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[:30])
        where = (
            f"the commands are in {log}" if kept else "--keep DIR keeps the build and its commands"
        )
        raise CrewriteError(f"cannot build {what} with {Path(command[0]).name} ({where}):\n{shown}")


def build(
    project: Project,
    interface: Interface,
    out_dir: Path,
    toolchain: Toolchain,
    *,
    alignment: int,
    sanitize: bool = False,
    kept: bool = True,
    glue: str | None = None,
) -> HostBuild:
    """Compile the project's model sources with the driver and the host runtime into
    `out_dir`; the compiler commands go to `out_dir/build.sh` (`kept`: it will stay). `glue`
    replaces the driver's project half (`glue_source`) for a caller that calls the model
    another way than `tvmgen_<mod>_run` (the tests drive graph-executor outputs so)."""
    label = project.given or str(project.root)
    out_dir.mkdir(parents=True, exist_ok=True)
    log = out_dir / "build.sh"
    log.write_text("#!/bin/sh\nset -e\n", encoding="utf-8")
    glue_file = out_dir / "crewrite_glue.c"
    pools = static_pools(project) if glue is None else []  # a caller's glue wraps nothing
    glue_file.write_text(
        glue if glue is not None else glue_source(interface, pools), encoding="utf-8"
    )
    includes = [
        HOSTRT_INCLUDE,
        *toolchain.lib_include,
        *project.include_dirs,
        FAKE_LIBC / "cmsis",
        FAKE_LIBC / "tvm",
    ]
    flags = [
        *BASE_FLAGS,
        *(SANITIZE_FLAGS if sanitize else PLAIN_FLAGS),
        f"-DCREWRITE_SHIM_ALIGN={alignment}u",
        f"-DCREWRITE_POOL_BYTES={pool_bytes(project)}u",
        *(f"-D{d}" for d in toolchain.defines),
        *(f"-I{d}" for d in includes),
        "-include",
        "crewrite_arm.h",
        *toolchain.cflags,
    ]
    objects = []
    lib_sources = [p for d in toolchain.lib_src for p in sorted(Path(d).rglob("*.c"))]
    if toolchain.lib_src and not lib_sources:
        raise CrewriteError("--lib-src: no .c files below", toolchain.lib_src[0])
    for number, source in enumerate(lib_sources):
        obj = out_dir / "lib" / f"{number:04d}_{source.stem}.o"
        obj.parent.mkdir(exist_ok=True)
        _compile(
            [toolchain.cc, *flags, *LIB_FLAGS, "-c", str(source), "-o", str(obj)],
            f"{source} (--lib-src)",
            log,
            kept,
        )
        objects.append(obj)
    runtime = [HOSTRT / name for name in (*RUNTIME_SOURCES, DRIVER_SOURCE)]
    if not lib_sources:
        runtime.append(HOSTRT / CMSIS_NN_HOST)
    sources = [project.path(rel) for rel in project.sources]
    exe = out_dir / "program"
    _compile(
        [
            toolchain.cc,
            *flags,
            *map(str, sources),
            str(glue_file),
            *map(str, runtime),
            *map(str, objects),
            "-o",
            str(exe),
            "-lm",
            *(f"-Wl,--wrap={entry}" for entry in sorted({p.entry for p in pools})),
        ],
        label,
        log,
        kept,
    )
    return HostBuild(exe, interface, sanitize, label)


def run(build: HostBuild, seeds: list[int], fill_seed: int, timeout: float = 300.0) -> RunOutput:
    """Run every module on each seed's inputs; the workspace is filled per `fill_seed`."""
    env = dict(os.environ)
    env["CREWRITE_FILL_SEED"] = str(fill_seed)
    env["ASAN_OPTIONS"] = "detect_leaks=0:halt_on_error=0:abort_on_error=0:symbolize=1"
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=0"
    try:
        proc = subprocess.run(
            [str(build.exe), *map(str, seeds)], capture_output=True, env=env, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise RunFailed(f"{build.label}: did not finish within {timeout:.0f} s", "") from None
    stderr = proc.stderr.decode("utf-8", errors="replace")
    outputs, stats = {}, {}
    data, at = proc.stdout, 0
    for seed in seeds:
        for m in build.interface.modules:
            for t in m.of_kind("output"):
                outputs[(seed, m.module, t.name)] = data[at : at + t.size]
                at += t.size
    for match in _STAT.finditer(stderr):
        stats[(int(match.group(2)), match.group(1))] = (int(match.group(3)), int(match.group(4)))
    complete = at == len(data) and len(stats) == len(seeds) * len(build.interface.modules)
    if complete and (proc.returncode == 0 or build.sanitize):
        return RunOutput(outputs, stats, stderr)
    error = _ERROR.search(stderr)
    if error is not None:
        reason = error.group(1)
    elif proc.returncode < 0:
        reason = f"killed by signal {-proc.returncode}"
    else:
        reason = f"exited with {proc.returncode} before writing every output"
    raise RunFailed(f"{build.label}: {reason}", stderr)
