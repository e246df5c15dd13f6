"""`extract()`: every fact later stages need, from all translation units at once, in named
phases. Each phase returns new facts and reads only what earlier phases returned, so the
order below is the order of dependence:

1. definitions: which functions each file defines, and the identity a name means in a file;
2. declare: each function's module, parameters and workspace sites (checked);
3. flow: aliases, escapes and jumps inside each function (flow.py); an alloc that may run
   again while its last buffer is in use is refused here (sites.py);
4. units: what each top-level statement mentions (units.py);
5. call graph: callers, callees and functions used as values; recursion refused;
6. summaries: per-unit reads and writes, callees before callers (access.py);
7. assemble: the frozen `Function` and `Program` records, with the file-scope facts (the
   largest `aligned(N)`, functions listed in tables).

An analysis of the same shape (say, which bytes of a buffer each unit reaches) is one more
module beside access.py and one more phase here, reading the records of the phases before.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pycparser import c_ast

from crewrite.errors import CrewriteError
from crewrite.extract.access import BodyAccess, Callee, summarise
from crewrite.extract.cexpr import names_in
from crewrite.extract.flow import Flow, flow_facts
from crewrite.extract.records import AllocSite, FreeSite, Function, Program, Unit, UnitShape
from crewrite.extract.sites import Sites, buffers_of, check_runs_again, find_sites
from crewrite.extract.textloc import line_of
from crewrite.extract.tvm import module_of, modules_of_entries
from crewrite.extract.units import scan_units
from crewrite.frontend import TranslationUnit

if TYPE_CHECKING:
    import networkx as nx

_ALIGNED = re.compile(r"aligned\s*\(\s*(\d+)\s*\)")
Definition = tuple[TranslationUnit, c_ast.FuncDef]


@dataclass(frozen=True)
class _Declared:
    """A defined function as phase 2 knows it: who it is, where, and its workspace sites."""

    name: str
    tu: TranslationUnit
    func: c_ast.FuncDef
    module: str
    params: tuple[str, ...]
    sites: Sites
    buffers: Mapping[str, AllocSite]

    @property
    def own_bases(self) -> frozenset[str]:
        return frozenset(self.buffers) | frozenset(self.params)


def extract(
    translation_units: Mapping[str, TranslationUnit],
    modules: Sequence[str],
    extra_buffers: Mapping[str, Sequence[AllocSite]] | None = None,
) -> Program:
    """Collect every fact later stages need, from all translation units at once. `modules`
    are the module names the headers give; none: read off the AOT entries' names.

    `extra_buffers` (function identity -> sites) are buffers without a workspace call, such
    as USMP's pool slices (crewrite.extract.pools): extracted as workspace buffers of their
    function, with the size on their site."""
    defs = _definitions(translation_units)
    visible = identities(defs, translation_units)
    modules = list(modules) or modules_of_entries({f.decl.name for _, f in defs}) or ["default"]
    declared = _declare(defs, visible, modules, extra_buffers or {})
    file_types = _file_types(translation_units)
    flows = {
        fn.name: flow_facts(
            fn.func, fn.own_bases, fn.params, visible[fn.tu.rel], file_types[fn.tu.rel]
        )
        for fn in declared.values()
    }
    for fn in declared.values():
        flow = flows[fn.name]
        check_runs_again(fn.sites, fn.func, flow.escapes, flow.loops_back)
    shapes = {fn.name: scan_units(fn.tu, fn.func, visible[fn.tu.rel]) for fn in declared.values()}
    graph = _call_graph(declared, shapes, flows)
    bodies = _summaries(graph, declared, flows, visible)
    functions = {
        name: _assemble(fn, flows[name], shapes[name], bodies[name])
        for name, fn in declared.items()
    }
    return Program(
        translation_units=translation_units,
        functions=functions,
        allocs=tuple(site for fn in declared.values() for site in fn.sites.allocs),
        frees=tuple(site for fn in declared.values() for site in fn.sites.frees),
        call_graph=graph,
        modules=tuple(modules),
        max_alignment=_max_alignment(translation_units),
        listed=_listed(translation_units, visible),
    )


def _definitions(translation_units: Mapping[str, TranslationUnit]) -> list[Definition]:
    """Function definitions of each file's own text (not of the headers it includes)."""
    return [
        (tu, ext)
        for tu in translation_units.values()
        for ext in tu.ast.ext
        if isinstance(ext, c_ast.FuncDef) and tu.is_own(ext)
    ]


def identities(defs: Sequence[Definition], files: Iterable[str]) -> dict[str, dict[str, str]]:
    """Per file of `files`: the name of each defined function it sees -> its identity. A
    `static` function whose name another file also defines is `name@file`; a name resolves to
    its own file's static function first."""
    counts: dict[str, int] = {}
    for _, f in defs:
        counts[f.decl.name] = counts.get(f.decl.name, 0) + 1
    shared: dict[str, str] = {}
    own: dict[str, dict[str, str]] = {}
    for tu, f in defs:
        name = f.decl.name
        if counts[name] > 1 and "static" in (f.decl.storage or []):
            own.setdefault(tu.rel, {})[name] = f"{name}@{tu.rel}"
        else:
            shared.setdefault(name, name)
    return {rel: {**shared, **own.get(rel, {})} for rel in files}


def _param_names(func: c_ast.FuncDef) -> tuple[str, ...]:
    params = func.decl.type.args
    if params is None:
        return ()
    return tuple(p.name for p in params.params if isinstance(p, c_ast.Decl) and p.name)


