"""USMP pools: the static memory TVM's Unified Static Memory Planner hands every function as
a parameter `uint8_t* <pool>_<N>_var`, and the slices each function cuts from it at
constant offsets (see PATTERNS.md, "USMP-built projects").

A slice is a buffer whose place USMP chose: `void* PadInput_let = (&(pool_11_var[126976]));`
(a *let* slice, at the top of a body or inside a loop body), or `(&(pool_1_var[61440]))`
written where it is used (an *inline* slice; every inline use of one offset in one function
is one buffer, named `pool_1_var[61440]` in the facts, so that the extractor's name-based
analyses follow it like a variable). A pool parameter may only be sliced at constant
offsets or handed whole to a function of the sources that takes it as a pool parameter of
the same pool; any other use leaves the pool as USMP planned it, with the reason.

A pool is a *workspace* pool unless it holds constants (TVM's `global_const_workspace`, or
a definition with an initializer): constant pools are never moved. Its definition, when the
generated code has one, is a file-scope `static uint8_t <pool>[N];` (with section and
alignment attributes); otherwise the application provides it through
`struct tvmgen_<mod>_workspace_pools`.

The facts here carry no sizes: a slice's size is what the extent analysis proves it
touches (crewrite.usmp), set on the site record before extraction sees it as a buffer.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from pycparser import c_ast, c_generator

from crewrite.extract.cexpr import call_args, call_name, fold_constant, strip_casts
from crewrite.extract.records import AllocSite, Program
from crewrite.extract.textloc import line_of
from crewrite.frontend import TranslationUnit, code_only

POOL_PARAM = re.compile(r"^(?P<pool>\w+?)_\d+_var$")
MIN_ALIGNMENT = 16  # USMP's default byte alignment of every buffer in a pool
_ALIGNED = re.compile(r"aligned\s*\(\s*(\d+)\s*\)")
_BYTE_TYPES = frozenset({"uint8_t", "int8_t", "char", "unsigned char", "signed char"})


@dataclass(frozen=True)
class SliceSite(AllocSite):
    """A slice of a workspace pool, extracted like a workspace buffer: `variable` is the let
    variable (or `param[offset]` for inline uses), `size` the bytes it touches, and
    `start`/`end` the offset literal of its first occurrence in the text."""

    pool: str = ""
    param: str = ""  # the pool parameter it slices
    offset: int = 0  # where USMP put it
    form: str = "let"  # "let" or "inline"
    literals: tuple[tuple[int, int], ...] = ()  # (start, end) of the offset at each occurrence
    declared_type: str = "void*"  # the let variable's C type, for a re-pointing assignment


@dataclass(frozen=True)
class PoolDefinition:
    """`static uint8_t <pool>[N];` in a source file (`dim`: where N is), or a struct."""

    file: str
    line: int
    size: int | None
    dim: tuple[int, int] | None  # (start, end) of the size literal
    end: int  # index just past the definition's `;`
    alignment: int  # its `aligned(N)`, 1 if none


@dataclass(frozen=True)
class Pool:
    module: str
    name: str
    constant: bool
    definition: PoolDefinition | None  # None: the application provides it

    @property
    def key(self) -> tuple[str, str]:
        return (self.module, self.name)

    @property
    def alignment(self) -> int:
        """Of every slice's offset: USMP's 16 bytes, or more if the pool asks for it."""
        return max(MIN_ALIGNMENT, self.definition.alignment if self.definition else 1)


@dataclass(frozen=True)
class PoolProblem:
    """Why a pool stays as USMP planned it (or a warning about it, when `fatal` is False)."""

    reason: str
    file: str
    line: int
    fatal: bool = True


@dataclass(frozen=True)
class PoolFacts:
    pools: tuple[Pool, ...]
    slices: Mapping[str, tuple[SliceSite, ...]]  # function -> its workspace slices (size 0)
    problems: Mapping[tuple[str, str], tuple[PoolProblem, ...]]  # pool key -> problems
    units: Mapping[str, TranslationUnit]  # the sources with inline slices named
    modules: Mapping[str, str]  # function -> its module, for every function with a pool

    def slices_of(self, pool: Pool) -> list[SliceSite]:
        return [
            site
            for function, sites in self.slices.items()
            if self.modules.get(function) == pool.module
            for site in sites
            if site.pool == pool.name
        ]


def pool_of_param(name: str) -> str | None:
    match = POOL_PARAM.match(name)
    return match.group("pool") if match else None


def is_constant_pool(name: str) -> bool:
    """TVM names its constant pool `global_const_workspace`; user pools of constants say so."""
    return "const" in name.lower()


def is_workspace_pool_param(name: str) -> bool:
    """A parameter `<pool>_<N>_var` of a pool that is not a constant pool: its inline slices
    `&param[C]` are buffers (what the extent analysis is told to name)."""
    pool = pool_of_param(name)
    return pool is not None and not is_constant_pool(pool)


_POOL_PARAM_USE = re.compile(r"\b([A-Za-z_]\w*?)_\d+_var\b")


def pools_named(text: str) -> set[str]:
    """Workspace pools whose parameters (`<pool>_<N>_var`) a source names, read from its code
    without parsing: enough to tell that a project without workspace calls has USMP pools to
    re-plan, and which pools a source that does not parse may touch."""
    return {
        m.group(1)
        for m in _POOL_PARAM_USE.finditer(code_only(text))
        if not is_constant_pool(m.group(1))
    }


@dataclass
class _Occurrence:
    """One `&P[C]` in a function body."""

    param: str
    offset: int
    line: int
    column: int
    let: c_ast.Decl | None  # the declaration it initialises, for a let slice
    node: c_ast.UnaryOp


class _Uses(c_ast.NodeVisitor):
    """Every use of a pool parameter in one function body, classified."""

    def __init__(self, params: frozenset[str]):
        self.params = params
        self.stack: list[c_ast.Node] = []
        self.slices: list[_Occurrence] = []
        self.handed: list[tuple[str, c_ast.FuncCall, int, int]] = []  # param, call, position
        self.other: list[tuple[str, int]] = []  # param, line
        self.reassigned: set[str] = set()

    def generic_visit(self, node: c_ast.Node) -> None:
        self.stack.append(node)
        for child in _children(node):
            self.visit(child)
        self.stack.pop()

    def visit_Assignment(self, node: c_ast.Assignment) -> None:
        if isinstance(node.lvalue, c_ast.ID):
            self.reassigned.add(node.lvalue.name)
        self.generic_visit(node)

    def visit_UnaryOp(self, node: c_ast.UnaryOp) -> None:
        if node.op in ("&", "++", "--", "p++", "p--") and isinstance(node.expr, c_ast.ID):
            self.reassigned.add(node.expr.name)
        ref = node.expr
        if (
            node.op == "&"
            and isinstance(ref, c_ast.ArrayRef)
            and isinstance(ref.name, c_ast.ID)
            and ref.name.name in self.params
        ):
            offset = fold_constant(ref.subscript)
            if offset is not None:
                self.slices.append(
                    _Occurrence(
                        ref.name.name,
                        offset,
                        line_of(ref.name),
                        ref.name.coord.column if ref.name.coord else 0,
                        self._declaration(node),
                        node,
                    )
                )
                self.stack.append(node)
                self.stack.append(ref)
                self.visit(ref.subscript)
                self.stack.pop()
                self.stack.pop()
                return
        self.generic_visit(node)

    def _declaration(self, node: c_ast.Node) -> c_ast.Decl | None:
        """The declaration whose initialiser is `node` (casts aside), if any."""
        child = node
        for parent in reversed(self.stack):
            if isinstance(parent, c_ast.Cast):
                child = parent
                continue
            if isinstance(parent, c_ast.Decl) and parent.init is child:
                return parent
            return None
        return None

    def _argument(self, node: c_ast.Node) -> tuple[c_ast.FuncCall, int] | None:
        """The call whose argument `node` is (casts aside), and its position."""
        child = node
        for depth in range(len(self.stack) - 1, -1, -1):
            parent = self.stack[depth]
            if isinstance(parent, c_ast.Cast):
                child = parent
                continue
            call = self.stack[depth - 1] if depth > 0 else None
            if (
                isinstance(parent, c_ast.ExprList)
                and isinstance(call, c_ast.FuncCall)
                and call.args is parent
            ):
                return call, next(i for i, a in enumerate(parent.exprs) if a is child)
            return None
        return None

    def visit_ID(self, node: c_ast.ID) -> None:
        if node.name not in self.params:
            return
        argument = self._argument(node)
        if argument is None:
            self.other.append((node.name, line_of(node)))
        else:
            self.handed.append((node.name, *argument, line_of(node)))


def _is_pointer(decl: c_ast.Node) -> bool:
    return isinstance(decl, c_ast.Decl) and isinstance(decl.type, c_ast.PtrDecl | c_ast.ArrayDecl)


def _param_decls(func: c_ast.FuncDef) -> list[c_ast.Decl]:
    args = func.decl.type.args
    if args is None:
        return []
    return [p for p in args.params if isinstance(p, c_ast.Decl) and p.name]


def _subscript(name: str) -> re.Pattern[str]:
    """`name[N]` with N a plain number (its group 1), as the text spells a slice or a dimension."""
    return re.compile(rf"\b{re.escape(name)}\s*\[\s*(\d+)[uUlL]*\s*\]")


def _locate(
    tu: TranslationUnit, found: list[_Occurrence]
) -> dict[int, tuple[int, int]] | PoolProblem:
    """The (start, end) of each occurrence's offset literal in the original text, by id of
    its node: matched on its line, in column order, against the spelling there."""
    out: dict[int, tuple[int, int]] = {}
    by_line: dict[tuple[int, str], list[_Occurrence]] = {}
    for occ in found:
        by_line.setdefault((occ.line, occ.param), []).append(occ)
    for (line, param), occs in sorted(by_line.items()):
        begin = tu.line_starts[line - 1] if line <= len(tu.line_starts) else len(tu.text)
        stop = tu.text.find("\n", begin)
        stop = len(tu.text) if stop < 0 else stop
        matches = list(_subscript(param).finditer(tu.text, begin, stop))
        occs.sort(key=lambda o: o.column)
        if len(matches) != len(occs) or any(
            int(m.group(1)) != o.offset for m, o in zip(matches, occs, strict=True)
        ):
            return PoolProblem(
                f"cannot find the text of the slice {param}[{occs[0].offset}] (it comes from "
                "a macro or is not a plain number): refusing to move it",
                tu.rel,
                line,
            )
        for m, occ in zip(matches, occs, strict=True):
            out[id(occ.node)] = m.span(1)
    return out


def _definitions(
    translation_units: Mapping[str, TranslationUnit], file_module: Mapping[str, str]
) -> dict[tuple[str, str], tuple[PoolDefinition, bool]]:
    """(module, name) -> (definition, holds constants) for every file-scope object that
    could be a pool: a byte array or a struct, defined (not `extern`) in a source."""
    out: dict[tuple[str, str], tuple[PoolDefinition, bool]] = {}
    for rel, tu in translation_units.items():
        module = file_module.get(rel)
        if module is None:
            continue
        for ext in tu.ast.ext:
            if not (isinstance(ext, c_ast.Decl) and ext.name and tu.is_own(ext)):
                continue
            if "extern" in (ext.storage or []) or isinstance(ext.type, c_ast.FuncDecl):
                continue
            constant = ext.init is not None or "const" in (ext.quals or [])
            line = line_of(ext)
            begin = tu.line_starts[line - 1]
            end = tu.text.find(";", begin)
            end = len(tu.text) if end < 0 else end + 1
            above = tu.line_starts[line - 2] if line >= 2 else begin
            attributes = [int(a) for a in _ALIGNED.findall(tu.text, above, end)]
            alignment = max(attributes, default=1)
            if isinstance(ext.type, c_ast.ArrayDecl) and _byte_elements(ext.type):
                size = fold_constant(ext.type.dim) if ext.type.dim is not None else None
                match = _subscript(ext.name).search(tu.text, begin, end)
                dim = match.span(1) if match and size is not None else None
                out[(module, ext.name)] = (
                    PoolDefinition(rel, line, size, dim, end, alignment),
                    constant,
                )
            elif isinstance(ext.type, c_ast.TypeDecl) and isinstance(ext.type.type, c_ast.Struct):
                definition = PoolDefinition(rel, line, None, None, end, alignment)
                out[(module, ext.name)] = (definition, constant)
    return out


def _byte_elements(array: c_ast.ArrayDecl) -> bool:
    inner = array.type
    return (
        isinstance(inner, c_ast.TypeDecl)
        and isinstance(inner.type, c_ast.IdentifierType)
        and " ".join(inner.type.names) in _BYTE_TYPES
    )


class _Named(c_ast.NodeVisitor):
    """Replaces inline slices by an identifier `param[offset]` (in a copy of the body)."""

    def __init__(self, inline: set[int]):
        self.inline = inline

    def generic_visit(self, node: c_ast.Node) -> None:
        for name, child in node.children():  # type: ignore[no-untyped-call]
            if id(child) in self.inline:
                assert isinstance(child, c_ast.UnaryOp) and isinstance(child.expr, c_ast.ArrayRef)
                ref = child.expr
                assert isinstance(ref.name, c_ast.ID)
                named = c_ast.ID(  # type: ignore[no-untyped-call]
                    f"{ref.name.name}[{fold_constant(ref.subscript)}]", child.coord
                )
                _set_child(node, name, named)
            else:
                self.visit(child)


def _set_child(node: c_ast.Node, name: str, value: c_ast.Node) -> None:
    """pycparser names list children `exprs[2]`; plain ones by attribute."""
    match = re.fullmatch(r"(\w+)\[(\d+)\]", name)
    if match:
        getattr(node, match.group(1))[int(match.group(2))] = value
    else:
        setattr(node, name, value)


Definition = tuple[TranslationUnit, c_ast.FuncDef, str]  # file, function, its identity


@dataclass
class _Scan:
    """What one function does with its pool parameters."""

    slices: dict[str, SliceSite]  # variable (or `param[offset]`) -> its site
    problems: list[tuple[str, PoolProblem]]  # (pool, problem)
    inline: set[int]  # ids of its inline slice nodes


def _scan(program: Program, tu: TranslationUnit, func: c_ast.FuncDef, identity: str) -> _Scan:
    """The slices of workspace pools in one function, and every use of a pool parameter it
    makes that crewrite cannot follow."""
    params = frozenset(
        p.name for p in _param_decls(func) if _is_pointer(p) and pool_of_param(p.name)
    )
    uses = _Uses(params)
    uses.visit(func.body)
    out = _Scan({}, [], set())

    def problem(param: str, reason: str, line: int) -> None:
        out.problems.append((pool_of_param(param) or "", PoolProblem(reason, tu.rel, line)))

    for param, line in uses.other:
        problem(
            param,
            f"{identity} uses the pool pointer '{param}' other than as a constant slice "
            f"&{param}[N] or an argument of an operator: cannot follow where its bytes go",
            line,
        )
    for param, call, position, line in uses.handed:
        callee = call_name(call)
        target = _identity(program, tu.rel, callee) if callee else None
        callee_params = program.functions[target].params if target else ()
        taken = callee_params[position] if position < len(callee_params) else None
        if taken is None or pool_of_param(taken) != pool_of_param(param):
            problem(
                param,
                f"{identity} hands the pool pointer '{param}' to "
                f"{callee or 'a call through a pointer'}, which "
                + ("is not in the sources" if target is None else "does not take it as a pool")
                + ": cannot follow where its bytes go",
                line,
            )
    located = _locate(tu, uses.slices)
    if isinstance(located, PoolProblem):
        problem(uses.slices[0].param, located.reason, located.line)
        return out
    for occ in uses.slices:
        pool = pool_of_param(occ.param) or ""
        if is_constant_pool(pool):
            continue
        span = located[id(occ.node)]
        let = occ.let
        if let is not None and let.name and let.name not in uses.reassigned:
            name, form = let.name, "let"
            declared = c_generator.CGenerator()._generate_type(let.type, emit_declname=False)
        else:
            if let is not None and let.name:
                problem(
                    occ.param,
                    f"the slice variable '{let.name}' in {identity} is assigned again: "
                    "cannot tell which offset it holds",
                    occ.line,
                )
            name, form, declared = f"{occ.param}[{occ.offset}]", "inline", "void*"
            out.inline.add(id(occ.node))
        known = out.slices.get(name)
        if known is None:
            out.slices[name] = SliceSite(
                function=identity,
                variable=name,
                size=0,
                file=tu.rel,
                line=occ.line,
                start=span[0],
                end=span[1],
                pool=pool,
                param=occ.param,
                offset=occ.offset,
                form=form,
                literals=(span,),
                declared_type=declared.strip() or "void*",
            )
        elif form == "inline":  # one more use of the same offset
            out.slices[name] = replace(known, literals=(*known.literals, span))
        else:
            problem(
                occ.param,
                f"'{name}' is declared twice in {identity} (first at line {known.line}): "
                "cannot tell its slices apart",
                occ.line,
            )
    return out


def find_pools(program: Program) -> PoolFacts:
    """Every USMP pool of the program, its slices, and what stops a pool from moving."""
    tus = program.translation_units
    defs: list[Definition] = []
    for rel, tu in tus.items():
        for ext in tu.ast.ext:
            if isinstance(ext, c_ast.FuncDef) and tu.is_own(ext):
                identity = _identity(program, rel, ext.decl.name)
                if identity is not None:
                    defs.append((tu, ext, identity))
    file_module: dict[str, str] = {}
    for tu, _, identity in defs:
        if program.functions[identity].module:
            file_module.setdefault(tu.rel, program.functions[identity].module)
    if len(program.modules) == 1:
        for rel in tus:
            file_module.setdefault(rel, program.modules[0])

    problems: dict[tuple[str, str], list[PoolProblem]] = {}
    slices: dict[str, tuple[SliceSite, ...]] = {}
    seen: set[tuple[str, str]] = set()
    renamed: dict[str, set[int]] = {}  # file -> ids of inline slice nodes
    modules: dict[str, str] = {}
    for tu, func, identity in defs:
        module = program.functions[identity].module
        pools = {pool_of_param(p.name) for p in _param_decls(func) if _is_pointer(p)} - {None}
        if not pools:
            continue
        modules[identity] = module
        seen |= {(module, pool) for pool in pools if pool}
        scan = _scan(program, tu, func, identity)
        for name, found in scan.problems:
            problems.setdefault((module, name), []).append(found)
        slices[identity] = tuple(scan.slices.values())
        renamed.setdefault(tu.rel, set()).update(scan.inline)

    definitions = _definitions(tus, file_module)
    found_pools: list[Pool] = []
    for module, name in sorted(seen):
        definition, holds_constants = definitions.get((module, name), (None, False))
        pool = Pool(module, name, holds_constants or is_constant_pool(name), definition)
        found_pools.append(pool)
        if definition is not None and definition.size is None and not pool.constant:
            problems.setdefault(pool.key, []).append(
                PoolProblem(
                    f"pool '{name}' is not defined as a byte array of constant size: crewrite "
                    f"can only shrink `uint8_t {name}[N]`",
                    definition.file,
                    definition.line,
                )
            )
        if not pool.constant:
            problems.setdefault(pool.key, []).extend(_other_uses(program, pool, defs))
    units = {rel: _renamed(tu, renamed.get(rel, set())) for rel, tu in tus.items()}
    return PoolFacts(
        tuple(found_pools),
        slices,
        {k: tuple(v) for k, v in problems.items() if v},
        units,
        modules,
    )


def _identity(program: Program, rel: str, name: str) -> str | None:
    """The identity extraction gave the function `name` defined or seen in file `rel`."""
    own = f"{name}@{rel}"
    if own in program.functions:
        return own
    return name if name in program.functions else None


def _other_uses(program: Program, pool: Pool, defs: list[Definition]) -> list[PoolProblem]:
    """Uses of the pool itself (`pool`, or `x->pool` for one the application provides) in
    the module's functions other than handing it to a function's pool parameter: its first
    byte returned is a warning (hand-extended code: whatever uses it must fit in the
    re-planned pool); anything else, such as inputs and outputs mapped at offsets into the
    pool, addresses its bytes outside the slices and keeps it as USMP planned it."""
    found = []
    for tu, func, identity in defs:
        if program.functions[identity].module != pool.module:
            continue
        for use, node, line in _pool_references(func.body, pool.name):
            if use == "handed":
                assert isinstance(node, c_ast.FuncCall)
                callee = call_name(node)
                target = _identity(program, tu.rel, callee) if callee else None
                params = program.functions[target].params if target else ()
                position = next(
                    (i for i, a in enumerate(call_args(node)) if _base_of(a, pool.name)), -1
                )
                if 0 <= position < len(params) and pool_of_param(params[position]) == pool.name:
                    continue
            fatal = use != "returned"
            found.append(
                PoolProblem(
                    f"{identity} uses the pool '{pool.name}' itself"
                    + (
                        " (hand-extended code?): whatever it does there must fit in the "
                        "re-planned pool"
                        if not fatal
                        else ", not only to hand it to the model: its bytes are reached "
                        "outside the slices crewrite moves (inputs and outputs in the pool?)"
                    ),
                    tu.rel,
                    line,
                    fatal=fatal,
                )
            )
    return found


def _pool_references(body: c_ast.Node, name: str) -> list[tuple[str, c_ast.Node | None, int]]:
    """Each reference to pool `name` in a body: ("handed", call) when its first byte is a
    call's argument, ("returned", None) when it is returned, ("other", None) otherwise."""
    out: list[tuple[str, c_ast.Node | None, int]] = []

    class Visitor(c_ast.NodeVisitor):
        def visit_FuncCall(self, node: c_ast.FuncCall) -> None:
            for arg in call_args(node):
                if _base_of(arg, name):
                    out.append(("handed", node, line_of(node)))
                else:
                    self.visit(arg)

        def visit_Return(self, node: c_ast.Return) -> None:
            if node.expr is not None and _base_of(node.expr, name):
                out.append(("returned", None, line_of(node)))
            elif node.expr is not None:
                self.visit(node.expr)

        def visit_ID(self, node: c_ast.ID) -> None:
            if node.name == name:
                out.append(("other", None, line_of(node)))

        def visit_StructRef(self, node: c_ast.StructRef) -> None:
            if isinstance(node.field, c_ast.ID) and node.field.name == name:
                out.append(("other", None, line_of(node)))
            else:
                self.visit(node.name)

    Visitor().visit(body)
    return out


