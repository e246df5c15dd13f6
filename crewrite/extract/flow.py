"""Where pointers go inside one function: the declared type of every name, aliases (locals
assigned from buffer or parameter pointers), escapes (pointers stored where they cannot be
followed, returned, or handed to a call through a pointer), functions used as values, and
jumps. Calls to other defined functions are the summaries' business (access.py)."""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass

from pycparser import c_ast

from crewrite.extract.cexpr import Types, calls_through_pointer, names_in, pointer_ids
from crewrite.extract.records import bases_of


@dataclass(frozen=True)
class Flow:
    """Pointer facts of one function body."""

    types: Types  # locals and parameters first, then file scope
    aliases: Mapping[str, frozenset[str]]  # local -> the bases it may point into
    escapes: frozenset[str]  # bases whose pointer leaves in the function's own statements
    address_taken: frozenset[str]  # defined functions (identities) used as values
    calls_through_pointer: bool
    loops_back: bool  # a backward `goto`: the whole body may run again
    jumps: bool  # any `goto`: a statement may be skipped


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


class _FlowScanner(c_ast.NodeVisitor):
    """Alias edges, escape sources, functions whose address is taken, and jumps."""

    def __init__(self, fn_locals: set[str], types: Types, defined: Mapping[str, str]):
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
        if calls_through_pointer(node, self.types):
            # Whatever a call through a pointer is handed may be kept anywhere.
            self.pointer_calls = True
            if node.args is not None:
                self.escape_sources.append(frozenset(names_in(node.args)))
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


def _alias_closure(
    edges: list[tuple[str, frozenset[str]]], own_bases: frozenset[str]
) -> dict[str, frozenset[str]]:
    """A local assigned anything derived from a root (buffer or parameter) points into it,
    through any chain of assignments."""
    aliases: dict[str, set[str]] = {}
    changed = True
    while changed:
        changed = False
        for target, ids in edges:
            bases = set()
            for name in ids:
                if name in own_bases:
                    bases.add(name)
                bases |= aliases.get(name, set())
            if target in own_bases:
                bases.discard(target)
            current = aliases.setdefault(target, set())
            if not bases <= current:
                current |= bases
                changed = True
    return {k: frozenset(v) for k, v in aliases.items() if v}


def flow_facts(
    func: c_ast.FuncDef,
    own_bases: frozenset[str],
    params: tuple[str, ...],
    defined: Mapping[str, str],
    file_types: dict[str, c_ast.Node],
) -> Flow:
    """Pointer facts of `func`, whose buffers and parameters are `own_bases`; `defined` maps a
    name to the identity of the defined function it means in this file."""
    names = _LocalNames()
    if func.decl.type.args is not None:
        names.visit(func.decl.type.args)
    names.visit(func.body)
    types = ChainMap(names.types, file_types)  # locals first; file scope shared, not copied
    scanner = _FlowScanner(names.names | set(params), types, defined)
    scanner.visit(func.body)
    aliases = _alias_closure(scanner.alias_edges, own_bases)
    escapes: set[str] = set()
    for ids in scanner.escape_sources:
        escapes |= bases_of(ids, own_bases, aliases)
    return Flow(
        types=types,
        aliases=aliases,
        escapes=frozenset(escapes),
        address_taken=frozenset(scanner.address_taken),
        calls_through_pointer=scanner.pointer_calls,
        loops_back=scanner.loops_back,
        jumps=scanner.jumps,
    )
