"""The facts the extractor hands on: frozen records, built once, read by every later stage.

A buffer is identified by (function, variable), never by the variable name alone: every
operator has its own `data_vec` or `PaddedInput`. Offsets into a file's text (`start`, `end`)
are string indices into the text as read (characters, not bytes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from pycparser import c_ast

from crewrite.extract.tvm import ENTRY_SUFFIX
from crewrite.frontend import TranslationUnit

if TYPE_CHECKING:
    import networkx as nx


@dataclass(frozen=True)
class AllocSite:
    """`void* variable = TVMBackendAllocWorkspace(dev, id, (uint64_t)size, code, bits);`"""

    function: str
    variable: str
    size: int
    file: str
    line: int
    start: int  # index of `TVMBackendAllocWorkspace` in the original text
    end: int  # index just past its closing parenthesis

    @property
    def key(self) -> tuple[str, str]:
        return (self.function, self.variable)


@dataclass(frozen=True)
class FreeSite:
    """`TVMBackendFreeWorkspace(dev, id, variable)`, located like an AllocSite."""

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


@dataclass(frozen=True)
class UnitShape:
    """What a unit mentions (units.py), before anything is known of what its callees do."""

    refs: frozenset[str]  # names the statement touches outside arguments of defined calls
    call_refs: frozenset[str]  # names in arguments of calls to defined functions
    calls: tuple[Call, ...]
    allocs: tuple[str, ...]
    frees: tuple[str, ...]
    taken: tuple[str, ...]  # defined functions whose address the statement hands on
    line: int
    start: int | None  # index where the statement's first line begins; None when another
    # statement ends on that line, so nothing can be inserted before this one alone


@dataclass(frozen=True)
class UnitAccess:
    """What a unit does to the bytes of the buffers and parameters it reaches (access.py)."""

    access: Access  # bytes read and written, pointers kept, callees included
    calls_pointer: bool  # calls through a pointer


@dataclass(frozen=True)
class Unit(UnitShape, UnitAccess):
    """One statement at the top level of a function body: the grain of program points, with
    its shape and its access.

    "Unit" means this and nothing else in crewrite; a parsed source file is a
    `TranslationUnit`."""

    @classmethod
    def join(cls, shape: UnitShape, access: UnitAccess) -> Unit:
        return cls(**vars(shape), **vars(access))


def bases_of(
    names: Iterable[str], own_bases: frozenset[str], aliases: Mapping[str, frozenset[str]]
) -> frozenset[str]:
    """The bases (buffer variables and parameters) that a set of names may point into."""
    out: set[str] = set()
    for name in names:
        if name in own_bases:
            out.add(name)
        out |= aliases.get(name, frozenset())
    return frozenset(out)


@dataclass(frozen=True, eq=False)
class Function:
    """A function defined in the sources, with everything its callers and the replay need."""

    name: str  # identity: `name@file` for a static function another file also defines
    file: str
    line: int
    module: str  # "" for a helper of no module (it allocates nothing, any caller may use it)
    params: tuple[str, ...]
    buffers: Mapping[str, AllocSite]  # variable -> its alloc site
    units: tuple[Unit, ...]
    aliases: Mapping[str, frozenset[str]]  # local -> bases it may point into
    escapes: frozenset[str]  # bases whose pointer leaves the function (or a callee keeps it)
    address_taken: frozenset[str]  # defined functions used as values
    types: Mapping[str, c_ast.Node]  # declared type of every name: locals, then file scope
    summary: Access  # over the whole body, callees included: what callers see of parameters
    calls_through_pointer: bool
    loops_back: bool  # a backward `goto`: the whole body may run again
    jumps: bool  # any `goto`: a statement may be skipped

    @cached_property
    def own_bases(self) -> frozenset[str]:
        """Its buffer variables and parameters: what pointers of the function derive from."""
        return frozenset(self.buffers) | frozenset(self.params)

    def bases(self, names: Iterable[str]) -> frozenset[str]:
        """Buffer variables and parameters a set of names may point into."""
        return bases_of(names, self.own_bases, self.aliases)


@dataclass(frozen=True, eq=False)
class Program:
    """Every fact of a project's sources, across translation units."""

    translation_units: Mapping[str, TranslationUnit]  # relative path -> parsed file
    functions: Mapping[str, Function]  # identity -> function
    allocs: tuple[AllocSite, ...]
    frees: tuple[FreeSite, ...]
    call_graph: nx.DiGraph  # caller -> callee, and user -> function whose address it takes
    modules: tuple[str, ...]
    max_alignment: int  # the largest `aligned(N)` in the sources, for the arena itself
    listed: frozenset[str]  # defined functions named in file-scope initialisers

    def functions_of(self, module: str) -> frozenset[str]:
        """Names of the functions that belong to `module`."""
        return frozenset(name for name, fn in self.functions.items() if fn.module == module)

    def allocs_of(self, module: str) -> list[AllocSite]:
        members = self.functions_of(module)
        return [site for site in self.allocs if site.function in members]

    def frees_of(self, module: str) -> list[FreeSite]:
        members = self.functions_of(module)
        return [site for site in self.frees if site.function in members]

    def runs_anytime(self, module: str) -> frozenset[str]:
        """Functions of `module` that a call through a pointer may reach at any moment: those
        listed in a file-scope table, when the module calls through pointers at all."""
        members = self.functions_of(module)
        if not any(self.functions[n].calls_through_pointer for n in members):
            return frozenset()
        return frozenset(self.listed & members)

    def roots(self, module: str) -> list[str]:
        """Where execution starts for a module: functions nobody in the sources calls that
        reach a workspace site (the run wrapper, or each operator the runtime calls)."""
        has_sites = {s.function for s in self.allocs}
        roots = []
        for name in self.functions_of(module):
            if self.call_graph.in_degree(name) > 0:
                continue
            import networkx as nx  # see extract.program: loaded where a graph is made

            reach = nx.descendants(self.call_graph, name) | {name}
            if reach & has_sites:
                roots.append(name)
        return sorted(roots, key=lambda n: (not n.endswith(ENTRY_SUFFIX), n))
