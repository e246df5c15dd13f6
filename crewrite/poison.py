"""A diagnostic build that proves the liveness analysis on the host: after every statement,
every arena byte that no live buffer owns is overwritten with garbage.

The emitted C keeps a clock per module that follows the replay's program points exactly:
before each top-level statement of each function, the clock is set to the end of the
previous statement (its start plus its static span: one point plus every point of the calls
it expands), and the bytes free across that boundary are filled. A buffer used outside its
live windows, read before it is written, or placed over another live one then computes with
garbage. A statement that runs calls in a loop, or hands a function on as a pointer, would
run its callees' steps more than once, and so would a call through a pointer, several calls
in one statement or a body that jumps back: inside such a statement, filling is held back
(an absolute level that every statement sets again, so an early return cannot leave it
stuck) and done at its end.

`shift=-1` ends every window one program point early: the negative control, which must
break. Never ship such a build.
"""

from __future__ import annotations

from crewrite.emit import Edit, arena_name, declaration_point
from crewrite.errors import CrewriteError
from crewrite.extract import Function, Program
from crewrite.liveness import LiveBuffer, Liveness


def point_counts(program: Program) -> dict[str, list[int]]:
    """Static span of every top-level statement, per function, as the replay counts them."""
    spans: dict[str, list[int]] = {}

    def total(name: str) -> int:
        if name not in spans:
            fn = program.functions[name]
            spans[name] = [
                1 + sum(total(c.callee) for c in unit.calls) + sum(total(t) for t in unit.taken)
                for unit in fn.units
            ]
        return sum(spans[name])

    for name in program.functions:
        total(name)
    return spans


def free_spans(
    buffers: list[LiveBuffer],
    offsets: dict[str, int],
    alignment: int,
    arena: int,
    points: int,
    shift: int,
) -> list[list[tuple[int, int]]]:
    """For each program point p: the arena byte ranges that no buffer live across the
    boundary after p (a window [s, e] with s <= p < e + shift) owns."""
    placed = []
    for buf in buffers:
        size = buf.rounded_size(alignment)
        placed += [(s, e + shift, offsets[buf.id], size) for s, e in buf.windows]
    spans = []
    for point in range(points):
        owned = sorted((o, o + z) for s, e, o, z in placed if s <= point < e and z)
        free, cursor = [], 0
        for lo, hi in owned:
            if lo > cursor:
                free.append((cursor, lo))
            cursor = max(cursor, hi)
        if cursor < arena:
            free.append((cursor, arena))
        spans.append(free)
    return spans


def _runtime(module: str, spans: list[list[tuple[int, int]]], host: bool, memory: str) -> str:
    prefix = f"tvmgen_{module}_crewrite"
    if not host:
        return (
            f"extern uint32_t {prefix}_now_, {prefix}_suppress_;\n"
            f"void {prefix}_reset_(uint32_t first_point);\n"
            f"void {prefix}_step_(uint32_t* start, uint32_t span);\n"
        )
    first, flat = [], []
    for free in spans:
        first.append(len(flat))
        flat += free
    first.append(len(flat))
    table = ",\n".join(f"  {{{lo}u, {hi}u}}" for lo, hi in flat) or "  {0u, 0u}"
    index = ", ".join(f"{n}u" for n in first)
    return f"""\
/* crewrite poison build: free bytes are overwritten after every statement; a diagnostic,
   never ship it. */
uint32_t {prefix}_now_, {prefix}_suppress_;
static uint32_t {prefix}_fill_;
static const uint32_t {prefix}_first_[] = {{{index}}};
static const uint32_t {prefix}_free_[][2] = {{
{table}
}};
void {prefix}_reset_(uint32_t first_point) {{
  {prefix}_now_ = first_point;
  {prefix}_suppress_ = 0;
}}
void {prefix}_step_(uint32_t* start, uint32_t span) {{
  {prefix}_now_ = *start + span;
  *start = {prefix}_now_;
  uint32_t point = {prefix}_now_ - 1;
  if ({prefix}_suppress_ != 0 || point >= {len(spans)}u) {{
    return;
  }}
  {prefix}_fill_ = {prefix}_fill_ * 1103515245u + 12345u;
  for (uint32_t k = {prefix}_first_[point]; k < {prefix}_first_[point + 1]; ++k) {{
    for (uint32_t i = {prefix}_free_[k][0]; i < {prefix}_free_[k][1]; ++i) {{
      {memory}[i] = (uint8_t)(({prefix}_fill_ >> 16) ^ (i * 131u));
    }}
  }}
}}
"""


