"""C types and literals as the extent analysis needs them: element sizes, integer ranges,
struct layouts.

Sizes are pairs `(smallest, largest)` over the targets crewrite meets (32-bit Cortex-M, and
the 64-bit host the tests build on): `long`, `size_t` and pointers are 4 or 8 bytes, so a
may-range uses the largest and a must-write the smallest. Everything in stdint.h is exact.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pycparser import c_ast

from crewrite.extents.values import TOP_INTERVAL, Interval
from crewrite.measure import round_up

Size = tuple[int, int]


@dataclass(frozen=True)
class CType:
    """`kind` is one of: int, float, ptr, array, struct, void, func, unknown."""

    kind: str
    size: Size | None = None  # None: not known
    signed: bool = True
    target: CType | None = None  # ptr: pointee; array: element; func: return type
    count: int | None = None  # array length
    fields: tuple[tuple[str, CType], ...] | None = None  # struct members, in order
    union: bool = False  # a struct whose members all start at 0

    @property
    def is_pointer(self) -> bool:
        return self.kind in ("ptr", "array")

    @property
    def is_integer(self) -> bool:
        return self.kind == "int"

    def element(self) -> CType:
        """What indexing or dereferencing a pointer or array of this type yields."""
        return self.target if self.target is not None and self.is_pointer else UNKNOWN

    def range(self) -> Interval:
        """Values an integer of this type can hold (wide types: unbounded, see module doc)."""
        if self.kind != "int" or self.size is None or self.size[1] > 2:
            if self.kind == "int" and self.size == (4, 4) and not self.signed:
                return Interval(0, None)
            return TOP_INTERVAL
        bits = 8 * self.size[1]
        if self.signed:
            return Interval(-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
        return Interval(0, (1 << bits) - 1)

    def field(self, name: str) -> tuple[Size | None, CType]:
        """Offset (smallest, largest) and type of a struct member."""
        if self.fields is None:
            return None, UNKNOWN
        if self.union:
            members = dict(self.fields)
            return ((0, 0), members[name]) if name in members else (None, UNKNOWN)
        lo = hi = 0
        for member, ctype in self.fields:
            size, align = ctype.size, _align(ctype)
            if size is None or align is None:
                return None, UNKNOWN
            lo, hi = round_up(lo, align[0]), round_up(hi, align[1])
            if member == name:
                return (lo, hi), ctype
            lo, hi = lo + size[0], hi + size[1]
        return None, UNKNOWN


def _align(ctype: CType) -> Size | None:
    if ctype.kind == "array":
        return _align(ctype.target) if ctype.target is not None else None
    if ctype.kind == "struct":
        if not ctype.fields:
            return None
        aligns = [a for a in (_align(t) for _, t in ctype.fields) if a is not None]
        if len(aligns) != len(ctype.fields):
            return None
        return (max(a[0] for a in aligns), max(a[1] for a in aligns))
    return ctype.size


UNKNOWN = CType("unknown")
VOID = CType("void")
INT = CType("int", (4, 4))
POINTER_SIZE: Size = (4, 8)

_BASIC: dict[str, tuple[Size, bool, str]] = {
    "char": ((1, 1), True, "int"),
    "signed char": ((1, 1), True, "int"),
    "unsigned char": ((1, 1), False, "int"),
    "_Bool": ((1, 1), False, "int"),
    "short": ((2, 2), True, "int"),
    "short int": ((2, 2), True, "int"),
    "unsigned short": ((2, 2), False, "int"),
    "unsigned short int": ((2, 2), False, "int"),
    "int": ((4, 4), True, "int"),
    "signed": ((4, 4), True, "int"),
    "signed int": ((4, 4), True, "int"),
    "unsigned": ((4, 4), False, "int"),
    "unsigned int": ((4, 4), False, "int"),
    "long": ((4, 8), True, "int"),
    "long int": ((4, 8), True, "int"),
    "unsigned long": ((4, 8), False, "int"),
    "unsigned long int": ((4, 8), False, "int"),
    "long long": ((8, 8), True, "int"),
    "long long int": ((8, 8), True, "int"),
    "unsigned long long": ((8, 8), False, "int"),
    "unsigned long long int": ((8, 8), False, "int"),
    "float": ((4, 4), True, "float"),
    "double": ((8, 8), True, "float"),
    "long double": ((8, 16), True, "float"),
}
# stdint names, in case a header crewrite does not ship declares them differently.
_STDINT = {
    "int8_t": "signed char",
    "uint8_t": "unsigned char",
    "int16_t": "short",
    "uint16_t": "unsigned short",
    "int32_t": "int",
    "uint32_t": "unsigned int",
    "int64_t": "long long",
    "uint64_t": "unsigned long long",
    "bool": "_Bool",
    "size_t": "unsigned long",
    "ptrdiff_t": "long",
    "intptr_t": "long",
    "uintptr_t": "unsigned long",
}


class TypeTable:
    """Typedefs, struct definitions and enum constants of a set of translation units."""

    def __init__(self, asts: list[c_ast.FileAST]):
        self.typedefs: dict[str, c_ast.Node] = {}
        self.structs: dict[str, c_ast.Struct | c_ast.Union] = {}
        self.enums: dict[str, int] = {}
        self._memo: dict[int, CType] = {}
        for ast in asts:
            for ext in ast.ext:
                self._collect(ext)

    def _collect(self, node: c_ast.Node) -> None:
        if isinstance(node, c_ast.Typedef):
            self.typedefs.setdefault(node.name, node.type)
        for child in _walk(node):
            if (
                isinstance(child, c_ast.Struct | c_ast.Union)
                and child.name
                and child.decls is not None
            ):
                self.structs.setdefault(child.name, child)
            elif isinstance(child, c_ast.Enum) and child.values is not None:
                value = -1
                for item in child.values.enumerators:
                    folded = _fold(item.value, self.enums) if item.value is not None else None
                    value = folded if folded is not None else value + 1
                    self.enums.setdefault(item.name, value)

    def of(self, node: c_ast.Node | None, depth: int = 0) -> CType:
        """The CType of a declaration's type node (`Decl.type`, `Typename.type`, ...)."""
        if node is None or depth > 40:
            return UNKNOWN
        memo = self._memo.get(id(node))
        if memo is not None:
            return memo
        out = self._of(node, depth)
        self._memo[id(node)] = out
        return out

    def _of(self, node: c_ast.Node, depth: int) -> CType:
        if isinstance(node, c_ast.Typename | c_ast.Decl):
            return self.of(node.type, depth + 1)
        if isinstance(node, c_ast.TypeDecl):
            return self.of(node.type, depth + 1)
        if isinstance(node, c_ast.PtrDecl):
            return CType("ptr", POINTER_SIZE, False, self.of(node.type, depth + 1))
        if isinstance(node, c_ast.ArrayDecl):
            element = self.of(node.type, depth + 1)
            count = _fold(node.dim, self.enums) if node.dim is not None else None
            size = None
            if count is not None and element.size is not None:
                size = (count * element.size[0], count * element.size[1])
            return CType("array", size, True, element, count)
        if isinstance(node, c_ast.FuncDecl):
            return CType("func", None, True, self.of(node.type, depth + 1))
        if isinstance(node, c_ast.IdentifierType):
            return self._named(node.names, depth)
        if isinstance(node, c_ast.Struct | c_ast.Union):
            return self._struct(node, depth)
        if isinstance(node, c_ast.Enum):
            return INT
        return UNKNOWN

    def _named(self, names: list[str], depth: int) -> CType:
        words = [n for n in names if n not in ("const", "volatile", "restrict")]
        spelled = " ".join(words)
        if spelled in _BASIC:
            size, signed, kind = _BASIC[spelled]
            return CType(kind, size, signed)
        if spelled == "void":
            return VOID
        if len(words) == 1 and words[0] in self.typedefs:
            return self.of(self.typedefs[words[0]], depth + 1)
        if len(words) == 1 and words[0] in _STDINT:
            return self._named([_STDINT[words[0]]], depth)
        if words and words[-1] == "int" and " ".join(words[:-1]) in _BASIC:
            return self._named(words[:-1], depth)
        return UNKNOWN

    def _struct(self, node: c_ast.Struct | c_ast.Union, depth: int) -> CType:
        """A struct or union; a bitfield member has no size we know (nor has what follows)."""
        union = isinstance(node, c_ast.Union)
        decls = node.decls
        if decls is None and node.name in self.structs:
            decls = self.structs[node.name].decls
        if decls is None:
            return CType("struct", union=union)
        fields = tuple(
            (d.name or "", UNKNOWN if d.bitsize is not None else self.of(d.type, depth + 1))
            for d in decls
        )
        layout = CType("struct", None, True, None, None, fields, union)
        return CType("struct", _struct_size(layout), True, None, None, fields, union)


