"""The fixture oracle, fixtures/EXPECTED.json (what the generator knows it wrote), against what
the extractor and the replay find in the fixtures: every site with its size, the calls of the
entry in order, the allocations one run makes, and the workspace a LIFO allocator needs as
written, which the module header declares. A graph-executor output has no entry: its graph
(executor-config/graph/graph.json) gives the operators in the order the runtime calls them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crewrite.extract import ENTRY_SUFFIX, Function, Program
from crewrite.liveness import analyse
from crewrite.measure import round_up
from helpers.projects import program_of

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
EXPECTED = json.loads((FIXTURES / "EXPECTED.json").read_text())
ALLOCATOR_ALIGNMENT = 16  # what the fixtures' runtime gives every buffer
# The oracle reads every file, also those crewrite itself leaves out for want of pthread.h.
PTHREAD = Path(__file__).resolve().parent / "helpers" / "include"


@pytest.fixture(scope="module", params=sorted(EXPECTED))
def fixture(request: pytest.FixtureRequest) -> tuple[dict, Program, list[str] | None]:
    """(facts from EXPECTED.json, extracted program, graph operators) of one fixture, parsed
    once."""
    name = request.param
    return EXPECTED[name], program_of(FIXTURES / name, [PTHREAD]), graph_operators(name)


def graph_operators(name: str) -> list[str] | None:
    """The operators a graph executor calls, in order; None for an AOT project."""
    graph = FIXTURES / name / "executor-config" / "graph" / "graph.json"
    if not graph.is_file():
        return None
    nodes = json.loads(graph.read_text())["nodes"]
    return [n["attrs"]["func_name"] for n in nodes if n["op"] == "tvm_op"]


def entry_of(program: Program, module: str) -> Function:
    (name,) = [n for n in program.functions_of(module) if n.endswith(ENTRY_SUFFIX)]
    return program.functions[name]


def allocations_per_run(program: Program, name: str) -> int:
    fn = program.functions[name]
    calls = [c.callee for unit in fn.units for c in unit.calls]
    return len(fn.buffers) + sum(allocations_per_run(program, callee) for callee in calls)


def test_modules_and_site_counts(fixture):
    facts, program, _ = fixture
    assert sorted(program.modules) == sorted(facts["modules"])
    assert len(program.allocs) == len(program.frees) == facts["workspace_sites"]
    for module, expected in facts["modules"].items():
        assert len(program.allocs_of(module)) == expected["workspace_sites"]


def test_every_site_with_its_size(fixture):
    facts, program, _ = fixture
    for module, expected in facts["modules"].items():
        found: dict[str, list[list]] = {}
        for site in program.allocs_of(module):
            found.setdefault(site.function, []).append([site.variable, site.size])
        if facts["usmp"]:  # USMP planned every buffer into a static pool: no site is left
            assert found == {}
            continue
        assert found == {
            function: [[variable, size] for variable, size, *_hints in buffers]
            for function, buffers in expected["buffers"].items()
            if buffers
        }
        assert set(expected["buffers"]) <= program.functions_of(module)


def test_entry_calls_and_allocations_per_run(fixture):
    facts, program, operators = fixture
    if operators is not None:
        ((module, expected),) = facts["modules"].items()
        assert operators == expected["entry_calls"]
        runs = sum(allocations_per_run(program, op) for op in operators)
        assert runs == expected["alloc_calls_per_run"]
        return
    for module, expected in facts["modules"].items():
        entry = entry_of(program, module)
        assert [c.callee for unit in entry.units for c in unit.calls] == expected["entry_calls"]
        assert allocations_per_run(program, entry.name) == expected["alloc_calls_per_run"]
        if not facts["usmp"]:
            assert [site.size for site in entry.buffers.values()] == expected["sid_bytes"]


def test_workspace_as_written_is_what_the_header_declares(fixture):
    facts, program, _ = fixture
    if facts["usmp"]:  # nothing is allocated at run time
        assert program.allocs == ()
        return
    graph = fixture[2] is not None
    for module, expected in facts["modules"].items():
        operators = program.functions_of(module)
        if not graph:
            operators -= {entry_of(program, module).name}
        scratch = max(
            sum(
                round_up(s.size, ALLOCATOR_ALIGNMENT) for s in program.functions[f].buffers.values()
            )
            for f in operators
        )
        assert scratch == expected["largest_operator_scratch_rounded"]
        live = analyse(program, module, alignment=ALLOCATOR_ALIGNMENT)
        if graph:  # operators run one at a time; the graph's tensors are not workspace calls
            assert live.as_written_peak == scratch
            assert expected["workspace_size"] == scratch + sum(expected["sid_bytes"])
        else:
            assert live.as_written_peak == expected["workspace_size"]
