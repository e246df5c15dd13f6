"""Facts from the ASTs: workspace sites, functions, aliases, escapes and the call graph.

A buffer is identified by (function, variable), never by the variable name alone: every
operator has its own `data_vec` or `PaddedInput`.
"""

from __future__ import annotations

import re
from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass, field

import networkx as nx
from pycparser import c_ast

from crewrite.errors import CrewriteError
from crewrite.frontend import TranslationUnit

ALLOC = "TVMBackendAllocWorkspace"
FREE = "TVMBackendFreeWorkspace"
ENTRY_SUFFIX = "___tvm_main__"
_LIB_FILE = re.compile(r"^(\w+?)_lib\d+\.c$")

# Library kernels whose output tensor is only written, never read (CMSIS-NN s8 kernels compute
# every output element from inputs and scratch, then store it): (position of that argument,
# number of arguments of the prototype it belongs to). A call with another argument count (an
# API version we have not checked) and every other pointer that a function outside the
# sources receives count as read and written.
WRITE_ONLY_OUTPUTS = {
    "arm_convolve_wrapper_s8": (10, 11),
    "arm_convolve_s8": (10, 11),
    "arm_convolve_1x1_s8_fast": (10, 11),
    "arm_depthwise_conv_wrapper_s8": (10, 11),
    "arm_depthwise_conv_s8": (10, 11),
    "arm_fully_connected_s8": (10, 11),
    "arm_avgpool_s8": (6, 7),
    "arm_max_pool_s8": (6, 7),
    "arm_softmax_s8": (6, 7),
    "arm_elementwise_add_s8": (9, 16),
}
_ALIGNED = re.compile(r"aligned\s*\(\s*(\d+)\s*\)")


@dataclass(frozen=True)
class AllocSite:
    """`void* variable = TVMBackendAllocWorkspace(dev, id, (uint64_t)size, code, bits);`"""

    function: str
    variable: str
    size: int
    code_hint: int | None
    bits_hint: int | None
    file: str
    line: int
    start: int  # offset of `TVMBackendAllocWorkspace` in the original text
    end: int  # offset just past its closing parenthesis

    @property
    def key(self) -> tuple[str, str]:
        return (self.function, self.variable)


@dataclass(frozen=True)
class FreeSite:
    function: str
    variable: str
    file: str
    line: int
    start: int
    end: int


@dataclass(frozen=True)
class Call:
    """A call to a function defined in the sources, with the names each argument reads."""

    callee: str
    args: tuple[frozenset[str], ...]
    in_loop: bool  # inside a loop of the enclosing statement: runs more than once


@dataclass(frozen=True)
class Access:
    """Which bases (buffer variables, parameters) have their bytes read or written, or their
    pointer kept beyond our sight. Unknown uses count as read and written."""

    reads: frozenset[str] = frozenset()
    writes: frozenset[str] = frozenset()
    escapes: frozenset[str] = frozenset()


@dataclass
class Unit:
    """One statement at the top level of a function body: the grain of program points."""

    refs: frozenset[str]  # names the statement touches outside arguments of defined calls
    call_refs: frozenset[str]  # names in arguments of calls to defined functions
    calls: tuple[Call, ...]
    allocs: tuple[str, ...]
    frees: tuple[str, ...]
    taken: tuple[str, ...]  # defined functions whose address the statement hands on
    line: int
    start: int | None  # offset where the statement's first line begins; None when another
    # statement ends on that line, so nothing can be inserted before this one alone
    access: Access = Access()
    certain_writes: frozenset[str] = frozenset()  # written by a call whenever it runs
    calls_pointer: bool = False  # calls through a pointer


@dataclass
class Function:
    name: str
    file: str
    line: int
    module: str
    params: tuple[str, ...]
    buffers: dict[str, AllocSite] = field(default_factory=dict)
    units: list[Unit] = field(default_factory=list)
    aliases: dict[str, frozenset[str]] = field(default_factory=dict)  # local -> bases
    escapes: frozenset[str] = frozenset()  # bases whose pointer leaves the function
    address_taken: frozenset[str] = frozenset()  # defined functions used as values
    types: Mapping[str, c_ast.Node] = field(default_factory=dict)
    summary: Access = Access()  # over the whole body, callees included, for parameters
    calls_through_pointer: bool = False
    loops_back: bool = False  # a backward `goto`: the whole body may run again
    jumps: bool = False  # any `goto`: a statement may be skipped

    @property
    def aliased(self) -> frozenset[str]:
        """Bases that some local alias points into."""
        out: set[str] = set()
        for bases in self.aliases.values():
            out |= bases
        return frozenset(out)

    def bases(self, names: frozenset[str] | set[str]) -> frozenset[str]:
        """Buffer variables and parameters a set of names may point into."""
        out: set[str] = set()
        for name in names:
            if name in self.buffers or name in self.params:
                out.add(name)
            out |= self.aliases.get(name, frozenset())
        return frozenset(out)


