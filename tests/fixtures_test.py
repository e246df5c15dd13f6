"""The committed fixtures are what tools/gen_fixtures.py writes, and they behave: they build
with the host shim, read no scratch byte before writing it, depend on their input, and use
exactly the workspace their module headers declare."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import host_build  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))
from fixturegen.project import SPECS, build_fixture, expected_facts, write_fixture  # noqa: E402

FIXTURES = REPO / "fixtures"
NAMES = list(SPECS)
WORKSPACE_NAMES = [n for n in NAMES if not SPECS[n].get("usmp")]
USMP_NAMES = [n for n in NAMES if SPECS[n].get("usmp")]
ALLOC = "TVMBackendAllocWorkspace("
FREE = "TVMBackendFreeWorkspace("
SIZE_RE = re.compile(r"#define TVMGEN_(\w+)_WORKSPACE_SIZE (\d+)")


@pytest.fixture(scope="module")
def generated() -> dict:
    return {n: build_fixture(n) for n in NAMES}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("fixture_builds")
    return {n: host_build.build(FIXTURES / n, out / n) for n in NAMES}


def model_sources(name: str) -> list[Path]:
    return sorted((FIXTURES / name / "model" / "codegen" / "host" / "src").rglob("*.c"))


def header_sizes(name: str) -> dict[str, int]:
    sizes = {}
    for h in (FIXTURES / name / "model" / "codegen" / "host" / "include").glob("tvmgen_*.h"):
        m = SIZE_RE.search(h.read_text())
        assert m, h
        sizes[m.group(1).lower()] = int(m.group(2))
    return sizes


@pytest.mark.parametrize("name", NAMES)
def test_regenerating_gives_identical_bytes(name, generated, tmp_path):
    write_fixture(generated[name], tmp_path)
    fresh = {p.relative_to(tmp_path / name): p for p in (tmp_path / name).rglob("*") if p.is_file()}
    committed = {
        p.relative_to(FIXTURES / name): p for p in (FIXTURES / name).rglob("*") if p.is_file()
    }
    assert sorted(map(str, fresh)) == sorted(map(str, committed))
    for rel, p in fresh.items():
        assert p.read_bytes() == committed[rel].read_bytes(), (
            f"{name}/{rel} differs; rerun tools/gen_fixtures.py"
        )


def test_expected_facts_are_current(generated):
    assert (FIXTURES / "EXPECTED.json").read_text() == expected_facts([generated[n] for n in NAMES])


@pytest.mark.parametrize("name", NAMES)
def test_cmake_workspace_is_headers_plus_overhead(name):
    assert (
        host_build.cmake_workspace_size(FIXTURES / name) == sum(header_sizes(name).values()) + 512
    )


@pytest.mark.e2e
@pytest.mark.parametrize("name", WORKSPACE_NAMES)
def test_runs_deterministically_and_uses_declared_workspace(name, built, generated):
    exe = built[name]
    a = host_build.run(exe, seed=1, fill_seed=1)
    b = host_build.run(exe, seed=1, fill_seed=977)
    c = host_build.run(exe, seed=2, fill_seed=1)
    assert a.stdout, "no output printed"
    assert a.stdout == b.stdout, (
        "output depends on scratch contents: a buffer is read before written"
    )
    assert a.stdout != c.stdout, "output does not depend on the input"
    assert a.peak == b.peak == sum(header_sizes(name).values())
    assert a.calls == sum(m.alloc_calls for m in generated[name].modules)
    # every output tensor is printed and not constant
    lines = a.stdout.decode().splitlines()
    for m in generated[name].modules:
        for out, _, _ in m.outputs:
            assert any(line.startswith(f"{m.mod}.{out} ") for line in lines)


@pytest.mark.parametrize("name", WORKSPACE_NAMES)
def test_workspace_sites_match_spec(name, generated):
    text = "".join(p.read_text() for p in model_sources(name))
    fx = generated[name]
    assert text.count(ALLOC) == fx.sites
    assert text.count(FREE) == fx.sites
    for m in fx.modules:
        assert header_sizes(name)[m.mod] == m.workspace_size


def test_kws_native_is_the_bundled_example_at_scale(generated):
    fx = generated["kws_native"]
    lib1 = FIXTURES / "kws_native" / "model" / "codegen" / "host" / "src" / "default_lib1.c"
    assert fx.sites >= 25
    assert lib1.stat().st_size > 300_000
    assert 10_000 < fx.modules[0].workspace_size < 160_000


def test_vww_big_is_weight_heavy():
    lib1 = FIXTURES / "vww_big" / "model" / "codegen" / "host" / "src" / "vww_lib1.c"
    text = lib1.read_text()
    assert 2_500_000 < len(text) < 3_500_000
    weights = sum(len(m.group(0)) for m in re.finditer(r"= \{\n.*?\n\};", text, re.S))
    assert weights > 2_000_000
    assert (FIXTURES / "vww_big" / "include" / "tvmgen_vww.h").read_bytes() == (
        FIXTURES / "vww_big" / "model" / "codegen" / "host" / "include" / "tvmgen_vww.h"
    ).read_bytes()


def test_cmsis_kws_context_buffers():
    lib2 = (
        FIXTURES / "cmsis_kws" / "model" / "codegen" / "host" / "src" / "default_lib2.c"
    ).read_text()
    assert re.search(r"cmsis_nn_context context= \{context_buffer_\d+,\d+\};", lib2)
    assert "cmsis_nn_context context= {NULL,0};" in lib2
    assert ALLOC in lib2


@pytest.mark.e2e
@pytest.mark.parametrize("name", USMP_NAMES)
def test_usmp_fixture_is_static(name, built):
    for p in model_sources(name):
        assert ALLOC not in p.read_text() and FREE not in p.read_text()
    lib0 = (FIXTURES / name / "model" / "codegen" / "host" / "src" / "default_lib0.c").read_text()
    pool = int(re.search(r"static uint8_t global_workspace\[(\d+)\];", lib0).group(1))
    assert pool == sum(header_sizes(name).values())
    a = host_build.run(built[name], seed=1, fill_seed=1)
    b = host_build.run(built[name], seed=2, fill_seed=5)
    assert a.calls == 0 and a.peak == 0
    assert a.stdout != b.stdout


@pytest.mark.e2e
def test_shim_rejects_small_cmsis_context(tmp_path):
    """The host CMSIS-NN kernels refuse a scratch buffer smaller than they need."""
    proj = tmp_path / "p"
    (proj / "src").mkdir(parents=True)
    (proj / "src" / "main.c").write_text(
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
        '  fprintf(stderr, "workspace_peak=0 workspace_calls=0\\n");\n'
        '  printf("%d %d\\n", r1, r2);\n'
        "  return 0;\n}\n"
    )
    cmake = "target_compile_definitions(app PUBLIC -DWORKSPACE_SIZE=0)\n"
    (proj / "CMakeLists.txt").write_text(cmake)
    exe = host_build.build(proj, tmp_path / "out")
    assert host_build.run(exe, 0).stdout.split() == [b"-1", b"0"]
