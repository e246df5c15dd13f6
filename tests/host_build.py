"""Compile and run a generated (or rewritten) fixture project on the build machine.

Imported by tests; defines no tests. The project is built with the host gcc against the
headers in ``fake_libc_include/tvm`` and ``fake_libc_include/cmsis`` and the runtime shim in
``tests/shim`` (LIFO workspace allocator, Arm intrinsics, host CMSIS-NN kernels).
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FAKE_INCLUDE = REPO / "fake_libc_include"
SHIM_DIR = REPO / "tests" / "shim"
SHIM_SOURCES = (SHIM_DIR / "crewrite_shim.c", SHIM_DIR / "cmsis_host.c")

CC = os.environ.get("CC", "gcc")
BASE_CFLAGS = ("-std=gnu11", "-O1", "-w", "-fno-strict-aliasing")

_WORKSPACE_RE = re.compile(r"-DWORKSPACE_SIZE=(\d+)")
_PEAK_RE = re.compile(rb"workspace_peak=(\d+) workspace_calls=(\d+)")


class BuildError(RuntimeError):
    """gcc failed; the message carries the command and gcc's output."""


class RunError(RuntimeError):
    """The program crashed, exited non-zero or printed no workspace line."""


@dataclass(frozen=True)
class RunResult:
    stdout: bytes
    peak: int
    calls: int
    stderr: bytes = b""


def cmake_workspace_size(project_dir: Path) -> int | None:
    """The value of ``-DWORKSPACE_SIZE=<n>`` in the project's CMakeLists.txt (None when the
    project sets none: its application sizes the allocator otherwise)."""
    text = (Path(project_dir) / "CMakeLists.txt").read_text(encoding="utf-8")
    found = _WORKSPACE_RE.findall(text)
    if len(found) > 1:
        raise BuildError(
            f"{project_dir}/CMakeLists.txt: expected one -DWORKSPACE_SIZE=<n>, found {len(found)}"
        )
    return int(found[0]) if found else None


def project_sources(project_dir: Path) -> list[Path]:
    """``src/*.c`` plus every ``.c`` below ``model/codegen/host/src`` (recursively), sorted."""
    project_dir = Path(project_dir)
    app = sorted((project_dir / "src").glob("*.c"))
    model = sorted((project_dir / "model" / "codegen" / "host" / "src").rglob("*.c"))
    return app + model


def build(project_dir: Path, out_dir: Path, extra_cflags=()) -> Path:
    """Compile the project into ``out_dir/<project name>`` and return the executable."""
    project_dir = Path(project_dir).resolve()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    exe = out_dir / project_dir.name
    sources = project_sources(project_dir)
    if not sources:
        raise BuildError(f"{project_dir}: no C sources")
    workspace = cmake_workspace_size(project_dir)
    cmd = [
        CC,
        *BASE_CFLAGS,
        *([f"-DWORKSPACE_SIZE={workspace}"] if workspace is not None else []),
        "-I",
        str(FAKE_INCLUDE / "tvm"),
        "-I",
        str(FAKE_INCLUDE / "cmsis"),
        "-I",
        str(SHIM_DIR / "include"),
        "-I",
        str(project_dir / "model" / "codegen" / "host" / "include"),
        "-I",
        str(project_dir / "include"),
        *extra_cflags,
        *(str(s) for s in sources),
        *(str(s) for s in SHIM_SOURCES),
        "-o",
        str(exe),
        "-lm",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(
            f"build of {project_dir} failed:\n{' '.join(cmd)}\n{proc.stdout}{proc.stderr}"
        )
    return exe


def run(exe: Path, seed: int, fill_seed: int = 1, timeout: float = 60.0) -> RunResult:
    """Run a built fixture with input seed ``seed`` and ``CREWRITE_FILL_SEED=fill_seed``."""
    env = dict(os.environ)
    env["CREWRITE_FILL_SEED"] = str(fill_seed)
    proc = subprocess.run([str(exe), str(seed)], capture_output=True, env=env, timeout=timeout)
    if proc.returncode != 0:
        raise RunError(
            f"{exe} {seed} (fill seed {fill_seed}) exited {proc.returncode}:\n"
            f"{proc.stderr.decode(errors='replace')}"
        )
    m = _PEAK_RE.search(proc.stderr)
    if m is None:
        raise RunError(
            f"{exe}: no workspace_peak line on stderr:\n{proc.stderr.decode(errors='replace')}"
        )
    return RunResult(
        stdout=proc.stdout, peak=int(m.group(1)), calls=int(m.group(2)), stderr=proc.stderr
    )