@dataclass
class Program:
    units: dict[str, TranslationUnit]
    functions: dict[str, Function]
    allocs: list[AllocSite]
    frees: list[FreeSite]
    call_graph: nx.DiGraph
    modules: list[str]
    max_alignment: int  # the largest `aligned(N)` in the sources, for the arena itself
    listed: frozenset[str] = frozenset()  # defined functions named in file-scope initialisers

    def runs_anytime(self, module: str) -> frozenset[str]:
        """Functions of `module` that a call through a pointer may reach at any moment: those
        listed in a file-scope table, when the module calls through pointers at all."""
        members = {n for n, fn in self.functions.items() if fn.module == module}
        if not any(self.functions[n].calls_through_pointer for n in members):
            return frozenset()
        return frozenset(self.listed & members)

    def roots(self, module: str) -> list[str]:
        """Where execution starts for a module: functions nobody in the sources calls that
        reach a workspace site (the run wrapper, or each operator the runtime calls)."""
        has_sites = {s.function for s in self.allocs}
        roots = []
        for name, fn in self.functions.items():
            if fn.module != module or self.call_graph.in_degree(name) > 0:
                continue
            reach = nx.descendants(self.call_graph, name) | {name}
            if reach & has_sites:
                roots.append(name)
        return sorted(roots, key=lambda n: (not n.endswith(ENTRY_SUFFIX), n))


def _strip_casts(node: c_ast.Node) -> c_ast.Node:
    while isinstance(node, c_ast.Cast):
        node = node.expr
    return node


_TYPE_SIZES = {
    "char": 1,
    "signed char": 1,
    "unsigned char": 1,
    "int8_t": 1,
    "uint8_t": 1,
    "bool": 1,
    "_Bool": 1,
    "short": 2,
    "int16_t": 2,
    "uint16_t": 2,
    "int": 4,
    "unsigned int": 4,
    "int32_t": 4,
    "uint32_t": 4,
    "float": 4,
    "int64_t": 8,
    "uint64_t": 8,
    "double": 8,
    "long long": 8,
    "unsigned long long": 8,
}


def fold_constant(node: c_ast.Node) -> int | None:
    """Fold an integer constant expression (`(uint64_t)6272`, `4 * 1024`,
    `64 * sizeof(int32_t)`); None if not one."""
    node = _strip_casts(node)
    if isinstance(node, c_ast.UnaryOp) and node.op == "sizeof":
        target = node.expr
        if (
            isinstance(target, c_ast.Typename)
            and isinstance(target.type, c_ast.TypeDecl)
            and isinstance(target.type.type, c_ast.IdentifierType)
        ):
            return _TYPE_SIZES.get(" ".join(target.type.type.names))
        return None
    if isinstance(node, c_ast.Constant) and node.type in (
        "int",
        "unsigned int",
        "long int",
        "unsigned long int",
        "long long int",
        "unsigned long long int",
    ):
        digits = node.value.rstrip("uUlL")
        try:
            return int(digits, 0) if not re.fullmatch(r"0[0-7]+", digits) else int(digits, 8)
        except ValueError:
            return None
    if isinstance(node, c_ast.UnaryOp) and node.op in ("-", "+"):
        value = fold_constant(node.expr)
        return None if value is None else (-value if node.op == "-" else value)
    if isinstance(node, c_ast.BinaryOp) and node.op in ("+", "-", "*", "<<"):
        left, right = fold_constant(node.left), fold_constant(node.right)
        if left is None or right is None or (node.op == "<<" and not 0 <= right < 64):
            return None
        return {"+": left + right, "-": left - right, "*": left * right, "<<": left << right}[
            node.op
        ]
    return None


def _call_name(node: c_ast.FuncCall) -> str | None:
    return node.name.name if isinstance(node.name, c_ast.ID) else None


def _ids(node: c_ast.Node | None) -> set[str]:
    """Every identifier read in an expression (not member names of `a.b` / `a->b`)."""
    found: set[str] = set()
    if node is None:
        return found

    class Visitor(c_ast.NodeVisitor):
        def visit_ID(self, n: c_ast.ID) -> None:
            found.add(n.name)

        def visit_StructRef(self, n: c_ast.StructRef) -> None:
            self.visit(n.name)

    Visitor().visit(node)
    return found


def _is_null(node: c_ast.Node) -> bool:
    node = _strip_casts(node)
    return (isinstance(node, c_ast.Constant) and fold_constant(node) == 0) or (
        isinstance(node, c_ast.ID) and node.name == "NULL"
    )


