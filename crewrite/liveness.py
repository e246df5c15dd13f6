"""When is each workspace buffer really live? A timeline of program points per module.

Execution is replayed from each root with calls to functions defined in the sources expanded
in place, so a function called from several sites contributes several windows for its own
buffers. A unit (top-level statement of a function) is the grain: a touch of a buffer inside
it (a loop included) covers the whole unit. A buffer is live from its first to its last
touch; one whose pointer escapes is live from its alloc to its free. Correctness before size:
whatever cannot be followed is assumed live for longer.

Two models:
- "coarse": a buffer handed to a call is touched for the whole call.
- "fine" (default): a buffer handed to a defined function is touched only where the callee
  touches that parameter (unless the call sits in a loop), and a buffer that provably holds a
  new tensor from some statement on (crewrite.footprint: the statement writes every byte its
  later readers read) starts a new live range there: TVM's ping-pong `sid`s carry several
  tensors, each gets its own range, its own size and may get its own offset.

Each range is planned with the bytes its statements touch (crewrite.footprint, from the
extent analysis), not the whole allocation, wherever those bytes are bounded.

Glossary (what these words mean in this stage and in the stages that read its results):
- point: one unit as executed in the replay, numbered from 0 per module in execution order
  (`Liveness.labels[p]` says "function:line"); calls expanded in place get their own points.
- instance: one execution of an alloc site (a site runs once per expansion of its function).
- range (live range): one tensor held in a buffer variable. A buffer has range 0 only, unless
  it is proven to hold several tensors in turn (a reused `sid` of the entry, an operator
  allocation reused by TVM's storage rewrite, a USMP slice likewise reused): then ranges
  0..n-1, each a `LiveBuffer` with its own offset and size.
- span: the [first, last] points an instance touches one range at (or its alloc..free when
  it escapes), before the spans of all instances are merged.
- window: an inclusive [first, last] of points where a range's bytes matter, after merging;
  a range has several windows when its function runs several times.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from crewrite import extents as extent_analysis
from crewrite.errors import CrewriteError
from crewrite.extents import FunctionExtents
from crewrite.extract import AllocSite, Function, Program, Unit, is_entry
from crewrite.footprint import extents_of, function_body, range_bytes, range_starts, used_span
from crewrite.measure import peak, round_up

if TYPE_CHECKING:
    from crewrite.packing import Plan

MODELS = ("fine", "coarse")
MAX_POINTS = 2_000_000  # calls expanded in place: a deep, branching call graph could explode


@dataclass(frozen=True)
class LiveBuffer:
    """One live range of a workspace buffer with the program points where its bytes matter.

    An unsplit buffer has one range (0), which starts at its alloc; range r > 0 starts at the
    statement of its owner function beginning at `start_offset` in the owner's file.

    `size` is what the planner reserves for it: `lead` bytes below the address its code gets
    (accesses before the buffer's start), then the bytes its statements touch from there,
    or the allocation's where that is not bounded."""

    site: AllocSite
    windows: tuple[tuple[int, int], ...]  # inclusive, sorted, disjoint
    escaped: bool
    size: int  # bytes reserved from the planned offset, `lead` included
    range: int = 0
    ranges: int = 1
    start_offset: int | None = None
    start_line: int | None = None
    lead: int = 0  # bytes reserved below the address the code gets

    def rounded_size(self, alignment: int) -> int:
        """Bytes it takes in the arena: the planner rounds every size up to the alignment."""
        return round_up(self.size, alignment)

    @property
    def id(self) -> str:
        base = f"{self.site.function}:{self.site.variable}"
        return base if self.ranges == 1 else f"{base}#{self.range}"


@dataclass(frozen=True)
class Held:
    """One instance of an alloc site as the runtime allocator holds it as written: from the
    point of its alloc to the point of its free (inclusive), whatever its bytes are used for."""

    site: AllocSite
    first: int
    last: int


@dataclass(frozen=True)
class Liveness:
    module: str
    roots: tuple[str, ...]
    buffers: tuple[LiveBuffer, ...]
    labels: tuple[str, ...]  # "function:line" of every program point
    as_written_peak: int  # what a LIFO allocator holds at most, sizes rounded to `alignment`
    alignment: int
    model: str
    # The same with every buffer as large as the bytes its code reaches (more than
    # as_written_peak only where code reads or writes past its buffer's allocation).
    reach_peak: int = 0
    # The operator running at every point: the function the AOT entry calls (for the entry's
    # own statements, the one that statement calls), else the outermost function (a root).
    operators: tuple[str, ...] = ()
    held: tuple[Held, ...] = ()  # every instance, alloc to free, in replay order


@dataclass
class _Instance:
    """One execution of an alloc site (a site runs once per expansion of its function)."""

    site: AllocSite
    current: int = 0  # the live range the execution is in
    spans: dict[int, list[int]] = field(default_factory=dict)  # range -> [first, last]
    alloc_at: int | None = None
    free_at: int | None = None
    escaped: bool = False
    anytime: bool = False  # created in a function that runs through a pointer, at any time
    freed: bool = True  # False: never freed, the original keeps it for good (a leak)

    def touch(self, start: int, end: int) -> None:
        span = self.spans.setdefault(self.current, [start, end])
        span[0], span[1] = min(span[0], start), max(span[1], end)

    def held(self) -> tuple[int, int]:
        """Its alloc..free points (the replay sets both by the end of its function)."""
        assert self.alloc_at is not None and self.free_at is not None
        return self.alloc_at, self.free_at


class _Replay:
    def __init__(self, program: Program, model: str, extents: Mapping[str, FunctionExtents]):
        self.program = program
        self.model = model
        self.extents = extents
        self.labels: list[str] = []
        self.instances: list[_Instance] = []
        self.starts: dict[str, dict[str, list[int]]] = {}  # function -> range_starts
        self.through_pointer = 0  # depth of expansions of functions handed on as pointers
        self.operators: list[str] = []  # per point, see Liveness.operators
        self.frames: list[str] = []  # the functions being expanded, outermost first

    def operator(self, unit: Unit) -> str:
        """The operator running at the point of `unit` (see Liveness.operators)."""
        entry = next((i for i, name in enumerate(self.frames) if is_entry(name)), None)
        if entry is None:
            return self.frames[0]
        if len(self.frames) > entry + 1:
            return self.frames[entry + 1]
        return unit.calls[0].callee if unit.calls else self.frames[entry]

    def starts_of(self, fn: Function) -> dict[str, list[int]]:
        if fn.name not in self.starts:
            self.starts[fn.name] = (
                range_starts(
                    fn, extents_of(self.extents, fn), lambda: function_body(self.program, fn)
                )
                if self.model == "fine"
                else {}
            )
        return self.starts[fn.name]

    def expand(self, name: str, env: dict[str, set[int]]) -> None:
        fn = self.program.functions[name]
        self.frames.append(name)
        local = {var: len(self.instances) + i for i, var in enumerate(fn.buffers)}
        self.instances += [
            _Instance(site, escaped=self.through_pointer > 0, anytime=self.through_pointer > 0)
            for site in fn.buffers.values()
        ]
        new_range: dict[int, list[int]] = {}  # unit index -> instances starting a range
        for var, indices in self.starts_of(fn).items():
            for index in indices:
                new_range.setdefault(index, []).append(local[var])

        def resolve(names: frozenset[str]) -> set[int]:
            out: set[int] = set()
            for base in fn.bases(names):
                if base in local:
                    out.add(local[base])
                else:
                    out |= env.get(base, set())
            return out

        for i in resolve(fn.escapes):
            self.instances[i].escaped = True
        body_start = len(self.labels)
        for index, unit in enumerate(fn.units):
            for i in new_range.get(index, ()):
                self.instances[i].current += 1
            start = len(self.labels)
            whole_unit: set[int] = set()
            for call in unit.calls:
                callee = self.program.functions[call.callee]
                callee_env = {
                    param: resolve(arg)
                    for param, arg in zip(callee.params, call.args, strict=False)
                }
                for extra in call.args[len(callee.params) :]:
                    for i in resolve(extra):  # variadic: not followed
                        self.instances[i].escaped = True
                if self.model == "coarse" or call.in_loop:
                    for arg in call.args:
                        whole_unit |= resolve(arg)
                self.expand(call.callee, callee_env)
            for target in unit.taken:
                # Handed on as a function pointer (a parallel lambda, a callback): it may run
                # at any time from here on, so what it allocates is live all the time.
                self.through_pointer += 1
                self.expand(target, {})
                self.through_pointer -= 1
            end = len(self.labels)
            if end >= MAX_POINTS:
                raise CrewriteError(
                    f"expanding every call from the entry passes {MAX_POINTS:,} program points "
                    f"(in {name}): the call graph is too deep to follow statement by statement",
                    fn.file,
                    unit.line,
                )
            self.labels.append(f"{name}:{unit.line}")
            self.operators.append(self.operator(unit))
            for var in unit.allocs:
                self.instances[local[var]].alloc_at = start
            for var in unit.frees:
                self.instances[local[var]].free_at = end
            for i in resolve(unit.refs) | whole_unit:
                self.instances[i].touch(start, end)
        body_end = len(self.labels) - 1
        if fn.loops_back:
            # A backward goto may run any statement again after any other: whatever was
            # touched in the body is live for all of it.
            for inst in self.instances:
                for span in inst.spans.values():
                    if span[1] >= body_start and span[0] <= body_end:
                        span[0], span[1] = min(span[0], body_start), max(span[1], body_end)
        for i in local.values():
            record = self.instances[i]
            if record.alloc_at is None:
                record.alloc_at = body_start
            if record.free_at is None:  # never freed: held to the end of its function
                record.free_at = body_end
                record.freed = False
        self.frames.pop()


def analyse(
    program: Program,
    module: str,
    model: str = "fine",
    alignment: int = 16,
    extents: Mapping[str, FunctionExtents] | None = None,
) -> Liveness:
    """Replay every root of `module` on one clock and turn touches into live windows;
    `alignment` is what the runtime allocator gives each buffer (sizes round up to it).
    `extents`: the extent analysis of the program's sources (computed here when not given),
    which proves range starts and sizes each range. A program extracted with USMP slices as
    buffers must be given the analysis of the original sources (crewrite.usmp does): in its
    own units an inline slice is a bare name, which the analysis sees touch nothing."""
    if model not in MODELS:
        raise ValueError(f"unknown liveness model {model!r}")
    if extents is None:
        extents = extent_analysis.analyse(program.translation_units)
    anytime = program.runs_anytime(module)
    roots = [r for r in program.roots(module) if r not in anytime]
    replay = _Replay(program, model, extents)
    for listed in sorted(anytime):
        # Listed in a table that the module calls through: may run at any moment.
        replay.through_pointer += 1
        replay.expand(listed, {})
        replay.through_pointer -= 1
    for root in roots:
        replay.expand(root, {})
    reached = {inst.site.key for inst in replay.instances}
    for site in program.allocs_of(module):
        if site.key not in reached:
            raise CrewriteError(
                f"'{site.variable}' in {site.function} is never reached from an entry point",
                site.file,
                site.line,
            )

    windows: dict[tuple[str, str, int], list[tuple[int, int]]] = {}
    escaped: dict[tuple[str, str], bool] = {}
    for inst in replay.instances:
        key = inst.site.key
        escaped[key] = escaped.get(key, False) or inst.escaped
        spans: dict[int, list[int]]
        if inst.anytime:
            spans = {0: [0, len(replay.labels) - 1]}
        elif inst.escaped:
            # A pointer kept elsewhere to a buffer never freed may be used after its function
            # returns: live to the end of the timeline.
            alloc_at, free_at = inst.held()
            spans = {0: [alloc_at, free_at if inst.freed else len(replay.labels) - 1]}
        else:
            spans = inst.spans
        for rng, (first, last) in spans.items():
            windows.setdefault((*key, rng), []).append((first, last))
    # As written, the runtime allocator holds every instance from its alloc to its free.
    as_written, _ = peak(
        (*inst.held(), round_up(inst.site.size, alignment)) for inst in replay.instances
    )

    buffers = []
    for site in program.allocs:
        if site.key not in escaped:
            continue
        fn = program.functions[site.function]
        fx = extents_of(extents, fn)
        if escaped[site.key]:
            # One buffer after all (an instance escaped where the split could not see it):
            # every window of every range is its own.
            every = [w for (f, v, _), ws in windows.items() if (f, v) == site.key for w in ws]
            held = range_bytes(
                used_span(fx, site.variable, range(len(fn.units))), site.size, alignment
            )
            buffers.append(LiveBuffer(site, _merge(every), True, held.size, lead=held.lead))
            continue
        starts = replay.starts_of(fn).get(site.variable, [])
        bounds = [0, *starts, len(fn.units)]
        for rng in range(len(starts) + 1):
            unit = fn.units[starts[rng - 1]] if rng else None
            held = range_bytes(
                used_span(fx, site.variable, range(bounds[rng], bounds[rng + 1])),
                site.size,
                alignment,
            )
            buffers.append(
                LiveBuffer(
                    site,
                    _merge(windows.get((*site.key, rng), [])),
                    escaped[site.key],
                    held.size,
                    range=rng,
                    ranges=len(starts) + 1,
                    start_offset=unit.start if unit else None,
                    start_line=unit.line if unit else None,
                    lead=held.lead,
                )
            )
    reach: dict[tuple[str, str], int] = {}
    for buf in buffers:
        reach[buf.site.key] = max(reach.get(buf.site.key, 0), buf.rounded_size(alignment))
    reach_peak, _ = peak(
        (*inst.held(), max(round_up(inst.site.size, alignment), reach[inst.site.key]))
        for inst in replay.instances
    )
    return Liveness(
        module,
        tuple(roots),
        tuple(buffers),
        tuple(replay.labels),
        as_written,
        alignment,
        model,
        reach_peak,
        tuple(replay.operators),
        tuple(Held(inst.site, *inst.held()) for inst in replay.instances),
    )


def _merge(spans: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


class Placed:
    """What a planned module (pipeline.ModuleResult) and a re-planned USMP pool
    (usmp.PoolResult) say alike of their live ranges: where each was put."""

    liveness: Liveness
    plan: Plan

    @property
    def offsets(self) -> Mapping[str, int]:  # LiveBuffer.id -> planned offset
        return self.plan.offsets

    def address(self, buffer_id: str) -> int:
        """The offset the code of a live range gets: its planned offset plus its lead."""
        lead = next(b.lead for b in self.liveness.buffers if b.id == buffer_id)
        return self.plan.offsets[buffer_id] + lead
