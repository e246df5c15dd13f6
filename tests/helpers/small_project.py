"""Tiny runnable projects: a module body (`helpers.projects.make_project`'s layout) that
defines `tvmgen_t___tvm_main__(int8_t* x, int8_t* y)` on 64 input and 64 output bytes, with
the run wrapper TVM writes in lib0, so that `crewrite verify` can build, run and compare the
project as it is and as crewrite rewrites it."""

from __future__ import annotations

import shutil
from pathlib import Path

from crewrite.cli import main
from crewrite.verify import Verdict, VerifyOptions, build_project, host, verify
from helpers.projects import make_project

LIB0 = """\
#include "tvm/runtime/c_runtime_api.h"
#include <tvmgen_t.h>
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x, int8_t* y);
int32_t tvmgen_t_run(struct tvmgen_t_inputs* inputs, struct tvmgen_t_outputs* outputs) {
  return tvmgen_t___tvm_main__(inputs->x, outputs->y);
}
"""
OPTIONS = VerifyOptions(runs=2, sizes={"input": {"x": 64}, "output": {"y": 64}})


def runnable(root: Path, body: str) -> Path:
    """A project at `root` whose module `t` holds `body`, ready to run."""
    cmake = "target_compile_definitions(app PUBLIC -DWORKSPACE_SIZE=65536)\n"
    make_project(root, body, workspace=4096, cmake=cmake)
    (root / "model" / "codegen" / "host" / "src" / "t_lib0.c").write_text(LIB0)
    return root


def rewritten_copy(root: Path, out: Path, *flags: str) -> Path:
    if out.exists():
        shutil.rmtree(out)
    assert main(["rewrite", str(root), "--out", str(out), "-q", *flags]) == 0
    return out


def compare(root: Path, tmp: Path, *flags: str) -> Verdict:
    """The project as it is and as crewrite rewrites it (into a copy, with `flags`), proven
    by `crewrite verify` (`unstable`: the original itself reads memory it never wrote)."""
    return verify(root, rewritten_copy(root, tmp / "rewritten", *flags), OPTIONS)


def outputs(root: Path, tmp: Path) -> dict[tuple[int, str, str], bytes]:
    """Every output byte of a project built for the host (without crewrite's extraction: any
    C that compiles), on the seeds of OPTIONS; the same under two workspace fills (it reads no
    memory it never wrote)."""
    build = build_project(root, OPTIONS, tmp)
    first = host.run(build, OPTIONS.seeds, fill_seed=1).outputs
    assert host.run(build, OPTIONS.seeds, fill_seed=2).outputs == first, "reads stale memory"
    return first
