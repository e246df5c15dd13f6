"""USMP-built fixtures re-planned through the CLI and proven with `crewrite verify`: every
pool below what USMP planned, no lower than the bound, outputs byte-equal on several seeds
(and, for pools the application provides, several workspace fills); the poison build proves
the lifetimes; negative controls make a slice one byte too small and expect the poison
build and verify to say so."""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from pathlib import Path

import pytest

import crewrite.pipeline
import crewrite.usmp
from crewrite.api import run
from crewrite.cli import main
from crewrite.errors import InternalError
from crewrite.pipeline import Options
from crewrite.verify import VerifyOptions, verify
from helpers.cases import TWO_USES, USMP_ENTRY
from helpers.projects import make_usmp_project

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
sys.path.insert(0, str(REPO / "tools"))
from fixturegen.project import SPECS  # noqa: E402

USMP_FIXTURES = [name for name, spec in SPECS.items() if spec.get("usmp")]  # every one generated
# usmp_vendor's NPU runtime header needs a pthread.h (crewrite's own headers have none): with
# it given, the source that slices the pool parses and the pool is re-planned.
INCLUDE = {"usmp_vendor": (Path(__file__).resolve().parent / "helpers" / "include",)}
OPTIONS = VerifyOptions(runs=3)
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def replanned(tmp_path_factory):
    """Each USMP fixture re-planned once per session through the CLI: (folder, report)."""
    done = {}
    for name in USMP_FIXTURES:
        base = tmp_path_factory.mktemp(f"usmp_{name}")
        report = base / "report.json"
        out = base / "out"
        include = [f"-I{folder}" for folder in INCLUDE.get(name, ())]
        assert main(["rewrite", str(FIXTURES / name), "--out", str(out), "--report-json",
                     str(report), "-q", *include]) == 0  # fmt: skip
        done[name] = (out, json.loads(report.read_text()))
    return done


@pytest.mark.parametrize("name", USMP_FIXTURES)
def test_every_usmp_fixture_is_replanned_below_its_pool_and_proven(
    name, replanned, original_builds
):
    out, report = replanned[name]
    expected = json.loads((FIXTURES / "EXPECTED.json").read_text())[name]["modules"]
    assert report["status"] == "rewritten"
    assert sorted(p["module"] for p in report["pools"]) == sorted(expected)
    for pool in report["pools"]:
        assert pool["usmp_pool_bytes"] == expected[pool["module"]]["workspace_size"]
        assert pool["lower_bound_bytes"] <= pool["arena_bytes"] < pool["usmp_pool_bytes"]
    if name in INCLUDE:  # read with the include folder, not as the session built it
        options = dataclasses.replace(OPTIONS, include_dirs=INCLUDE[name])
        verdict = verify(FIXTURES / name, out, options)
    else:
        verdict = verify(FIXTURES / name, out, OPTIONS, original_build=original_builds[name])
    assert verdict.ok, verdict.text()
    if name == "kws_usmp":  # conv2d's scratch holds the padded input, then the output
        split = [s for p in report["pools"] for s in p["slices"] if s["ranges"] == 2]
        assert {s["variable"] for s in split} == {"pad_temp_let"}
        assert split[0]["range_bytes"] < split[1]["range_bytes"]  # 696 B, then 12,000 B
    slices = sum(len(pool["slices"]) for pool in report["pools"])
    assert len(verdict.layout.placements) == slices and verdict.bytes_compared > 0
    assert main(["rewrite", str(out), "-q"]) == 0  # the re-planned pool is recognised


@pytest.mark.parametrize("name", ["kws_usmp", "two_modules_usmp"])
def test_the_poison_build_proves_the_lifetimes(name, original_builds, tmp_path):
    """Every pool byte no live slice owns is overwritten after every statement (a static pool
    with a constant pool beside it; pools the application provides, two modules)."""
    out = tmp_path / "poisoned"
    run(FIXTURES / name, out, options=Options(poison_shift=0))
    verdict = verify(FIXTURES / name, out, OPTIONS, original_build=original_builds[name])
    assert verdict.ok, verdict.text()
    assert any("_crewrite_step_" in p.read_text() for p in (out / "model").rglob("*_lib1.c"))


def shrunk(variable: str, function_part: str):
    """`PoolAnalysis.liveness` with the live ranges of one slice one byte too small."""
    live_of = crewrite.usmp.PoolAnalysis.liveness

    def wrong(self, pool, model="fine"):
        live = live_of(self, pool, model)
        buffers = [
            dataclasses.replace(b, size=b.size - 1)
            if b.site.variable == variable and function_part in b.site.function
            else b
            for b in live.buffers
        ]
        if buffers == list(live.buffers):
            raise AssertionError(f"no slice {variable} in a function named *{function_part}*")
        return dataclasses.replace(live, buffers=tuple(buffers))

    return wrong


