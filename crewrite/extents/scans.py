"""What the interpreter needs to know about a statement before running it: which variables
it assigns, how its loop counters move, which jumps leave a loop body."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pycparser import c_ast


def walk(node: c_ast.Node) -> Iterable[c_ast.Node]:
    stack = [node]
    while stack:
        item = stack.pop()
        yield item
        stack.extend(child for _, child in item.children())


def assigned(nodes: Iterable[c_ast.Node | None]) -> set[str]:
    """Names assigned, incremented or whose address is taken anywhere in the nodes."""
    out: set[str] = set()
    for root in nodes:
        if root is None:
            continue
        for node in walk(root):
            target = None
            if isinstance(node, c_ast.Assignment):
                target = node.lvalue
            elif isinstance(node, c_ast.UnaryOp) and node.op in ("++", "--", "p++", "p--", "&"):
                target = node.expr
            while isinstance(target, c_ast.StructRef) and target.type == ".":
                target = target.name  # a member of a local struct: the struct changes
            if isinstance(target, c_ast.ID):
                out.add(target.name)
    return out


def address_taken(body: c_ast.Node) -> set[str]:
    return {
        n.expr.name
        for n in walk(body)
        if isinstance(n, c_ast.UnaryOp) and n.op == "&" and isinstance(n.expr, c_ast.ID)
    }


def jumps(body: c_ast.Node | None, is_error) -> tuple[bool, bool, bool]:
    """(break, continue, normal return or goto) that leave a loop body, nested loops aside;
    `is_error(return_node)` tells an error exit, which does not count."""
    brk = cont = other = False
    if body is None:
        return brk, cont, other
    stack: list[tuple[c_ast.Node, bool, bool]] = [(body, True, True)]
    while stack:
        node, own_break, own_continue = stack.pop()
        if isinstance(node, c_ast.Break) and own_break:
            brk = True
        elif isinstance(node, c_ast.Continue) and own_continue:
            cont = True
        elif isinstance(node, c_ast.Goto | c_ast.Label) or (
            isinstance(node, c_ast.Return) and not is_error(node)
        ):
            other = True
        loop = isinstance(node, c_ast.For | c_ast.While | c_ast.DoWhile)
        switch = isinstance(node, c_ast.Switch)
        for _, child in node.children():
            stack.append((child, own_break and not (loop or switch), own_continue and not loop))
    return brk, cont, other


_EMPTY: frozenset[str] = frozenset()
_LOOPS = (c_ast.For, c_ast.While, c_ast.DoWhile)


@dataclass(frozen=True)
class BodyScan:
    """`assigned` and `jumps` of every subtree of a function body, found in one pass (by node
    id): the interpreter asks them of every loop, and scanning each loop anew scans a nested
    loop's body once for every loop around it."""

    names: Mapping[int, frozenset[str]]  # what `assigned([node])` gives
    exits: Mapping[int, tuple[bool, bool, bool]]  # what `jumps(node, is_error)` gives
    addresses: frozenset[str]  # `address_taken` of the whole body
    goto: bool  # a `goto` or a label anywhere in the body

    def assigned(self, nodes: Iterable[c_ast.Node | None]) -> set[str]:
        out: set[str] = set()
        for node in nodes:
            if node is not None:
                found = self.names.get(id(node))
                out |= found if found is not None else assigned([node])
        return out


