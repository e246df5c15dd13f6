"""The abstract interpreter behind `crewrite.extents.analyse`: one pass over a function body
per calling context, loops run once over a symbolic iteration counter.

A loop gets a fresh counter `k` (range `[0, N-1]`, `N` its trip count when the condition
proves it, else an upper bound or none); variables the body only moves by constants
(`i++`, `ptr += 4`) become `v0 + d*k`, every other variable the body assigns is widened to its
type's range (pointers keep their bases, with unknown offsets), so one pass is a sound
over-approximation of every iteration. Conditions narrow counter ranges on their branch
(`(1 <= i1 && i1 < 33) ? p0[...] : 0`) and decide branches when the ranges leave one answer
(`if (1 < 2 && 2 < 2)`, `switch (K % 4)`).
"""

from __future__ import annotations

import itertools
from collections import ChainMap
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from pycparser import c_ast, c_generator

from crewrite.extents import library
from crewrite.extents.ctypes import INT, UNKNOWN, VOID, CType, TypeTable, char_value, int_value
from crewrite.extents.records import Base, Extent, FunctionExtents, StatementExtents, Unbounded
from crewrite.extents.scans import BodyScan, Increments, assigned, jumps, scan_body, walk
from crewrite.extents.values import (
    BOOL,
    TOP,
    TOP_INTERVAL,
    UNBOUNDED,
    Affine,
    Block,
    Interval,
    Runs,
    Span,
    arith,
    compare,
    covered,
    divide_bound,
    exact_trips,
    linear_bound,
    linear_part,
    merge_runs,
    normalised,
    solve,
)
from crewrite.extract import ALLOC, fold_constant, identities, workspace_call
from crewrite.extract.cexpr import strip_casts
from crewrite.frontend import TranslationUnit

# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class Ptr:
    """A pointer: for each base it may point into, the byte offset (an Affine form);
    `unknown`: it may also point at memory that is no base."""

    targets: tuple[tuple[str, Affine], ...]
    unknown: bool = False

    def shift(self, by: Affine) -> Ptr:
        return Ptr(tuple((b, off + by) for b, off in self.targets), self.unknown)

    def bases(self) -> frozenset[str]:
        return frozenset(b for b, _ in self.targets)


@dataclass(frozen=True)
class Record:
    """The members of a local struct variable (CMSIS-NN dims, contexts, quant params)."""

    fields: tuple[tuple[str, Value], ...]

    def get(self, name: str) -> Value | None:
        return dict(self.fields).get(name)

    def set(self, name: str, value: Value) -> Record:
        items = dict(self.fields)
        items[name] = value
        return Record(tuple(items.items()))


@dataclass(frozen=True)
class Ref:
    """The address of a local struct variable (`&input_dims`)."""

    var: str


Value = Affine | Ptr | Record | Ref
UNTRACKED = Ptr((), True)  # loaded from memory, a global pointer: may reach an escaped base
NULL = Ptr(())  # also a local or file-scope array: memory that is no base and holds none
_NO_RANGES: Mapping[int, Interval] = MappingProxyType({})
_GEN = c_generator.CGenerator()
_COMPARE = {"<", "<=", ">", ">=", "==", "!="}
_NEGATE = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}


def _text(node: c_ast.Node, limit: int = 70) -> str:
    try:
        text = _GEN.visit(node)
    except Exception:  # the generator does not know every node: the reason is still useful
        text = type(node).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _line(node: c_ast.Node | None, default: int) -> int:
    return node.coord.line if node is not None and node.coord is not None else default


def _join_values(
    a: Value, b: Value, ranges: Mapping[int, Interval], other: Mapping[int, Interval] | None = None
) -> Value:
    """A value for both paths; `a` holds where `ranges` do, `b` where `other` (default: the
    same) do: a branch narrowed by its condition keeps its narrower interval."""
    if a is b or a == b:
        return a
    if isinstance(a, Affine) and isinstance(b, Affine):
        return _join_offsets(a, b, ranges, other)
    if isinstance(a, Ptr) or isinstance(b, Ptr):
        pa = a if isinstance(a, Ptr) else NULL if _is_zero(a) else UNTRACKED
        pb = b if isinstance(b, Ptr) else NULL if _is_zero(b) else UNTRACKED
        targets = dict(pa.targets)
        for base, off in pb.targets:
            mine = targets.get(base)
            targets[base] = off if mine is None else _join_offsets(mine, off, ranges, other)
        return Ptr(tuple(sorted(targets.items())), pa.unknown or pb.unknown)
    if isinstance(a, Record) and isinstance(b, Record):
        names = dict(a.fields)
        others = dict(b.fields)
        return Record(
            tuple(
                (n, _join_values(v, others[n], ranges, other) if n in others else _widen(v))
                for n, v in names.items()
            )
        )
    return TOP


def _within(off: Affine, guard: Guard) -> tuple[int | None, int | None] | None:
    """The offsets a store at `off` takes where `guard` lets it run, when its index is the
    guard's own form (scaled by the element size); None when it is another form."""
    if not off.terms or not off.is_exact or off.const.lo is None:
        return None
    form, scale = normalised(off.terms)
    if form != guard.form:
        return None
    at = guard.bound.scale(scale) + off.const
    return at.lo, at.hi


def _join_offsets(
    a: Affine, b: Affine, ranges: Mapping[int, Interval], other: Mapping[int, Interval] | None
) -> Affine:
    if a.terms == b.terms:
        return Affine(a.terms, a.const.join(b.const))
    return Affine.of(a.interval(ranges).join(b.interval(ranges if other is None else other)))


def _grow(spans: dict[str, Span], base: str, span: Span | None) -> None:
    if span is not None:
        spans[base] = span if base not in spans else spans[base].join(span)


def _is_zero(value: Value) -> bool:
    return isinstance(value, Affine) and value.constant == 0


def _widen(value: Value, ctype: CType | None = None) -> Value:
    """Any value a variable of this type could hold after unknown updates (keeping bases)."""
    if isinstance(value, Affine):
        return Affine.of(ctype.range()) if ctype is not None and ctype.is_integer else TOP
    if isinstance(value, Ptr):
        return Ptr(tuple((b, TOP) for b, _ in value.targets), True)
    if isinstance(value, Record):
        return Record(tuple((n, _widen(v)) for n, v in value.fields))
    return value


# --------------------------------------------------------------------------- flow


_Shadowed = tuple[str, "Value | None", "CType | None"]  # a declaration: what it hid


@dataclass(frozen=True)
class Guard:
    """An undecided `if` on one linear form of loop counters (`ax0_outer * 16 + ax0_inner <
    100`), reached by every execution: its branch runs exactly where `form` (coefficients
    coprime, the first positive) lies within `bound`."""

    form: tuple[tuple[int, int], ...]
    bound: Interval


@dataclass(frozen=True)
class Ctx:
    ranges: Mapping[int, Interval]
    certain: bool  # every execution of the statement that completes normally gets here
    checked: bool = False  # a call here failing makes the function take an error exit
    # Set where `certain` is False only because of a guard: a store at the guard's own form
    # certainly writes the elements the guard lets through (a tail guard on a split axis).
    guard: Guard | None = None


@dataclass
class Out:
    env: dict[str, Value] | None  # falls through with this environment (None: never)
    brk: dict[str, Value] | None = None  # environment at `break`s of the enclosing loop/switch
    cont: bool = False
    ret: bool = False  # a normal `return` or a `goto` may leave here


@dataclass
class _Recorder:
    """What one top-level statement touches."""

    reads: dict[str, Span] = field(default_factory=dict)
    writes: dict[str, Span] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)
    reasons: dict[str, tuple[int, str]] = field(default_factory=dict)
    untracked: bool = False  # reaches memory through a pointer that is no base, or a call


@dataclass(frozen=True)
class Summary:
    """What a call does to each pointer parameter, in one calling context."""

    params: Mapping[str, Extent]
    reasons: Mapping[str, str]
    escapes: Mapping[str, str]
    untracked: bool
    error_exits: bool


@dataclass(frozen=True)
class _Defined:
    identity: str
    tu: TranslationUnit
    node: c_ast.FuncDef


# --------------------------------------------------------------------------- analyser


class Analyser:
    """Every function of a set of translation units; summaries memoised per context.
    `slices`: which pointer parameters are pools whose `&param[C]`, written where it is used,
    is a base of its own (an inline slice)."""

    def __init__(
        self, units: Mapping[str, TranslationUnit], slices: Callable[[str], bool] | None = None
    ):
        self.slices = slices or (lambda name: False)
        self.types = TypeTable([tu.ast for tu in units.values()])
        self.functions: dict[str, _Defined] = {}
        self.visible: dict[str, dict[str, str]] = {}
        self.file_types: dict[str, dict[str, CType]] = {}
        defs: list[tuple[TranslationUnit, c_ast.FuncDef]] = []
        for rel, tu in units.items():
            scope: dict[str, CType] = {}
            for ext in tu.ast.ext:
                decl = ext.decl if isinstance(ext, c_ast.FuncDef) else ext
                if isinstance(decl, c_ast.Decl) and decl.name:
                    scope[decl.name] = self.types.of(decl.type)
                if isinstance(ext, c_ast.FuncDef) and tu.is_own(ext):
                    defs.append((tu, ext))
            self.file_types[rel] = scope
        self.visible = identities(defs, units)
        for tu, f in defs:
            identity = self.visible[tu.rel][f.decl.name]
            self.functions.setdefault(identity, _Defined(identity, tu, f))
        self.memo: dict[tuple, tuple[Summary, FunctionExtents]] = {}
        self.stack: list[str] = []
        self.counter = itertools.count()
        self.scans: dict[str, BodyScan] = {}  # per function: it runs in many contexts

    def summary(self, identity: str, ints: tuple) -> Summary | None:
        """The callee's summary for these integer arguments; None when recursive."""
        key = (identity, ints)
        if key not in self.memo:
            if identity in self.stack:
                return None
            self.stack.append(identity)
            try:
                self.memo[key] = _FunctionRun(self, self.functions[identity], ints).run()
            finally:
                self.stack.pop()
        return self.memo[key][0]

    def analyse_all(self) -> dict[str, FunctionExtents]:
        out: dict[str, FunctionExtents] = {}
        for identity, fn in self.functions.items():
            key = (identity, _unknown_ints(self, fn))
            if key not in self.memo:
                self.stack.append(identity)
                try:
                    self.memo[key] = _FunctionRun(self, fn, key[1]).run()
                finally:
                    self.stack.pop()
            out[identity] = self.memo[key][1]
        return out