def poison_edits(
    program: Program,
    live: Liveness,
    offsets: dict[str, int],
    arena_bytes: int,
    host_file: str,
    declarations: dict[str, Edit],
    texts: dict[str, str],
    shift: int,
    memory: str | None = None,
) -> list[Edit]:
    """Clock steps before every statement of the module's functions, and the runtime: after
    the arena declaration where a file has one (`declarations`), else after its includes.

    `memory` names the bytes to poison when they are not the module's arena (a re-planned
    USMP pool, through a pointer the caller declares and sets: see crewrite.emit_pool)."""
    module = live.module
    if len(live.roots) != 1:
        raise CrewriteError(
            f"poison build needs one entry point for module '{module}', found {len(live.roots)}"
        )
    prefix = f"tvmgen_{module}_crewrite"
    spans = point_counts(program)
    edits: list[Edit] = []
    functions = [fn for fn in program.functions.values() if fn.module == module]
    anytime = program.runs_anytime(module)
    entry_point = sum(sum(spans[name]) for name in anytime)  # replayed before the entry
    for fn in functions:
        edits += _function_steps(
            fn, spans[fn.name], prefix, entry_point if fn.name in live.roots else None
        )
    spans = free_spans(live.buffers, offsets, live.alignment, arena_bytes, len(live.labels), shift)
    for rel in sorted({fn.file for fn in functions} | {host_file}):
        runtime = _runtime(module, spans, rel == host_file, memory or arena_name(module))
        if rel in declarations:
            at = declarations[rel].start
        else:
            at = declaration_point(texts[rel], len(texts[rel]))
            if memory is None:
                runtime = f"extern uint8_t {arena_name(module)}[];\n" + runtime
        edits.append(Edit(rel, at, at, runtime))
    return edits


def _function_steps(
    fn: Function, spans: list[int], prefix: str, first_point: int | None
) -> list[Edit]:
    """Clock steps before each statement; `first_point` is set for the entry (where the
    replay starts it, after any functions that may run at any time)."""
    edits = []
    jumps_back = int(fn.loops_back)
    for index, unit in enumerate(fn.units):
        if unit.start is None:
            raise CrewriteError(
                "poison build: this statement shares its line with another", fn.file, unit.line
            )
        # Held back where the callees' steps cannot follow the replay: calls run in a loop,
        # through a pointer, several in one statement (no step after a callee's last
        # statement), or a body that jumps back.
        held = int(
            bool(
                unit.taken
                or unit.calls_pointer
                or len(unit.calls) > 1
                or fn.loops_back
                or any(c.in_loop for c in unit.calls)
            )
        )
        if index == 0:
            text = (f"{prefix}_reset_({first_point}u);\n" if first_point is not None else "") + (
                f"uint32_t crewrite_start_ = {prefix}_now_;\n"
                f"uint32_t crewrite_level_ = {prefix}_suppress_;\n"
            )
        else:
            text = (
                f"{prefix}_suppress_ = crewrite_level_ + {jumps_back}u;\n"
                f"{prefix}_step_(&crewrite_start_, {spans[index - 1]}u);\n"
            )
        text += f"{prefix}_suppress_ = crewrite_level_ + {held}u;\n"
        edits.append(Edit(fn.file, unit.start, unit.start, text))
    return edits