class _UnitScanner(c_ast.NodeVisitor):
    """Collects what one top-level statement touches, skipping pointer-only mentions:
    the alloc assignment, the free argument and NULL checks."""

    def __init__(self, defined: dict[str, str]):
        self.defined = defined  # name -> identity of the function it means in this file
        self.refs: set[str] = set()
        self.call_only: set[str] = set()
        self.calls: list[Call] = []
        self.allocs: list[str] = []
        self.frees: list[str] = []
        self.taken: list[str] = []
        self.loop_depth = 0
        self.arg_depth = 0

    def _loop(self, node: c_ast.Node) -> None:
        self.loop_depth += 1
        self.generic_visit(node)
        self.loop_depth -= 1

    visit_For = visit_While = visit_DoWhile = _loop

    def visit_ID(self, node: c_ast.ID) -> None:
        if node.name in self.defined:
            self.taken.append(self.defined[node.name])
        (self.call_only if self.arg_depth else self.refs).add(node.name)

    def visit_StructRef(self, node: c_ast.StructRef) -> None:
        self.visit(node.name)

    def visit_BinaryOp(self, node: c_ast.BinaryOp) -> None:
        if node.op in ("==", "!=") and (
            (isinstance(_strip_casts(node.left), c_ast.ID) and _is_null(node.right))
            or (isinstance(_strip_casts(node.right), c_ast.ID) and _is_null(node.left))
        ):
            return
        self.generic_visit(node)

    def visit_Decl(self, node: c_ast.Decl) -> None:
        if isinstance(node.init, c_ast.Node):
            init = _strip_casts(node.init)
            if isinstance(init, c_ast.FuncCall) and _call_name(init) == ALLOC:
                self.allocs.append(node.name)
                return
        self.generic_visit(node)

    def visit_Assignment(self, node: c_ast.Assignment) -> None:
        rvalue = _strip_casts(node.rvalue)
        if (
            isinstance(rvalue, c_ast.FuncCall)
            and _call_name(rvalue) == ALLOC
            and isinstance(node.lvalue, c_ast.ID)
        ):
            self.allocs.append(node.lvalue.name)
            return
        self.generic_visit(node)

    def visit_FuncCall(self, node: c_ast.FuncCall) -> None:
        name = _call_name(node)
        args = node.args.exprs if node.args is not None else []
        if name == FREE:
            if len(args) == 3 and isinstance(_strip_casts(args[2]), c_ast.ID):
                self.frees.append(_strip_casts(args[2]).name)
                for arg in args[:2]:
                    self.visit(arg)
                return
        if name in self.defined:
            # Arguments are evaluated (their calls run) before the call itself.
            arg_ids = tuple(frozenset(_ids(a)) for a in args)
            self.arg_depth += 1
            for arg in args:
                self.visit(arg)
            self.arg_depth -= 1
            self.calls.append(Call(self.defined[name], arg_ids, self.loop_depth > 0))
            return
        self.generic_visit(node)


SCALAR_TYPES = frozenset(
    "char short int long signed unsigned float double _Bool bool int8_t uint8_t int16_t uint16_t"
    " int32_t uint32_t int64_t uint64_t q7_t q15_t q31_t q63_t float32_t size_t".split()
)


def _is_scalar(type_node: c_ast.Node | None) -> bool:
    return (
        isinstance(type_node, c_ast.TypeDecl)
        and isinstance(type_node.type, c_ast.IdentifierType)
        and all(n in SCALAR_TYPES for n in type_node.type.names)
    )


def _element_is_scalar(base: c_ast.Node, types: dict[str, c_ast.Node]) -> bool:
    """Whether indexing or dereferencing `base` reads a plain number (not a pointer)."""
    if isinstance(base, c_ast.Cast):
        target = base.to_type.type
        return isinstance(target, c_ast.PtrDecl) and _is_scalar(target.type)
    if isinstance(base, c_ast.ID):
        declared = types.get(base.name)
        return isinstance(declared, (c_ast.PtrDecl, c_ast.ArrayDecl)) and _is_scalar(declared.type)
    return False


_NO_POINTER_OPS = frozenset(["==", "!=", "<", ">", "<=", ">=", "&&", "||"])


def pointer_ids(node: c_ast.Node | None, types: dict[str, c_ast.Node]) -> frozenset[str]:
    """Names whose pointer value may flow into the value of an expression.

    Reading a number through a pointer (`((int8_t*)buf)[i] * 2`) carries no pointer; reading
    through a pointer to pointers or structs might, and is kept.
    """
    if node is None:
        return frozenset()
    if isinstance(node, c_ast.ID):
        return frozenset([node.name])
    if isinstance(node, c_ast.Cast):
        if isinstance(node.to_type.type, c_ast.PtrDecl):
            # A number made into a pointer may hold any address it was computed from.
            return frozenset(_ids(node.expr))
        return pointer_ids(node.expr, types)
    if isinstance(node, c_ast.BinaryOp):
        if node.op in _NO_POINTER_OPS:
            return frozenset()
        # `p + 4`, and the alignment idiom `((uintptr_t)p + 15) & ~15`.
        return pointer_ids(node.left, types) | pointer_ids(node.right, types)
    if isinstance(node, c_ast.TernaryOp):
        return pointer_ids(node.iftrue, types) | pointer_ids(node.iffalse, types)
    if isinstance(node, c_ast.UnaryOp):
        if node.op == "&":
            inner = node.expr
            if isinstance(inner, c_ast.ArrayRef):
                return pointer_ids(inner.name, types)
            return frozenset(_ids(inner))
        if node.op == "*":
            return (
                frozenset()
                if _element_is_scalar(node.expr, types)
                else pointer_ids(node.expr, types)
            )
        if node.op in ("sizeof", "!", "~"):
            return frozenset()
        return pointer_ids(node.expr, types)
    if isinstance(node, c_ast.ArrayRef):
        return (
            frozenset() if _element_is_scalar(node.name, types) else pointer_ids(node.name, types)
        )
    if isinstance(node, c_ast.StructRef):
        return pointer_ids(node.name, types)
    if isinstance(node, (c_ast.InitList, c_ast.ExprList)):
        out: frozenset[str] = frozenset()
        for expr in node.exprs:
            out |= pointer_ids(expr, types)
        return out
    if isinstance(node, c_ast.Assignment):
        return pointer_ids(node.rvalue, types)
    if isinstance(node, c_ast.FuncCall):
        declared = types.get(node.name.name) if isinstance(node.name, c_ast.ID) else None
        if isinstance(declared, c_ast.FuncDecl) and not isinstance(declared.type, c_ast.PtrDecl):
            return frozenset()  # declared to return a number
        # `memset(p, ...)`, `__builtin_assume_aligned(p, 16)` return what they were given.
        return pointer_ids(node.args, types) if node.args is not None else frozenset()
    if isinstance(node, c_ast.Constant):
        return frozenset()
    return frozenset(_ids(node))


