"""Which bytes of a buffer each live range really uses, from the extent analysis
(crewrite.extents): where a new tensor provably starts in a reused buffer, how many bytes
each live range needs, and which statements reach past their buffer's allocation. A buffer
is a workspace allocation or a USMP pool slice (a let slice or an inline `&pool[C]`, both
bases of the extent analysis): one mechanism splits and sizes both.

Liveness asks this module where a buffer's live ranges begin and how large each one is; the
pipeline asks it for the out-of-bounds findings and the bounds it could not prove, to warn
and report. Statements are indexed as `Function.units` and `StatementExtents.index` are: the
position in the function body's top-level statements.

A new live range of buffer `v` starts at statement `i` only when the tensor held before is
provably dead there: `i` always writes some bytes of `v` (its must-write), reads none, and
every byte of `v` that a later statement may read, up to the next start, was certainly
written since `i` (by `i` or by the statements in between). An unbounded read is never
covered, so it keeps the ranges joined. The variable must keep pointing at its buffer: not
escaped, never reassigned, not held by a pointer that outlives one top-level statement, and
no `goto` in the function; each range then gets its own address, set before its first
statement. Real TVM operators write whole outputs, so the AOT entry's `sid`s split where
each operator writes; an operator allocation that TVM's storage rewrite reused for several
tensors in sequence (or a USMP slice holding an operator's merged scratch) splits the same
way. A let slice declared inside a loop body is used inside that one statement only, so it
never splits (a re-pointing before a later statement could not reach it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from pycparser import c_ast

from crewrite.extents import FunctionExtents, Runs, Span
from crewrite.extents.scans import walk
from crewrite.extents.values import merge_runs, runs_cover
from crewrite.extract import ALLOC, Function, Program, workspace_call
from crewrite.measure import round_up


def extents_of(extents: Mapping[str, FunctionExtents], fn: Function) -> FunctionExtents | None:
    """The extents of `fn`, when they line up with its units statement by statement (None:
    nothing is known of it, every buffer keeps one range and its whole allocation)."""
    fx = extents.get(fn.name)
    return fx if fx is not None and len(fx.statements) == len(fn.units) else None


def function_body(program: Program, fn: Function) -> c_ast.Compound | None:
    """The body of a function defined in the sources, from its file's AST."""
    bare = fn.name.split("@", 1)[0]
    tu = program.translation_units.get(fn.file)
    if tu is None:
        return None
    for ext in tu.ast.ext:
        if isinstance(ext, c_ast.FuncDef) and ext.decl.name == bare and tu.is_own(ext):
            body: c_ast.Compound = ext.body
            return body
    return None


def _held_across(fn: Function, body: c_ast.Compound | None) -> frozenset[str]:
    """Buffer variables that do not point at their own buffer for the whole function, or whose
    address another pointer may keep from one top-level statement to the next: reassigned
    (other than by their alloc), their address taken, or aliased by a parameter, a static or
    a local declared at the top of the body. A local declared inside a statement dies with
    it, so it cannot carry an old range's address into the next one."""
    if body is None:
        return frozenset(fn.buffers)
    moved: set[str] = set()
    long_lived = set(fn.params)
    for item in body.block_items or []:
        if isinstance(item, c_ast.Decl) and item.name:
            long_lived.add(item.name)
    for node in walk(body):
        target = None
        if isinstance(node, c_ast.Assignment) and workspace_call(node.rvalue) != ALLOC:
            target = node.lvalue  # not the alloc itself, `v = TVMBackendAllocWorkspace(...)`
        elif isinstance(node, c_ast.UnaryOp) and node.op in ("++", "--", "p++", "p--", "&"):
            target = node.expr
        elif isinstance(node, c_ast.Decl) and node.name and "static" in (node.storage or []):
            long_lived.add(node.name)
        if isinstance(target, c_ast.ID) and target.name in fn.buffers:
            moved.add(target.name)
    kept = {base for name in long_lived for base in fn.aliases.get(name, ())}
    return frozenset(moved | (kept & set(fn.buffers)))


def range_starts(
    fn: Function, fx: FunctionExtents | None, body: Callable[[], c_ast.Compound | None]
) -> dict[str, list[int]]:
    """Per buffer variable of `fn`, the statement indices where a new live range provably
    begins (absent: one range). `body` gives the function's body, read only when some
    buffer has a start to prove."""
    if fx is None or fn.jumps:
        return {}  # a goto may skip the statement that starts a range
    starts: dict[str, list[int]] = {}
    for var in fn.buffers:
        if var in fn.escapes or var in fx.escapes or var not in fx.bases:
            continue
        if any(key.startswith(f"{var}@") for key in fx.bases):
            continue  # allocated at two places: two bases under one name
        found = _proven_starts(fn, fx, var)
        if found:
            starts[var] = found
    if starts:
        held = _held_across(fn, body())
        starts = {var: found for var, found in starts.items() if var not in held}
    return starts


def _proven_starts(fn: Function, fx: FunctionExtents, var: str) -> list[int]:
    candidates: list[int] = []
    touched = False
    for index, statement in enumerate(fx.statements):
        extent = statement.bases.get(var)
        if extent is None:
            continue
        if (
            touched
            and extent.must_write
            and extent.reads is None
            and fn.units[index].start is not None  # the new address needs a line of its own
        ):
            candidates.append(index)
        touched = True
    accepted: list[int] = []
    end = len(fx.statements)
    for index in reversed(candidates):  # a later start shortens what an earlier one must fill
        first_write = fx.statements[index].bases[var].must_write
        if reads_covered(fx, var, range(index + 1, end), first_write):
            accepted.append(index)
            end = index
    return accepted[::-1]


