"""When is each workspace buffer really live? A timeline of program points per module.

Execution is replayed from each root with calls to functions defined in the sources expanded
in place, so a function called from several sites contributes several windows for its own
buffers. A top-level statement of a function is the grain: any touch of a buffer inside it
(a loop included) covers the whole statement, calls expanded within it included. A buffer is
live from its first to its last touch; one whose pointer escapes is live from its alloc to its
free. Correctness before size: whatever cannot be followed is assumed live for longer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crewrite.errors import CrewriteError
from crewrite.extract import AllocSite, Program


@dataclass(frozen=True)
class LiveBuffer:
    """A workspace buffer with the program points where its bytes matter."""

    site: AllocSite
    windows: tuple[tuple[int, int], ...]  # inclusive, sorted, disjoint
    escaped: bool

    @property
    def id(self) -> str:
        return f"{self.site.function}:{self.site.variable}"


@dataclass
class Liveness:
    module: str
    roots: list[str]
    buffers: list[LiveBuffer]
    labels: list[str]  # "function:line" of every program point
    as_written_peak: int  # what a LIFO allocator holds at most, sizes rounded to `alignment`
    alignment: int


@dataclass
class _Instance:
    """One execution of an alloc site (a site runs once per expansion of its function)."""

    site: AllocSite
    first: int | None = None
    last: int | None = None
    alloc_at: int | None = None
    free_at: int | None = None
    escaped: bool = False
    extra: list[tuple[int, int]] = field(default_factory=list)

    def touch(self, start: int, end: int) -> None:
        self.first = start if self.first is None else min(self.first, start)
        self.last = end if self.last is None else max(self.last, end)


def _round(size: int, alignment: int) -> int:
    return -(-size // alignment) * alignment


class _Replay:
    def __init__(self, program: Program):
        self.program = program
        self.labels: list[str] = []
        self.instances: list[_Instance] = []

    def expand(self, name: str, env: dict[str, set[int]]) -> None:
        fn = self.program.functions[name]
        local = {var: len(self.instances) + i for i, var in enumerate(fn.buffers)}
        self.instances += [_Instance(site) for site in fn.buffers.values()]

        def resolve(names: frozenset[str]) -> set[int]:
            out: set[int] = set()
            for base in fn.bases(names):
                if base in local:
                    out.add(local[base])
                else:
                    out |= env.get(base, set())
            return out

        for inst in resolve(fn.escapes):
            self.instances[inst].escaped = True
        body_start = len(self.labels)
        for unit in fn.units:
            start = len(self.labels)
            for call in unit.calls:
                callee = self.program.functions[call.callee]
                callee_env = {
                    param: resolve(arg) for param, arg in zip(callee.params, call.args)
                }
                for extra in call.args[len(callee.params):]:
                    for inst in resolve(extra):  # variadic: not followed
                        self.instances[inst].escaped = True
                self.expand(call.callee, callee_env)
            for target in unit.taken:
                # Handed on as a function pointer (a parallel lambda, a callback): assume it
                # runs during this statement.
                self.expand(target, {})
            end = len(self.labels)
            self.labels.append(f"{name}:{unit.line}")
            for var in unit.allocs:
                self.instances[local[var]].alloc_at = start
            for var in unit.frees:
                self.instances[local[var]].free_at = end
            for inst in resolve(unit.refs | unit.call_refs):
                self.instances[inst].touch(start, end)
        body_end = len(self.labels) - 1
        for var, inst in local.items():
            record = self.instances[inst]
            if record.alloc_at is None:
                record.alloc_at = body_start
            if record.free_at is None:  # never freed: held to the end of its function
                record.free_at = body_end


def analyse(program: Program, module: str) -> Liveness:
    """Replay every root of `module` on one clock and turn touches into live windows."""
    roots = program.roots(module)
    replay = _Replay(program)
    for root in roots:
        replay.expand(root, {})
    reached = {inst.site.key for inst in replay.instances}
    for site in program.allocs:
        if program.functions[site.function].module == module and site.key not in reached:
            raise CrewriteError(
                f"'{site.variable}' in {site.function} is never reached from an entry point",
                site.file, site.line)

    alignment = program.max_alignment
    windows: dict[tuple[str, str], list[tuple[int, int]]] = {}
    escaped: dict[tuple[str, str], bool] = {}
    events: list[tuple[int, int]] = []
    for inst in replay.instances:
        key = inst.site.key
        spans = windows.setdefault(key, [])
        escaped[key] = escaped.get(key, False) or inst.escaped
        if inst.escaped:
            spans.append((inst.alloc_at, inst.free_at))
        elif inst.first is not None:
            spans.append((inst.first, inst.last))
        size = _round(inst.site.size, alignment)
        events.append((inst.alloc_at, size))
        events.append((inst.free_at + 1, -size))

    peak = held = 0
    for _, delta in sorted(events, key=lambda e: (e[0], e[1])):
        held += delta
        peak = max(peak, held)

    buffers = []
    for site in program.allocs:
        if site.key in windows:
            buffers.append(LiveBuffer(site, _merge(windows[site.key]), escaped[site.key]))
    return Liveness(module, roots, buffers, replay.labels, peak, alignment)


def _merge(spans: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)