class _FlowScanner(c_ast.NodeVisitor):
    """Aliases (locals assigned from buffer pointers), escapes (pointers stored where we
    cannot follow them, or returned) and functions whose address is taken."""

    def __init__(self, fn_locals: set[str], types: dict[str, c_ast.Node], defined: dict[str, str]):
        self.locals = fn_locals
        self.types = types
        self.defined = defined
        self.alias_edges: list[tuple[str, frozenset[str]]] = []
        self.escape_sources: list[frozenset[str]] = []
        self.address_taken: set[str] = set()
        self.pointer_calls = False
        self.labels: set[str] = set()
        self.loops_back = False
        self.jumps = False

    def visit_Label(self, node: c_ast.Label) -> None:
        self.labels.add(node.name)
        self.generic_visit(node)

    def visit_Goto(self, node: c_ast.Goto) -> None:
        self.jumps = True
        self.loops_back = self.loops_back or node.name in self.labels

    def visit_Decl(self, node: c_ast.Decl) -> None:
        if isinstance(node.init, c_ast.Node) and node.name:
            ids = pointer_ids(node.init, self.types)
            if "static" in (node.storage or []):
                self.escape_sources.append(ids)
            else:
                self.alias_edges.append((node.name, ids))
        self.generic_visit(node)

    def visit_Assignment(self, node: c_ast.Assignment) -> None:
        ids = pointer_ids(node.rvalue, self.types)
        target = node.lvalue
        if isinstance(target, c_ast.ID) and target.name in self.locals:
            self.alias_edges.append((target.name, ids))
        else:
            # Stored through a pointer, into a struct field or array slot, or a global.
            self.escape_sources.append(ids)
        self.generic_visit(node)

    def visit_Return(self, node: c_ast.Return) -> None:
        self.escape_sources.append(pointer_ids(node.expr, self.types))
        self.generic_visit(node)

    def visit_FuncCall(self, node: c_ast.FuncCall) -> None:
        if not isinstance(node.name, c_ast.ID) or (
            node.name.name in self.types
            and not isinstance(self.types[node.name.name], c_ast.FuncDecl)
        ):
            # A call through a pointer (an expression, or a local or global variable):
            # whatever it is handed may be kept anywhere.
            self.pointer_calls = True
            if node.args is not None:
                self.escape_sources.append(frozenset(_ids(node.args)))
            self.generic_visit(node)
            return
        if node.args is not None:
            self.visit(node.args)

    def visit_ID(self, node: c_ast.ID) -> None:
        if node.name in self.defined:
            self.address_taken.add(self.defined[node.name])

    def visit_UnaryOp(self, node: c_ast.UnaryOp) -> None:
        target = node.expr
        if (
            node.op == "&"
            and isinstance(target, c_ast.ID)
            and isinstance(self.types.get(target.name), c_ast.PtrDecl)
        ):
            # The address of a pointer variable: whoever gets it may copy or change it.
            self.escape_sources.append(frozenset([target.name]))
        self.generic_visit(node)