def scan_body(body: c_ast.Node, is_error) -> BodyScan:
    names: dict[int, frozenset[str]] = {}
    exits: dict[int, tuple[bool, bool, bool]] = {}
    addresses: set[str] = set()
    goto = False
    for node in reversed(list(walk(body))):  # every child before its parent
        brk = cont = other = False
        found: list[frozenset[str]] = []
        for _, kid in node.children():
            b, c, o = exits[id(kid)]
            brk, cont, other = brk or b, cont or c, other or o
            if names[id(kid)]:
                found.append(names[id(kid)])
        kind = type(node)
        target = None
        if isinstance(node, c_ast.Assignment):
            target = node.lvalue
        elif isinstance(node, c_ast.UnaryOp) and node.op in ("++", "--", "p++", "p--", "&"):
            target = node.expr
            if node.op == "&" and type(target) is c_ast.ID:
                addresses.add(target.name)
        elif kind in _LOOPS:
            brk = cont = False
        elif kind is c_ast.Switch:
            brk = False
        elif kind is c_ast.Break:
            brk = True
        elif kind is c_ast.Continue:
            cont = True
        elif kind is c_ast.Goto or kind is c_ast.Label:
            other = goto = True
        elif kind is c_ast.Return and not is_error(node):
            other = True
        while isinstance(target, c_ast.StructRef) and target.type == ".":
            target = target.name
        if isinstance(target, c_ast.ID):
            found.append(frozenset((target.name,)))
        names[id(node)] = (
            _EMPTY if not found else found[0] if len(found) == 1 else frozenset().union(*found)
        )
        exits[id(node)] = (brk, cont, other)
    return BodyScan(names, exits, frozenset(addresses), goto)


class Increments(c_ast.NodeVisitor):
    """Per variable: constant increments made on every iteration, or None when some update
    is anything else or may be skipped."""

    def __init__(self, names: set[str], constant) -> None:
        self.names = names
        self.constant = constant  # node -> exact loop-invariant int, or None
        self.deltas: dict[str, int | None] = {}
        self.top = True

    def _note(self, name: str, delta: int | None) -> None:
        if name not in self.names:
            return
        if delta is None or not self.top:
            self.deltas[name] = None
        elif name not in self.deltas or self.deltas[name] is not None:
            self.deltas[name] = (self.deltas.get(name) or 0) + delta

    def _nested(self, *children: c_ast.Node | None) -> None:
        saved, self.top = self.top, False
        for child in children:
            if child is not None:
                self.visit(child)
        self.top = saved

    def visit_If(self, node: c_ast.If) -> None:
        self.visit(node.cond)
        self._nested(node.iftrue, node.iffalse)

    def visit_TernaryOp(self, node: c_ast.TernaryOp) -> None:
        self.visit(node.cond)
        self._nested(node.iftrue, node.iffalse)

    def visit_For(self, node: c_ast.For) -> None:
        self._nested(node.init, node.cond, node.next, node.stmt)

    def visit_While(self, node: c_ast.While) -> None:
        self._nested(node.cond, node.stmt)

    visit_DoWhile = visit_While

    def visit_Switch(self, node: c_ast.Switch) -> None:
        self.visit(node.cond)
        self._nested(node.stmt)

    def visit_Label(self, node: c_ast.Label) -> None:
        self._nested(node.stmt)

    def visit_BinaryOp(self, node: c_ast.BinaryOp) -> None:
        self.visit(node.left)
        if node.op in ("&&", "||"):
            self._nested(node.right)
        else:
            self.visit(node.right)

    def visit_UnaryOp(self, node: c_ast.UnaryOp) -> None:
        if isinstance(node.expr, c_ast.ID) and node.op in ("++", "p++", "--", "p--"):
            self._note(node.expr.name, 1 if "+" in node.op else -1)
            return
        self.generic_visit(node)

    def visit_Assignment(self, node: c_ast.Assignment) -> None:
        self.visit(node.rvalue)
        if not isinstance(node.lvalue, c_ast.ID):
            self.visit(node.lvalue)
            return
        name = node.lvalue.name
        delta: int | None = None
        if node.op in ("+=", "-="):
            step = self.constant(node.rvalue)
            if step is not None:
                delta = step if node.op == "+=" else -step
        elif node.op == "=" and isinstance(node.rvalue, c_ast.BinaryOp):
            rv = node.rvalue
            if rv.op in ("+", "-") and isinstance(rv.left, c_ast.ID) and rv.left.name == name:
                step = self.constant(rv.right)
                if step is not None:
                    delta = step if rv.op == "+" else -step
            elif rv.op == "+" and isinstance(rv.right, c_ast.ID) and rv.right.name == name:
                delta = self.constant(rv.left)
        self._note(name, delta)
