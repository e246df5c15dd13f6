"""Re-plan the pools of a USMP-built project: the same slices, at offsets crewrite plans.

TVM's Unified Static Memory Planner leaves no workspace call: every buffer is a slice of a
static pool at an offset it chose (crewrite.extract.pools finds them). Its default planner
stacks each buffer above every conflicting one already placed, by whole operator calls,
and never fills the gaps below. Here each slice of a workspace pool becomes a buffer of
crewrite's own pipeline:

- size: the bytes the extent analysis proves it touches (`FunctionExtents.touched`: a
  let slice and an inline one are both bases of the analysis); a slice whose extent cannot
  be bounded (or that reaches before its start) keeps the pool as USMP planned it, with the
  slice and the statement named;
- lifetime: crewrite's liveness over the extraction with the slices as buffers (statement
  level inside operators, parameter spans across them), and a slice used for several things
  in sequence (a reused `sid`, an operator's merged scratch) split into live ranges where a
  statement provably rewrites what is read after it, each range with its own size: the same
  code as for workspace allocations (crewrite.footprint);
- offset: the same planner as for arenas, with the lower bound.

For the report the same slices are also packed with USMP's lifetimes (each one live for
whole operator calls, from the first call that touches it to the last): the pool USMP
planned minus that arena is what packing alone saves, the rest comes from finer lifetimes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from crewrite import packing
from crewrite.extents import FunctionExtents
from crewrite.extents import analyse as analyse_extents
from crewrite.extract import Program, extract, is_entry
from crewrite.extract.pools import (
    Pool,
    PoolFacts,
    PoolProblem,
    SliceSite,
    find_pools,
    is_workspace_pool_param,
)
from crewrite.footprint import reads_covered
from crewrite.liveness import LiveBuffer, Liveness, Placed, analyse
from crewrite.measure import round_up
from crewrite.packing.graph import merge_windows
from crewrite.project import Project, size_defines


@dataclass(frozen=True)
class PoolResult(Placed):
    """One workspace pool re-planned: its slices' live ranges, the plan, and what USMP had."""

    pool: Pool
    liveness: Liveness  # restricted to this pool's slices
    plan: packing.Plan
    usmp_lifetimes: packing.Plan  # the same slices packed with USMP's lifetimes
    original_bytes: int  # the pool as USMP planned it
    original_from: str

    @property
    def module(self) -> str:
        """How reports name it: the module and the pool."""
        return f"{self.pool.module}, USMP pool {self.pool.name}"

    @property
    def arena_bytes(self) -> int:
        return max(self.plan.arena_bytes, self.pool.alignment)

    @property
    def saved_bytes(self) -> int:
        return self.original_bytes - self.arena_bytes

    @property
    def packing_saved(self) -> int:
        """What packing alone saves: USMP's pool minus the same lifetimes packed by crewrite."""
        return self.original_bytes - max(self.usmp_lifetimes.arena_bytes, self.pool.alignment)

    @property
    def lifetime_saved(self) -> int:
        return self.saved_bytes - self.packing_saved


@dataclass(frozen=True)
class PoolPlans:
    """Every pool of a project, re-planned or left with the reason."""

    results: tuple[PoolResult, ...]
    program: Program  # the extraction with the slices as buffers
    notes: tuple[str, ...]


@dataclass(frozen=True)
class PoolAnalysis:
    """What the planner and the layout proof both start from: the pools, which of them can
    move, and the extraction with every slice of those as a buffer of its size."""

    facts: PoolFacts
    program: Program
    refused: Mapping[tuple[str, str], PoolProblem]  # pool key -> why it stays as it is
    warnings: tuple[str, ...]
    extents: Mapping[str, FunctionExtents]

    @property
    def movable(self) -> list[Pool]:
        return [p for p in self.facts.pools if not p.constant and p.key not in self.refused]

    def liveness(self, pool: Pool, model: str = "fine") -> Liveness:
        """The live ranges of one pool's slices, each sized by the bytes its statements
        touch; with fine liveness, a slice used for several things in sequence has one range
        per use (crewrite.footprint)."""
        live = analyse(self.program, pool.module, model, pool.alignment, self.extents)
        mine = tuple(
            b for b in live.buffers if isinstance(b.site, SliceSite) and b.site.pool == pool.name
        )
        return replace(live, buffers=mine)