class _LocalNames(c_ast.NodeVisitor):
    """Non-static locals of a function and the declared type of every local and parameter."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.types: dict[str, c_ast.Node] = {}

    def visit_Decl(self, node: c_ast.Decl) -> None:
        if node.name:
            self.types[node.name] = node.type
            if "static" not in (node.storage or []):
                self.names.add(node.name)
        self.generic_visit(node)


def _param_names(func: c_ast.FuncDef) -> tuple[str, ...]:
    params = func.decl.type.args
    if params is None:
        return ()
    names = []
    for p in params.params:
        if isinstance(p, c_ast.Decl) and p.name:
            names.append(p.name)
    return tuple(names)


def _locate_call(tu: TranslationUnit, node: c_ast.FuncCall, callee: str) -> tuple[int, int]:
    """Offsets of `callee(...)` in the original text, checked against the spelling there."""
    line = node.coord.line
    if line > len(tu.line_starts):
        raise CrewriteError(f"{callee} call lies outside the file", tu.rel, line)
    begin = tu.line_starts[line - 1]
    guess = tu.offset(line, node.coord.column or 1)
    if tu.text.startswith(callee, guess):
        start = guess
    else:
        line_end = tu.text.find("\n", begin)
        line_text = tu.text[begin : line_end if line_end >= 0 else len(tu.text)]
        hits = [m.start() for m in re.finditer(re.escape(callee) + r"\s*\(", line_text)]
        if len(hits) != 1:
            raise CrewriteError(
                f"cannot find the text of the {callee} call (it comes from a macro or shares "
                "its line): refusing to edit it",
                tu.rel,
                line,
            )
        start = begin + hits[0]
    paren = tu.text.find("(", start)
    depth = 0
    for pos in range(paren, len(tu.text)):
        ch = tu.text[pos]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return start, pos + 1
    raise CrewriteError(f"unbalanced parentheses in the {callee} call", tu.rel, line)


class _SiteFinder(c_ast.NodeVisitor):
    def __init__(self, tu: TranslationUnit, function: str):
        self.tu = tu
        self.function = function
        self.allocs: list[AllocSite] = []
        self.frees: list[FreeSite] = []
        self.loop_of: dict[int, int | None] = {}  # id(site) -> innermost enclosing loop
        self._target: str | None = None
        self._loops: list[int] = []

    def _loop(self, node: c_ast.Node) -> None:
        self._loops.append(id(node))
        self.generic_visit(node)
        self._loops.pop()

    visit_For = visit_While = visit_DoWhile = _loop

    def visit_Decl(self, node: c_ast.Decl) -> None:
        self._target = node.name
        self.generic_visit(node)
        self._target = None

    def visit_Assignment(self, node: c_ast.Assignment) -> None:
        self._target = node.lvalue.name if isinstance(node.lvalue, c_ast.ID) else None
        self.visit(node.rvalue)
        self._target = None

    def visit_FuncCall(self, node: c_ast.FuncCall) -> None:
        name = _call_name(node)
        args = node.args.exprs if node.args is not None else []
        line = node.coord.line
        if name == ALLOC:
            if len(args) != 5:
                raise CrewriteError(
                    f"{ALLOC} takes 5 arguments, found {len(args)}", self.tu.rel, line
                )
            if self._target is None:
                raise CrewriteError(
                    f"{ALLOC} result is not stored in a local variable: cannot follow it",
                    self.tu.rel,
                    line,
                )
            device = fold_constant(args[0])
            if device != 1:
                raise CrewriteError(
                    f"'{self._target}' is workspace on device type "
                    f"{'unknown' if device is None else device}, not the CPU (1): only host "
                    "memory can move into the arena",
                    self.tu.rel,
                    line,
                )
            size = fold_constant(args[2])
            if size is None:
                raise CrewriteError(
                    f"workspace size of '{self._target}' is not a constant", self.tu.rel, line
                )
            if size < 0:
                raise CrewriteError(
                    f"workspace size of '{self._target}' is negative ({size})", self.tu.rel, line
                )
            start, end = _locate_call(self.tu, node, ALLOC)
            self.allocs.append(
                site := AllocSite(
                    function=self.function,
                    variable=self._target,
                    size=size,
                    code_hint=fold_constant(args[3]),
                    bits_hint=fold_constant(args[4]),
                    file=self.tu.rel,
                    line=line,
                    start=start,
                    end=end,
                )
            )
            self.loop_of[id(site)] = self._loops[-1] if self._loops else None
        elif name == FREE:
            target = _strip_casts(args[2]) if len(args) == 3 else None
            if not isinstance(target, c_ast.ID):
                raise CrewriteError(f"{FREE} argument is not a variable", self.tu.rel, line)
            start, end = _locate_call(self.tu, node, FREE)
            self.frees.append(FreeSite(self.function, target.name, self.tu.rel, line, start, end))
            self.loop_of[id(self.frees[-1])] = self._loops[-1] if self._loops else None
        saved, self._target = self._target, None
        self.generic_visit(node)
        self._target = saved


def _backward_jumps(func: c_ast.FuncDef) -> list[tuple[int, int]]:
    """Line ranges [label, goto] that a backward `goto` makes run again."""
    labels: dict[str, int] = {}
    spans: list[tuple[int, int]] = []

    class Jumps(c_ast.NodeVisitor):
        def visit_Label(self, node: c_ast.Label) -> None:
            labels[node.name] = node.coord.line
            self.generic_visit(node)

        def visit_Goto(self, node: c_ast.Goto) -> None:
            if node.name in labels:
                spans.append((labels[node.name], node.coord.line))

    Jumps().visit(func.body)
    return spans


def _check_runs_again(fn: Function, finder: _SiteFinder, func: c_ast.FuncDef) -> None:
    """An alloc that may run again while its last buffer is still in use (inside a loop, or
    between a label and a `goto` back to it) would need a new place each time; one place is
    right only if every buffer is freed in the same pass and its pointer kept nowhere else."""
    jumps = _backward_jumps(func) if fn.loops_back else []
    for site in finder.allocs:
        loop = finder.loop_of[id(site)]
        again = [(a, b) for a, b in jumps if a <= site.line <= b]
        if loop is None and not again:
            continue
        where = "inside a loop" if loop is not None else "between a label and a goto back to it"
        freed = [f for f in finder.frees if f.variable == site.variable]
        if loop is not None:
            freed = [f for f in freed if finder.loop_of[id(f)] == loop]
        else:
            freed = [f for f in freed if all(a <= f.line <= b for a, b in again)]
        if not freed:
            reason = "and not freed in the same pass"
        elif site.variable in fn.escapes:
            reason = "and its pointer is kept where crewrite cannot follow it"
        else:
            continue
        raise CrewriteError(
            f"'{site.variable}' is allocated {where} {reason}: each pass may still need the "
            "buffers of earlier ones, which one static place cannot give; refusing",
            site.file,
            site.line,
        )


def _module_of(name: str, rel: str, modules: list[str]) -> str | None:
    for mod in sorted(modules, key=len, reverse=True):
        if name.startswith(f"tvmgen_{mod}_"):
            return mod
    match = _LIB_FILE.match(rel.rsplit("/", 1)[-1])
    if match and match.group(1) in modules:
        return match.group(1)
    return None


def _flow_facts(
    fn: Function, func: c_ast.FuncDef, defined: dict[str, str], file_types: dict[str, c_ast.Node]
) -> None:
    names = _LocalNames()
    if func.decl.type.args is not None:
        names.visit(func.decl.type.args)
    names.visit(func.body)
    fn.types = ChainMap(names.types, file_types)  # locals first; file scope shared
    scanner = _FlowScanner(names.names | set(fn.params), fn.types, defined)
    scanner.visit(func.body)
    # Aliases: a local assigned anything derived from a buffer or parameter points into it.
    aliases: dict[str, set[str]] = {}
    changed = True
    while changed:
        changed = False
        for target, ids in scanner.alias_edges:
            bases = set()
            for name in ids:
                if name in fn.buffers or name in fn.params:
                    bases.add(name)
                bases |= aliases.get(name, set())
            if target in fn.buffers or target in fn.params:
                bases.discard(target)
            current = aliases.setdefault(target, set())
            if not bases <= current:
                current |= bases
                changed = True
    fn.aliases = {k: frozenset(v) for k, v in aliases.items() if v}
    escapes: set[str] = set()
    for ids in scanner.escape_sources:
        escapes |= fn.bases(ids)
    fn.escapes = frozenset(escapes)
    fn.address_taken = frozenset(scanner.address_taken)
    fn.calls_through_pointer = scanner.pointer_calls
    fn.loops_back = scanner.loops_back
    fn.jumps = scanner.jumps


class _AccessScanner(c_ast.NodeVisitor):
    """Reads and writes of buffer bytes in one statement, through casts, aliases and calls.

    A bare pointer (`buf`, `(int8_t*)buf + 64`, `&(((int8_t*)buf)[i])`) is not an access;
    indexing or dereferencing it is. A defined callee contributes what its summary says for the
    parameter the pointer binds to; anything else that receives a pointer reads and writes it.
    """

    def __init__(
        self,
        fn: Function,
        functions: dict[str, Function],
        visible: dict[str, str],
        stores: bool = True,
    ):
        self.fn = fn
        self.functions = functions
        self.visible = visible
        # False: count only writes of a whole buffer, i.e. by called functions that receive
        # the bare pointer (TVM's contract: an operator writes its whole output tensor).
        self.stores = stores
        self.reads: set[str] = set()
        self.writes: set[str] = set()
        self.escapes: set[str] = set()

    def _bases(self, node: c_ast.Node) -> frozenset[str]:
        return self.fn.bases(pointer_ids(node, self.fn.types))

    def _target(self, lvalue: c_ast.Node) -> c_ast.Node | None:
        """The pointer expression whose bytes an lvalue stores into, visiting the rest."""
        if isinstance(lvalue, c_ast.ArrayRef):
            self.visit(lvalue.subscript)
            return lvalue.name
        if isinstance(lvalue, c_ast.UnaryOp) and lvalue.op == "*":
            return lvalue.expr
        if isinstance(lvalue, c_ast.StructRef) and lvalue.type == "->":
            return lvalue.name
        self.visit(lvalue)
        return None

    def visit_Assignment(self, node: c_ast.Assignment) -> None:
        rvalue = _strip_casts(node.rvalue)
        if isinstance(rvalue, c_ast.FuncCall) and _call_name(rvalue) == ALLOC:
            return
        target = self._target(node.lvalue)
        if target is not None:
            bases = self._bases(target)
            if self.stores:
                self.writes |= bases
            if node.op != "=":
                self.reads |= bases
            self._inner(target)
        self.visit(node.rvalue)

    def _inner(self, pointer: c_ast.Node) -> None:
        """Accesses made while computing a pointer (`p[q[i]]` reads q)."""
        if not isinstance(pointer, c_ast.ID):
            self.visit(pointer)

    def visit_UnaryOp(self, node: c_ast.UnaryOp) -> None:
        if node.op == "&":
            inner = node.expr
            if isinstance(inner, c_ast.ArrayRef):
                self._inner(inner.name)
                self.visit(inner.subscript)
            return
        if node.op in ("++", "--", "p++", "p--"):
            target = self._target(node.expr)
            if target is not None:
                bases = self._bases(target)
                self.reads |= bases
                if self.stores:
                    self.writes |= bases
                self._inner(target)
            return
        if node.op == "*":
            self.reads |= self._bases(node.expr)
        self.generic_visit(node)

    def visit_ArrayRef(self, node: c_ast.ArrayRef) -> None:
        self.reads |= self._bases(node.name)
        self.generic_visit(node)

    def visit_StructRef(self, node: c_ast.StructRef) -> None:
        if node.type == "->":
            self.reads |= self._bases(node.name)
        self.visit(node.name)

    def visit_Decl(self, node: c_ast.Decl) -> None:
        init = _strip_casts(node.init) if isinstance(node.init, c_ast.Node) else None
        if isinstance(init, c_ast.FuncCall) and _call_name(init) == ALLOC:
            return
        self.generic_visit(node)

    def visit_FuncCall(self, node: c_ast.FuncCall) -> None:
        name = _call_name(node)
        args = node.args.exprs if node.args is not None else []
        if name in (ALLOC, FREE):
            return
        callee = self.functions.get(self.visible.get(name, "")) if name else None
        for position, arg in enumerate(args):
            bases = self._bases(arg)
            # A pointer into the buffer (`&buf[32]`) lets the callee fill a part at most.
            whole = self.stores or isinstance(_strip_casts(arg), c_ast.ID)
            if callee is not None and position < len(callee.params):
                param = callee.params[position]
                if param in callee.summary.reads:
                    self.reads |= bases
                if param in callee.summary.writes and whole:
                    self.writes |= bases
                if param in callee.summary.escapes:
                    self.escapes |= bases
            elif WRITE_ONLY_OUTPUTS.get(name or "") == (position, len(args)):
                if whole:
                    self.writes |= bases
            else:
                self.reads |= bases
                if whole:
                    self.writes |= bases
            self.visit(arg)
        if not isinstance(node.name, c_ast.ID):
            self.visit(node.name)

    def access(self) -> Access:
        return Access(frozenset(self.reads), frozenset(self.writes), frozenset(self.escapes))


def _calls_through_pointer(item: c_ast.Node, types: dict[str, c_ast.Node]) -> bool:
    class Calls(c_ast.NodeVisitor):
        found = False

        def visit_FuncCall(self, node: c_ast.FuncCall) -> None:
            name = node.name
            if not isinstance(name, c_ast.ID) or (
                name.name in types and not isinstance(types[name.name], c_ast.FuncDecl)
            ):
                self.found = True
            self.generic_visit(node)

    calls = Calls()
    calls.visit(item)
    return calls.found


class _HasBranch(c_ast.NodeVisitor):
    def __init__(self) -> None:
        self.found = False

    def visit_TernaryOp(self, node: c_ast.TernaryOp) -> None:
        self.found = True

    def visit_BinaryOp(self, node: c_ast.BinaryOp) -> None:
        if node.op in ("&&", "||"):
            self.found = True
        self.generic_visit(node)


def _always_run(item: c_ast.Node) -> list[c_ast.Node]:
    """The parts of a statement that run whenever it runs: an `if` condition (TVM's
    `if (op(...) != 0) return -1;`), a nested block's items, a plain expression without
    branches; never the body of a branch or a loop."""
    if isinstance(item, c_ast.If):
        return _always_run(item.cond)
    if isinstance(item, c_ast.Compound):
        return [part for sub in item.block_items or [] for part in _always_run(sub)]
    if isinstance(
        item,
        (
            c_ast.For,
            c_ast.While,
            c_ast.DoWhile,
            c_ast.Switch,
            c_ast.Label,
            c_ast.Case,
            c_ast.Default,
            c_ast.Goto,
        ),
    ):
        return []
    branch = _HasBranch()
    branch.visit(item)
    return [] if branch.found else [item]


def _summarise(
    fn: Function, items: list[c_ast.Node], functions: dict[str, Function], visible: dict[str, str]
) -> None:
    """Per-statement accesses, then the function's own summary for its callers."""
    reads: set[str] = set()
    writes: set[str] = set()
    escapes: set[str] = set(fn.escapes)
    for unit, item in zip(fn.units, items, strict=True):
        scan = _AccessScanner(fn, functions, visible)
        scan.visit(item)
        unit.access = scan.access()
        # A store in this function may fill a part only (an unrolled element, one loop nest of
        # a concat): only a whole operator call that writes its parameter makes a new tensor.
        unit.calls_pointer = _calls_through_pointer(item, fn.types)
        certain = _AccessScanner(fn, functions, visible, stores=False)
        for part in _always_run(item):
            certain.visit(part)
        unit.certain_writes = frozenset(certain.writes)
        reads |= unit.access.reads
        writes |= unit.access.writes
        escapes |= unit.access.escapes
    fn.escapes = frozenset(escapes)
    fn.summary = Access(frozenset(reads), frozenset(writes), fn.escapes)


