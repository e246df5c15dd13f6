"""The committed fixtures are what tools/gen_fixtures.py writes, and they behave: they build
with crewrite's host runtime, read no scratch byte before writing it, depend on their input,
and use exactly the workspace their module headers declare."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from crewrite.errors import CrewriteError
from crewrite.frontend import parse_source
from crewrite.project import load_project
from crewrite.verify import host

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))
from fixturegen.project import SPECS, build_fixture, expected_facts, write_fixture  # noqa: E402

FIXTURES = REPO / "fixtures"
NAMES = list(SPECS)
# Board projects build with crewrite verify's host build; Model Library Format folders (graph
# executor) have no AOT entry: tests/real_shapes_test.py drives them (helpers/graph_driver.py).
HOST_NAMES = [n for n in NAMES if SPECS[n].get("layout") != "mlf"]
WORKSPACE_NAMES = [n for n in HOST_NAMES if not SPECS[n].get("usmp")]
USMP_NAMES = [n for n in NAMES if SPECS[n].get("usmp")]
CMAKE_SIZED = [n for n in HOST_NAMES if SPECS[n].get("app") != "header_sized"]
ALLOC = "TVMBackendAllocWorkspace("
FREE = "TVMBackendFreeWorkspace("
SIZE_RE = re.compile(r"#define TVMGEN_(\w+)_WORKSPACE_SIZE (\d+)")


@pytest.fixture(scope="module")
def generated() -> dict:
    return {n: build_fixture(n) for n in NAMES}


def model_sources(name: str) -> list[Path]:
    return sorted((FIXTURES / name).rglob("codegen/host/src/*.c"))


def unparsable(name: str) -> set[str]:
    """Files a fixture ships that crewrite's own headers cannot parse (on purpose)."""
    spec, mods = SPECS[name], list(SPECS[name]["modules"])
    out = set()
    if spec.get("lib0_pthread"):
        out |= {f"{m}_lib0.c" for m in mods}
    if spec.get("vendor_header"):
        out |= {f"{m}_lib1.c" for m in mods}
    return out


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


@pytest.mark.parametrize("name", CMAKE_SIZED)
def test_cmake_workspace_is_headers_plus_overhead(name):
    cmake = (FIXTURES / name / "CMakeLists.txt").read_text()
    (size,) = re.findall(r"-DWORKSPACE_SIZE=(\d+)", cmake)
    assert int(size) == sum(header_sizes(name).values()) + 512


@pytest.mark.e2e
@pytest.mark.parametrize("name", WORKSPACE_NAMES)
def test_runs_deterministically_and_uses_declared_workspace(name, original_builds, generated):
    build = original_builds[name].build
    a = host.run(build, [1], fill_seed=1)
    b = host.run(build, [1], fill_seed=977)
    c = host.run(build, [2], fill_seed=1)
    assert a.outputs == b.outputs, (
        "output depends on scratch contents: a buffer is read before written"
    )
    assert list(a.outputs.values()) != list(c.outputs.values()), "output does not depend on input"
    for m in generated[name].modules:
        peak, calls = a.stats[(1, m.mod)]
        assert peak == b.stats[(1, m.mod)][0] == header_sizes(name)[m.mod]
        assert calls == m.alloc_calls
        # every output tensor is written, and not constant
        for out, _, _ in m.outputs:
            assert a.outputs[(1, m.mod, out)] != c.outputs[(2, m.mod, out)]


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


POOL_RE = re.compile(r"static uint8_t global_workspace\[(\d+)\];")
POOL_DEFINE_RE = re.compile(r"#define TVMGEN_(\w+)_GLOBAL_WORKSPACE_WORKSPACE_POOL_SIZE (\d+)")


