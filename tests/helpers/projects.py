"""Tiny generated-project-shaped inputs written into tmp folders, their extracted facts, and a
guard that a test decides from the text alone (nothing parsed)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

import pytest

from crewrite.extract import Program
from crewrite.project import load_project
from crewrite.reading import read_program

HEADER = """\
#ifndef TVMGEN_{MOD}_H_
#define TVMGEN_{MOD}_H_
#include <stdint.h>
struct tvmgen_{mod}_inputs {{ void* x; }};
struct tvmgen_{mod}_outputs {{ void* y; }};
int32_t tvmgen_{mod}_run(struct tvmgen_{mod}_inputs* inputs, struct tvmgen_{mod}_outputs* outputs);
#define TVMGEN_{MOD}_WORKSPACE_SIZE {size}
#endif
"""

PRELUDE = """\
// tvm target: c -keys=arm_cpu,cpu -mcpu=cortex-m4
#define TVM_EXPORTS
#include "tvm/runtime/c_runtime_api.h"
#include "tvm/runtime/c_backend_api.h"
#include <math.h>
"""


def make_project(
    root: Path,
    lib1_body: str,
    module: str = "t",
    workspace: int = 1 << 20,
    cmake: str | None = None,
) -> Path:
    """A generated board project with one module whose lib1 holds `lib1_body`."""
    host = root / "model" / "codegen" / "host"
    (host / "src").mkdir(parents=True)
    (host / "include").mkdir(parents=True)
    (host / "include" / f"tvmgen_{module}.h").write_text(
        HEADER.format(mod=module, MOD=module.upper(), size=workspace)
    )
    (host / "src" / f"{module}_lib1.c").write_text(PRELUDE + textwrap.dedent(lib1_body))
    if cmake is not None:
        (root / "CMakeLists.txt").write_text(cmake)
    return root


def never_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any parse of a source fail the test: for what crewrite must decide from the
    text alone (nothing to do, already rewritten)."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsed, where the text alone decides")

    monkeypatch.setattr("crewrite.reading.parse_source", refuse)
    monkeypatch.setattr("crewrite.pipeline.parse_source", refuse)


def program_of(root: Path, include_dirs: Sequence[Path] = ()) -> Program:
    """What the extractor finds in a project folder (`include_dirs`: as -I)."""
    project = load_project([root], include_dirs=list(include_dirs))
    try:
        return read_program(project, ()).program
    finally:
        project.close()


USMP_LIB0 = """\
// tvm target: c -keys=arm_cpu,cpu -mcpu=cortex-m4
#include "tvm/runtime/c_runtime_api.h"
{definition}#include <tvmgen_{mod}.h>
TVM_DLL int32_t tvmgen_{mod}___tvm_main__(void* x,void* y,{const_param}uint8_t* global_workspace_0_var);
int32_t tvmgen_{mod}_run({params}) {{return tvmgen_{mod}___tvm_main__(inputs->x,outputs->y,{const_arg}{pool});
}}
"""  # noqa: E501
CONST_POOL = """static struct global_const_workspace {
  int8_t w_let[96] __attribute__((packed, aligned(16)));
} global_const_workspace = {
  .w_let = {%s},
};
"""

USMP_HEADER = """\
#ifndef TVMGEN_{MOD}_H_
#define TVMGEN_{MOD}_H_
#include <stdint.h>
#define TVMGEN_{MOD}_X_SIZE {x}
#define TVMGEN_{MOD}_Y_SIZE {y}
struct tvmgen_{mod}_inputs {{ void* x; }};
struct tvmgen_{mod}_outputs {{ void* y; }};
{pools}int32_t tvmgen_{mod}_run({params});
#define TVMGEN_{MOD}_WORKSPACE_SIZE {size}
#endif
"""


def make_usmp_project(
    root: Path,
    lib1_body: str,
    pool: int,
    module: str = "t",
    tensors: tuple[int, int] = (64, 64),
    application_pool: bool = False,
    constants: bool = False,
) -> Path:
    """A USMP-built project: `static uint8_t global_workspace[pool]` in lib0 (or a pool the
    application provides through `workspace_pools`), the entry and operators in lib1; with
    `constants`, a constant pool (96 bytes) handed to the entry before it."""
    mod, upper = module, module.upper()
    host = root / "model" / "codegen" / "host"
    (host / "src").mkdir(parents=True)
    (host / "include").mkdir(parents=True)
    params = f"struct tvmgen_{mod}_inputs* inputs, struct tvmgen_{mod}_outputs* outputs"
    pools = ""
    if application_pool:
        params += f", struct tvmgen_{mod}_workspace_pools* workspace_pools"
        pools = (
            f"struct tvmgen_{mod}_workspace_pools {{ void* global_workspace; }};\n"
            f"#define TVMGEN_{upper}_GLOBAL_WORKSPACE_WORKSPACE_POOL_SIZE {pool}\n"
        )
    (host / "include" / f"tvmgen_{mod}.h").write_text(
        USMP_HEADER.format(
            mod=mod, MOD=upper, x=tensors[0], y=tensors[1], pools=pools, params=params, size=pool
        )
    )
    definition = (
        ""
        if application_pool
        else '__attribute__((section(".bss.noinit.tvm"), aligned(16)))\n'
        f"static uint8_t global_workspace[{pool}];\n"
    )
    if constants:
        definition = CONST_POOL % ", ".join(str(i % 7 - 3) for i in range(96)) + definition
    (host / "src" / f"{mod}_lib0.c").write_text(
        USMP_LIB0.format(
            mod=mod,
            definition=definition,
            const_param="uint8_t* global_const_workspace_0_var," if constants else "",
            const_arg="((uint8_t*)&global_const_workspace)," if constants else "",
            params=params,
            pool=(
                "workspace_pools->global_workspace"
                if application_pool
                else "((uint8_t*)&global_workspace)"
            ),
        )
    )
    (host / "src" / f"{mod}_lib1.c").write_text(PRELUDE + textwrap.dedent(lib1_body))
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file below `root` and its bytes: equal before and after means untouched."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
