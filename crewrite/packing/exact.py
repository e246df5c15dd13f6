"""Exact planner: OR-Tools CP-SAT with a time limit.

Offsets are variables in units of the problem alignment. Interval buffers become
rectangles (fixed lifetime x variable memory range) in one NoOverlap2D; a buffer with
several windows gets one rectangle per window, all sharing its offset. Explicit extra edges
not already implied by time become a pairwise disjunction. Buffers conflicting with all
others are fixed at the bottom beforehand (optimality is kept, see sink_universal); their
full-length rectangles made synth_20000 miss the bound in 60 s, without them it takes ~10 s.
The parameters keep synth_20000 under ~1.2 GB (precedence literals and no-overlap merging
blow memory up). OR-Tools is an optional extra (`pip install 'crewrite[cpsat]'`), imported
only when this planner runs: `auto` does not use it.
"""

from __future__ import annotations

from typing import Any

from crewrite.packing.graph import Graph
from crewrite.packing.greedy import by_size, place
from crewrite.packing.registry import Outcome, Request, arena, register
from crewrite.packing.search import sink_universal

SINGLE_WORKER_MAX = 5000  # buffers


def _overlap_in_time(graph: Graph, i: int, j: int) -> bool:
    return any(s1 <= e2 and s2 <= e1 for s1, e1 in graph.windows[i] for s2, e2 in graph.windows[j])


def solve(
    graph: Graph, hint: list[int], lower: int, seconds: float, seed: int
) -> tuple[list[int], bool]:
    """Best offsets found within `seconds` (never worse than `hint`) and whether CP-SAT
    proved them optimal."""
    try:
        from ortools.sat.python import cp_model
    except ImportError as exc:
        raise ValueError("planner 'cpsat' needs OR-Tools: pip install 'crewrite[cpsat]'") from exc
    upper = arena(graph, hint)
    unit = graph.unit
    if upper <= lower or seconds <= 0:
        return list(hint), upper <= lower
    # Buffers live throughout are fixed at the bottom (no loss, see sink_universal): their
    # rectangles span the whole time axis and would only slow every propagation down.
    hint, fixed = sink_universal(graph, hint)
    floor = sum(graph.size[i] for i in fixed) // unit
    model = cp_model.CpModel()
    top = model.new_int_var(lower // unit, upper // unit, "arena")
    xs, ys = [], []
    offset_expr: dict[int, Any] = {}
    for i in range(graph.n):
        if not graph.size[i]:
            continue
        step, length = graph.align[i] // unit, graph.size[i] // unit
        if i in fixed:
            offset_expr[i] = hint[i] // unit
            model.add(hint[i] // unit + length <= top)
            continue
        q = model.new_int_var(-(-floor // step), (upper // unit - length) // step, f"q{i}")
        model.add_hint(q, hint[i] // graph.align[i])
        start = q * step
        offset_expr[i] = start
        model.add(start + length <= top)
        for k, (s, e) in enumerate(graph.windows[i]):
            xs.append(model.new_fixed_size_interval_var(s, e - s + 1, f"t{i}_{k}"))
            ys.append(model.new_fixed_size_interval_var(start, length, f"m{i}_{k}"))
    model.add_no_overlap_2d(xs, ys)
    for i, j in graph.extra:
        if i in fixed or j in fixed or _overlap_in_time(graph, i, j):
            continue  # fixed buffers sit below every other: nothing to separate
        below = model.new_bool_var(f"b{i}_{j}")
        model.add(offset_expr[i] + graph.size[i] // unit <= offset_expr[j]).only_enforce_if(below)
        model.add(offset_expr[j] + graph.size[j] // unit <= offset_expr[i]).only_enforce_if(~below)
    model.add_hint(top, upper // unit)
    model.minimize(top)

    solver = cp_model.CpSolver()
    params = solver.parameters
    params.max_time_in_seconds = seconds
    # One worker is deterministic and, below a few thousand buffers, as fast; the large
    # instances need the second core and cannot be deterministic under a clock limit anyway.
    params.num_workers = 1 if graph.n <= SINGLE_WORKER_MAX else 2
    params.linearization_level = 0
    params.merge_no_overlap_work_limit = 0
    params.use_precedences_in_disjunctive_constraint = False
    params.random_seed = seed
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return list(hint), False
    offsets = [
        solver.value(offset_expr[i]) * unit if i in offset_expr else 0 for i in range(graph.n)
    ]
    if arena(graph, offsets) > upper:
        return list(hint), False
    return offsets, status == cp_model.OPTIMAL


@register("cpsat")
def cpsat(request: Request) -> Outcome:
    """CP-SAT from the greedy-by-size hint until optimal or out of time."""
    graph = request.graph
    offsets, proven = solve(
        graph, place(graph, by_size(graph)), request.lower_bound, request.remaining(), request.seed
    )
    return Outcome(offsets, proven_optimal=proven)
