"""Operators that write only part of their output, and readers of a reused sid's tail, in
the bundled keyword-spotting project: each mutant rewritten with the default liveness must
compute what the mutant computes (tools/write_mutants.py runs every one of them; here, one
of each kind that a rewrite trusting "an operator writes its whole output" gets wrong)."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))
import write_mutants  # noqa: E402

FIXTURE = REPO / "fixtures" / "kws_native"
PW = "tvmgen_default_fused_nn_conv2d_add_cast_multiply_add_right_shift_cast_add_clip_cast_clip"
DW = PW  # the depthwise conv, shared by four calls, has the bare name
CHOSEN = [
    f"{PW}_1: loop over ax0 stops at 124 of 125 (as generated)",
    f"{PW}_3: loop over ax1 unrolled by 4, copy 3 deleted (as generated)",
    f"{PW}_4: store 0 of T_cast only if first input byte odd (as generated)",
    "tvmgen_default_fused_nn_avg_pool2d_cast_multiply_right_shift_cast: store 0 of T_cast only "
    "if index % 7 != 3 (as generated)",
    "tvmgen_default_fused_reshape_nn_dense_add: also reads p0 up to the sid's 12000 bytes into "
    "T_matmul[0] (as generated)",
    f"{DW}: loop over ax1 unrolled by 2, copy 0 deleted (sids cleared)",
]


@pytest.fixture(scope="module")
def every_mutant() -> dict[str, write_mutants.Mutant]:
    found = write_mutants.mutants((FIXTURE / write_mutants.SOURCE).read_text())
    return {m.what: m for m in found}


def test_every_kind_has_mutants_in_both_variants(every_mutant):
    kinds = Counter(m.kind for m in every_mutant.values())
    assert set(kinds) == set(write_mutants.KINDS) and min(kinds.values()) >= 10
    assert len(every_mutant) == 212  # names are unique: no mutant made twice
    assert all(what in every_mutant for what in CHOSEN)


@pytest.mark.e2e
@pytest.mark.parametrize("what", CHOSEN)
def test_partial_writes_and_tail_reads_are_rewritten_correctly(every_mutant, what, tmp_path):
    outcome, detail = write_mutants.judge(FIXTURE, every_mutant[what], tmp_path / "case")
    assert outcome == "correct", detail
