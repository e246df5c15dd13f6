"""Issue 4's proof, independent of the packer: a build that overwrites every buffer's bytes
where the analysis says they are dead must still compute the original outputs, and the same
build poisoning one program point too early must not."""

from __future__ import annotations

from pathlib import Path

import pytest

import host_build
from crewrite.output import write_copy
from crewrite.pipeline import Options, rewrite_project
from crewrite.project import load_project

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
pytestmark = pytest.mark.e2e
CHECKED = ["kws_native", "cmsis_kws", "two_modules", "vww_big"]


def poisoned_output(name: str, shift: int, tmp: Path) -> bytes:
    project = load_project([FIXTURES / name])
    result = rewrite_project(project, Options(poison_shift=shift))
    write_copy(project, result.new_texts, tmp / "src")
    return host_build.run(host_build.build(tmp / "src", tmp / "bin"), 5).stdout


@pytest.mark.parametrize("name", CHECKED)
def test_poisoning_dead_bytes_keeps_outputs(name, tmp_path):
    original = host_build.run(host_build.build(FIXTURES / name, tmp_path / "orig"), 5).stdout
    assert poisoned_output(name, 0, tmp_path / "exact") == original
    # Negative control: one point too early destroys bytes that are still to be read.
    assert poisoned_output(name, -1, tmp_path / "early") != original
