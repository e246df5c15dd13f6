"""Tiny runnable projects for tests: a module body (conftest's layout) plus an application
that calls `tvmgen_t___tvm_main__(int8_t* x, int8_t* y)` on 64 seeded input bytes and prints
the 64 output bytes, so that a rewrite can be checked by building and running both.

Imported by tests; defines no tests.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from conftest import make_project

import host_build
from crewrite.cli import main

APP = """\
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "crewrite_shim.h"
int32_t tvmgen_t___tvm_main__(int8_t* x, int8_t* y);
static uint8_t g_pool[1 << 16] __attribute__((aligned(16)));
static int8_t g_x[64], g_y[64];
int main(int argc, char** argv) {
  uint32_t s = (argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 0) : 1u) * 2654435761u + 1u;
  for (int i = 0; i < 64; ++i) {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    g_x[i] = (int8_t)(s >> 24);
  }
  shim_workspace_init(g_pool, sizeof(g_pool));
  int32_t rc = tvmgen_t___tvm_main__(g_x, g_y);
  printf("rc %d\\n", (int)rc);
  for (int i = 0; i < 64; ++i) {
    printf("%02x", (uint8_t)g_y[i]);
  }
  printf("\\n");
  fprintf(stderr, "workspace_peak=%u workspace_calls=%u\\n", (unsigned)shim_workspace_peak(),
          (unsigned)shim_workspace_calls());
  return 0;
}
"""


def runnable(root: Path, body: str) -> Path:
    """A project at `root` whose module `t` holds `body`, with an application to run it."""
    cmake = "target_compile_definitions(app PUBLIC -DWORKSPACE_SIZE=65536)\n"
    make_project(root, body, workspace=4096, cmake=cmake)
    (root / "src").mkdir()
    (root / "src" / "main.c").write_text(APP)
    return root


@dataclass
class Comparison:
    original: list[bytes]  # stdout per (seed, fill seed)
    rewritten: list[bytes]
    stale: bool  # the original's output depends on the allocator's fill: it reads stale bytes

    @property
    def equal(self) -> bool:
        return self.original == self.rewritten


RUNS = [(seed, fill) for seed in (1, 5) for fill in (1, 2)]


def outputs(project: Path, tmp: Path) -> list[bytes]:
    """Build a project and run it for every (seed, fill seed) of RUNS."""
    exe = host_build.build(project, tmp)
    return [host_build.run(exe, seed, fill).stdout for seed, fill in RUNS]


def rewritten_copy(root: Path, out: Path, *flags: str) -> Path:
    if out.exists():
        shutil.rmtree(out)
    assert main(["rewrite", str(root), "--out", str(out), "-q", *flags]) == 0
    return out


def compare(root: Path, tmp: Path, *flags: str) -> Comparison:
    """Build and run the project as it is and as crewrite rewrites it (into a copy)."""
    out = rewritten_copy(root, tmp / "rewritten", *flags)
    original = outputs(root, tmp / "bin_original")
    rewritten = outputs(out, tmp / "bin_rewritten")
    stale = original[0] != original[1] or original[2] != original[3]
    return Comparison(original, rewritten, stale)