def reads_covered(
    fx: FunctionExtents,
    var: str,
    statements: Iterable[int],
    written: Runs = (),
    own_writes: bool = False,
) -> bool:
    """Whether every byte of `var` that each of `statements` (indices, in order) may read was
    certainly written through it before: in `written`, or by an earlier one of them (with
    `own_writes`, by the reader itself too, as an accumulation into its own output). An
    unbounded read is never covered. The one rule for "this use of a buffer is fed by its
    own writes", here to split live ranges and in crewrite.usmp to tell apart slices that
    share bytes."""
    for index in statements:
        extent = fx.statements[index].bases.get(var)
        if extent is None:
            continue
        covered = merge_runs([*written, *extent.must_write]) if own_writes else written
        if extent.reads is not None and not runs_cover(covered, extent.reads):
            return False
        written = merge_runs([*written, *extent.must_write])
    return True


# --------------------------------------------------------------------------- sizes


@dataclass(frozen=True)
class RangeBytes:
    """What one live range reserves: `lead` bytes below the address its code gets (accesses
    at negative offsets), then up to `end` bytes from that address."""

    lead: int
    end: int

    @property
    def size(self) -> int:
        return self.lead + self.end


def used_span(fx: FunctionExtents | None, var: str, statements: Iterable[int]) -> Span | None:
    """The hull of the bytes of `var` the statements touch (None: none, an end None: not
    bounded that way)."""
    return Span(None, None) if fx is None else fx.touched(var, statements)


def range_bytes(span: Span | None, allocated: int, alignment: int) -> RangeBytes:
    """Bytes to plan for a live range that touches `span` of a buffer of `allocated` bytes:
    its own use when bounded (smaller than the allocation for a small tensor in a reused
    buffer, larger for code that reaches past it); an end that is not bounded falls back to
    the allocation's. The lead keeps the address aligned."""
    if span is None:
        return RangeBytes(0, 0)
    lo = span.lo if span.lo is not None else 0
    hi = span.hi if span.hi is not None else allocated
    lead = round_up(-lo, alignment) if lo < 0 else 0
    return RangeBytes(lead, max(hi, 0))


# --------------------------------------------------------------------------- findings


@dataclass(frozen=True)
class OutOfBounds:
    """A statement that may touch bytes outside its workspace buffer's allocation."""

    function: str  # owner of the buffer
    variable: str
    allocated: int
    file: str
    line: int  # of the statement
    operator: str  # the function doing it: the owner, or the callees the statement calls
    access: str  # "reads" or "writes"
    span: Span  # bounded, relative to the buffer

    @property
    def past_end(self) -> int:
        assert self.span.hi is not None
        return max(0, self.span.hi - self.allocated)

    @property
    def before_start(self) -> int:
        assert self.span.lo is not None
        return max(0, -self.span.lo)

    def message(self) -> str:
        where = []
        if self.past_end:
            where.append(f"{self.past_end:,} bytes past the end")
        if self.before_start:
            where.append(f"{self.before_start:,} bytes before the start")
        return (
            f"{self.operator} {self.access} up to {' and '.join(where)} of '{self.variable}' "
            f"({self.allocated:,} bytes, allocated in {self.function}), bytes {self.span}: "
            "a bug of the generated code; the rewrite gives it those bytes of its own"
        )


@dataclass(frozen=True)
class Unproven:
    """Where the bytes a statement touches in a workspace buffer have no bound."""

    function: str
    variable: str
    file: str
    line: int
    reason: str

    def message(self) -> str:
        return (
            f"bytes of '{self.variable}' in {self.function} not bounded here: {self.reason}; "
            "planned with its whole allocation"
        )


def _operators(program: Program, fn: Function, index: int) -> str:
    callees = [call.callee for call in fn.units[index].calls] if index < len(fn.units) else []
    return ", ".join(dict.fromkeys(callees)) or fn.name


def out_of_bounds(
    program: Program, extents: Mapping[str, FunctionExtents], functions: Sequence[str]
) -> list[OutOfBounds]:
    """Every statement of `functions` that may read or write a workspace buffer of its own
    outside the buffer's allocated bytes (bounded accesses only: an unbounded one is no
    claim, see `unproven`)."""
    found = []
    for name in functions:
        fn, fx = program.functions[name], extents.get(name)
        if fx is None:
            continue
        for var, site in fn.buffers.items():
            for statement in fx.statements:
                extent = statement.bases.get(var)
                if extent is None:
                    continue
                for access, span in (("reads", extent.reads), ("writes", extent.writes)):
                    if span is None or not span.bounded:
                        continue
                    assert span.lo is not None and span.hi is not None
                    if span.lo < 0 or span.hi > site.size:
                        found.append(
                            OutOfBounds(
                                fn.name,
                                var,
                                site.size,
                                fn.file,
                                statement.line,
                                _operators(program, fn, statement.index),
                                access,
                                span,
                            )
                        )
    return found


def unproven(
    program: Program, extents: Mapping[str, FunctionExtents], functions: Sequence[str]
) -> list[Unproven]:
    """Every place where the bytes of a workspace buffer of `functions` lose their bound."""
    found = []
    for name in functions:
        fn, fx = program.functions[name], extents.get(name)
        if fx is None:
            continue
        for item in fx.unbounded:
            if item.base in fn.buffers:
                found.append(Unproven(fn.name, item.base, fn.file, item.line, item.reason))
    return found
