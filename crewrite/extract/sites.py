"""The workspace alloc and free sites of one function: each checked (a CPU buffer of constant
size, stored in a variable, not allocated again while its last buffer may be in use) and
located in the original text."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pycparser import c_ast

from crewrite.errors import CrewriteError
from crewrite.extract.cexpr import call_args, fold_constant, strip_casts
from crewrite.extract.records import AllocSite, FreeSite
from crewrite.extract.textloc import line_of, locate_call
from crewrite.extract.tvm import ALLOC, FREE, workspace_call
from crewrite.frontend import TranslationUnit


@dataclass(frozen=True)
class Sites:
    allocs: tuple[AllocSite, ...]
    frees: tuple[FreeSite, ...]
    loop_of: Mapping[AllocSite | FreeSite, int | None]  # site -> innermost enclosing loop


class _SiteFinder(c_ast.NodeVisitor):
    def __init__(self, tu: TranslationUnit, function: str):
        self.tu = tu
        self.function = function
        self.allocs: list[AllocSite] = []
        self.frees: list[FreeSite] = []
        self.loop_of: dict[AllocSite | FreeSite, int | None] = {}
        self._target: str | None = None
        self._value: c_ast.Node | None = None  # what is stored in `_target`, casts aside
        self._loops: list[int] = []

    def _loop(self, node: c_ast.Node) -> None:
        self._loops.append(id(node))
        self.generic_visit(node)
        self._loops.pop()

    visit_For = visit_While = visit_DoWhile = _loop

    def visit_Decl(self, node: c_ast.Decl) -> None:
        self._target = node.name
        self._value = strip_casts(node.init) if node.init is not None else None
        self.generic_visit(node)
        self._target = None

    def visit_Assignment(self, node: c_ast.Assignment) -> None:
        self._target = node.lvalue.name if isinstance(node.lvalue, c_ast.ID) else None
        self._value = strip_casts(node.rvalue)
        self.visit(node.rvalue)
        self._target = None

    def visit_FuncCall(self, node: c_ast.FuncCall) -> None:
        kind = workspace_call(node)
        args = call_args(node)
        line = line_of(node)
        loop = self._loops[-1] if self._loops else None
        if kind == ALLOC:
            self.allocs.append(alloc := self._alloc(node, args, line))
            self.loop_of[alloc] = loop
        elif kind == FREE:
            target = strip_casts(args[2]) if len(args) == 3 else None
            if not isinstance(target, c_ast.ID):
                raise CrewriteError(f"{FREE} argument is not a variable", self.tu.rel, line)
            start, end = locate_call(self.tu, node, FREE)
            free = FreeSite(self.function, target.name, self.tu.rel, line, start, end)
            self.frees.append(free)
            self.loop_of[free] = loop
        saved, self._target = self._target, None
        self.generic_visit(node)
        self._target = saved

    def _alloc(self, node: c_ast.FuncCall, args: list[c_ast.Node], line: int) -> AllocSite:
        if len(args) != 5:
            raise CrewriteError(f"{ALLOC} takes 5 arguments, found {len(args)}", self.tu.rel, line)
        if self._target is None:
            raise CrewriteError(
                f"{ALLOC} result is not stored in a local variable: cannot follow it",
                self.tu.rel,
                line,
            )
        if self._value is not node:
            raise CrewriteError(
                f"{ALLOC} result is not stored as it is in a variable (it is part of the "
                f"expression stored in '{self._target}'): cannot follow it",
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
        start, end = locate_call(self.tu, node, ALLOC)
        return AllocSite(self.function, self._target, size, self.tu.rel, line, start, end)


def find_sites(tu: TranslationUnit, func: c_ast.FuncDef, function: str) -> Sites:
    """Every workspace call in the body of `func` (named `function`), in text order."""
    finder = _SiteFinder(tu, function)
    finder.visit(func.body)
    return Sites(tuple(finder.allocs), tuple(finder.frees), finder.loop_of)


def buffers_of(sites: Sites) -> dict[str, AllocSite]:
    """Variable -> its alloc site; each variable allocated once, and freed only if it was
    allocated in the same function."""
    buffers: dict[str, AllocSite] = {}
    for site in sites.allocs:
        if site.variable in buffers:
            first = buffers[site.variable]
            raise CrewriteError(
                f"'{site.variable}' is allocated twice in {site.function} (first at line "
                f"{first.line}): cannot tell its buffers apart",
                site.file,
                site.line,
            )
        buffers[site.variable] = site
    for free in sites.frees:
        if free.variable not in buffers:
            raise CrewriteError(
                f"{FREE} of '{free.variable}', which {free.function} did not allocate",
                free.file,
                free.line,
            )
    return buffers


def _backward_jumps(func: c_ast.FuncDef) -> list[tuple[int, int]]:
    """Line ranges [label, goto] that a backward `goto` makes run again."""
    labels: dict[str, int] = {}
    spans: list[tuple[int, int]] = []

    class Jumps(c_ast.NodeVisitor):
        def visit_Label(self, node: c_ast.Label) -> None:
            labels[node.name] = line_of(node)
            self.generic_visit(node)

        def visit_Goto(self, node: c_ast.Goto) -> None:
            if node.name in labels:
                spans.append((labels[node.name], line_of(node)))

    Jumps().visit(func.body)
    return spans


def check_runs_again(
    sites: Sites, func: c_ast.FuncDef, escapes: frozenset[str], loops_back: bool
) -> None:
    """An alloc that may run again while its last buffer is still in use (inside a loop, or
    between a label and a `goto` back to it) would need a new place each time; one place is
    right only if every buffer is freed in the same pass and its pointer (`escapes`: those
    the function's own statements keep elsewhere) is kept nowhere else."""
    jumps = _backward_jumps(func) if loops_back else []
    for site in sites.allocs:
        loop = sites.loop_of[site]
        again = [(a, b) for a, b in jumps if a <= site.line <= b]
        if loop is None and not again:
            continue
        where = "inside a loop" if loop is not None else "between a label and a goto back to it"
        freed = [f for f in sites.frees if f.variable == site.variable]
        if loop is not None:
            freed = [f for f in freed if sites.loop_of[f] == loop]
        else:
            freed = [f for f in freed if all(a <= f.line <= b for a, b in again)]
        if not freed:
            reason = "and not freed in the same pass"
        elif site.variable in escapes:
            reason = "and its pointer is kept where crewrite cannot follow it"
        else:
            continue
        raise CrewriteError(
            f"'{site.variable}' is allocated {where} {reason}: each pass may still need the "
            "buffers of earlier ones, which one static place cannot give; refusing",
            site.file,
            site.line,
        )