def _struct_size(ctype: CType) -> Size | None:
    if not ctype.fields:
        return None
    lo = hi = 0
    for _, member in ctype.fields:
        size, align = member.size, _align(member)
        if size is None or align is None:
            return None
        if ctype.union:
            lo, hi = max(lo, size[0]), max(hi, size[1])
        else:
            lo, hi = round_up(lo, align[0]) + size[0], round_up(hi, align[1]) + size[1]
    align = _align(ctype)
    if align is None:
        return None
    return (round_up(lo, align[0]), round_up(hi, align[1]))


def _walk(node: c_ast.Node):
    stack = [node]
    while stack:
        item = stack.pop()
        yield item
        if isinstance(item, c_ast.FuncDef):
            continue  # bodies hold no file-scope types crewrite needs
        stack.extend(child for _, child in item.children())


def _fold(node: c_ast.Node | None, enums: Mapping[str, int]) -> int | None:
    """An integer constant expression of a declaration (array length, enum value)."""
    if isinstance(node, c_ast.Constant) and node.type.endswith("int"):
        return int_value(node.value)
    if isinstance(node, c_ast.ID):
        return enums.get(node.name)
    if isinstance(node, c_ast.UnaryOp) and node.op == "-":
        inner = _fold(node.expr, enums)
        return None if inner is None else -inner
    if isinstance(node, c_ast.BinaryOp) and node.op in ("+", "-", "*"):
        a, b = _fold(node.left, enums), _fold(node.right, enums)
        if a is None or b is None:
            return None
        return a + b if node.op == "+" else a - b if node.op == "-" else a * b
    if isinstance(node, c_ast.Cast):
        return _fold(node.expr, enums)
    return None


def int_value(text: str) -> int | None:
    """An integer literal's value (hex, octal, suffixes)."""
    digits = text.rstrip("uUlL")
    try:
        if len(digits) > 1 and digits[0] == "0" and digits[1] not in "xXbB":
            return int(digits, 8)
        return int(digits, 0)
    except ValueError:
        return None


def char_value(text: str) -> int | None:
    """A character literal's value; None for escapes we do not spell out."""
    body = text[1:-1] if len(text) >= 2 else text
    escapes = {"\\n": 10, "\\t": 9, "\\0": 0, "\\\\": 92, "\\'": 39, '\\"': 34, "\\r": 13}
    if body in escapes:
        return escapes[body]
    if len(body) == 1:
        return ord(body)
    return None
