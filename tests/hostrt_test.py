"""crewrite's host runtime (crewrite/hostrt): the Arm intrinsics against plain formulas, the
helpers native schedules build from them, and the host CMSIS-NN kernels' scratch checks."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from crewrite.frontend import FAKE_LIBC
from crewrite.verify.host import HOSTRT, HOSTRT_INCLUDE, find_compiler

pytestmark = pytest.mark.e2e  # every test compiles C
TESTS = Path(__file__).resolve().parent
UBSAN = ("-fsanitize=undefined", "-fno-sanitize-recover=undefined")


def compile_and_run(tmp_path: Path, sources: list[Path], flags=()) -> str:
    exe = tmp_path / "check"
    subprocess.run(
        [
            find_compiler(None),
            "-std=gnu11",
            "-O1",
            "-w",
            f"-I{HOSTRT_INCLUDE}",
            f"-I{FAKE_LIBC / 'cmsis'}",
            *flags,
            *map(str, sources),
            "-o",
            str(exe),
        ],
        check=True,
    )
    proc = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert proc.stderr == "", proc.stderr  # a sanitizer report
    return proc.stdout


def counts(output: str) -> tuple[int, int]:
    match = re.search(r"checked (\d+) failed (\d+)", output)
    assert match, output
    return int(match.group(1)), int(match.group(2))


def test_intrinsics_match_the_plain_formulas(tmp_path):
    out = compile_and_run(
        tmp_path, [TESTS / "intrinsics_check.c", HOSTRT / "arm_intrinsics.c"], UBSAN
    )
    checked, failed = counts(out)
    assert failed == 0, out
    assert checked > 1_000_000  # every spelling, edge values and random ones


def test_a_broken_intrinsic_is_caught(tmp_path):
    """The check can fail: an SMLAD that forgets the top halves."""
    broken = tmp_path / "broken.c"
    right = "return wrap32((int64_t)lo16(x) * lo16(y) + (int64_t)hi16(x) * hi16(y) + acc);"
    text = (HOSTRT / "arm_intrinsics.c").read_text()
    assert right in text
    broken.write_text(text.replace(right, "return wrap32((int64_t)lo16(x) * lo16(y) + acc);", 1))
    out = compile_and_run(tmp_path, [TESTS / "intrinsics_check.c", broken])
    assert counts(out)[1] > 0
    assert "__smlad(" in out and "__SMLAD(" in out and "__builtin_arm_smlad(" in out


def test_read_and_pad_style_helpers_and_a_generated_ror(tmp_path):
    out = compile_and_run(
        tmp_path, [TESTS / "read_and_pad_check.c", HOSTRT / "arm_intrinsics.c"], UBSAN
    )
    checked, failed = counts(out)
    assert failed == 0 and checked > 30_000, out


def test_cmsis_compiler_h_gives_a_kernel_library_its_macros(tmp_path):
    """A kernel library that includes <cmsis_compiler.h> on the host gets the attribute macros,
    a compiler barrier and unaligned reads, whichever cmsis_compiler.h it reaches first."""
    main = tmp_path / "main.c"
    main.write_text(
        "#include <stdio.h>\n#include <cmsis_compiler.h>\n"
        "__STATIC_FORCEINLINE uint32_t twice(uint32_t x) { return 2u * x; }\n"
        "typedef __PACKED_STRUCT { uint8_t a; uint32_t b; } packed;\n"
        "int main(void) {\n"
        "  const uint8_t bytes[6] = {0, 1, 2, 3, 4, 5};\n"
        "  __COMPILER_BARRIER();\n"
        '  printf("%u %u %u\\n", (unsigned)twice(__UNALIGNED_UINT32_READ(bytes + 1)),\n'
        "         (unsigned)__UNALIGNED_UINT16_READ(bytes + 1), (unsigned)sizeof(packed));\n"
        "  return 0;\n}\n"
    )
    assert compile_and_run(tmp_path, [main], UBSAN).split() == [str(2 * 0x04030201), "513", "5"]


def test_host_cmsis_nn_kernels_reject_a_small_context(tmp_path):
    """Scratch matters: the host depthwise kernel refuses a buffer one byte too small."""
    main = tmp_path / "main.c"
    main.write_text(
        "#include <arm_nnfunctions.h>\n#include <stdio.h>\n"
        "static int8_t in[400], out[400], f[144];\n"
        "static int32_t b[16], m[16], s[16];\n"
        "static int16_t buf[144];\n"
        "int main(void) {\n"
        "  for (int i = 0; i < 16; ++i) { m[i] = 1 << 30; s[i] = 0; }\n"
        "  cmsis_nn_dw_conv_params p = {0, 0, 1, {1, 1}, {1, 1}, {1, 1}, {-128, 127}};\n"
        "  cmsis_nn_per_channel_quant_params q = {m, s};\n"
        "  cmsis_nn_dims id = {1, 5, 5, 16}, fd = {1, 3, 3, 16};\n"
        "  cmsis_nn_dims bd = {1, 1, 1, 16}, od = {1, 5, 5, 16};\n"
        "  cmsis_nn_context small = {buf, 287}, ok = {buf, 288};\n"
        "  int r1 = arm_depthwise_conv_wrapper_s8(&small, &p, &q, &id, in, &fd, f, &bd, b,\n"
        "                                         &od, out);\n"
        "  int r2 = arm_depthwise_conv_wrapper_s8(&ok, &p, &q, &id, in, &fd, f, &bd, b,\n"
        "                                         &od, out);\n"
        '  printf("%d %d\\n", r1, r2);\n'
        "  return 0;\n}\n"
    )
    out = compile_and_run(tmp_path, [main, HOSTRT / "cmsis_nn_host.c"])
    assert out.split() == ["-1", "0"]


FILL_CHECK = r"""
#include <stdint.h>
#include <stdio.h>
#include "crewrite_shim.h"
#include <tvm/runtime/c_backend_api.h>
int main(void) {
  static uint8_t pool[4096];
  shim_workspace_init(pool, sizeof(pool));
  for (int k = 0; k < 3; ++k) {
    uint8_t* p = (uint8_t*)TVMBackendAllocWorkspace(1, 0, 40, 0, 8);
    printf("%02x%02x ", p[0], p[39]);
    TVMBackendFreeWorkspace(1, 0, p);
  }
  return 0;
}
"""


def test_fill_seeds_pair_up_into_complementary_bytes(tmp_path):
    """Verify runs the original under fills 1 and 2: every byte the model never writes holds
    complementary values in those two runs (a value read from there cannot saturate to the
    same output twice), and another pair fills otherwise."""
    source = tmp_path / "fill.c"
    source.write_text(FILL_CHECK)
    exe = tmp_path / "check"
    subprocess.run(
        [
            find_compiler(None),
            "-std=gnu11",
            f"-I{HOSTRT_INCLUDE}",
            f"-I{FAKE_LIBC / 'tvm'}",
            str(source),
            str(HOSTRT / "crewrite_shim.c"),
            "-o",
            str(exe),
        ],
        check=True,
    )

    def bytes_for(seed: int) -> list[int]:
        env = {"CREWRITE_FILL_SEED": str(seed)}
        out = subprocess.run([str(exe)], capture_output=True, text=True, env=env, check=True)
        return [int(word[i : i + 2], 16) for word in out.stdout.split() for i in (0, 2)]

    one, two, three = bytes_for(1), bytes_for(2), bytes_for(3)
    assert all(a == b for a, b in zip(one[::2], one[1::2], strict=True))  # one byte a call
    assert len(set(one[::2])) == 3  # and another for each call
    assert [a ^ b for a, b in zip(one, two, strict=True)] == [0xFF] * 6
    assert three != one and three != two