def pool_sizes(name: str) -> dict[str, int]:
    """Each module's USMP pool: defined in its lib0.c, or by the application from the
    module header's pool define."""
    sizes = {}
    for lib0 in (FIXTURES / name / "model" / "codegen" / "host" / "src").glob("*_lib0.c"):
        found = POOL_RE.search(lib0.read_text())
        if found:
            sizes[lib0.name[: -len("_lib0.c")]] = int(found.group(1))
    for h in (FIXTURES / name / "model" / "codegen" / "host" / "include").glob("tvmgen_*.h"):
        for m in POOL_DEFINE_RE.finditer(h.read_text()):
            sizes[m.group(1).lower()] = int(m.group(2))
    return sizes


@pytest.mark.e2e
@pytest.mark.parametrize("name", USMP_NAMES)
def test_usmp_fixture_is_static(name, original_builds):
    for p in model_sources(name):
        assert ALLOC not in p.read_text() and FREE not in p.read_text()
    assert pool_sizes(name) == header_sizes(name)
    a = host.run(original_builds[name].build, [1], fill_seed=1)
    b = host.run(original_builds[name].build, [2], fill_seed=5)
    assert set(a.stats.values()) == {(0, 0)}
    assert list(a.outputs.values()) != list(b.outputs.values())


def test_kws_edges_and_ic_residual_carry_the_shapes_byte_extents_are_for():
    """The shapes issue 15 is about, each where the generator says it put it."""
    src = FIXTURES / "kws_edges" / "model" / "codegen" / "host" / "src" / "default_lib1.c"
    edges = src.read_text()
    # the first conv: int32 sums kept in pad_temp's allocation after the padded input, and a
    # tiled requantisation whose last tile reads past `conv`, its store guarded
    assert "((int32_t*)pad_temp)[c] = 0;" in edges
    assert "for (int32_t ax0_outer = 0; ax0_outer < 11; ++ax0_outer)" in edges
    assert "if ((((ax0_outer * 768) + ax0_inner) < 8000)) {" in edges
    # a pointwise conv writing all rows but the last of its 125 x 64 output
    assert "for (int32_t ax0 = 0; ax0 < 124; ++ax0) {" in edges
    # the dense reading 64 bytes past its 64-byte input, from the sid's earlier tensor
    assert "for (int32_t ax1 = 0; ax1 < 128; ++ax1) {" in edges
    # ic_residual: sids sized for the largest tensor each carries (16x16x32 in sid_1), later
    # holding tensors down to 4x4x128 (the skip tensor held across the heaviest block)
    facts = json.loads((FIXTURES / "EXPECTED.json").read_text())["ic_residual"]["modules"]
    assert facts["default"]["sid_bytes"] == [8192, 4096, 2048]
    ic = "".join(p.read_text() for p in model_sources("ic_residual"))
    assert "((int32_t*)pad_temp)[c] = 0;" in ic


def test_usmp_offsets_are_greedy_by_size_above_every_conflict():
    """USMP's greedy by size: largest first, each above every conflicting buffer already
    placed, never in a gap below (c conflicts with b only and [0, 400) is free during its
    call, yet it goes above b)."""
    from fixturegen.usmp import PoolBuffer, greedy_by_size

    offsets, pool = greedy_by_size(
        [
            PoolBuffer("a", 100, frozenset({0, 1})),
            PoolBuffer("big", 400, frozenset({1, 2})),
            PoolBuffer("b", 50, frozenset({2, 3})),
            PoolBuffer("c", 20, frozenset({3})),
        ]
    )
    assert offsets == {"big": 0, "a": 400, "b": 400, "c": 464}
    assert pool == 512  # a: 400 + 112


@pytest.mark.parametrize("name", [n for n in NAMES if unparsable(n)])
def test_files_meant_not_to_parse_do_not(name):
    """The shapes of issue 12 that ship a file crewrite's headers cannot read (a hand-extended
    run wrapper, a vendor header): those files really do not parse, and the others do."""
    project = load_project([FIXTURES / name])

    def parse(rel: str):
        return parse_source(rel, project.path(rel), project.texts[rel], project.include_dirs, [])

    try:
        for rel in project.sources:
            if Path(rel).name in unparsable(name):
                with pytest.raises(CrewriteError, match="pthread"):
                    parse(rel)
            else:
                assert parse(rel).ast.ext, rel
    finally:
        project.close()
