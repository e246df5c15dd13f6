"""The planner against the shared benchmark instances and their published numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from crewrite.packing import load_instance, lower_bound, plan

DATA = Path(__file__).resolve().parents[2] / "shared/benchmarks/dsa"

# From the table in shared/benchmarks/dsa/README.md: lower bound, greedy by size, greedy with
# TFLM's ties.
README = {
    "ad01_int8": (768, 768, 768),
    "kws_ref_model": (16_000, 16_000, 16_000),
    "kws_ref_model_float32": (64_000, 64_000, 64_000),
    "pretrainedResnet_quant": (49_152, 49_152, 49_152),
    "synth_200": (88_240, 97_456, 97_456),
    "synth_2000": (110_016, 112_320, 115_136),
    "vww_96_float": (221_184, 258_048, 294_912),
    "vww_96_int8": (55_296, 64_512, 73_728),
}
MODELS = [
    "ad01_int8",
    "kws_ref_model",
    "kws_ref_model_float32",
    "pretrainedResnet_quant",
    "vww_96_float",
    "vww_96_int8",
]


@pytest.fixture(scope="module")
def data() -> Path:
    if not DATA.is_dir():
        pytest.skip(f"benchmark folder {DATA} is absent")
    return DATA


@pytest.mark.parametrize("name", sorted(README))
def test_greedy_matches_readme(data: Path, name: str) -> None:
    problem = load_instance(data / f"{name}.json")
    bound, by_size, tflm = README[name]
    assert lower_bound(problem) == bound
    assert plan(problem, "greedy-size").arena_bytes == by_size
    assert plan(problem, "greedy-size-tflm").arena_bytes == tflm


@pytest.mark.parametrize("name", [*MODELS, "synth_200", "synth_2000"])
def test_auto_reaches_the_bound(data: Path, name: str) -> None:
    problem = load_instance(data / f"{name}.json")
    result = plan(problem, time_limit=10)
    assert result.arena_bytes == README[name][0] == result.lower_bound_bytes
    assert result.optimal


@pytest.mark.parametrize("name", ["vww_96_int8", "synth_200"])
def test_cpsat_reaches_the_bound(data: Path, name: str) -> None:
    result = plan(load_instance(data / f"{name}.json"), "cpsat", time_limit=10)
    assert result.arena_bytes == README[name][0] and result.optimal


HARD = DATA.parent / "dsa-hard"


@pytest.mark.parametrize("name", ["perfect_s1_0_100", "perfect_s1_3_100"])
def test_auto_solves_small_planted_perfect_packings(name: str) -> None:
    # Each takes well under a second; the larger ones are measured by tools/bench_packing.py.
    if not HARD.is_dir():
        pytest.skip(f"benchmark folder {HARD} is absent")
    problem = load_instance(HARD / f"{name}.json")
    result = plan(problem, time_limit=20)
    assert result.arena_bytes == 1 << 20 == result.lower_bound_bytes and result.optimal
    fit = plan(problem, time_limit=20, capacity=1 << 20)
    assert fit.status == "fits"
