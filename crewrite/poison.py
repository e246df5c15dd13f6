"""A diagnostic build that proves the liveness analysis on the host: garbage is written over
every buffer's bytes at each point where the analysis says they are dead.

The emitted C keeps a clock per module that follows the replay's program points exactly:
before each top-level statement of each function, the clock is set to the end of the
previous statement (its start plus its static span: one point plus every point of the calls
it expands). A statement that runs calls in a loop, or hands a function on as a pointer,
would run its callees' clock steps more than once, so poisoning is held back inside it and
caught up afterwards. A late poison is only done while no buffer sharing those bytes has
started a later window (`deadline`), so holding back never destroys live data.

`shift=-1` poisons one program point too early: the negative control, which must break.
Never ship such a build.
"""

from __future__ import annotations

from crewrite.emit import Edit, arena_name, declaration_point
from crewrite.errors import CrewriteError
from crewrite.extract import Function, Program
from crewrite.liveness import LiveBuffer, Liveness

NO_DEADLINE = 0xFFFFFFFF


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


def _events(buffers: list[LiveBuffer], offsets: dict[str, int], alignment: int,
            shift: int) -> list[tuple[int, int, int, int]]:
    """(end point, deadline, offset, size) for every window end, sorted by end."""
    placed = []
    for buf in buffers:
        size = -(-buf.site.size // alignment) * alignment
        placed.append((buf, offsets[buf.id], size))
    events = []
    for buf, offset, size in placed:
        for _, end in buf.windows:
            deadline = NO_DEADLINE
            for other, other_offset, other_size in placed:
                if other_offset < offset + size and offset < other_offset + other_size:
                    for start, _ in other.windows:
                        if start > end:
                            deadline = min(deadline, start)
            if end + shift >= 0 and size:
                events.append((end + shift, deadline, offset, size))
    return sorted(events)


def _runtime(module: str, events: list[tuple[int, int, int, int]], host: bool) -> str:
    prefix = f"tvmgen_{module}_crewrite"
    if not host:
        return (f"extern uint32_t {prefix}_now_, {prefix}_suppress_;\n"
                f"void {prefix}_reset_(void);\n"
                f"void {prefix}_step_(uint32_t* start, uint32_t span);\n")
    rows = ",\n".join(f"  {{{e}u, {d}u, {o}u, {s}u}}" for e, d, o, s in events)
    rows = rows or "  {0u, 0u, 0u, 0u}"
    return f"""\
/* crewrite poison build: dead bytes are overwritten; a diagnostic, never ship it. */
uint32_t {prefix}_now_, {prefix}_suppress_;
static uint32_t {prefix}_cursor_;
static const uint32_t {prefix}_events_[][4] = {{
{rows}
}};
void {prefix}_reset_(void) {{
  {prefix}_now_ = 0;
  {prefix}_suppress_ = 0;
  {prefix}_cursor_ = 0;
}}
void {prefix}_step_(uint32_t* start, uint32_t span) {{
  {prefix}_now_ = *start + span;
  *start = {prefix}_now_;
  if ({prefix}_suppress_ != 0) {{
    return;
  }}
  uint32_t point = {prefix}_now_ - 1;
  while ({prefix}_cursor_ < {len(events)}u && {prefix}_events_[{prefix}_cursor_][0] <= point) {{
    const uint32_t* e = {prefix}_events_[{prefix}_cursor_];
    if (point < e[1]) {{
      for (uint32_t i = 0; i < e[3]; ++i) {{
        {arena_name(module)}[e[2] + i] = (uint8_t)(0xA5u ^ ({prefix}_cursor_ * 29u) ^ i);
      }}
    }}
    {prefix}_cursor_++;
  }}
}}
"""


def poison_edits(program: Program, live: Liveness, offsets: dict[str, int], host_file: str,
                 declarations: dict[str, Edit], texts: dict[str, str],
                 shift: int) -> list[Edit]:
    """Clock steps before every statement of the module's functions, and the runtime: after
    the arena declaration where a file has one (`declarations`), else after its includes."""
    module = live.module
    if len(live.roots) != 1:
        raise CrewriteError(f"poison build needs one entry point for module '{module}', found "
                            f"{len(live.roots)}")
    prefix = f"tvmgen_{module}_crewrite"
    spans = point_counts(program)
    edits: list[Edit] = []
    functions = [fn for fn in program.functions.values() if fn.module == module]
    for fn in functions:
        edits += _function_steps(fn, spans[fn.name], prefix, fn.name in live.roots)
    events = _events(live.buffers, offsets, live.alignment, shift)
    for rel in sorted({fn.file for fn in functions} | {host_file}):
        runtime = _runtime(module, events, rel == host_file)
        if rel in declarations:
            at = declarations[rel].start
        else:
            at = declaration_point(texts[rel], len(texts[rel]))
            runtime = f"extern uint8_t {arena_name(module)}[];\n" + runtime
        edits.append(Edit(rel, at, at, runtime))
    return edits


def _function_steps(fn: Function, spans: list[int], prefix: str, is_root: bool) -> list[Edit]:
    edits = []
    for index, unit in enumerate(fn.units):
        if unit.start is None:
            raise CrewriteError("poison build: this statement shares its line with another",
                                fn.file, unit.line)
        if index == 0:
            text = (f"{prefix}_reset_();\n" if is_root else "") + \
                f"uint32_t crewrite_start_ = {prefix}_now_;\n"
        else:
            before = fn.units[index - 1]
            text = ""
            if before.taken or any(c.in_loop for c in before.calls):
                text += f"{prefix}_suppress_--;\n"
            text += f"{prefix}_step_(&crewrite_start_, {spans[index - 1]}u);\n"
        if unit.taken or any(c.in_loop for c in unit.calls):
            text += f"{prefix}_suppress_++;\n"
        edits.append(Edit(fn.file, unit.start, unit.start, text))
    return edits
