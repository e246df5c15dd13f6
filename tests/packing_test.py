"""Unit tests of the offset planner on hand-made instances, the verifier and the CLI."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest

from crewrite.packing import (
    PLANNERS,
    Buffer,
    InstanceError,
    PlanError,
    Problem,
    check_plan,
    cli,
    load_instance,
    lower_bound,
    plan,
)
from crewrite.packing.registry import Outcome, register

ALL = sorted(PLANNERS)


def interval(bid: str, size: int, start: int, end: int, alignment: int = 1) -> Buffer:
    return Buffer(bid, size, ((start, end),), alignment)


# A chain where greedy by size is not optimal (VWW's shape in miniature): the big input
# (live at 0) goes to 0 first and pushes both 2-unit activations above it.
TRAP = Problem(
    (
        interval("in", 48, 0, 0),
        interval("big", 64, 2, 3),
        interval("a", 32, 0, 1),
        interval("b", 32, 1, 2),
    ),
    alignment=16,
)


def test_registry_has_the_required_planners() -> None:
    for name in ("auto", "greedy-size", "greedy-size-tflm", "greedy-conflicts", "search", "cpsat"):
        assert name in PLANNERS


def test_trap_greedy_misses_and_auto_reaches_the_bound() -> None:
    assert lower_bound(TRAP) == 96
    assert plan(TRAP, "greedy-size").arena_bytes == 112
    result = plan(TRAP)
    assert result.arena_bytes == 96 and result.optimal and result.planner == "auto"
    assert plan(TRAP, "cpsat", time_limit=5).arena_bytes == 96


@pytest.mark.parametrize("planner", ALL)
def test_empty_problem(planner: str) -> None:
    result = plan(Problem(()), planner)
    assert result.arena_bytes == 0 and result.lower_bound_bytes == 0 and result.optimal
    assert dict(result.offsets) == {}


@pytest.mark.parametrize("planner", ALL)
def test_zero_size_buffers_sit_at_zero(planner: str) -> None:
    problem = Problem((interval("z", 0, 0, 5), interval("a", 5, 0, 5), interval("y", 0, 2, 2)))
    result = plan(problem, planner, time_limit=2)
    assert result.offsets["z"] == 0 and result.offsets["y"] == 0
    assert result.arena_bytes == 16
    assert plan(Problem((interval("z", 0, 0, 1),)), planner).arena_bytes == 0


@pytest.mark.parametrize("planner", ALL)
def test_alignment_rounds_sizes_and_offsets(planner: str) -> None:
    problem = Problem(
        (interval("a", 10, 0, 1), interval("b", 70, 1, 2, alignment=64), interval("c", 1, 2, 3)),
        alignment=16,
    )
    assert lower_bound(problem) == 16 + 128  # b rounds to 128 (lcm of 16 and 64)
    result = plan(problem, planner, time_limit=2)
    assert result.offsets["b"] % 64 == 0
    assert all(off % 16 == 0 for off in result.offsets.values())
    assert result.arena_bytes >= 144


@pytest.mark.parametrize("planner", ALL)
def test_multi_window_buffer(planner: str) -> None:
    # x is live at 0 and 4 only, so y (1..3) can share its bytes; z (3..4) cannot.
    problem = Problem(
        (
            Buffer("x", 32, ((0, 0), (4, 4))),
            interval("y", 32, 1, 3),
            interval("z", 16, 3, 4),
        ),
        alignment=16,
    )
    assert lower_bound(problem) == 48
    result = plan(problem, planner, time_limit=2)
    assert result.arena_bytes == 48
    off = result.offsets
    assert off["z"] >= off["x"] + 32 or off["x"] >= off["z"] + 16


def test_multi_window_counts_at_every_live_point() -> None:
    problem = Problem((Buffer("x", 16, ((0, 0), (5, 6))), interval("y", 32, 6, 6)), alignment=16)
    assert lower_bound(problem) == 48


@pytest.mark.parametrize("planner", ALL)
def test_extra_conflicts_separate_disjoint_lifetimes(planner: str) -> None:
    problem = Problem(
        (interval("a", 16, 0, 0), interval("b", 32, 5, 5), interval("c", 48, 9, 9)),
        alignment=16,
        extra_conflicts=(("a", "b"), ("b", "c"), ("a", "c")),
    )
    assert lower_bound(problem) == 96  # the explicit triangle is a clique
    result = plan(problem, planner, time_limit=2)
    assert result.arena_bytes == 96 and result.optimal


def test_extra_edge_bound_is_at_least_the_pair() -> None:
    problem = Problem(
        (interval("a", 16, 0, 0), interval("b", 64, 5, 5)), extra_conflicts=(("a", "b"),)
    )
    assert lower_bound(problem) == 80


def test_single_buffer_bounds_the_arena() -> None:
    assert lower_bound(Problem((interval("a", 100, 0, 0),), alignment=16)) == 112


def test_verifier_rejects_overlap_misalignment_and_missing() -> None:
    check_plan(TRAP, {"in": 32, "big": 0, "a": 0, "b": 64})
    with pytest.raises(PlanError, match="overlap"):
        check_plan(TRAP, {"in": 0, "big": 0, "a": 32, "b": 64})  # in and a at point 0
    with pytest.raises(PlanError, match="multiple of 16"):
        check_plan(TRAP, {"in": 40, "big": 0, "a": 0, "b": 64})
    with pytest.raises(PlanError, match="missing"):
        check_plan(TRAP, {"in": 32, "big": 0, "a": 0})
    extra = Problem(
        (interval("a", 16, 0, 0), interval("b", 16, 3, 3)), extra_conflicts=(("a", "b"),)
    )
    with pytest.raises(PlanError, match="overlap"):
        check_plan(extra, {"a": 0, "b": 0})


def test_plan_raises_on_a_bad_planner() -> None:
    @register("test-broken")
    def broken(request):  # type: ignore[no-untyped-def]
        return Outcome([0] * request.graph.n)

    try:
        with pytest.raises(PlanError):
            plan(TRAP, "test-broken")
    finally:
        del PLANNERS["test-broken"]


def test_unknown_planner() -> None:
    with pytest.raises(ValueError, match="unknown planner"):
        plan(TRAP, "nope")


def test_invalid_problems() -> None:
    with pytest.raises(ValueError, match="ends before"):
        plan(Problem((interval("a", 1, 3, 2),)))
    with pytest.raises(ValueError, match="non-negative"):
        plan(Problem((interval("a", -1, 0, 2),)))
    with pytest.raises(ValueError, match="duplicate"):
        plan(Problem((interval("a", 1, 0, 2), interval("a", 1, 0, 2))))


def test_plan_reports_evidence() -> None:
    result = plan(TRAP, "greedy-size")
    assert result.lower_bound_bytes == 96 and result.gap_bytes == 16
    assert not result.optimal and result.planner == "greedy-size" and result.seconds >= 0


# ---- instance files and CLI ----------------------------------------------------------


def _run(
    tmp_path: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="crewrite")
    cli.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code = cli.run(args)
    out, err = capsys.readouterr()
    return code, out, err


def _write(tmp_path: Path, data: object, name: str = "inst.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


GENERAL = {
    "alignment": 16,
    "buffers": [
        {"id": "x", "size": 32, "windows": [[0, 0], [4, 4]]},
        {"id": "y", "size": 32, "windows": [[1, 3]], "alignment": 32},
        {"id": 7, "size": 16, "start": 3, "end": 4},
    ],
    "conflicts": [["x", "y"]],
}


def test_load_general_format(tmp_path: Path) -> None:
    problem = load_instance(_write(tmp_path, GENERAL))
    assert [b.id for b in problem.buffers] == ["x", "y", "7"]
    assert problem.buffers[0].windows == ((0, 0), (4, 4))
    assert problem.buffers[1].alignment == 32
    assert problem.extra_conflicts == (("x", "y"),)
    assert lower_bound(problem) == 80


def test_cli_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(tmp_path, ["pack", str(_write(tmp_path, GENERAL)), "--json"], capsys)
    assert code == 0 and err == ""
    data = json.loads(out)
    assert data["arena_bytes"] == 80 and data["lower_bound_bytes"] == 80 and data["optimal"]
    assert data["planner"] == "auto" and isinstance(data["seconds"], float)
    assert set(data["offsets"]) == {"x", "y", "7"}


def test_cli_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["pack", str(_write(tmp_path, GENERAL)), "--planner", "greedy-size", "--seed", "3"]
    code, out, _ = _run(tmp_path, argv, capsys)
    assert code == 0
    assert "arena:" in out and "lower bound:" in out and "gap" in out and "greedy-size" in out
    assert "offset" in out


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "invalid JSON"),
        ({"buffers": [{"id": "a", "size": -4, "start": 0, "end": 1}]}, "non-negative"),
        ({"buffers": [{"id": "a", "size": 4, "start": 3, "end": 1}]}, "ends before"),
        ({"buffers": [{"id": "a", "size": 4}]}, "windows"),
        (
            {"buffers": [{"id": "a", "size": 4, "windows": [[0, 1]]}], "conflicts": [["a", "q"]]},
            "unknown",
        ),
        ([1, 2], "buffers"),
    ],
)
def test_cli_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: object, reason: str
) -> None:
    path = _write(tmp_path, content)
    code, out, err = _run(tmp_path, ["pack", str(path)], capsys)
    assert code == 1 and out == ""
    assert str(path) in err and reason in err and len(err.strip().splitlines()) == 1


def test_cli_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "absent.json"
    code, _, err = _run(tmp_path, ["pack", str(missing)], capsys)
    assert code == 1 and str(missing) in err and "cannot read" in err


def test_load_instance_errors_are_instance_errors(tmp_path: Path) -> None:
    with pytest.raises(InstanceError):
        load_instance(tmp_path / "absent.json")


@pytest.mark.parametrize("planner", ALL)
def test_buffers_conflicting_with_everything(planner: str) -> None:
    # "g" is live throughout, "u" conflicts with all by explicit edges only; local search
    # and CP-SAT stack such buffers at the bottom, which must keep every rule.
    problem = Problem(
        (
            interval("a", 48, 0, 0),
            interval("g", 16, 0, 3),
            interval("b", 32, 1, 2, alignment=32),
            interval("u", 16, 9, 9),
            interval("c", 64, 3, 3),
        ),
        alignment=16,
        extra_conflicts=(("u", "a"), ("u", "b"), ("u", "c"), ("u", "g")),
    )
    assert lower_bound(problem) == 96
    result = plan(problem, planner, time_limit=2)
    assert result.arena_bytes >= 96 and result.offsets["b"] % 32 == 0
    if planner in ("auto", "cpsat", "search"):
        assert result.arena_bytes == 96


# ---- decision mode and MiniMalloc CSV ----------------------------------------------------


def test_plan_with_capacity_reports_fits_impossible_and_not_found() -> None:
    assert plan(TRAP, capacity=96).status == "fits"
    assert plan(TRAP, capacity=100).arena_bytes <= 100
    impossible = plan(TRAP, capacity=80)
    assert impossible.status == "impossible" and impossible.proven_impossible
    # No time for any search: greedy misses 96, nothing is proved.
    assert plan(TRAP, time_limit=0, capacity=96).status == "not_found"
    assert plan(TRAP, "greedy-size", capacity=96).status == "not_found"
    assert plan(TRAP, "greedy-size", capacity=95).status == "impossible"  # below the bound
    assert plan(TRAP).status == "optimal" and plan(TRAP, "greedy-size").status == "feasible"
    with pytest.raises(ValueError, match="capacity"):
        plan(TRAP, capacity=-1)


def test_cli_capacity_fits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["pack", str(_write(tmp_path, GENERAL)), "--capacity", "80", "--json"]
    code, out, err = _run(tmp_path, argv, capsys)
    data = json.loads(out)
    assert code == 0 and err == ""
    assert data["status"] == "fits" and data["capacity_bytes"] == 80 and data["offsets"]
    code, out, _ = _run(tmp_path, argv[:-1], capsys)
    assert code == 0 and "80 bytes: fits" in out


def test_cli_capacity_proven_impossible(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, GENERAL)
    code, out, err = _run(tmp_path, ["pack", str(path), "--capacity", "64"], capsys)
    assert code == 1 and out == ""
    assert "no plan fits in 64 bytes: proven impossible" in err and str(path) in err
    code, out, err = _run(tmp_path, ["pack", str(path), "--capacity", "64", "--json"], capsys)
    assert code == 1 and json.loads(out)["status"] == "impossible"
    assert json.loads(out)["offsets"] is None


def test_cli_capacity_not_found(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trap = {
        "alignment": 16,
        "buffers": [
            {"id": b.id, "size": b.size, "start": b.windows[0][0], "end": b.windows[0][1]}
            for b in TRAP.buffers
        ],
    }
    argv = ["pack", str(_write(tmp_path, trap)), "--capacity", "96", "--time-limit", "0"]
    code, out, err = _run(tmp_path, argv, capsys)
    assert code == 1 and "not found within the time limit" in err
    code, out, _ = _run(tmp_path, [*argv, "--json"], capsys)
    assert code == 1 and json.loads(out)["status"] == "not_found"


def test_cli_rejects_a_bad_capacity(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        _run(tmp_path, ["pack", str(_write(tmp_path, GENERAL)), "--capacity", "-5"], capsys)
    assert exc.value.code == 2


MINIMALLOC_CSV = "buffer,start,end,size\na,0,2,32\nb,2,4,32\nc,1,3,16\n"


def test_minimalloc_csv_lifetimes_are_half_open(tmp_path: Path) -> None:
    problem = load_instance(_write(tmp_path, MINIMALLOC_CSV, "x.48.csv"))
    assert problem.alignment == 1 and problem.name == "x.48"
    assert [b.windows for b in problem.buffers] == [((0, 1),), ((2, 3),), ((1, 2),)]
    assert lower_bound(problem) == 48  # a and b do not meet at 2
    result = plan(problem, capacity=48)
    assert result.status == "fits"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("", "empty CSV"),
        ("buffer,size\na,3\n", "lacks"),
        ("id,lower,upper,size\na,0,x,3\n", "line 2: not an integer"),
        ("id,lower,upper,size\na,3,3,3\n", "line 2: lifetime [3, 3) is empty"),
        ("id,lower,upper,size\na,0,1\n", "line 2: 3 fields"),
    ],
)
def test_bad_csv(tmp_path: Path, content: str, reason: str) -> None:
    path = _write(tmp_path, content, "bad.csv")
    with pytest.raises(InstanceError, match=re.escape(reason)) as exc:
        load_instance(path)
    assert str(path) in str(exc.value)
