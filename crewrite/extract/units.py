"""What each unit (top-level statement of a function body) mentions: the names it touches,
the defined functions it calls and with what, the buffers it allocates and frees, the
functions it hands on as pointers, and where text can be inserted before it."""

from __future__ import annotations

from collections.abc import Mapping

from pycparser import c_ast

from crewrite.extract.cexpr import call_args, call_name, is_null, names_in, strip_casts
from crewrite.extract.records import Call, UnitShape
from crewrite.extract.textloc import line_of, statement_start
from crewrite.extract.tvm import ALLOC, FREE, workspace_call
from crewrite.frontend import TranslationUnit


class _UnitScanner(c_ast.NodeVisitor):
    """Collects what one top-level statement touches, skipping pointer-only mentions:
    the alloc assignment, the free argument and NULL checks."""

    def __init__(self, defined: Mapping[str, str]):
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
            (isinstance(strip_casts(node.left), c_ast.ID) and is_null(node.right))
            or (isinstance(strip_casts(node.right), c_ast.ID) and is_null(node.left))
        ):
            return
        self.generic_visit(node)

    def visit_Decl(self, node: c_ast.Decl) -> None:
        if workspace_call(node.init) == ALLOC:
            self.allocs.append(node.name)
            return
        self.generic_visit(node)

    def visit_Assignment(self, node: c_ast.Assignment) -> None:
        if workspace_call(node.rvalue) == ALLOC and isinstance(node.lvalue, c_ast.ID):
            self.allocs.append(node.lvalue.name)
            return
        self.generic_visit(node)

    def visit_FuncCall(self, node: c_ast.FuncCall) -> None:
        name = call_name(node)
        args = call_args(node)
        if name == FREE:
            freed = strip_casts(args[2]) if len(args) == 3 else None
            if isinstance(freed, c_ast.ID):
                self.frees.append(freed.name)
                for arg in args[:2]:
                    self.visit(arg)
                return
        if name is not None and name in self.defined:
            # Arguments are evaluated (their calls run) before the call itself.
            arg_ids = tuple(frozenset(names_in(a)) for a in args)
            self.arg_depth += 1
            for arg in args:
                self.visit(arg)
            self.arg_depth -= 1
            self.calls.append(Call(self.defined[name], arg_ids, self.loop_depth > 0))
            return
        self.generic_visit(node)


def scan_units(
    tu: TranslationUnit, func: c_ast.FuncDef, defined: Mapping[str, str]
) -> tuple[UnitShape, ...]:
    """The shape of each top-level statement of `func`; `defined` maps a name to the
    identity of the defined function it means in this file."""
    out = []
    brace_line = func.body.coord.line if func.body.coord else None
    for position, item in enumerate(func.body.block_items or []):
        scan = _UnitScanner(defined)
        scan.visit(item)
        line = line_of(item) if item.coord else line_of(func)
        shape = UnitShape(
            refs=frozenset(scan.refs),
            call_refs=frozenset(scan.call_only),
            calls=tuple(scan.calls),
            allocs=tuple(scan.allocs),
            frees=tuple(scan.frees),
            taken=tuple(scan.taken),
            line=line,
            start=statement_start(tu, item, line, brace_line if position == 0 else None),
        )
        out.append(shape)
    return tuple(out)
