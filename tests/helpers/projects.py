"""Tiny generated-project-shaped inputs written into tmp folders, and their extracted facts."""

from __future__ import annotations

import textwrap
from pathlib import Path

from crewrite.extract import Program, extract
from crewrite.pipeline import Options, parse_all
from crewrite.project import load_project

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


def program_of(root: Path) -> Program:
    """What the extractor finds in a project folder."""
    project = load_project([root])
    try:
        return extract(parse_all(project, Options()), project.module_names())
    finally:
        project.close()