def _declare(
    defs: list[Definition],
    visible: Mapping[str, Mapping[str, str]],
    modules: Sequence[str],
    extra_buffers: Mapping[str, Sequence[AllocSite]],
) -> dict[str, _Declared]:
    """Each function's identity, module and checked workspace sites. A function that names
    no module goes with its file's module, or the only module; a helper of no module (shared,
    no workspace of its own) is followed from any caller."""
    named = [module_of(f.decl.name, tu.rel, modules) for tu, f in defs]
    file_module: dict[str, str] = {}
    for (tu, _), mod in zip(defs, named, strict=True):
        if mod is not None:
            file_module.setdefault(tu.rel, mod)
    declared: dict[str, _Declared] = {}
    for (tu, f), own_module in zip(defs, named, strict=True):
        name = visible[tu.rel][f.decl.name]
        if name in declared:
            other = declared[name]
            raise CrewriteError(
                f"function '{name}' is defined twice (also {other.tu.rel}:{line_of(other.func)})",
                tu.rel,
                line_of(f),
            )
        module = (
            own_module or file_module.get(tu.rel) or (modules[0] if len(modules) == 1 else None)
        )
        sites = find_sites(tu, f, name)
        if extra_buffers.get(name):
            # one static place each, however often its statement runs: never "runs again"
            extra = extra_buffers[name]
            loop_of: dict[AllocSite | FreeSite, int | None] = dict(sites.loop_of)
            loop_of.update({site: None for site in extra})
            sites = Sites((*sites.allocs, *extra), sites.frees, loop_of)
        if module is None and sites.allocs:
            raise CrewriteError(
                f"cannot tell which module's arena '{name}' (it allocates workspace) belongs to",
                tu.rel,
                line_of(f),
            )
        declared[name] = _Declared(
            name, tu, f, module or "", _param_names(f), sites, buffers_of(sites)
        )
    return declared


def _file_types(
    translation_units: Mapping[str, TranslationUnit],
) -> dict[str, dict[str, c_ast.Node]]:
    """Per file: the declared type of every file-scope name (functions included)."""
    return {
        rel: {
            decl.name: decl.type
            for decl in (ext.decl if isinstance(ext, c_ast.FuncDef) else ext for ext in tu.ast.ext)
            if isinstance(decl, c_ast.Decl) and decl.name
        }
        for rel, tu in translation_units.items()
    }


def _call_graph(
    declared: Mapping[str, _Declared],
    shapes: Mapping[str, tuple[UnitShape, ...]],
    flows: Mapping[str, Flow],
) -> nx.DiGraph:
    """Caller -> callee, and user -> function whose address it takes; a cycle is refused
    (recursion cannot be planned statically)."""
    import networkx as nx  # here, not at import: a run that parses nothing never loads it

    graph = nx.DiGraph()
    graph.add_nodes_from(declared)
    for name in declared:
        for shape in shapes[name]:
            for call in shape.calls:
                graph.add_edge(name, call.callee)
        for target in flows[name].address_taken:
            graph.add_edge(name, target)
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return graph
    first = declared[cycle[0][0]]
    raise CrewriteError(
        "recursive calls cannot be planned statically: "
        + " -> ".join(a for a, _ in cycle)
        + f" -> {cycle[0][0]}",
        first.tu.rel,
        line_of(first.func),
    )


def _summaries(
    graph: nx.DiGraph,
    declared: Mapping[str, _Declared],
    flows: Mapping[str, Flow],
    visible: Mapping[str, Mapping[str, str]],
) -> dict[str, BodyAccess]:
    """Every function's accesses, callees first: a summary reads its callees' summaries."""
    import networkx as nx

    bodies: dict[str, BodyAccess] = {}
    callees: dict[str, Callee] = {}
    for name in reversed(list(nx.topological_sort(graph))):
        fn = declared[name]
        bodies[name] = summarise(fn.func, fn.own_bases, flows[name], callees, visible[fn.tu.rel])
        callees[name] = Callee(fn.params, bodies[name].summary)
    return bodies


def _assemble(
    fn: _Declared, flow: Flow, shapes: tuple[UnitShape, ...], body: BodyAccess
) -> Function:
    units = tuple(Unit.join(shape, unit) for shape, unit in zip(shapes, body.units, strict=True))
    return Function(
        name=fn.name,
        file=fn.tu.rel,
        line=line_of(fn.func),
        module=fn.module,
        params=fn.params,
        buffers=fn.buffers,
        units=units,
        aliases=flow.aliases,
        escapes=body.summary.escapes,
        address_taken=flow.address_taken,
        types=flow.types,
        summary=body.summary,
        calls_through_pointer=flow.calls_through_pointer,
        loops_back=flow.loops_back,
        jumps=flow.jumps,
    )


def _max_alignment(translation_units: Mapping[str, TranslationUnit]) -> int:
    """The largest `aligned(N)` the sources ask for (at least 16): the arena's own."""
    found = [
        int(match.group(1))
        for tu in translation_units.values()
        for match in _ALIGNED.finditer(tu.text)
    ]
    return max([16, *found])


def _listed(
    translation_units: Mapping[str, TranslationUnit], visible: Mapping[str, Mapping[str, str]]
) -> frozenset[str]:
    """Defined functions named in file-scope initialisers (tables of operators)."""
    listed: set[str] = set()
    for rel, tu in translation_units.items():
        names = visible[rel]
        for ext in tu.ast.ext:
            if isinstance(ext, c_ast.Decl) and isinstance(ext.init, c_ast.Node):
                listed |= {names[n] for n in names_in(ext.init) if n in names}
    return frozenset(listed)
