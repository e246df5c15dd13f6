"""C expressions on pycparser nodes: constants, the names an expression reads, the names whose
pointer it may carry, calls through pointers. Pure functions of one node (and the declared
types of the names in scope); nothing here knows about TVM or buffers."""

from __future__ import annotations

import re
from collections.abc import Mapping

from pycparser import c_ast

Types = Mapping[str, c_ast.Node]  # name -> its declared type node, innermost scope first

TYPE_SIZES = {
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
SCALAR_TYPES = frozenset(
    "char short int long signed unsigned float double _Bool bool int8_t uint8_t int16_t uint16_t"
    " int32_t uint32_t int64_t uint64_t q7_t q15_t q31_t q63_t float32_t size_t".split()
)
_INTEGER_CONSTANTS = (
    "int",
    "unsigned int",
    "long int",
    "unsigned long int",
    "long long int",
    "unsigned long long int",
)
_NO_POINTER_OPS = frozenset(["==", "!=", "<", ">", "<=", ">=", "&&", "||"])


def strip_casts(node: c_ast.Node) -> c_ast.Node:
    while isinstance(node, c_ast.Cast):
        node = node.expr
    return node


def fold_constant(node: c_ast.Node) -> int | None:
    """Fold an integer constant expression (`(uint64_t)6272`, `4 * 1024`,
    `64 * sizeof(int32_t)`); None if not one."""
    node = strip_casts(node)
    if isinstance(node, c_ast.UnaryOp) and node.op == "sizeof":
        target = node.expr
        if (
            isinstance(target, c_ast.Typename)
            and isinstance(target.type, c_ast.TypeDecl)
            and isinstance(target.type.type, c_ast.IdentifierType)
        ):
            return TYPE_SIZES.get(" ".join(target.type.type.names))
        return None
    if isinstance(node, c_ast.Constant) and node.type in _INTEGER_CONSTANTS:
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


def call_name(node: c_ast.FuncCall) -> str | None:
    """The called name of a direct call (`f(...)`); None for a call through an expression."""
    return node.name.name if isinstance(node.name, c_ast.ID) else None


def call_args(node: c_ast.FuncCall) -> list[c_ast.Node]:
    return list(node.args.exprs) if node.args is not None else []


def calls_through_pointer(node: c_ast.FuncCall, types: Types) -> bool:
    """Whether a call goes through a pointer: an expression, or a variable (local or global)
    rather than a declared function."""
    name = call_name(node)
    return name is None or (name in types and not isinstance(types[name], c_ast.FuncDecl))


class _Names(c_ast.NodeVisitor):
    def __init__(self) -> None:
        self.found: set[str] = set()

    def visit_ID(self, node: c_ast.ID) -> None:
        self.found.add(node.name)

    def visit_StructRef(self, node: c_ast.StructRef) -> None:
        self.visit(node.name)


def names_in(node: c_ast.Node | None) -> set[str]:
    """Every identifier read in an expression (not member names of `a.b` / `a->b`)."""
    if node is None:
        return set()
    names = _Names()
    names.visit(node)
    return names.found


def is_null(node: c_ast.Node) -> bool:
    node = strip_casts(node)
    return (isinstance(node, c_ast.Constant) and fold_constant(node) == 0) or (
        isinstance(node, c_ast.ID) and node.name == "NULL"
    )


def is_scalar(type_node: c_ast.Node | None) -> bool:
    return (
        isinstance(type_node, c_ast.TypeDecl)
        and isinstance(type_node.type, c_ast.IdentifierType)
        and all(n in SCALAR_TYPES for n in type_node.type.names)
    )


def element_is_scalar(base: c_ast.Node, types: Types) -> bool:
    """Whether indexing or dereferencing `base` reads a plain number (not a pointer)."""
    if isinstance(base, c_ast.Cast):
        target = base.to_type.type
        return isinstance(target, c_ast.PtrDecl) and is_scalar(target.type)
    if isinstance(base, c_ast.ID):
        declared = types.get(base.name)
        return isinstance(declared, (c_ast.PtrDecl, c_ast.ArrayDecl)) and is_scalar(declared.type)
    return False


def pointer_ids(node: c_ast.Node | None, types: Types) -> frozenset[str]:
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
            return frozenset(names_in(node.expr))
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
            return frozenset(names_in(inner))
        if node.op == "*":
            return (
                frozenset()
                if element_is_scalar(node.expr, types)
                else pointer_ids(node.expr, types)
            )
        if node.op in ("sizeof", "!", "~"):
            return frozenset()
        return pointer_ids(node.expr, types)
    if isinstance(node, c_ast.ArrayRef):
        return frozenset() if element_is_scalar(node.name, types) else pointer_ids(node.name, types)
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
    return frozenset(names_in(node))
