"""A diagnostic build that proves the liveness analysis on the host: after every statement,
every arena byte that no live buffer owns is overwritten with garbage.

The emitted C keeps a clock per module that follows the replay's program points exactly:
before each top-level statement of each function, the clock is set to the end of the
previous statement (the function's start plus the static spans of the statements before:
one point plus every point of the calls each expands; counted from the start, so a statement
a forward `goto` skips does not put the clock behind), and the bytes free across that
boundary are filled. A buffer used outside its
live windows, read before it is written, or placed over another live one then computes with
garbage. A statement that runs calls in a loop, or hands a function on as a pointer, would
run its callees' steps more than once, and so would a call through a pointer, several calls
in one statement or a body that jumps back: inside such a statement, filling is held back
(an absolute level that every statement sets again, so an early return cannot leave it
stuck) and done at its end.

`shift=-1` ends every window one program point early: the negative control, which must
break. Never ship such a build.

The clock's declarations go before the first function of each file (helpers can come before
the arena's declaration, after which its definitions go), and `undeclared_uses` checks, on the
re-parsed output, that every name crewrite inserts is declared before it is used.
"""

from __future__ import annotations

from collections.abc import Sequence

from pycparser import c_ast

from crewrite.emit import Edit, arena_name, declaration_point
from crewrite.errors import CrewriteError
from crewrite.extract import Function, Program
from crewrite.liveness import LiveBuffer, Liveness


def pool_pointer(module: str) -> str:
    """The poison build's pointer to a re-planned USMP pool (crewrite.emit_pool sets it)."""
    return f"tvmgen_{module}_crewrite_pool_"


def inserted_names(module: str) -> list[str]:
    """Every identifier a rewrite of `module` may insert (the arena, the poison clock, the
    pointer to a re-planned pool)."""
    prefix = f"tvmgen_{module}_crewrite"
    return (
        [arena_name(module), pool_pointer(module)]
        + [f"{prefix}_{n}_" for n in ("now", "suppress", "reset", "step", "fill", "first", "free")]
        + ["crewrite_start_", "crewrite_level_"]
    )


def undeclared_uses(ast: c_ast.FileAST, names: set[str], filename: str) -> list[tuple[str, int]]:
    """(name, line) of each use of one of `names` in `filename` that no declaration before it
    in scope covers: what a C compiler would reject as undeclared."""
    found: list[tuple[str, int]] = []
    scopes: list[set[str]] = [set()]

    class Uses(c_ast.NodeVisitor):
        def declare(self, name: str | None) -> None:
            if name:
                scopes[-1].add(name)

        def scoped(self, node: c_ast.Node) -> None:
            scopes.append(set())
            self.generic_visit(node)
            scopes.pop()

        visit_Compound = visit_For = scoped

        def visit_FuncDef(self, node: c_ast.FuncDef) -> None:
            self.declare(node.decl.name)
            scopes.append(set())
            if node.decl.type.args is not None:
                self.visit(node.decl.type.args)
            self.visit(node.body)
            scopes.pop()

        def visit_Decl(self, node: c_ast.Decl) -> None:
            if isinstance(node.init, c_ast.Node):
                self.visit(node.init)
            self.declare(node.name)
            if isinstance(node.type, c_ast.FuncDecl) and node.type.args is not None:
                scopes.append(set())
                self.visit(node.type.args)
                scopes.pop()

        def visit_StructRef(self, node: c_ast.StructRef) -> None:
            self.visit(node.name)  # the field is not a use

        def visit_ID(self, node: c_ast.ID) -> None:
            if (
                node.name in names
                and not any(node.name in scope for scope in scopes)
                and node.coord is not None
                and node.coord.file == filename
            ):
                found.append((node.name, node.coord.line))

    Uses().visit(ast)
    return found


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
    buffers: Sequence[LiveBuffer],
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


def _declarations(module: str) -> str:
    """What every file whose functions step the clock must see before its first function."""
    prefix = f"tvmgen_{module}_crewrite"
    return (
        "#include <stdint.h>\n"
        "/* crewrite poison build (a diagnostic, never ship it): the clock of the replay */\n"
        f"extern uint32_t {prefix}_now_, {prefix}_suppress_;\n"
        f"void {prefix}_reset_(uint32_t first_point);\n"
        f"void {prefix}_step_(uint32_t start, uint32_t offset);\n"
    )


def _runtime(module: str, spans: list[list[tuple[int, int]]], memory: str) -> str:
    """The clock and the fill, defined once after the arena (they write into it; `memory`
    names the bytes they fill)."""
    prefix = f"tvmgen_{module}_crewrite"
    first: list[int] = []
    flat: list[tuple[int, int]] = []
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
void {prefix}_step_(uint32_t start, uint32_t offset) {{
  {prefix}_now_ = start + offset;
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
    """Clock steps before every statement of the module's functions; the clock's
    declarations before the first function of each file (helpers may come before the arena's
    declaration point), its definitions after the arena (`declarations` holds the arena's
    insertion per file).

    `memory` names the bytes to poison when they are not the module's arena (a re-planned
    USMP pool, through a pointer the caller declares and sets: see crewrite.emit_pool)."""
    module = live.module
    if len(live.roots) != 1:
        raise CrewriteError(
            f"poison build needs one entry point for module '{module}', found {len(live.roots)}"
        )
    prefix = f"tvmgen_{module}_crewrite"
    counts = point_counts(program)
    edits: list[Edit] = []
    functions = [fn for fn in program.functions.values() if fn.module == module]
    anytime = program.runs_anytime(module)
    entry_point = sum(sum(counts[name]) for name in anytime)  # replayed before the entry
    for fn in functions:
        edits += _function_steps(
            fn, counts[fn.name], prefix, entry_point if fn.name in live.roots else None
        )
    spans = free_spans(live.buffers, offsets, live.alignment, arena_bytes, len(live.labels), shift)
    for rel in sorted({fn.file for fn in functions} | {host_file}):
        text = texts[rel]
        starts = [
            program.translation_units[rel].offset(fn.line) for fn in functions if fn.file == rel
        ]
        at = declaration_point(text, min(starts, default=len(text)))
        edits.append(Edit(rel, at, at, _declarations(module)))
        if rel == host_file:
            at = declarations[rel].start if rel in declarations else len(text)
            edits.append(Edit(rel, at, at, _runtime(module, spans, memory or arena_name(module))))
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
                f"{prefix}_step_(crewrite_start_, {sum(spans[:index])}u);\n"
            )
        text += f"{prefix}_suppress_ = crewrite_level_ + {held}u;\n"
        edits.append(Edit(fn.file, unit.start, unit.start, text))
    return edits