def _statement_start(
    tu: TranslationUnit, item: c_ast.Node, line: int, brace_line: int | None = None
) -> int | None:
    """Where text can be inserted right before a statement: the start of its line (above
    any `#pragma` lines that belong to it), or just after the function's `{` when the first
    statement shares its line (`... run(...) {return f(x);`: found in the text, since columns
    drift where a macro such as TVM_DLL expanded); None if another statement ends on that
    line."""
    begin = tu.line_starts[line - 1]
    if line == brace_line:
        brace = tu.text.find(
            "{", begin, tu.line_starts[line] if line < len(tu.line_starts) else len(tu.text)
        )
        return brace + 1 if brace >= 0 else None
    column = item.coord.column if item.coord and item.coord.column else 1
    before = tu.text[begin : begin + column - 1]
    if ";" in before or "}" in before:
        return None
    if "{" in before:
        if before.rstrip().endswith("{") and not isinstance(item, c_ast.Decl):
            return begin + column - 1
        return None
    while line > 1:
        above = tu.text[tu.line_starts[line - 2] : tu.line_starts[line - 1]].strip()
        if not above.startswith("#pragma"):
            break
        line -= 1
    return tu.line_starts[line - 1]


def _identities(defs: list[tuple[TranslationUnit, c_ast.FuncDef]]) -> dict[str, dict[str, str]]:
    """Per file: function name -> identity. A `static` function whose name another file also
    defines is `name@file`; a call resolves to its own file's static function first."""
    counts: dict[str, int] = {}
    for _, f in defs:
        counts[f.decl.name] = counts.get(f.decl.name, 0) + 1
    shared: dict[str, str] = {}
    own: dict[str, dict[str, str]] = {}
    for tu, f in defs:
        name = f.decl.name
        if counts[name] > 1 and "static" in (f.decl.storage or []):
            own.setdefault(tu.rel, {})[name] = f"{name}@{tu.rel}"
        else:
            shared.setdefault(name, name)
    return {tu.rel: {**shared, **own.get(tu.rel, {})} for tu, _ in defs}


