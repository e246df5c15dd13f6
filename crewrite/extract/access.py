"""Which bytes each unit reads and writes, through casts, aliases and calls, and the summary
of a whole function that its callers use in turn.

A function's summary needs the summaries of every defined function it calls: `summarise`
takes those as an argument, so the callers-after-callees order is the orchestrator's to keep
(program.py walks the call graph in reverse topological order).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pycparser import c_ast

from crewrite.extract.cexpr import (
    call_args,
    call_name,
    calls_through_pointer,
    pointer_ids,
)
from crewrite.extract.flow import Flow
from crewrite.extract.library import only_writes
from crewrite.extract.records import Access, UnitAccess, bases_of
from crewrite.extract.tvm import ALLOC, workspace_call


@dataclass(frozen=True)
class BodyAccess:
    units: tuple[UnitAccess, ...]
    summary: Access  # the union over the units; escapes include the function's own


@dataclass(frozen=True)
class Callee:
    """What a caller needs of a defined function: its parameters and their summary."""

    params: tuple[str, ...]
    summary: Access


class _AccessScanner(c_ast.NodeVisitor):
    """Reads and writes of buffer bytes in one statement, through casts, aliases and calls.

    A bare pointer (`buf`, `(int8_t*)buf + 64`, `&(((int8_t*)buf)[i])`) is not an access;
    indexing or dereferencing it is. A defined callee contributes what its summary says for the
    parameter the pointer binds to; anything else that receives a pointer reads and writes it.
    """

    def __init__(
        self,
        own_bases: frozenset[str],
        flow: Flow,
        callees: Mapping[str, Callee],
        visible: Mapping[str, str],
    ):
        self.own_bases = own_bases
        self.flow = flow
        self.callees = callees
        self.visible = visible
        self.reads: set[str] = set()
        self.writes: set[str] = set()
        self.escapes: set[str] = set()

    def _bases(self, node: c_ast.Node) -> frozenset[str]:
        return bases_of(pointer_ids(node, self.flow.types), self.own_bases, self.flow.aliases)

    def _target(self, lvalue: c_ast.Node) -> c_ast.Node | None:
        """The pointer expression whose bytes an lvalue stores into, visiting the rest."""
        pointer: c_ast.Node | None = None
        if isinstance(lvalue, c_ast.ArrayRef):
            self.visit(lvalue.subscript)
            pointer = lvalue.name
        elif isinstance(lvalue, c_ast.UnaryOp) and lvalue.op == "*":
            pointer = lvalue.expr
        elif isinstance(lvalue, c_ast.StructRef) and lvalue.type == "->":
            pointer = lvalue.name
        else:
            self.visit(lvalue)
        return pointer

    def visit_Assignment(self, node: c_ast.Assignment) -> None:
        if workspace_call(node.rvalue) == ALLOC:
            return
        target = self._target(node.lvalue)
        if target is not None:
            bases = self._bases(target)
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
        if workspace_call(node.init) == ALLOC:
            return
        self.generic_visit(node)

    def visit_FuncCall(self, node: c_ast.FuncCall) -> None:
        if workspace_call(node) is not None:
            return
        name = call_name(node)
        args = call_args(node)
        identity = self.visible.get(name) if name is not None else None
        # The call graph orders the summaries: a defined callee's is always there.
        callee = self.callees[identity] if identity is not None else None
        for position, arg in enumerate(args):
            bases = self._bases(arg)
            if callee is not None and position < len(callee.params):
                param = callee.params[position]
                if param in callee.summary.reads:
                    self.reads |= bases
                if param in callee.summary.writes:
                    self.writes |= bases
                if param in callee.summary.escapes:
                    self.escapes |= bases
            elif only_writes(name, position, len(args)):
                self.writes |= bases
            else:
                self.reads |= bases
                self.writes |= bases
            self.visit(arg)
        if name is None:
            self.visit(node.name)

    def access(self) -> Access:
        return Access(frozenset(self.reads), frozenset(self.writes), frozenset(self.escapes))


class _PointerCalls(c_ast.NodeVisitor):
    def __init__(self, types: Mapping[str, c_ast.Node]) -> None:
        self.types = types
        self.found = False

    def visit_FuncCall(self, node: c_ast.FuncCall) -> None:
        self.found = self.found or calls_through_pointer(node, self.types)
        self.generic_visit(node)


def summarise(
    func: c_ast.FuncDef,
    own_bases: frozenset[str],
    flow: Flow,
    callees: Mapping[str, Callee],
    visible: Mapping[str, str],
) -> BodyAccess:
    """Per-unit accesses of `func` (its buffers and parameters: `own_bases`), then its own
    summary for its callers; `callees` holds the summary of every defined function it calls,
    `visible` maps a name to the identity of the defined function it means in this file."""
    reads: set[str] = set()
    writes: set[str] = set()
    escapes: set[str] = set(flow.escapes)
    units = []
    for item in func.body.block_items or []:
        scan = _AccessScanner(own_bases, flow, callees, visible)
        scan.visit(item)
        access = scan.access()
        pointer_calls = _PointerCalls(flow.types)
        pointer_calls.visit(item)
        units.append(UnitAccess(access, pointer_calls.found))
        reads |= access.reads
        writes |= access.writes
        escapes |= access.escapes
    return BodyAccess(tuple(units), Access(frozenset(reads), frozenset(writes), frozenset(escapes)))