def _base_of(node: c_ast.Node, name: str) -> bool:
    """`pool`, `&pool`, `&pool[0]`, `x->pool` (casts aside): the pool's first byte."""
    node = strip_casts(node)
    if isinstance(node, c_ast.UnaryOp) and node.op == "&":
        node = strip_casts(node.expr)
        if isinstance(node, c_ast.ArrayRef) and fold_constant(node.subscript) == 0:
            node = strip_casts(node.name)
    if isinstance(node, c_ast.StructRef):
        return isinstance(node.field, c_ast.ID) and node.field.name == name
    return isinstance(node, c_ast.ID) and node.name == name


def _renamed(tu: TranslationUnit, inline: set[int]) -> TranslationUnit:
    """`tu` with every inline slice of a workspace pool replaced by an identifier, in copies
    of the functions that have one (the original AST is left as it is)."""
    if not inline:
        return tu
    ext = []
    for node in tu.ast.ext:
        if isinstance(node, c_ast.FuncDef) and any(id(n) in inline for n in _walk(node)):
            memo: dict[int, object] = {}  # id of a node of `node` -> its copy
            copied = copy.deepcopy(node, memo)
            _Named({id(memo[i]) for i in inline if i in memo}).visit(copied)
            ext.append(copied)
        else:
            ext.append(node)
    return replace(tu, ast=c_ast.FileAST(ext, tu.ast.coord))  # type: ignore[no-untyped-call]


def _children(node: c_ast.Node) -> list[c_ast.Node]:
    return [child for _, child in node.children()]  # type: ignore[no-untyped-call]


def _walk(node: c_ast.Node) -> list[c_ast.Node]:
    out = [node]
    for child in _children(node):
        out += _walk(child)
    return out