def extract(units: dict[str, TranslationUnit], modules: list[str]) -> Program:
    """Collect every fact later stages need, from all translation units at once."""
    defs: list[tuple[TranslationUnit, c_ast.FuncDef]] = []
    for tu in units.values():
        for ext in tu.ast.ext:
            if isinstance(ext, c_ast.FuncDef) and tu.is_own(ext):
                defs.append((tu, ext))
    defined = {f.decl.name for _, f in defs}
    visible = _identities(defs)
    file_types = {
        rel: {
            decl.name: decl.type
            for decl in (ext.decl if isinstance(ext, c_ast.FuncDef) else ext for ext in tu.ast.ext)
            if isinstance(decl, c_ast.Decl) and decl.name
        }
        for rel, tu in units.items()
    }

    if not modules:
        entries = sorted(
            n[len("tvmgen_") : -len(ENTRY_SUFFIX)]
            for n in defined
            if n.startswith("tvmgen_") and n.endswith(ENTRY_SUFFIX)
        )
        modules = entries or ["default"]

    named = [_module_of(f.decl.name, tu.rel, modules) for tu, f in defs]
    file_module: dict[str, str] = {}
    for (tu, _), mod in zip(defs, named, strict=True):
        if mod is not None:
            file_module.setdefault(tu.rel, mod)

    functions: dict[str, Function] = {}
    allocs: list[AllocSite] = []
    frees: list[FreeSite] = []
    graph = nx.DiGraph()
    items: dict[str, list[c_ast.Node]] = {}
    for (tu, f), own_module in zip(defs, named, strict=True):
        name = visible[tu.rel][f.decl.name]
        if name in functions:
            other = functions[name]
            raise CrewriteError(
                f"function '{name}' is defined twice (also {other.file}:{other.line})",
                tu.rel,
                f.coord.line,
            )
        module = (
            own_module or file_module.get(tu.rel) or (modules[0] if len(modules) == 1 else None)
        )
        finder = _SiteFinder(tu, name)
        finder.visit(f.body)
        if module is None and finder.allocs:
            raise CrewriteError(
                f"cannot tell which module's arena '{name}' (it allocates workspace) belongs to",
                tu.rel,
                f.coord.line,
            )
        # A helper of no module (shared, no workspace of its own) is followed from any caller.
        fn = Function(name, tu.rel, f.coord.line, module or "", _param_names(f))
        for site in finder.allocs:
            if site.variable in fn.buffers:
                first = fn.buffers[site.variable]
                raise CrewriteError(
                    f"'{site.variable}' is allocated twice in {name} (first at line "
                    f"{first.line}): cannot tell its buffers apart",
                    tu.rel,
                    site.line,
                )
            fn.buffers[site.variable] = site
        for site in finder.frees:
            if site.variable not in fn.buffers:
                raise CrewriteError(
                    f"{FREE} of '{site.variable}', which {name} did not allocate", tu.rel, site.line
                )
        allocs += finder.allocs
        frees += finder.frees
        _flow_facts(fn, f, visible[tu.rel], file_types[tu.rel])
        _check_runs_again(fn, finder, f)
        items[name] = list(f.body.block_items or [])
        for position, item in enumerate(items[name]):
            scan = _UnitScanner(visible[tu.rel])
            scan.visit(item)
            line = item.coord.line if item.coord else f.coord.line
            fn.units.append(
                Unit(
                    refs=frozenset(scan.refs),
                    call_refs=frozenset(scan.call_only),
                    calls=tuple(scan.calls),
                    allocs=tuple(scan.allocs),
                    frees=tuple(scan.frees),
                    taken=tuple(scan.taken),
                    line=line,
                    start=_statement_start(
                        tu,
                        item,
                        line,
                        f.body.coord.line if position == 0 and f.body.coord else None,
                    ),
                )
            )
        functions[name] = fn
        graph.add_node(name)

    for fn in functions.values():
        for unit in fn.units:
            for call in unit.calls:
                graph.add_edge(fn.name, call.callee)
        for target in fn.address_taken:
            graph.add_edge(fn.name, target)
    try:
        cycle = nx.find_cycle(graph)
        raise CrewriteError(
            "recursive calls cannot be planned statically: "
            + " -> ".join(a for a, _ in cycle)
            + f" -> {cycle[0][0]}",
            functions[cycle[0][0]].file,
            functions[cycle[0][0]].line,
        )
    except nx.NetworkXNoCycle:
        pass
    for name in reversed(list(nx.topological_sort(graph))):
        _summarise(functions[name], items[name], functions, visible[functions[name].file])

    max_alignment = 16
    for tu in units.values():
        for match in _ALIGNED.finditer(tu.text):
            max_alignment = max(max_alignment, int(match.group(1)))
    listed: set[str] = set()
    for rel, tu in units.items():
        for ext in tu.ast.ext:
            if isinstance(ext, c_ast.Decl) and isinstance(ext.init, c_ast.Node):
                listed |= {visible.get(rel, {}).get(n) for n in _ids(ext.init)} - {None}
    return Program(
        units, functions, allocs, frees, graph, modules, max_alignment, frozenset(listed)
    )
