"""The workspace alloc and free sites of one function: each checked (a CPU buffer of constant
size, stored in a variable) and located in the original text."""

from __future__ import annotations

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


class _SiteFinder(c_ast.NodeVisitor):
    def __init__(self, tu: TranslationUnit, function: str):
        self.tu = tu
        self.function = function
        self.allocs: list[AllocSite] = []
        self.frees: list[FreeSite] = []
        self._target: str | None = None

    def visit_Decl(self, node: c_ast.Decl) -> None:
        self._target = node.name
        self.generic_visit(node)
        self._target = None

    def visit_Assignment(self, node: c_ast.Assignment) -> None:
        self._target = node.lvalue.name if isinstance(node.lvalue, c_ast.ID) else None
        self.visit(node.rvalue)
        self._target = None

    def visit_FuncCall(self, node: c_ast.FuncCall) -> None:
        kind = workspace_call(node)
        args = call_args(node)
        line = line_of(node)
        if kind == ALLOC:
            self.allocs.append(self._alloc(node, args, line))
        elif kind == FREE:
            target = strip_casts(args[2]) if len(args) == 3 else None
            if not isinstance(target, c_ast.ID):
                raise CrewriteError(f"{FREE} argument is not a variable", self.tu.rel, line)
            start, end = locate_call(self.tu, node, FREE)
            self.frees.append(FreeSite(self.function, target.name, self.tu.rel, line, start, end))
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
    return Sites(tuple(finder.allocs), tuple(finder.frees))


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