def analyse_pools(
    program: Program,
    modules: Sequence[str],
    unreadable: Mapping[str, PoolProblem] | None = None,
    extents: Mapping[str, FunctionExtents] | None = None,
) -> PoolAnalysis:
    """Find the pools of a program, size their slices, and extract it again with the slices
    of every pool that can move as buffers (`modules`: the module names, as extracted).
    `unreadable`: pools (by name) that a source crewrite could not parse may touch, which
    stay as they are. `extents`: the program's extent analysis with inline slices named
    (computed here when not given)."""
    facts = find_pools(program)
    workspace = [p for p in facts.pools if not p.constant]
    if not workspace:
        return PoolAnalysis(facts, program, {}, (), {})
    if extents is None:
        extents = analyse_extents(program.translation_units, slices=is_workspace_pool_param)
    sized, unsized = slice_sizes(facts, extents)
    refused: dict[tuple[str, str], PoolProblem] = {}
    warnings = []
    for pool in workspace:
        fatal = [p for p in facts.problems.get(pool.key, ()) if p.fatal]
        if unreadable and pool.name in unreadable:
            refused[pool.key] = unreadable[pool.name]
        elif fatal or pool.key in unsized:
            refused[pool.key] = fatal[0] if fatal else unsized[pool.key]
        warnings += [
            f"{w.file}:{w.line}: warning: {w.reason}"
            for w in facts.problems.get(pool.key, ())
            if not w.fatal
        ]
    for function, sites in sized.items():
        module = facts.modules.get(function, "")
        for pool_name in sorted({s.pool for s in sites}):
            if (module, pool_name) not in refused:
                mine = [s for s in sites if s.pool == pool_name]
                found = _shared_bytes(mine, extents.get(function))
                if found is not None:
                    refused[(module, pool_name)] = found
    keep = {p.key for p in workspace if p.key not in refused}
    buffers = {
        function: [s for s in sites if (facts.modules.get(function, ""), s.pool) in keep]
        for function, sites in sized.items()
    }
    program = extract(facts.units, modules, buffers)
    return PoolAnalysis(facts, program, refused, tuple(warnings), extents)


def _shared_bytes(slices: Sequence[SliceSite], fx: FunctionExtents | None) -> PoolProblem | None:
    """Two slices of one function on the same bytes where USMP put them, where bytes may
    flow from one name to the other: one buffer under two names (a let slice and its offset
    written inline, a view inside it), which crewrite's lifetimes do not see; placed apart,
    the reader would read other bytes, so the pool stays as planned. USMP also puts slices
    of disjoint lifetimes on the same bytes; those are told apart by their reads: a slice
    that reads bytes before writing them through its own name (at the same offset: in any
    statement; elsewhere: in a statement that does not write them itself, unlike an
    accumulation into an operator's output) is fed by the other."""
    ordered = sorted((s for s in slices if s.size > 0), key=lambda s: (s.offset, s.size))
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            if b.offset >= a.offset + a.size:
                break
            same = a.offset == b.offset
            if fx is None or not all(
                reads_covered(fx, s.variable, range(len(fx.statements)), own_writes=not same)
                for s in (a, b)
            ):
                return PoolProblem(
                    f"the slices '{a.variable}' (line {a.line}) and '{b.variable}' (line "
                    f"{b.line}) of {a.function} share bytes of the pool and one reads what it "
                    "did not write: one buffer under two names, which crewrite does not follow",
                    a.file,
                    a.line,
                )
    return None


def slice_sizes(
    facts: PoolFacts, extents: Mapping[str, FunctionExtents]
) -> tuple[dict[str, list[SliceSite]], dict[tuple[str, str], PoolProblem]]:
    """Every slice of a workspace pool with its size (function -> sites), and, per pool, the
    first slice that cannot be sized."""
    sized: dict[str, list[SliceSite]] = {}
    problems: dict[tuple[str, str], PoolProblem] = {}
    for function, sites in facts.slices.items():
        module = facts.modules.get(function, "")
        for site in sites:
            size = _size(site, extents)
            if isinstance(size, PoolProblem):
                problems.setdefault((module, site.pool), size)
                continue
            sized.setdefault(function, []).append(replace(site, size=size))
    return sized, problems


def _size(site: SliceSite, extents: Mapping[str, FunctionExtents]) -> int | PoolProblem:
    """The bytes a slice touches, from the extent analysis (a let slice and an inline one
    are both bases of it)."""
    where = f"'{site.variable}' in {site.function}"
    fx = extents.get(site.function)
    base = fx.bases.get(site.variable) if fx is not None else None
    if fx is None or base is None or (base.root, base.offset) != (site.param, site.offset):
        return PoolProblem(
            f"the extent analysis does not follow the slice {where}: its size is unknown",
            site.file,
            site.line,
        )
    span = fx.touched(site.variable)  # its size: one past the last byte touched (0: none)
    if span is None:
        return 0
    if span.hi is None or span.lo is None:
        why = next((u for u in fx.unbounded if u.base == site.variable), None)
        return PoolProblem(
            f"the extent of the slice {where} cannot be bounded"
            + (f" ({fx.file}:{why.line}: {why.reason})" if why else ""),
            site.file,
            site.line,
        )
    if span.lo < 0:
        return PoolProblem(
            f"the slice {where} is reached {-span.lo} bytes before its start: its region "
            "cannot be told apart from its neighbours'",
            site.file,
            site.line,
        )
    return span.hi


