"""The proof of a rewrite: original and rewritten projects built with gcc against our runtime
shim, run on the same seeded inputs, outputs compared byte for byte."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import host_build
from crewrite.cli import main
from layout_check import emitted_offsets, overlapping_pairs

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
pytestmark = pytest.mark.e2e
WORKSPACE_FIXTURES = ["kws_native", "cmsis_kws", "two_modules", "vww_big"]
SEEDS = (1, 7)


@pytest.fixture(scope="session")
def original_runs(tmp_path_factory):
    """Outputs of every original fixture, built once per session."""
    runs = {}
    for name in WORKSPACE_FIXTURES:
        exe = host_build.build(FIXTURES / name, tmp_path_factory.mktemp(f"orig_{name}"))
        runs[name] = {seed: host_build.run(exe, seed) for seed in SEEDS}
    return runs


@pytest.fixture(scope="session")
def rewritten(tmp_path_factory):
    """Each fixture rewritten once per session through the CLI: (folder, report)."""
    done = {}
    for name in WORKSPACE_FIXTURES:
        base = tmp_path_factory.mktemp(f"rw_{name}")
        report = base / "report.json"
        code = main(
            [
                "rewrite",
                str(FIXTURES / name),
                "--out",
                str(base / "out"),
                "--report-json",
                str(report),
                "-q",
            ]
        )
        assert code == 0
        done[name] = (base / "out", json.loads(report.read_text()))
    return done


def sources(folder: Path) -> list[Path]:
    return sorted((folder / "model" / "codegen" / "host" / "src").glob("*.c"))


@pytest.mark.parametrize("name", WORKSPACE_FIXTURES)
def test_rewritten_outputs_are_byte_equal(name, original_runs, rewritten, tmp_path):
    out, report = rewritten[name]
    exe = host_build.build(out, tmp_path)
    for seed in SEEDS:
        for fill in (1, 2):
            run = host_build.run(exe, seed, fill_seed=fill)
            assert run.stdout == original_runs[name][seed].stdout
            assert run.calls == 0 and run.peak == 0
    assert original_runs[name][1].calls > 0


@pytest.mark.parametrize("name", WORKSPACE_FIXTURES)
def test_no_workspace_call_remains_and_arena_never_larger(name, rewritten):
    out, report = rewritten[name]
    for path in sources(out):
        assert "TVMBackendAllocWorkspace(" not in path.read_text()
        assert "TVMBackendFreeWorkspace(" not in path.read_text()
    for module in report["modules"]:
        # The peak the report names holds exactly the lower bound's bytes.
        peak = set(module["peak"]["buffers"])
        rounded = {
            f"{b['function']}:{b['variable']}" + (f"#{b['range']}" if b["ranges"] > 1 else ""): -(
                -b["size"] // module["alignment"]
            )
            * module["alignment"]
            for b in module["buffers"]
        }
        assert sum(rounded[b] for b in peak) == module["lower_bound_bytes"]
        assert module["arena_bytes"] <= module["original_workspace_bytes"]
        assert module["remaining_workspace_bytes"] == 0
        assert module["lower_bound_bytes"] <= module["arena_bytes"]
        header = next(out.rglob(f"tvmgen_{module['module']}.h")).read_text()
        assert re.search(rf"TVMGEN_{module['module'].upper()}_WORKSPACE_SIZE 0\b", header)


@pytest.mark.parametrize("name", WORKSPACE_FIXTURES)
def test_emitted_offsets_never_overlap_while_live(name, rewritten):
    out, report = rewritten[name]
    assert overlapping_pairs(report, sources(out)) == []
    emitted = emitted_offsets(sources(out))
    assert sum(len(v) for v in emitted.values()) == len(report["buffers"])


def test_saving_is_real_on_the_bundled_example(rewritten):
    _, report = rewritten["kws_native"]
    assert report["saved_bytes"] > 0.15 * report["original_workspace_bytes"]
    cmake = (rewritten["kws_native"][0] / "CMakeLists.txt").read_text()
    assert f"-DWORKSPACE_SIZE={512}" in cmake


def test_wrong_offsets_are_caught_by_both_checks(rewritten, original_runs, tmp_path):
    """Negative control: squash every buffer onto offset 0; the overlap check and the byte
    comparison must both fail."""
    out, report = rewritten["kws_native"]
    broken = tmp_path / "broken"
    import shutil

    shutil.copytree(out, broken)
    for path in sources(broken):
        text = re.sub(r"(crewrite_arena)\[(\d+)\]\)", r"\1[0])", path.read_text())
        path.write_text(text)
    assert overlapping_pairs(report, sources(broken))
    exe = host_build.build(broken, tmp_path / "bin")
    assert host_build.run(exe, SEEDS[0]).stdout != original_runs["kws_native"][SEEDS[0]].stdout