def test_a_slice_one_byte_too_small_is_caught_by_the_poison_build(
    original_builds, tmp_path, monkeypatch
):
    """conv_let of the first pointwise convolution loses its last byte: its size still rounds
    to the same 16 bytes, so the plan is unchanged, but the poison build (exact sizes)
    overwrites that byte between the statement that writes it and the one that reads it."""
    name = "kws_usmp"
    monkeypatch.setattr(crewrite.usmp.PoolAnalysis, "liveness", shrunk("conv_let", "clip_1"))
    out = tmp_path / "poisoned"
    run(FIXTURES / name, out, options=Options(poison_shift=0))
    verdict = verify(FIXTURES / name, out, OPTIONS, original_build=original_builds[name])
    assert not verdict.ok and verdict.difference is not None, verdict.text()


# Two scratch slices live at once; `a` is 17 bytes: one byte too small, it rounds to 16 and
# the planner may put `b` right after its 16th byte, over its 17th.
ODD = """
TVM_DLL int32_t tvmgen_t_op(int8_t* p0, int8_t* T_out, uint8_t* global_workspace_2_var) {
  void* a_let = (&(global_workspace_2_var[0]));
  void* b_let = (&(global_workspace_2_var[32]));
  for (int32_t i = 0; i < 17; ++i) {
    ((int8_t*)a_let)[i] = (int8_t)(p0[i] + 1);
  }
  for (int32_t i = 0; i < 16; ++i) {
    ((int8_t*)b_let)[i] = (int8_t)(p0[(i + 17)] * 3);
  }
  for (int32_t i = 0; i < 16; ++i) {
    T_out[i] = (int8_t)(((int8_t*)a_let)[(i + 1)] + ((int8_t*)b_let)[i]);
  }
  return 0;
}
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x_buffer_var, int8_t* y_buffer_var, uint8_t* global_workspace_1_var) {
  if (tvmgen_t_op(x_buffer_var, y_buffer_var, global_workspace_1_var) != 0 ) return -1;
  return 0;
}
"""  # noqa: E501


def test_a_slice_one_byte_too_small_is_caught_by_verify(tmp_path, monkeypatch):
    original = make_usmp_project(tmp_path / "odd", ODD, pool=64, tensors=(33, 16))
    good = tmp_path / "good"
    run(original, good)
    assert verify(original, good, VerifyOptions(runs=2)).ok
    monkeypatch.setattr(crewrite.usmp.PoolAnalysis, "liveness", shrunk("a_let", "op"))
    bad = tmp_path / "bad"
    # the rewrite's own layout proof measures a_let's bytes from the extents: it refuses
    with pytest.raises(InternalError, match="a_let.*b_let|b_let.*a_let"):
        run(original, bad)
    monkeypatch.setattr(crewrite.pipeline, "_second_look", lambda *args: None)
    run(original, bad)
    monkeypatch.undo()  # verify sizes the slices itself
    verdict = verify(original, bad, VerifyOptions(runs=2))
    assert not verdict.ok
    assert any("a_let" in p and "b_let" in p for p in verdict.layout.problems), verdict.text()
    assert verdict.difference is not None  # b's first byte lands on a's last


def test_a_static_pool_fixture_copy_in_place_then_again(tmp_path):
    copy = tmp_path / "usmp"
    shutil.copytree(FIXTURES / "usmp_static", copy)
    assert main(["rewrite", str(copy), "-q"]) == 0
    lib0 = (copy / "model/codegen/host/src/default_lib0.c").read_text()
    assert "static uint8_t global_workspace[38048]" not in lib0
    assert main(["rewrite", str(copy), "-q", "--ok-if-rewritten"]) == 0


@pytest.mark.parametrize("poison", [None, 0], ids=["plain", "poisoned"])
def test_a_slice_split_into_its_two_uses_computes_the_same(tmp_path, poison):
    original = make_usmp_project(tmp_path / "two", TWO_USES + USMP_ENTRY, pool=512)
    out = tmp_path / "out"
    result = run(original, out, options=Options(poison_shift=poison))
    assert result.pools[0].arena_bytes == 272
    verdict = verify(original, out, VerifyOptions(runs=3))
    assert verdict.ok, verdict.text()


UNWRITTEN = """
TVM_DLL int32_t tvmgen_t_op(int8_t* p0, int8_t* T_out, uint8_t* global_workspace_2_var) {
  void* acc_let = (&(global_workspace_2_var[64]));
  for (int32_t i = 0; i < 63; ++i) {
    ((int8_t*)acc_let)[i] = p0[i];
  }
  for (int32_t i = 0; i < 64; ++i) {
    T_out[i] = ((int8_t*)acc_let)[i];
  }
  return 0;
}
"""


def test_verify_fills_a_static_pool_before_every_run(tmp_path):
    """The model reads the last byte of its slice without writing it: with the pool the
    generated code defines filled differently for each run of the original, verify finds
    the original's outputs depend on memory it never wrote."""
    original = make_usmp_project(tmp_path / "unwritten", UNWRITTEN + USMP_ENTRY, pool=512)
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    verdict = verify(original, copy, VerifyOptions(runs=2))
    assert not verdict.ok and verdict.unstable is not None, verdict.text()
    assert verdict.unstable.offset == 63