def _unknown_ints(analyser: Analyser, fn: _Defined) -> tuple:
    return tuple(None for _ in _params(analyser, fn))


def _params(analyser: Analyser, fn: _Defined) -> list[tuple[str, CType]]:
    args = fn.node.decl.type.args
    out = []
    for p in args.params if args is not None else []:
        if isinstance(p, c_ast.Decl) and p.name:
            ctype = analyser.types.of(p.type)
            if ctype.kind == "array":
                ctype = CType("ptr", (4, 8), False, ctype.target)
            out.append((p.name, ctype))
    return out


class _FunctionRun:
    """One abstract execution of a function body in one calling context."""

    def __init__(self, analyser: Analyser, fn: _Defined, ints: tuple):
        self.an = analyser
        self.fn = fn
        self.types = analyser.types
        self.globals = analyser.file_types.get(fn.tu.rel, {})
        self.visible = analyser.visible.get(fn.tu.rel, {})
        self.params = _params(analyser, fn)
        self.ints = ints
        self.body = fn.node.body
        self.ret_type = self.types.of(fn.node.decl.type).target or UNKNOWN
        self.bases: dict[str, Base] = {}
        self.env: dict[str, Value] = {}
        self.decl_types: dict[str, CType] = {}
        self.scopes: list[list[_Shadowed]] = []
        self.escaped: dict[str, tuple[int, str]] = {}
        self.trip: dict[int, int] = {}  # counters of loops that certainly run all iterations
        self.fresh: dict[int, Interval] = {}  # variables standing for quotients, remainders
        # A guard's bound on a form of several counters (`ax0_outer * 16 + ax0_inner < 100`)
        # is kept in the ranges under a negative key of its own, one per form.
        self.relations: dict[tuple[tuple[int, int], ...], int] = {}
        self.rec = _Recorder()
        self.recording = True
        self.watch: dict[str, Value] | None = None
        self.line = fn.node.coord.line if fn.node.coord else 0
        self.index = 0
        self.depth = 0  # 0: a top-level statement of the body is being executed
        self.inline = True  # `&pool[C]` may be an inline slice (not a let slice's initialiser)
        self.error_exits = False
        self.untracked_any = False
        if fn.identity not in analyser.scans:  # the error exits are the function's own
            analyser.scans[fn.identity] = scan_body(self.body, self._is_error_exit)
        self.scan = analyser.scans[fn.identity]
        self.reassigned = self.scan.assigned([self.body])
        self.addr_taken = self.scan.addresses
        self.jumps = self.scan.goto

    # ----------------------------------------------------------------- driver

    def run(self) -> tuple[Summary, FunctionExtents]:
        env: dict[str, Value] = {}
        for (name, ctype), bound in zip(self.params, self.ints, strict=True):
            self.decl_types[name] = ctype
            if ctype.is_pointer:
                self.bases[name] = Base(name, "param", self.line)
                env[name] = Ptr(((name, Affine.exact(0)),))
            elif ctype.is_integer:
                known = Interval(*bound) if bound is not None else ctype.range()
                env[name] = Affine.of(known.meet(ctype.range()))
            elif ctype.kind == "struct":
                env[name] = self._record(ctype, [])
            else:
                env[name] = TOP
        statements: list[StatementExtents] = []
        unbounded: list[Unbounded] = []
        summary_reads: dict[str, Span] = {}
        summary_writes: dict[str, Span] = {}
        summary_must: dict[str, list[tuple[int, int]]] = {}
        reasons: dict[str, str] = {}
        reach_certain = not self.jumps
        items = self.body.block_items or []
        failure: str | None = None
        for index, item in enumerate(items):
            self.index, self.rec = index, _Recorder()
            line = _line(item, self.line)
            if failure is None:
                try:
                    out = self._exec(item, env, Ctx(self._scope({}), not self.jumps))
                except (RecursionError, ValueError, KeyError, AttributeError, TypeError) as exc:
                    failure = f"the analysis failed ({type(exc).__name__}: {exc})"
                    out = Out(None)
                if out.env is not None:
                    env = out.env
            if failure is not None:
                self._give_up(failure, line)
            extents = self._finish(line)
            statements.append(StatementExtents(index, line, MappingProxyType(extents)))
            for base, (where, reason) in sorted(self.rec.reasons.items()):
                unbounded.append(Unbounded(base, index, where, reason))
            for base, extent in extents.items():
                _grow(summary_reads, base, extent.reads)
                _grow(summary_writes, base, extent.writes)
                if reach_certain:
                    summary_must.setdefault(base, []).extend(extent.must_write)
                if base in self.rec.reasons:
                    reasons.setdefault(base, self.rec.reasons[base][1])
            if failure is not None or out.ret or out.cont or out.brk is not None:
                reach_certain = False
        params = {}
        for name, _ in self.params:
            if name in self.bases:
                params[name] = Extent(
                    summary_reads.get(name),
                    summary_writes.get(name),
                    merge_runs(summary_must.get(name, [])),
                )
        escapes = {b: f"line {line}: {why}" for b, (line, why) in self.escaped.items()}
        summary = Summary(
            MappingProxyType(params),
            MappingProxyType(reasons),
            MappingProxyType(escapes),
            self.untracked_any,
            self.error_exits,
        )
        result = FunctionExtents(
            self.fn.identity,
            self.fn.tu.rel,
            self.line,
            MappingProxyType(dict(self.bases)),
            tuple(statements),
            summary.params,
            tuple(unbounded),
            summary.escapes,
            self.error_exits,
        )
        return summary, result

    def _give_up(self, reason: str, line: int) -> None:
        for base in self.bases:
            self._note(base, "rw", UNBOUNDED, line, reason)
        self.rec.untracked = True

    def _finish(self, line: int) -> dict[str, Extent]:
        rec = self.rec
        if rec.untracked:
            self.untracked_any = True
            for base, (where, why) in self.escaped.items():
                reason = (
                    f"its pointer escaped at line {where} ({why}) and this statement reaches "
                    "memory through pointers crewrite does not follow"
                )
                self._note(base, "rw", UNBOUNDED, line, reason, shifted=False)
        runs = covered(rec.blocks, self.trip)
        out: dict[str, Extent] = {}
        for base in sorted(set(rec.reads) | set(rec.writes) | set(runs)):
            out[base] = Extent(rec.reads.get(base), rec.writes.get(base), runs.get(base, ()))
        return out

    # ----------------------------------------------------------------- recording

    def _note(
        self,
        base: str,
        kind: str,
        span: Span,
        line: int,
        reason: str | None = None,
        shifted: bool = True,
    ) -> None:
        """Record bytes of a base (and of its root, for a slice) as read and/or written."""
        if not self.recording:
            return
        targets = [(base, 0)]
        info = self.bases.get(base)
        if shifted and info is not None and info.root is not None:
            targets.append((info.root, info.offset))
        for name, offset in targets:
            moved = span.shift(Interval(offset, offset))
            if "r" in kind:
                _grow(self.rec.reads, name, moved)
            if "w" in kind:
                _grow(self.rec.writes, name, moved)
            if not moved.bounded and name not in self.rec.reasons:
                self.rec.reasons[name] = (line, reason or "not bounded")

    def _block(
        self,
        base: str,
        at: Affine,
        width: int,
        within: tuple[int | None, int | None] = (None, None),
    ) -> None:
        if not self.recording or width <= 0 or at.const.lo is None:
            return
        self.rec.blocks.append(Block(base, at.terms, at.const.lo, width, within))
        info = self.bases.get(base)
        if info is not None and info.root is not None:
            lo, hi = within
            moved = (
                None if lo is None else lo + info.offset,
                None if hi is None else hi + info.offset,
            )
            self.rec.blocks.append(
                Block(info.root, at.terms, at.const.lo + info.offset, width, moved)
            )

    def _certain_at(self, ptr: Ptr, at: Affine, ctx: Ctx) -> bool:
        return (
            ctx.certain
            and len(ptr.targets) == 1
            and not ptr.unknown
            and at.is_exact
            and all(v in self.trip for v in at.uses())
        )

    def _access(self, ptr: Ptr, ctype: CType, kind: str, node: c_ast.Node, ctx: Ctx) -> None:
        """A load or store of one object of `ctype` at `ptr`."""
        if ptr.unknown:
            self.rec.untracked = True
        line = _line(node, self.line)
        size = ctype.size
        for base, off in ptr.targets:
            if size is None:
                self._note(base, kind, UNBOUNDED, line, f"element size unknown: {_text(node)}")
                continue
            iv = self._guarded(off, ctx.ranges)
            span = Span(iv.lo, None if iv.hi is None else iv.hi + size[1])
            self._note(base, kind, span, line, f"index not bounded: {_text(node)}")
            if "w" in kind and size[0] == size[1]:
                if self._certain_at(ptr, off, ctx):
                    self._block(base, off, size[0])
                elif ctx.guard is not None and self._certain_at(
                    ptr, off, replace(ctx, certain=True)
                ):
                    within = _within(off, ctx.guard)
                    if within is not None:
                        self._block(base, off, size[0], within)

    def _guarded(self, off: Affine, ranges: Mapping[int, Interval]) -> Interval:
        """The interval of an offset on this path, narrowed by a guard on its linear part."""
        iv = off.interval(ranges)
        part = linear_part(off.terms)
        if part is not None and part[0] in self.relations:
            bound = ranges.get(self.relations[part[0]])
            if bound is not None:
                iv = iv.meet(bound.scale(part[1]) + off.const)
        return iv

    def _escape(self, value: Value | None, line: int, why: str) -> None:
        if not self.recording:
            return
        for ptr in self._pointers(value):
            for base in ptr.bases():
                for related in self._related(base):
                    self.escaped.setdefault(related, (line, why))

    def _related(self, base: str) -> set[str]:
        """A base with its root and every slice of the same root."""
        info = self.bases.get(base)
        root = info.root if info is not None and info.root is not None else base
        return {root} | {n for n, b in self.bases.items() if b.root == root}

    def _unbounded_args(self, value: Value | None, line: int, why: str) -> None:
        """A pointer handed where crewrite cannot see what happens to its bytes."""
        for ptr in self._pointers(value):
            for base in ptr.bases():
                self._note(base, "rw", UNBOUNDED, line, why)
            if ptr.unknown:
                self.rec.untracked = True
        self._escape(value, line, why)

    def _difference(self, left: Value, right: Value) -> Affine | None:
        """`left - right` of two numbers, or of two pointers into one base (a slice counts
        as its root plus its offset)."""
        if isinstance(left, Affine) and isinstance(right, Affine):
            return left - right
        if not (isinstance(left, Ptr) and isinstance(right, Ptr)) or left.unknown or right.unknown:
            return None
        if len(left.targets) != 1 or len(right.targets) != 1:
            return None
        (a, off_a), (b, off_b) = left.targets[0], right.targets[0]
        if a != b:
            info_a, info_b = self.bases.get(a), self.bases.get(b)
            root_a = info_a.root if info_a is not None and info_a.root else a
            root_b = info_b.root if info_b is not None and info_b.root else b
            if root_a != root_b:
                return None
            off_a = off_a.add_const(info_a.offset if info_a is not None else 0)
            off_b = off_b.add_const(info_b.offset if info_b is not None else 0)
        return off_a - off_b

    def _deref_record(self, value: Value | None) -> Value | None:
        if isinstance(value, Ref):
            return self.env.get(value.var)
        return value

    def _pointers(self, value: Value | None) -> Iterable[Ptr]:
        """Every pointer a value holds or reaches through local structs it points at."""
        seen: set[str] = set()
        stack = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, Ref):
                if item.var not in seen:
                    seen.add(item.var)
                    stack.append(self.env.get(item.var))
            elif isinstance(item, Ptr):
                yield item
            elif isinstance(item, Record):
                stack.extend(member for _, member in item.fields)

    # ----------------------------------------------------------------- statements

    def _exec(self, node: c_ast.Node | None, env: dict[str, Value], ctx: Ctx) -> Out:
        self.env = env
        if node is None:
            return Out(env)
        if isinstance(node, c_ast.Compound):
            return self._block_items(node.block_items or [], env, ctx)
        if isinstance(node, c_ast.Decl):
            self._declare(node, env, ctx)
            return Out(env)
        if isinstance(node, c_ast.DeclList):
            for decl in node.decls:
                self._declare(decl, env, ctx)
            return Out(env)
        if isinstance(node, c_ast.If):
            return self._if(node, env, ctx)
        if isinstance(node, c_ast.For | c_ast.While | c_ast.DoWhile):
            return self._loop(node, env, ctx)
        if isinstance(node, c_ast.Switch):
            return self._switch(node, env, ctx)
        if isinstance(node, c_ast.Return):
            return self._return(node, env, ctx)
        if isinstance(node, c_ast.Break):
            return Out(None, brk=env)
        if isinstance(node, c_ast.Continue):
            return Out(None, cont=True)
        if isinstance(node, c_ast.Goto):
            return Out(None, ret=True)
        if isinstance(node, c_ast.Label):
            self._havoc(env)
            out = self._exec(node.stmt, env, replace(ctx, certain=False, guard=None))
            out.ret = True
            return out
        if isinstance(node, c_ast.Case | c_ast.Default):
            return self._block_items(node.stmts or [], env, ctx)
        if isinstance(
            node, c_ast.EmptyStatement | c_ast.Pragma | c_ast.Typedef | c_ast.StaticAssert
        ):
            return Out(env)
        self._eval(node, env, ctx)
        return Out(self.env)

    def _block_items(self, items: list[c_ast.Node], env: dict[str, Value], ctx: Ctx) -> Out:
        self.scopes.append([])
        self.depth += 1
        result = Out(env)
        current: dict[str, Value] | None = env
        for item in items:
            if current is None:
                break
            out = self._exec(item, current, ctx)
            result.brk = self._join_env(result.brk, out.brk, ctx)
            result.cont |= out.cont
            result.ret |= out.ret
            current = out.env
            if out.ret or out.cont or out.brk is not None:
                ctx = replace(ctx, certain=False, guard=None)
        self.depth -= 1
        scope = self.scopes.pop()
        for env_out in (current, result.brk):
            if env_out is not None:
                self._unscope(env_out, scope)
        result.env = current
        return result

    def _unscope(self, env: dict[str, Value], scope: list[_Shadowed]) -> None:
        """Leave a block: its declarations go, the variables they hid come back."""
        for name, previous, previous_type in reversed(scope):
            if previous is None:
                env.pop(name, None)
            else:
                env[name] = previous
            if previous_type is not None:
                self.decl_types[name] = previous_type

    def _join_env(
        self,
        a: dict[str, Value] | None,
        b: dict[str, Value] | None,
        ctx: Ctx,
        a_ranges: Mapping[int, Interval] | None = None,
        b_ranges: Mapping[int, Interval] | None = None,
    ) -> dict[str, Value] | None:
        """Variables after two paths (`*_ranges`: the counter ranges each path ran under)."""
        if a is None:
            return b
        if b is None or a is b:
            return a
        ra = ctx.ranges if a_ranges is None else a_ranges
        rb = ctx.ranges if b_ranges is None else b_ranges
        return {n: self._join(a[n], b[n], ra, rb) for n in a.keys() & b.keys()}

    def _join(self, a: Value, b: Value, ra: Mapping[int, Interval], rb: Mapping[int, Interval]):
        """`_join_values`, but a struct address that differs on the two paths is lost: the
        pointers held in what it pointed at count as escaped."""
        if (isinstance(a, Ref) or isinstance(b, Ref)) and a != b:
            for side in (a, b):
                self._escape(side, self.line, "address of a local struct merged with another")
            return UNTRACKED
        return _join_values(a, b, ra, rb)

    def _havoc(self, env: dict[str, Value]) -> None:
        """At a label anything may have run: every variable holds any value, and every
        pointer may point anywhere in any base."""
        everywhere = Ptr(tuple((b, TOP) for b in sorted(self.bases)), True)
        for name, value in list(env.items()):
            env[name] = everywhere if isinstance(value, Ptr) else _widen(value)

    def _declare(self, node: c_ast.Decl, env: dict[str, Value], ctx: Ctx) -> None:
        if not node.name:
            return
        ctype = self.types.of(node.type)
        if ctype.kind == "func":
            return
        storage = node.storage or []
        if "static" in storage or "extern" in storage:
            # A variable that outlives the call: to us, a global.
            if isinstance(node.init, c_ast.Node):
                kept, _ = self._eval(node.init, env, ctx)
                self._escape(kept, _line(node, self.line), f"stored in static '{node.name}'")
            self.globals = {**self.globals, node.name: ctype}
            return
        line = _line(node, self.line)
        if self.scopes:
            self.scopes[-1].append((node.name, env.get(node.name), self.decl_types.get(node.name)))
        self.decl_types[node.name] = ctype
        init = node.init
        value: Value
        if isinstance(init, c_ast.Node) and workspace_call(init) == ALLOC:
            self._eval(init, env, ctx)  # its arguments
            value = self._new_workspace(node.name, init, line)
        elif isinstance(init, c_ast.InitList):
            values = [self._eval(e, env, ctx)[0] for e in init.exprs]
            if ctype.kind == "struct":
                value = self._record(ctype, values, init)
            else:
                for v in values:  # pointers stored into a local array: memory we do not track
                    self._escape(v, line, f"stored in local array '{node.name}'")
                value = NULL
        elif isinstance(init, c_ast.Node):
            # `void* s = &pool[C];` is a let slice, named by its variable, not an inline one
            self.inline = not _is_address(init)
            try:
                value = self._convert(self._eval(init, env, ctx)[0], ctype, line, ctx.ranges)
            finally:
                self.inline = True
            if (
                ctype.is_pointer
                and node.name not in self.reassigned
                and node.name not in self.addr_taken
            ):
                value = self._slice(node.name, value, line)
        elif ctype.kind == "struct":
            value = self._record(ctype, [])
        elif ctype.kind == "array":
            value = NULL
        elif ctype.is_pointer:
            value = UNTRACKED
        else:
            value = Affine.of(ctype.range()) if ctype.is_integer else TOP
        if ctype.kind == "array":
            value = NULL  # a local array: its address is no base
        if node.name in self.addr_taken and not isinstance(value, Record):
            self._escape(value, line, f"address of '{node.name}' is taken")
            value = _widen(value, ctype)
        env[node.name] = value

    def _new_workspace(self, name: str, call: c_ast.Node, line: int) -> Ptr:
        call = strip_casts(call)
        assert isinstance(call, c_ast.FuncCall)
        args = call.args.exprs if call.args is not None else []
        size = fold_constant(args[2]) if len(args) == 5 else None
        key = name if name not in self.bases or self.bases[name].line == line else f"{name}@{line}"
        if self.recording:  # a probe run only looks for the bases a pointer may take
            self.bases[key] = Base(key, "workspace", line, size)
        return Ptr(((key, Affine.exact(0)),))

    def _slice(self, name: str, value: Value, line: int) -> Value:
        """`void* s = &pool[C];`, `pool` a parameter: a base. USMP also declares slices inside
        loop bodies (the same address on every iteration); a name declared again with
        another root or offset stays a plain pointer."""
        if not (isinstance(value, Ptr) and len(value.targets) == 1 and not value.unknown):
            return value
        root, offset = value.targets[0]
        info = self.bases.get(root)
        if info is None or info.kind != "param" or offset.constant is None:
            return value
        known = self.bases.get(name)
        if known is not None and (known.root, known.offset) != (root, offset.constant):
            return value
        self.bases[name] = Base(name, "slice", line, None, root, offset.constant)
        return Ptr(((name, Affine.exact(0)),))

    def _inline_slice(self, node: c_ast.ArrayRef, value: Value) -> Value:
        """`&pool[C]` written where it is used (USMP's inline slice), `pool` a parameter the
        analyser was told is a pool: a base `pool[C]` of its own (the name
        crewrite.extract.pools gives it), the same one at every use in the function."""
        if not (self.inline and isinstance(node.name, c_ast.ID) and self.an.slices(node.name.name)):
            return value
        index = fold_constant(node.subscript)
        if index is None or not isinstance(value, Ptr) or len(value.targets) != 1:
            return value
        root, offset = value.targets[0]
        info = self.bases.get(root)
        if value.unknown or info is None or info.kind != "param" or offset.constant is None:
            return value
        name = f"{root}[{index}]"
        if name not in self.bases:
            self.bases[name] = Base(
                name, "inline", _line(node, self.line), None, root, offset.constant
            )
        return Ptr(((name, Affine.exact(0)),))

    def _record(self, ctype: CType, values: list[Value], init: c_ast.InitList | None = None):
        members = [n for n, _ in ctype.fields or ()]
        member_types = dict(ctype.fields or ())
        items: dict[str, Value] = {}
        position = 0
        exprs = init.exprs if init is not None else []
        for expr, value in zip(exprs, values, strict=False):
            name = None
            if isinstance(expr, c_ast.NamedInitializer) and expr.name:
                last = expr.name[-1]
                name = last.name if isinstance(last, c_ast.ID) else None
                if name in members:
                    position = members.index(name)
            elif position < len(members):
                name = members[position]
            if name is not None:
                items[name] = value
            position += 1
        out = []
        for name in members:
            member = member_types[name]
            if name in items:
                value = items[name]
            elif member.kind == "struct":
                value = self._record(member, [])
            else:
                value = NULL if member.is_pointer else Affine.exact(0) if init else TOP
            out.append((name, value))
        return Record(tuple(out))

    def _if(self, node: c_ast.If, env: dict[str, Value], ctx: Ctx) -> Out:
        checked = self._is_error_exit(node.iftrue)
        value, _ = self._eval(node.cond, env, replace(ctx, checked=checked))
        env = self.env
        outs: list[tuple[Out, Mapping[int, Interval]]] = []
        for branch, branch_ctx in self._branches(node, value, env, ctx):
            outs.append((self._exec(branch, dict(env), branch_ctx), branch_ctx.ranges))
        if not outs:
            return Out(env)
        result = Out(None)
        held: Mapping[int, Interval] = ctx.ranges
        for out, ran_under in outs:
            if out.env is not None:
                result.env = self._join_env(result.env, out.env, ctx, held, ran_under)
                held = ran_under if result.env is out.env else ctx.ranges
            result.brk = self._join_env(result.brk, out.brk, ctx)
            result.cont |= out.cont
            result.ret |= out.ret
        return result

    def _branches(self, node: c_ast.If | c_ast.TernaryOp, cond: Value, env, ctx: Ctx):
        """The sides of an `if` or `?:` that may run, each with its context: a side decided
        by the condition keeps the certainty of the whole; an undecided one is uncertain and
        runs under the counter ranges its condition leaves (none: it never runs)."""
        truth = self._truth(cond, ctx)
        for branch, taken in ((node.iftrue, True), (node.iffalse, False)):
            if truth is not None:
                if truth == taken:
                    yield branch, ctx
                continue
            ranges = self._narrow(node.cond, env, ctx.ranges, taken)
            if ranges is not None:
                guard = self._guard(node.cond, env, ctx, taken) if ctx.certain else None
                yield branch, Ctx(ranges, False, ctx.checked, guard)

    def _guard(self, cond: c_ast.Node, env, ctx: Ctx, truth: bool) -> Guard | None:
        """The guard an undecided condition makes: one comparison of one linear form of
        counters against a known number (None for anything else)."""
        cond = strip_casts(cond)
        if isinstance(cond, c_ast.UnaryOp) and cond.op == "!":
            return self._guard(cond.expr, env, ctx, not truth)
        if not (isinstance(cond, c_ast.BinaryOp) and cond.op in _COMPARE - {"!="}):
            return None
        left = self._pure(cond.left, env, ctx.ranges)
        right = self._pure(cond.right, env, ctx.ranges)
        diff = self._difference(left, right)
        op = cond.op if truth else _NEGATE[cond.op]
        if diff is None or not diff.terms or not diff.is_exact or op == "!=":
            return None
        form, scale = normalised(diff.terms)
        bound = linear_bound(diff, op)
        return None if bound is None else Guard(form, divide_bound(bound, scale))

    def _is_error_exit(self, node: c_ast.Node | None) -> bool:
        """`return -1;` or `{ return -1; }`: a failure leaves the function."""
        if isinstance(node, c_ast.Compound) and node.block_items and len(node.block_items) == 1:
            node = node.block_items[0]
        if not isinstance(node, c_ast.Return) or node.expr is None:
            return False
        value = fold_constant(node.expr)
        return self.ret_type.is_integer and value is not None and value != 0

    def _return(self, node: c_ast.Return, env: dict[str, Value], ctx: Ctx) -> Out:
        value: Value | None = None
        if node.expr is not None:
            value, _ = self._eval(node.expr, env, replace(ctx, checked=True))
            self._escape(value, _line(node, self.line), "returned")
        error = (
            self.ret_type.is_integer
            and isinstance(value, Affine)
            and value.constant is not None
            and value.constant != 0
        )
        if error and self.recording:
            self.error_exits = True
        return Out(None, ret=not error)

    def _switch(self, node: c_ast.Switch, env: dict[str, Value], ctx: Ctx) -> Out:
        value, _ = self._eval(node.cond, env, ctx)
        env = self.env
        items = (node.stmt.block_items or []) if isinstance(node.stmt, c_ast.Compound) else []
        labels = [i for i in items if isinstance(i, c_ast.Case | c_ast.Default)]
        known = value.constant if isinstance(value, Affine) else None
        start: int | None = None
        if known is not None:
            for index, item in enumerate(labels):
                if not isinstance(item, c_ast.Case):
                    continue
                label = self._pure(item.expr, env, ctx.ranges)
                if isinstance(label, Affine) and label.constant == known:
                    start = index
                    break
            else:
                defaults = [i for i, item in enumerate(labels) if isinstance(item, c_ast.Default)]
                start = defaults[0] if defaults else None
            if start is None:
                return Out(env)
            starts = [start]
            case_ctx = ctx
        else:
            starts = list(range(len(labels)))
            case_ctx = replace(ctx, certain=False, guard=None)
        result = Out(None)
        fallthrough: dict[str, Value] | None = None
        for index in range(min(starts, default=0), len(labels)):
            entry = dict(env) if index in starts else None
            entry = self._join_env(entry, fallthrough, ctx)
            if entry is None:
                continue
            out = self._block_items(labels[index].stmts or [], entry, case_ctx)
            result.brk = self._join_env(result.brk, out.brk, ctx)
            result.cont |= out.cont
            result.ret |= out.ret
            fallthrough = out.env
        result.env = self._join_env(result.brk, fallthrough, ctx)
        has_default = any(isinstance(i, c_ast.Default) for i in labels)
        if known is None and not has_default:
            result.env = self._join_env(result.env, env, ctx)
        result.brk = None
        return result

    # ----------------------------------------------------------------- loops

    def _loop(self, node: c_ast.For | c_ast.While | c_ast.DoWhile, env, ctx: Ctx) -> Out:
        self.scopes.append([])
        self.depth += 1
        step = node.next if isinstance(node, c_ast.For) else None
        if isinstance(node, c_ast.For) and node.init is not None:
            init_out = self._exec(node.init, env, ctx)
            env = init_out.env if init_out.env is not None else env
        body, cond = node.stmt, node.cond
        found = self.scan.exits.get(id(body)) if body is not None else None
        brk, cont, other = found if found is not None else jumps(body, self._is_error_exit)
        modified = self.scan.assigned([body, step, cond]) & set(env)
        deltas = self._inductions(body, step, cond, modified, env, ctx, cont or other)
        counter = next(self.an.counter)
        head = dict(env)
        for name in modified:
            delta = deltas.get(name)
            if delta is not None:
                head[name] = self._advance(env[name], Affine.var(counter, delta))
            else:
                head[name] = _widen(env[name], self.decl_types.get(name))
        pointers = [n for n in modified if deltas.get(n) is None and isinstance(head[n], Ptr)]
        if pointers:
            head = self._stabilise(head, pointers, node, counter, ctx)
        do_while = isinstance(node, c_ast.DoWhile)
        if do_while:  # runs once, and again only if the condition can hold afterwards
            again = self._truth(self._pure(cond, head, ctx.ranges), ctx) if cond else None
            exact, most = (1, 1) if again is False else (None, None)
        else:
            exact, most = self._trip_count(cond, head, ctx, counter)
        ranges = self._scope(ctx.ranges)
        ranges[counter] = Interval(0, None if most is None else most - 1)
        exhaustive = exact is not None and not (brk or cont or other)
        post = dict(env)
        ret = False
        loop_env = dict(head)
        if cond is not None:  # checked once more than the body runs
            check = self._scope(ctx.ranges)
            check[counter] = Interval(0, most)
            self._eval(cond, loop_env, Ctx(check, False))
            loop_env = self.env
        if most != 0 or do_while:
            certain = ctx.certain and exhaustive and bool(exact)
            guard = ctx.guard if exhaustive and bool(exact) else None
            if (certain or guard is not None) and exact is not None:
                self.trip[counter] = exact
            body_ctx = Ctx(ranges, certain, False, guard)
            if cond is not None and not do_while:
                narrowed = self._narrow(cond, loop_env, ranges, True)
                body_ctx = replace(body_ctx, ranges=narrowed if narrowed is not None else ranges)
            out = self._exec(body, loop_env, body_ctx)
            ret = out.ret
            if step is not None:
                self._eval(step, out.env if out.env is not None else dict(head), body_ctx)
        for name in modified:
            delta = deltas.get(name)
            if delta is not None and exhaustive and exact is not None:
                post[name] = self._advance(env[name], Affine.exact(delta * exact))
            elif delta is not None and most is not None and not do_while:
                span = Interval(0, delta * most) if delta >= 0 else Interval(delta * most, 0)
                post[name] = self._advance(env[name], Affine.of(span))
            else:
                post[name] = head[name] if delta is None else _widen(env[name])
        if exact == 0 and cond is not None and not do_while:
            for name in modified:
                post[name] = env[name]  # the body never ran
        scope = self.scopes.pop()
        self.depth -= 1
        self._unscope(post, scope)
        self.env = post
        return Out(post, ret=ret)

    def _inductions(self, body, step, cond, modified, env, ctx: Ctx, skipped: bool) -> dict:
        """Per modified variable: bytes (pointers) or units it moves by on every iteration;
        None when not a constant move made on every iteration (or moved by the condition,
        which runs once more than the body)."""

        def constant(node: c_ast.Node) -> int | None:
            if assigned([node]) or any(
                isinstance(n, c_ast.ID) and n.name in modified for n in walk(node)
            ):
                return None
            value = self._pure(node, env, ctx.ranges)
            return value.constant if isinstance(value, Affine) else None

        finder = Increments(set(modified), constant)
        if body is not None:
            finder.visit(body)
            if skipped:  # a `continue` or `return` may skip the updates in the body
                finder.deltas = {n: None for n in finder.deltas}
        body_deltas = dict(finder.deltas)
        finder.deltas = {}
        if step is not None:
            finder.visit(step)
        out: dict[str, int | None] = {}
        in_condition = assigned([cond])
        for name in modified:
            parts = [d[name] for d in (body_deltas, finder.deltas) if name in d]
            if name in in_condition:
                parts.append(None)
            if not parts or any(p is None for p in parts):
                out[name] = None
                continue
            delta = sum(p for p in parts if p is not None)
            ctype = self.decl_types.get(name, UNKNOWN)
            if isinstance(env.get(name), Ptr):
                element = ctype.element().size if ctype.is_pointer else None
                if element is None or element[0] != element[1]:
                    out[name] = None
                    continue
                delta *= element[0]
            elif not isinstance(env.get(name), Affine):
                out[name] = None
                continue
            out[name] = delta
        return out

    def _advance(self, value: Value, by: Affine) -> Value:
        if isinstance(value, Affine):
            return value + by
        if isinstance(value, Ptr):
            return value.shift(by)
        return _widen(value)

    def _stabilise(self, head, names: list[str], node, counter: int, ctx: Ctx):
        """Pointer variables the body reassigns: find every base they may take, by running
        the body without recording until no new base appears."""
        for _ in range(4):
            saved = (self.recording, self.watch, self.rec, dict(self.escaped), self.trip)
            self.recording, self.watch, self.rec, self.trip = False, {}, _Recorder(), {}
            ranges = self._scope(ctx.ranges)
            ranges[counter] = Interval(0, None)
            probe_ctx = Ctx(ranges, False)
            loop_env = dict(head)
            try:
                if node.cond is not None:
                    self._eval(node.cond, loop_env, probe_ctx)
                    loop_env = self.env
                out = self._exec(node.stmt, loop_env, probe_ctx)
                step = node.next if isinstance(node, c_ast.For) else None
                if step is not None:
                    self._eval(step, out.env if out.env is not None else loop_env, probe_ctx)
                seen = self.watch
            finally:
                self.recording, self.watch, self.rec, self.escaped, self.trip = saved
            changed = False
            for name in names:
                if name not in seen:
                    continue
                joined = _widen(_join_values(head[name], seen[name], ctx.ranges))
                if joined != head[name]:
                    head[name] = joined
                    changed = True
            if not changed:
                return head
        everywhere = Ptr(tuple((b, TOP) for b in sorted(self.bases)), True)
        for name in names:
            head[name] = everywhere
        return head

    def _trip_count(self, cond, head, ctx: Ctx, counter: int) -> tuple[int | None, int | None]:
        """(exact count or None, upper bound or None) of iterations of a loop."""
        if cond is None:
            return None, None
        exact = None
        if isinstance(cond, c_ast.BinaryOp) and cond.op in _COMPARE:
            left = self._pure(cond.left, head, ctx.ranges)
            right = self._pure(cond.right, head, ctx.ranges)
            diff = self._difference(left, right)
            if diff is not None:
                exact = exact_trips(diff, cond.op, counter)
        ranges = self._scope(ctx.ranges)
        ranges[counter] = Interval(0, None)
        narrowed = self._narrow(cond, head, ranges, True)
        if narrowed is None:
            return 0, 0
        hi = narrowed[counter].hi
        most = None if hi is None else max(0, hi + 1)
        if exact is not None and most is not None:
            most = min(most, exact)
        return exact, most

    # ----------------------------------------------------------------- conditions

    def _truth(self, value: Value, ctx: Ctx) -> bool | None:
        if isinstance(value, Affine):
            iv = value.interval(ctx.ranges)
            if iv.is_exact:
                return iv.lo != 0
            if (iv.lo is not None and iv.lo > 0) or (iv.hi is not None and iv.hi < 0):
                return True
        return None

    def _pure(self, node: c_ast.Node, env, ranges) -> Value:
        """The value of an expression, without recording or changing anything."""
        saved = (self.recording, self.env, self.rec, self.watch)
        self.recording, self.watch, self.rec = False, None, _Recorder()
        try:
            value, _ = self._eval(node, dict(env), Ctx(ranges, False))
        finally:
            self.recording, self.env, self.rec, self.watch = saved
        return value

    def _scope(self, ranges: Mapping[int, Interval]) -> ChainMap[int, Interval]:
        """Counter ranges to narrow or extend on a path: a copy of `ranges` that still sees
        every variable made for a division or remainder later on."""
        own = ranges.maps[0] if isinstance(ranges, ChainMap) else ranges
        return ChainMap(dict(own), self.fresh)

    def _fresh(self, value: Affine) -> Affine:
        """A quotient, remainder, shift or mask that is no affine form: a variable of its own
        (range: the value's interval), so that a guard on it (`1 <= cse_var_1`, where
        `cse_var_1 = i % 56`) narrows it where an interval could not be."""
        if value.terms or value.const.is_exact or not value.const.bounded:
            return value
        var = next(self.an.counter)
        self.fresh[var] = value.const
        return Affine.var(var)

    def _narrow(self, cond, env, ranges, truth: bool) -> ChainMap[int, Interval] | None:
        """Counter ranges on the path where `cond` is `truth`; None: no such path."""
        out = self._scope(ranges)
        if isinstance(cond, c_ast.UnaryOp) and cond.op == "!":
            return self._narrow(cond.expr, env, out, not truth)
        if isinstance(cond, c_ast.BinaryOp) and cond.op in ("&&", "||"):
            if (cond.op == "&&") == truth:  # both sides hold (or both fail)
                first = self._narrow(cond.left, env, out, truth)
                return None if first is None else self._narrow(cond.right, env, first, truth)
            return out
        if isinstance(cond, c_ast.Cast):
            return self._narrow(cond.expr, env, out, truth)
        if isinstance(cond, c_ast.BinaryOp) and cond.op in _COMPARE:
            left, right = self._pure(cond.left, env, out), self._pure(cond.right, env, out)
            diff = self._difference(left, right)
            if diff is None:
                return out
            op = cond.op if truth else _NEGATE[cond.op]
            solved = solve(diff, op, out)
            if solved is None:
                return None
            part, bound = linear_part(diff.terms), linear_bound(diff, op)
            if part is not None and bound is not None:
                key = self.relations.setdefault(part[0], -next(self.an.counter) - 1)
                known = solved.get(key, TOP_INTERVAL).meet(divide_bound(bound, part[1]))
                if known.empty:
                    return None
                solved[key] = known
            return self._scope(solved)
        value = self._pure(cond, env, out)
        if isinstance(value, Affine) and value.constant is not None:
            return out if (value.constant != 0) == truth else None
        return out

    # ----------------------------------------------------------------- expressions

    def _eval(self, node: c_ast.Node, env: dict[str, Value], ctx: Ctx) -> tuple[Value, CType]:
        self.env = env
        method = getattr(self, "_e_" + type(node).__name__, None)
        if method is None:
            raise ValueError(f"expression {type(node).__name__} at line {_line(node, 0)}")
        return method(node, env, ctx)

    def _e_Constant(self, node: c_ast.Constant, env, ctx) -> tuple[Value, CType]:
        if node.type == "string":
            return NULL, CType("ptr", (4, 8), False, CType("int", (1, 1)))
        if node.type == "char":
            code = char_value(node.value)
            return (TOP if code is None else Affine.exact(code)), INT
        if "int" in node.type or node.type in ("long", "unsigned"):
            value = int_value(node.value)
            return (TOP if value is None else Affine.exact(value)), INT
        return TOP, CType("float", (8, 8))

    def _e_ID(self, node: c_ast.ID, env, ctx) -> tuple[Value, CType]:
        name = node.name
        if name in env:
            return env[name], self.decl_types.get(name, UNKNOWN)
        if name in self.types.enums and name not in self.globals:
            return Affine.exact(self.types.enums[name]), INT
        ctype = self.globals.get(name, UNKNOWN)
        if ctype.kind in ("array", "func"):
            return NULL, ctype  # a file-scope array (weights): its own memory, no base
        if ctype.is_pointer:
            return UNTRACKED, ctype
        if ctype.is_integer:
            return Affine.of(ctype.range()), ctype
        return TOP, ctype

    def _e_Cast(self, node: c_ast.Cast, env, ctx) -> tuple[Value, CType]:
        value, _ = self._eval(node.expr, env, ctx)
        ctype = self.types.of(node.to_type)
        return self._convert(value, ctype, _line(node, self.line), ctx.ranges), ctype

    def _convert(self, value: Value, ctype: CType, line: int, ranges=_NO_RANGES) -> Value:
        """A value converted to a type: an integer that may not fit becomes the type's range
        (signed 32/64-bit arithmetic is taken not to overflow, as in TVM's index code)."""
        if ctype.is_pointer:
            if isinstance(value, Ptr | Ref):
                return value
            return NULL if _is_zero(value) else UNTRACKED
        if ctype.is_integer:
            if isinstance(value, Ptr):
                if ctype.size is not None and ctype.size[0] >= 4:
                    return value  # uintptr_t arithmetic keeps the pointer
                self._escape(value, line, "pointer truncated to a small integer")
                return Affine.of(ctype.range())
            if isinstance(value, Affine):
                allowed = ctype.range()
                iv = value.interval(ranges)
                fits_lo = allowed.lo is None or (iv.lo is not None and iv.lo >= allowed.lo)
                fits_hi = allowed.hi is None or (iv.hi is not None and iv.hi <= allowed.hi)
                return value if fits_lo and fits_hi else Affine.of(allowed)
            return Affine.of(ctype.range())
        if ctype.kind == "void":
            return TOP
        if ctype.kind == "struct":
            return value if isinstance(value, Record) else self._record(ctype, [])
        return TOP if isinstance(value, Affine) else value

    def _e_Typename(self, node, env, ctx) -> tuple[Value, CType]:
        return TOP, self.types.of(node)

    def _e_UnaryOp(self, node: c_ast.UnaryOp, env, ctx) -> tuple[Value, CType]:
        op = node.op
        if op == "sizeof" or op == "_Alignof":
            if isinstance(node.expr, c_ast.Typename):
                ctype = self.types.of(node.expr)
            else:
                ctype = self._type_only(node.expr, env, ctx)
            size = ctype.size if op == "sizeof" else None
            if size is None:
                return Affine.of(Interval(0, None)), INT
            return Affine.of(Interval(size[0], size[1])), INT
        if op == "&":
            return self._address(node.expr, env, ctx)
        if op == "*":
            return self._load(node, env, ctx)
        if op in ("++", "--", "p++", "p--"):
            return self._update(node, env, ctx)
        value, ctype = self._eval(node.expr, env, ctx)
        if isinstance(value, Ptr):
            if op == "!":
                return Affine.of(Interval(0, 1)), INT
            self._escape(value, _line(node, self.line), f"pointer used in '{op}'")
            return TOP, INT
        if not isinstance(value, Affine):
            return TOP, INT
        if op == "-":
            return -value, ctype
        if op == "+":
            return value, ctype
        if op == "~":
            return (-value).add_const(-1), ctype
        if op == "!":
            truth = self._truth(value, ctx)
            return (Affine.exact(int(not truth)) if truth is not None else BOOL), INT
        return TOP, INT

    def _type_only(self, node: c_ast.Node, env, ctx) -> CType:
        saved = (self.recording, self.env, self.rec)
        self.recording, self.rec = False, _Recorder()
        try:
            _, ctype = self._eval(node, dict(env), ctx)
        finally:
            self.recording, self.env, self.rec = saved
        return ctype

    def _e_BinaryOp(self, node: c_ast.BinaryOp, env, ctx) -> tuple[Value, CType]:
        op = node.op
        if op in ("&&", "||"):
            left, _ = self._eval(node.left, env, ctx)
            env = self.env
            first = self._truth(left, ctx)
            if first is not None and first == (op == "||"):
                return Affine.exact(int(first)), INT  # the right side never runs
            ranges = self._narrow(node.left, env, ctx.ranges, op == "&&")
            if ranges is None:
                return Affine.exact(int(op == "||")), INT
            right_ctx = Ctx(ranges, ctx.certain and first is not None, ctx.checked)
            right, _ = self._eval(node.right, env, right_ctx)
            second = self._truth(right, Ctx(ranges, False))
            if first is not None and second is not None:
                return Affine.exact(int(second)), INT
            return BOOL, INT
        left, ltype = self._eval(node.left, env, ctx)
        right, rtype = self._eval(node.right, env, ctx)
        line = _line(node, self.line)
        if op in _COMPARE:
            diff = self._difference(left, right)
            return (BOOL if diff is None else compare(diff, op, ctx.ranges)), INT
        if isinstance(left, Ptr) or isinstance(right, Ptr):
            return self._pointer_arith(op, left, ltype, right, rtype, line, ctx)
        for side in (left, right):
            if isinstance(side, Ref | Record):
                self._escape(side, line, f"a struct holding it used in '{op}'")
        if not (isinstance(left, Affine) and isinstance(right, Affine)):
            return TOP, _arith_type(ltype, rtype)
        return self._arith(op, left, right, ctx), _arith_type(ltype, rtype)

    def _arith(self, op: str, left: Affine, right: Affine, ctx: Ctx) -> Affine:
        result = arith(op, left, right, ctx.ranges)
        return self._fresh(result) if op in ("/", "%", ">>", "&") else result

    def _pointer_arith(self, op, left, ltype, right, rtype, line, ctx) -> tuple[Value, CType]:
        if isinstance(left, Ptr) and isinstance(right, Affine) and op in ("+", "-"):
            step = _scaled(right, _stride(ltype), ctx.ranges)
            return left.shift(step if op == "+" else -step), ltype
        if isinstance(right, Ptr) and isinstance(left, Affine) and op == "+":
            return right.shift(_scaled(left, _stride(rtype), ctx.ranges)), rtype
        if isinstance(left, Ptr) and isinstance(right, Ptr) and op == "-":
            return TOP, INT
        if isinstance(left, Ptr) and op == "&" and isinstance(right, Affine):
            mask = right.constant
            if mask is not None and mask < 0 and (-mask) & (-mask - 1) == 0:
                return left.shift(Affine.of(Interval(mask + 1, 0))), ltype  # align down
            if mask is not None and mask >= 0:
                return Affine.of(Interval(0, mask)), INT  # the low bits only
        for side in (left, right):
            self._escape(side, line, f"pointer arithmetic '{op}' crewrite does not follow")
        return TOP, INT

    def _e_TernaryOp(self, node: c_ast.TernaryOp, env, ctx) -> tuple[Value, CType]:
        cond, _ = self._eval(node.cond, env, ctx)
        env = self.env
        results: list[tuple[Value, CType]] = []
        envs: list[dict[str, Value]] = []
        branch_ranges: list[Mapping[int, Interval]] = []
        for branch, branch_ctx in self._branches(node, cond, env, ctx):
            results.append(self._eval(branch, dict(env), branch_ctx))
            envs.append(self.env)
            branch_ranges.append(branch_ctx.ranges)
        if not results:
            self.env = env
            return TOP, UNKNOWN
        value, ctype = results[0]
        merged: dict[str, Value] | None = envs[0]
        if len(results) == 2:
            value = self._join(value, results[1][0], branch_ranges[0], branch_ranges[1])
            merged = self._join_env(merged, envs[1], ctx, branch_ranges[0], branch_ranges[1])
        self.env = merged if merged is not None else env
        return value, ctype

    def _e_ExprList(self, node: c_ast.ExprList, env, ctx) -> tuple[Value, CType]:
        value: tuple[Value, CType] = (TOP, VOID)
        for expr in node.exprs:
            value = self._eval(expr, self.env, ctx)
        return value

    def _e_InitList(self, node: c_ast.InitList, env, ctx) -> tuple[Value, CType]:
        line = _line(node, self.line)
        for expr in node.exprs:
            value, _ = self._eval(expr, self.env, ctx)
            self._escape(value, line, "stored in an initializer crewrite does not follow")
        return UNTRACKED, UNKNOWN

    def _e_NamedInitializer(self, node, env, ctx) -> tuple[Value, CType]:
        return self._eval(node.expr, env, ctx)

    def _e_CompoundLiteral(self, node, env, ctx) -> tuple[Value, CType]:
        ctype = self.types.of(node.type)
        self._eval(node.init, env, ctx)
        return (UNTRACKED if ctype.is_pointer or ctype.kind == "array" else TOP), ctype

    # ----------------------------------------------------------------- memory

    def _lvalue(self, node: c_ast.Node, env, ctx):
        """Where an lvalue lives: ("var", name), ("field", var, member), ("mem", Ptr),
        ("global", name), with its type."""
        if isinstance(node, c_ast.ID):
            if node.name in env:
                return ("var", node.name), self.decl_types.get(node.name, UNKNOWN)
            return ("global", node.name), self.globals.get(node.name, UNKNOWN)
        if isinstance(node, c_ast.ArrayRef):
            base, btype = self._eval(node.name, env, ctx)
            index, _ = self._eval(node.subscript, self.env, ctx)
            if isinstance(index, Ptr) and isinstance(base, Affine):  # `i[p]`
                base, index, btype = index, base, UNKNOWN
            element = btype.element()
            if not isinstance(base, Ptr):
                return ("mem", UNTRACKED), element
            if not isinstance(index, Affine):
                index = TOP
            return ("mem", base.shift(_scaled(index, element.size, ctx.ranges))), element
        if isinstance(node, c_ast.UnaryOp) and node.op == "*":
            pointer, ptype = self._eval(node.expr, env, ctx)
            if not isinstance(pointer, Ptr):
                pointer = UNTRACKED
            return ("mem", pointer), ptype.element()
        if isinstance(node, c_ast.StructRef):
            member = node.field.name
            if node.type == ".":
                if isinstance(node.name, c_ast.ID) and isinstance(env.get(node.name.name), Record):
                    stype = self.decl_types.get(node.name.name, UNKNOWN)
                    return ("field", node.name.name, member), stype.field(member)[1]
                where, stype = self._lvalue(node.name, env, ctx)
                if where[0] == "mem":
                    return self._member(where[1], stype, member)
                return ("mem", UNTRACKED), stype.field(member)[1]
            pointer, ptype = self._eval(node.name, env, ctx)
            if isinstance(pointer, Ref) and isinstance(env.get(pointer.var), Record):
                return ("field", pointer.var, member), ptype.element().field(member)[1]
            if not isinstance(pointer, Ptr):
                pointer = UNTRACKED
            return self._member(pointer, ptype.element(), member)
        if isinstance(node, c_ast.Cast):  # GNU cast-as-lvalue: the operand
            return self._lvalue(node.expr, env, ctx)
        value, ctype = self._eval(node, env, ctx)
        return ("mem", value if isinstance(value, Ptr) else UNTRACKED), ctype

    def _member(self, pointer: Ptr, stype: CType, member: str):
        offset, ftype = stype.field(member)
        if offset is None:
            return ("mem", Ptr(tuple((b, TOP) for b, _ in pointer.targets), True)), ftype
        step = Affine.of(Interval(offset[0], offset[1]))
        return ("mem", pointer.shift(step)), ftype

    def _read(self, where, ctype: CType, node, env, ctx) -> Value:
        kind = where[0]
        if kind == "var":
            return env.get(where[1], TOP)
        if kind == "field":
            record = env.get(where[1])
            value = record.get(where[2]) if isinstance(record, Record) else None
            return value if value is not None else TOP
        if kind == "mem":
            self._access(where[1], ctype, "r", node, ctx)
        return self._loaded(ctype)

    def _loaded(self, ctype: CType) -> Value:
        """A value read from memory: what its type allows (a pointer to anything untracked)."""
        if ctype.is_pointer:
            return UNTRACKED
        if ctype.is_integer:
            return Affine.of(ctype.range())
        if ctype.kind == "struct":
            return self._record(ctype, [])
        return TOP

    def _write(self, where, ctype: CType, value: Value, node, env, ctx) -> None:
        kind = where[0]
        line = _line(node, self.line)
        if kind == "var":
            name = where[1]
            if name in self.addr_taken:
                self._escape(value, line, f"stored in '{name}', whose address is taken")
                value = _widen(value, ctype)
            else:
                value = self._convert(value, ctype, line, ctx.ranges)
            env[name] = value
            if self.watch is not None:
                seen = self.watch.get(name)
                self.watch[name] = value if seen is None else _join_values(seen, value, {})
        elif kind == "field":
            record = env.get(where[1])
            if isinstance(record, Record):
                env[where[1]] = record.set(where[2], value)
        elif kind == "mem":
            self._access(where[1], ctype, "w", node, ctx)
            self._escape(value, line, "stored in memory")
        else:
            self._escape(value, line, f"stored in global '{where[1]}'")

    def _load(self, node, env, ctx) -> tuple[Value, CType]:
        where, ctype = self._lvalue(node, env, ctx)
        if ctype.kind == "array" and where[0] == "mem":  # decays: no access
            return where[1], CType("ptr", (4, 8), False, ctype.target)
        if ctype.kind == "func":
            return UNTRACKED, ctype
        return self._read(where, ctype, node, self.env, ctx), ctype

    _e_ArrayRef = _load
    _e_StructRef = _load

    def _address(self, node, env, ctx) -> tuple[Value, CType]:
        """`&lvalue`: a pointer, no access."""
        if isinstance(node, c_ast.ID) and node.name in env:
            ctype = self.decl_types.get(node.name, UNKNOWN)
            if isinstance(env[node.name], Record):
                return Ref(node.name), CType("ptr", (4, 8), False, ctype)
            return NULL, CType("ptr", (4, 8), False, ctype)
        if isinstance(node, c_ast.UnaryOp) and node.op == "*":
            return self._eval(node.expr, env, ctx)
        where, ctype = self._lvalue(node, env, ctx)
        pointer: Value = UNTRACKED
        if where[0] == "mem":
            pointer = where[1]
            if isinstance(node, c_ast.ArrayRef):
                pointer = self._inline_slice(node, pointer)
        elif where[0] == "field":  # into a local struct: whoever gets it reaches all of it
            pointer = Ref(where[1])
        return pointer, CType("ptr", (4, 8), False, ctype)

    def _update(self, node: c_ast.UnaryOp, env, ctx) -> tuple[Value, CType]:
        where, ctype = self._lvalue(node.expr, env, ctx)
        env = self.env
        old = self._read(where, ctype, node, env, ctx)
        one = Affine.exact(1 if "+" in node.op else -1)
        if isinstance(old, Ptr):
            new: Value = old.shift(_scaled(one, _stride(ctype), ctx.ranges))
        elif isinstance(old, Affine):
            new = self._convert(old + one, ctype, _line(node, self.line), ctx.ranges)
        else:
            new = TOP
        self._write(where, ctype, new, node, env, ctx)
        return (old if node.op.startswith("p") else new), ctype

    def _e_Assignment(self, node: c_ast.Assignment, env, ctx) -> tuple[Value, CType]:
        line = _line(node, self.line)
        if (
            node.op == "="
            and isinstance(node.lvalue, c_ast.ID)
            and node.lvalue.name in env
            and workspace_call(node.rvalue) == ALLOC
        ):
            self._eval(node.rvalue, env, ctx)
            value: Value = self._new_workspace(node.lvalue.name, node.rvalue, line)
            env[node.lvalue.name] = value
            return value, self.decl_types.get(node.lvalue.name, UNKNOWN)
        value, vtype = self._eval(node.rvalue, env, ctx)
        env = self.env
        where, ctype = self._lvalue(node.lvalue, env, ctx)
        env = self.env
        if node.op != "=":
            old = self._read(where, ctype, node.lvalue, env, ctx)
            op = node.op[:-1]
            if isinstance(old, Ptr) or isinstance(value, Ptr):
                value, _ = self._pointer_arith(op, old, ctype, value, vtype, line, ctx)
            elif isinstance(old, Affine) and isinstance(value, Affine):
                value = self._arith(op, old, value, ctx)
            else:
                value = TOP
        self._write(where, ctype, value, node.lvalue, env, ctx)
        self.env = env
        return value, ctype

    # ----------------------------------------------------------------- calls

    def _e_FuncCall(self, node: c_ast.FuncCall, env, ctx) -> tuple[Value, CType]:
        line = _line(node, self.line)
        name = node.name.name if isinstance(node.name, c_ast.ID) else None
        args = node.args.exprs if node.args is not None else []
        values: list[Value] = []
        for arg in args:
            value, _ = self._eval(arg, self.env, ctx)
            values.append(value)
        env = self.env
        declared = self.globals.get(name, UNKNOWN) if name is not None else UNKNOWN
        if name is None or name in env or declared.kind == "ptr":
            if name is None:
                self._eval(node.name, env, ctx)
            for value in values:
                self._unbounded_args(value, line, "handed to a call through a pointer")
            self.rec.untracked = True
            return TOP, UNKNOWN
        returns = declared.target if declared.kind == "func" and declared.target else UNKNOWN
        if name == ALLOC:
            return UNTRACKED, CType("ptr", (4, 8), False, VOID)
        if name in library.NO_ACCESS:
            return Affine.of(returns.range()) if returns.is_integer else TOP, returns
        if name in library.PASS_THROUGH and values:
            return values[0], returns
        if name in library.COPIES:
            self._copy(name, values, ctx, line)
            return (values[0] if values else TOP), returns
        kernel = library.KERNELS.get(name)
        if kernel is not None and kernel.arguments == len(values):
            self._kernel(name, kernel, values, ctx, line)
            return Affine.of(returns.range()) if returns.is_integer else TOP, returns
        identity = self.visible.get(name)
        if identity is not None and identity in self.an.functions:
            return self._defined(identity, name, values, ctx, line), returns
        if library.is_pure(name):
            for value in values:
                if isinstance(value, Ptr) and value.targets:
                    self._unbounded_args(value, line, f"handed to '{name}'")
            return (Affine.of(returns.range()) if returns.is_integer else TOP), returns
        for value in values:
            self._unbounded_args(value, line, f"handed to unknown function '{name}'")
        self.rec.untracked = True
        if returns.is_pointer:
            return UNTRACKED, returns
        return (Affine.of(returns.range()) if returns.is_integer else TOP), returns

    def _defined(self, identity: str, name: str, values: list[Value], ctx: Ctx, line: int):
        fn = self.an.functions[identity]
        params = _params(self.an, fn)
        ints = tuple(
            _bounds(value.interval(ctx.ranges))
            if ctype.is_integer and isinstance(value, Affine)
            else None
            for value, (_, ctype) in itertools.zip_longest(values[: len(params)], params)
        )
        summary = self.an.summary(identity, ints) if self.recording else None
        if summary is None:
            if self.recording:  # recursion: nothing is known of the callee
                for value in values:
                    self._unbounded_args(value, line, f"handed to recursive '{name}'")
            return TOP
        if summary.untracked:
            self.rec.untracked = True
        credit = ctx.checked or not summary.error_exits
        for position, value in enumerate(values):
            if position >= len(params):
                self._unbounded_args(value, line, f"variadic argument of '{name}'")
                continue
            param, ptype = params[position]
            if isinstance(value, Ref | Record):
                self._unbounded_args(value, line, f"a struct holding it is handed to '{name}'")
                continue
            if not isinstance(value, Ptr):
                continue
            if not ptype.is_pointer:
                self._unbounded_args(value, line, f"handed to '{name}' as a number")
                continue
            if param in summary.escapes:
                self._escape(value, line, f"escapes in '{name}' ({summary.escapes[param]})")
            extent = summary.params.get(param)
            if extent is None:
                continue
            why = f"in '{name}': {summary.reasons.get(param, 'not bounded')}"
            self._apply(value, extent, ctx, line, why, credit)
        return TOP

    def _apply(self, ptr: Ptr, extent: Extent, ctx: Ctx, line: int, why: str, credit: bool):
        """A callee's (or library's) extent on a parameter, moved by the argument's offset
        over every value it takes here."""
        if ptr.unknown:
            self.rec.untracked = True
        for base, off in ptr.targets:
            shift = off.interval(ctx.ranges)
            for kind, span in (("r", extent.reads), ("w", extent.writes)):
                if span is not None:
                    self._note(base, kind, span.shift(shift), line, why)
            if credit and extent.must_write and self._certain_at(ptr, off, ctx):
                for lo, hi in extent.must_write:
                    self._block(base, off.add_const(lo), hi - lo)

    def _copy(self, name: str, values: list[Value], ctx: Ctx, line: int) -> None:
        dest, source, size_at = library.COPIES[name]
        size = values[size_at] if size_at < len(values) else TOP
        count = size.interval(ctx.ranges) if isinstance(size, Affine) else TOP_INTERVAL
        for position, kind in ((dest, "w"), (source, "r")):
            if position is None or position >= len(values):
                continue
            self._bytes(values[position], count, kind, ctx, line, f"{name} size")

    def _bytes(self, value: Value, count: Interval, kind: str, ctx: Ctx, line: int, what: str):
        """`count` bytes from a pointer, read ("r"), written ("w": certainly, when `count` is
        exact) or used as scratch ("rw": any of them, none certainly)."""
        if not isinstance(value, Ptr):
            return
        span = Span(0, None if count.hi is None else max(count.hi, 0))
        must: Runs = ((0, count.lo),) if kind == "w" and count.lo and count.is_exact else ()
        extent = Extent(span if "r" in kind else None, span if "w" in kind else None, must)
        self._apply(value, extent, ctx, line, f"{what} not bounded", True)

    def _kernel(self, name: str, kernel: library.Kernel, values: list[Value], ctx, line):
        roles = {t.position for t in kernel.tensors}
        for tensor in kernel.tensors:
            count = self._count(tensor.count, values, ctx)
            total = count.scale(tensor.element)
            self._bytes(
                values[tensor.position],
                total,
                "w" if tensor.writes else "r",
                ctx,
                line,
                f"{name} tensor size",
            )
        if kernel.context is not None:
            roles.add(kernel.context)
            record = self._deref_record(values[kernel.context])
            if isinstance(record, Record):
                size = record.get("size")
                count = size.interval(ctx.ranges) if isinstance(size, Affine) else TOP_INTERVAL
                buf = record.get("buf")
                if buf is not None:
                    self._bytes(buf, count, "rw", ctx, line, f"{name} context size")
            else:
                self._unbounded_args(values[kernel.context], line, f"{name} context")
        if kernel.quant is not None:
            roles.add(kernel.quant[0])
            record = self._deref_record(values[kernel.quant[0]])
            channels = self._dims(values[kernel.quant[1]], ("c",), ctx)
            if isinstance(record, Record):
                for member in ("multiplier", "shift"):
                    value = record.get(member)
                    if value is not None:
                        self._bytes(value, channels.scale(4), "r", ctx, line, f"{name} channels")
            else:
                self._unbounded_args(values[kernel.quant[0]], line, f"{name} quant params")
        for position, value in enumerate(values):
            if position not in roles:  # scalar and parameter structs: no pointers in them
                self._unbounded_args(value, line, f"argument {position} of '{name}'")

    def _count(self, spec: library.DimsArg, values: list[Value], ctx: Ctx) -> Interval:
        how, positions = spec
        if how == "dims":
            return self._dims(values[positions[0]], ("n", "h", "w", "c"), ctx)
        total = Interval(1, 1)
        for position in positions:
            value = values[position]
            part = value.interval(ctx.ranges) if isinstance(value, Affine) else TOP_INTERVAL
            total = total * part
        return total

    def _dims(self, value: Value, members: tuple[str, ...], ctx: Ctx) -> Interval:
        record = self._deref_record(value)
        total = Interval(1, 1)
        for member in members:
            part = record.get(member) if isinstance(record, Record) else None
            known = part.interval(ctx.ranges) if isinstance(part, Affine) else TOP_INTERVAL
            total = total * known
        return total.meet(Interval(0, None))


