"""Issue 4's proof, independent of the packer: a build that overwrites every buffer's bytes
where the analysis says they are dead must still compute the original outputs (crewrite
verify proves it), and the same build poisoning one program point too early must not."""

from __future__ import annotations

from pathlib import Path

import pytest

from crewrite.output import write_copy
from crewrite.pipeline import Options, rewrite_project
from crewrite.project import load_project
from crewrite.verify import VerifyOptions, verify

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
pytestmark = pytest.mark.e2e
# vww_kernels: a function the clock steps through comes before the arena's declaration
# point; the poison build once used the clock there before declaring it (issue 12).
CHECKED = [
    "kws_native",
    "cmsis_kws",
    "two_modules",
    "vww_big",
    "vww_kernels",
    "kws_edges",
    "ic_residual",
]
OPTIONS = VerifyOptions(runs=1, first_seed=5)


def poisoned(name: str, shift: int, tmp: Path) -> Path:
    project = load_project([FIXTURES / name])
    try:
        result = rewrite_project(project, Options(poison_shift=shift))
        write_copy(project, result.new_texts, tmp / "src")
    finally:
        project.close()
    return tmp / "src"


@pytest.mark.parametrize("name", CHECKED)
def test_poisoning_dead_bytes_keeps_outputs(name, tmp_path, original_builds):
    build = original_builds[name]
    exact = verify(
        FIXTURES / name, poisoned(name, 0, tmp_path / "exact"), OPTIONS, original_build=build
    )
    assert exact.ok, exact.text()
    # Negative control: one point too early destroys bytes that are still to be read.
    early = verify(
        FIXTURES / name, poisoned(name, -1, tmp_path / "early"), OPTIONS, original_build=build
    )
    assert early.layout.ok and early.difference is not None, early.text()