def usmp_windows(live: Liveness, buf: LiveBuffer) -> tuple[tuple[int, int], ...]:
    """USMP's lifetime of a live range, as crewrite reads it: every statement of the AOT
    entry (an operator call) in which it is touched, whole."""
    ends = [p for p, label in enumerate(live.labels) if is_entry(label.rsplit(":", 1)[0])]
    if not ends:
        return buf.windows
    widened = []
    for first, last in buf.windows:
        start = max((end + 1 for end in ends if end < first), default=0)
        stop = min((end for end in ends if end >= last), default=last)
        widened.append((min(start, first), max(stop, last)))
    return tuple(merge_windows(tuple(widened)))


def _original_size(project: Project, pool: Pool, slices: Sequence[SliceSite]) -> tuple[int, str]:
    """The pool as USMP planned it: its definition, else the module header's pool define,
    else how far its slices reach."""
    if pool.definition is not None and pool.definition.size is not None:
        return pool.definition.size, f"{pool.definition.file}:{pool.definition.line}"
    generated_first = sorted(project.headers, key=lambda rel: not project.is_generated_header(rel))
    for rel in generated_first:
        for define in size_defines(project.texts[rel], pool.name):
            if define.module.lower() == pool.module.lower() and define.value is not None:
                return define.value, f"{pool_define_name(pool.module, pool.name)} ({rel})"
    reach = max((s.offset + s.size for s in slices), default=0)
    return round_up(reach, pool.alignment), "the furthest byte its slices touch"


def pool_define_name(module: str, pool: str) -> str:
    """TVM's `TVMGEN_<MOD>_<POOL>_WORKSPACE_POOL_SIZE` (its interface header)."""
    return f"TVMGEN_{module.upper()}_{pool.upper()}_WORKSPACE_POOL_SIZE"


def _plan(
    live: Liveness,
    windows: Sequence[tuple[tuple[int, int], ...]],
    name: str,
    planner: str,
    time_limit: float | None,
) -> packing.Plan:
    """Offsets for the live ranges of `live` in the given windows (their own, or USMP's)."""
    problem = packing.Problem(
        buffers=tuple(
            packing.Buffer(b.id, b.size, w) for b, w in zip(live.buffers, windows, strict=True)
        ),
        alignment=live.alignment,
        name=name,
    )
    return packing.plan(problem, planner=planner, time_limit=time_limit)


def replan(
    project: Project,
    program: Program,
    *,
    planner: str = "auto",
    time_limit: float | None = None,
    liveness: str = "fine",
    unreadable: Mapping[str, PoolProblem] | None = None,
    extents: Mapping[str, FunctionExtents] | None = None,
) -> PoolPlans:
    """Plan every workspace pool of a project with no workspace calls; a pool that cannot
    be re-planned safely, or would not shrink, is left with a note saying why. `unreadable`:
    pools (by name) that a source crewrite could not parse may touch (left as they are).
    `extents`: the program's extent analysis with inline slices named (computed when not
    given)."""
    analysis = analyse_pools(program, project.module_names(), unreadable, extents)
    notes = list(analysis.warnings)
    for (module, name), problem in analysis.refused.items():
        if unreadable and name in unreadable:
            continue  # said where the source was left out (crewrite.reading)
        notes.append(
            f"pool '{name}' of module '{module}' stays as USMP planned it: "
            f"{problem.file}:{problem.line}: {problem.reason}"
        )
    results = []
    for pool in analysis.movable:
        live = analysis.liveness(pool, liveness)
        name = f"{pool.module}:{pool.name}"
        plan = _plan(live, [b.windows for b in live.buffers], name, planner, time_limit)
        usmp = _plan(
            live,
            [usmp_windows(live, b) for b in live.buffers],
            name,
            planner,
            time_limit,
        )
        sites = [b.site for b in live.buffers if isinstance(b.site, SliceSite)]
        original, origin = _original_size(project, pool, sites)
        result = PoolResult(pool, live, plan, usmp, original, origin)
        if result.saved_bytes <= 0:
            notes.append(
                f"pool '{pool.name}' of module '{pool.module}': USMP's plan "
                f"({original:,} B) is already as small as crewrite's "
                f"({result.arena_bytes:,} B); left as it is"
            )
            continue
        results.append(result)
    return PoolPlans(tuple(results), analysis.program, tuple(notes))