# --------------------------------------------------------------------------- helpers


def _arith_type(a: CType, b: CType) -> CType:
    if a.kind == "float" or b.kind == "float":
        return a if a.kind == "float" else b
    if a.is_integer and b.is_integer and a.size and b.size:
        return a if a.size[1] >= b.size[1] else b
    return INT


def _is_address(node: c_ast.Node) -> bool:
    node = strip_casts(node)
    return isinstance(node, c_ast.UnaryOp) and node.op == "&"


def _bounds(iv: Interval) -> tuple[int | None, int | None] | None:
    return None if iv.lo is None and iv.hi is None else (iv.lo, iv.hi)


def _stride(ctype: CType):
    return ctype.element().size if ctype.is_pointer else (1, 1)


def _scaled(value: Affine, size, ranges) -> Affine:
    """`value * sizeof(element)`; an unknown or target-dependent size loses the form."""
    if size is None:
        return TOP
    if size[0] == size[1]:
        return value.scale(size[0])
    return Affine.of(value.interval(ranges) * Interval(size[0], size[1]))


def analyse(
    units: Mapping[str, TranslationUnit], slices: Callable[[str], bool] | None = None
) -> dict[str, FunctionExtents]:
    """Extents of every function defined in the sources, keyed by function identity.
    `slices`: the pointer parameters that are pools (`&param[C]` where it is used is then a
    base of its own, an inline slice); none by default."""
    return Analyser(units, slices).analyse_all()
