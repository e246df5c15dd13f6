"""The layout proof: no two buffers that are live at the same program point share a byte of
an arena, read back from the rewritten C itself.

Both programs go through crewrite's own extraction. The original gives every workspace site
(its size) and, through the liveness analysis, every live range with its program points;
the extent analysis of the original gives the bytes each range really touches, from the
statements that the rewritten C runs at each address: a range planned smaller than what its
code reaches, or code that reaches past its buffer, shows up as bytes shared with another
live range or past the arena. Bytes that have no bound are assumed to stay within the
buffer's allocation, as the original program assumed.
The rewritten C gives, by walking each function's statements, where each buffer variable
points: `void* v = ((void*)&tvmgen_<mod>_crewrite_arena[OFFSET]);` in place of the alloc, and
`v = ((void*)&arena[OFFSET]);` inserted before the statement that starts a later live range.
Statements crewrite inserted are set aside so the rest line up one to one with the
original's; a live range that could see several addresses is placed at every one of them.
Then each pair of live ranges of one arena is checked, with the arena's declared size and
the runtime's alignment, and the call graph must be the original's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from pycparser import c_ast

from crewrite import extents as extent_analysis
from crewrite.emit import arena_name
from crewrite.extents import FunctionExtents
from crewrite.extract import ALLOC, Program, fold_constant, workspace_call
from crewrite.extract.pools import (
    Pool,
    SliceSite,
    find_pools,
    is_workspace_pool_param,
    pool_of_param,
)
from crewrite.liveness import LiveBuffer, analyse
from crewrite.poison import inserted_names
from crewrite.project import size_defines
from crewrite.usmp import analyse_pools

OWN = "_crewrite_"  # crewrite's own functions and variables (arena, poison build runtime)


@dataclass(frozen=True)
class Placement:
    """One live range where the rewritten C puts it."""

    id: str  # LiveBuffer.id: function:variable[#range]
    arena: str
    offsets: tuple[int, ...]  # usually one; several if the range may see several addresses
    lo: int  # the bytes its statements touch, [lo, hi) from the address its code gets
    hi: int
    windows: tuple[tuple[int, int], ...]
    where: str  # file:line of the alloc site

    @property
    def size(self) -> int:
        return self.hi - self.lo


@dataclass(frozen=True)
class LayoutProof:
    placements: tuple[Placement, ...]
    arenas: tuple[tuple[str, int | None], ...]  # (name, declared bytes)
    problems: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if not self.placements and not self.problems:
            return "no buffer in a crewrite arena: nothing to prove"
        arenas = ", ".join(f"{n} ({s:,} B)" if s is not None else n for n, s in self.arenas)
        head = f"{len(self.placements)} live ranges in {arenas}"
        if self.ok:
            return f"{head}: no two live at once share a byte; bounds and alignment hold"
        return f"{head}: {len(self.problems)} problem(s)"


@dataclass(frozen=True)
class _Setting:
    """A statement that points a buffer variable into an arena."""

    variable: str
    arena: str
    offset: int
    position: int  # index among the function's original statements it precedes or is
    inserted: bool  # added by crewrite (a later live range), not in place of the alloc


@dataclass(frozen=True)
class _Function:
    settings: tuple[_Setting, ...]
    statements: int  # statements that are the original's
    stray: tuple[int, ...]  # lines using an arena in a form not recognised


def arena_address(node: c_ast.Node | None, arenas: set[str]) -> tuple[str, int] | None:
    """(arena, offset) of `((void*)&arena[N])`, `&arena[N]`, `arena + N` or `arena`."""
    while isinstance(node, c_ast.Cast):
        node = node.expr
    if isinstance(node, c_ast.UnaryOp) and node.op == "&":
        ref = node.expr
        if isinstance(ref, c_ast.ArrayRef) and isinstance(ref.name, c_ast.ID):
            offset = fold_constant(ref.subscript)
            if ref.name.name in arenas and offset is not None:
                return ref.name.name, offset
    if isinstance(node, c_ast.BinaryOp) and node.op == "+" and isinstance(node.left, c_ast.ID):
        offset = fold_constant(node.right)
        if node.left.name in arenas and offset is not None:
            return node.left.name, offset
    if isinstance(node, c_ast.ID) and node.name in arenas:
        return node.name, 0
    return None


class _ArenaUses(c_ast.NodeVisitor):
    """Variables pointed into an arena within one statement, any other arena use, and the
    names the statement mentions."""

    def __init__(self, arenas: set[str]):
        self.arenas = arenas
        self.settings: list[tuple[str, tuple[str, int]]] = []
        self.stray: list[int] = []
        self.names: set[str] = set()

    def visit_Decl(self, node: c_ast.Decl) -> None:
        found = arena_address(node.init, self.arenas) if node.name else None
        if node.name:
            self.names.add(node.name)
        if found is None:
            self.generic_visit(node)
        else:
            self.settings.append((node.name, found))

    def visit_Assignment(self, node: c_ast.Assignment) -> None:
        found = arena_address(node.rvalue, self.arenas)
        if found is None or node.op != "=" or not isinstance(node.lvalue, c_ast.ID):
            self.generic_visit(node)
        else:
            self.settings.append((node.lvalue.name, found))

    def visit_ID(self, node: c_ast.ID) -> None:
        self.names.add(node.name)
        if node.name in self.arenas:
            self.stray.append(node.coord.line if node.coord else 0)


@dataclass(frozen=True)
class _Statement:
    """A top-level statement of an original function."""

    line: int
    assigns: str | None  # the variable it stores a workspace allocation into, if it does


def _alloc_target(item: c_ast.Node) -> str | None:
    if (
        isinstance(item, c_ast.Assignment)
        and isinstance(item.lvalue, c_ast.ID)
        and workspace_call(item.rvalue) == ALLOC
    ):
        target: str = item.lvalue.name
        return target
    return None


def _scan_function(
    body: c_ast.Compound, arenas: set[str], own: set[str], original: list[_Statement]
) -> _Function:
    settings, stray = [], []
    position = 0
    for item in body.block_items or []:
        uses = _ArenaUses(arenas)
        uses.visit(item)
        stray += uses.stray
        # crewrite inserts `v = &arena[N];` before the statement that starts a later range;
        # an assignment that takes the place of the original's `v = TVMBackendAlloc...` is not
        replaces = position < len(original) and original[position].assigns is not None
        inserted = (
            isinstance(item, c_ast.Assignment)
            and len(uses.settings) == 1
            and not (replaces and original[position].assigns == uses.settings[0][0])
        )
        for variable, (arena, offset) in uses.settings:
            settings.append(_Setting(variable, arena, offset, position, inserted))
        if inserted or (not uses.settings and any(OWN in n or n in own for n in uses.names)):
            continue  # crewrite's own statement (a later range, or a poison build's clock)
        position += 1
    return _Function(tuple(settings), position, tuple(stray))


def _own_functions(program: Program) -> Iterator[tuple[tuple[str, str], c_ast.FuncDef]]:
    for rel, tu in program.translation_units.items():
        for ext in tu.ast.ext:
            if isinstance(ext, c_ast.FuncDef) and tu.is_own(ext) and OWN not in ext.decl.name:
                yield (rel, ext.decl.name), ext


def _statements(program: Program) -> dict[tuple[str, str], list[_Statement]]:
    return {
        key: [
            _Statement(item.coord.line if item.coord else 0, _alloc_target(item))
            for item in f.body.block_items or []
        ]
        for key, f in _own_functions(program)
    }


def _functions(
    program: Program,
    arenas: set[str],
    own: set[str],
    originals: dict[tuple[str, str], list[_Statement]],
) -> dict[tuple[str, str], _Function]:
    return {
        key: _scan_function(f.body, arenas, own, originals.get(key, []))
        for key, f in _own_functions(program)
    }


def _arena_sizes(program: Program, arenas: set[str]) -> dict[str, int]:
    sizes = {}
    for tu in program.translation_units.values():
        for ext in tu.ast.ext:
            if isinstance(ext, c_ast.Decl) and ext.name in arenas:
                if isinstance(ext.type, c_ast.ArrayDecl) and ext.type.dim is not None:
                    size = fold_constant(ext.type.dim)
                    if size is not None:
                        sizes[ext.name] = size
    return sizes


def _bare(function: str) -> str:
    return function.split("@", 1)[0]  # extraction names a clashing static `name@file`


def _offsets(
    ranges: list[LiveBuffer], settings: list[_Setting], lines: list[int]
) -> tuple[dict[int, set[int]], dict[int, range]] | str:
    """Offsets each live range of one variable may see and the original statements it spans,
    or why they cannot be told."""
    decl = [s for s in settings if not s.inserted]
    if len(decl) != 1:
        return "is pointed into the arena by no declaration, or by several"
    starts = []
    for buf in sorted(ranges, key=lambda b: b.range):
        if buf.range == 0:
            starts.append(decl[0].position)
        elif buf.start_line in lines:
            starts.append(lines.index(buf.start_line))
        else:
            return f"has a live range starting at line {buf.start_line}, a statement not found"
    # an inserted statement runs before the original statement at its position
    events = sorted(settings, key=lambda s: (s.position, not s.inserted))
    out: dict[int, set[int]] = {}
    spans: dict[int, range] = {}
    for index, buf in enumerate(sorted(ranges, key=lambda b: b.range)):
        start = starts[index]
        end = starts[index + 1] if index + 1 < len(starts) else len(lines)
        before = [s.offset for s in events if s.position <= start]
        during = {s.offset for s in events if start < s.position < end}
        out[buf.range] = set(before[-1:]) | during or {decl[0].offset}
        spans[buf.range] = range(0 if index == 0 else start, end)
    return out, spans


def _touched(
    fx: FunctionExtents | None, variable: str, statements: range, allocated: int
) -> tuple[int, int, bool]:
    """[lo, hi) of the bytes of `variable` the statements touch, and whether some end had no
    bound (then the allocation's end is assumed there); (0, 0) when none is touched."""
    if fx is None or statements.stop > len(fx.statements):
        return 0, allocated, True
    lo = hi = None
    assumed = False
    for index in statements:
        extent = fx.statements[index].bases.get(variable)
        span = extent.touched if extent is not None else None
        if span is None:
            continue
        assumed |= not span.bounded
        low = span.lo if span.lo is not None else 0
        high = span.hi if span.hi is not None else allocated
        lo = low if lo is None else min(lo, low)
        hi = high if hi is None else max(hi, high)
    return (0, 0, assumed) if lo is None or hi is None else (lo, hi, assumed)


def _intersect(a: tuple[tuple[int, int], ...], b: tuple[tuple[int, int], ...]) -> int | None:
    """A program point in both window lists, if any."""
    i = j = 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo <= hi:
            return lo
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return None


def prove_layout(
    original: Program,
    rewritten: Program,
    alignment: int,
    headers: Mapping[str, str] | None = None,
    extents: Mapping[str, FunctionExtents] | None = None,
) -> LayoutProof:
    """Check the rewritten program's arena offsets against the original's live ranges and the
    bytes they touch, and the offsets of every moved USMP pool against its slices'
    (`headers`: the rewritten project's header texts, where an application-provided pool's
    size is declared; `extents`: the original's extent analysis, computed when not given)."""
    if extents is None:
        extents = extent_analysis.analyse(
            original.translation_units, slices=is_workspace_pool_param
        )
    arenas = {arena_name(m): m for m in original.modules}
    statements = _statements(original)
    own = {name for module in original.modules for name in inserted_names(module)}
    rewritten_functions = _functions(rewritten, set(arenas), own, statements)
    sizes = _arena_sizes(rewritten, set(arenas))
    remaining = {s.key for s in rewritten.allocs}
    problems: list[str] = []
    notes: list[str] = []
    placements: list[Placement] = []
    labels: dict[str, Sequence[str]] = {}
    unbounded = 0
    for module in original.modules:
        sites = original.allocs_of(module)
        if not sites:
            continue
        live = analyse(original, module, "fine", alignment, extents)
        labels[arena_name(module)] = live.labels
        by_site: dict[tuple[str, str], list[LiveBuffer]] = defaultdict(list)
        for buf in live.buffers:
            by_site[buf.site.key].append(buf)
        for key, ranges in by_site.items():
            site = ranges[0].site
            where = f"{site.file}:{site.line}"
            fn_key = (site.file, _bare(site.function))
            scanned = rewritten_functions.get(fn_key)
            if scanned is None:
                problems.append(f"{site.function} (from {where}) is not in the rewritten sources")
                continue
            settings = [s for s in scanned.settings if s.variable == site.variable]
            if not settings and key in remaining:
                notes.append(
                    f"{site.function}:{site.variable} is still allocated at run time ({where})"
                )
                continue
            if not settings:
                problems.append(
                    f"{site.function}:{site.variable} ({where}) points into no arena and is no "
                    "longer allocated"
                )
                continue
            lines = [s.line for s in statements[fn_key]]
            if scanned.statements != len(lines):
                problems.append(
                    f"{site.function}: the rewritten function has {scanned.statements} of the "
                    f"original's statements, the original {len(lines)}: cannot line them up"
                )
                continue
            found = _offsets(ranges, settings, lines)
            if isinstance(found, str):
                problems.append(f"{site.function}:{site.variable} ({where}) {found}")
                continue
            offsets, spans = found
            arena = settings[0].arena
            if arena != arena_name(module) or any(s.arena != arena for s in settings):
                problems.append(
                    f"{site.function}:{site.variable} ({where}) of module '{module}' points "
                    f"into {', '.join(sorted({s.arena for s in settings}))}"
                )
                continue
            for buf in ranges:
                lo, hi, assumed = _touched(
                    extents.get(site.function), site.variable, spans[buf.range], site.size
                )
                unbounded += assumed
                placements.append(
                    Placement(
                        buf.id,
                        arena,
                        tuple(sorted(offsets[buf.range])),
                        lo,
                        hi,
                        buf.windows,
                        where,
                    )
                )
    for name, scanned in sorted(rewritten_functions.items()):
        for line in scanned.stray:
            problems.append(
                f"{name[0]}:{line}: {name[1]} uses an arena in a form crewrite cannot read"
            )
    problems += _check_placements(placements, sizes, alignment, labels)
    pools = _prove_pools(original, rewritten, headers or {}, own, extents, statements)
    placements += pools.placements
    sizes.update({name: size for name, size in pools.sizes.items() if size is not None})
    problems += pools.problems
    notes += pools.notes
    problems += _check_call_graph(original, rewritten)
    if unbounded:
        notes.append(
            f"{unbounded} live range(s) touch bytes crewrite cannot bound: assumed within their "
            "allocation, as the original program assumed (crewrite rewrite -v lists them)"
        )
    used = sorted({p.arena for p in placements})
    return LayoutProof(
        tuple(placements),
        tuple((a, sizes.get(a)) for a in used),
        tuple(problems),
        tuple(notes),
    )


def _check_placements(
    placements: list[Placement],
    sizes: Mapping[str, int | None],
    alignment: int,
    labels: Mapping[str, Sequence[str]],
) -> list[str]:
    """Alignment, bounds (`sizes`; None: not known, not checked) and overlaps."""
    problems = []
    for p in placements:
        for offset in p.offsets:
            size = sizes.get(p.arena)
            if offset % alignment:
                problems.append(
                    f"{p.id} at offset {offset} is not {alignment}-byte aligned ({p.where})"
                )
            if p.arena not in sizes:
                problems.append(f"{p.id}: no definition of {p.arena} with a size")
            elif size is not None and p.size and (offset + p.lo < 0 or offset + p.hi > size):
                problems.append(
                    f"{p.id} at {offset} touches [{offset + p.lo}, {offset + p.hi}), past the "
                    f"bounds of {p.arena} ({size:,} B)"
                )
    overlaps = []
    for i, a in enumerate(placements):
        for b in placements[i + 1 :]:
            if a.arena != b.arena:
                continue
            clash = [
                (x + a.lo, y + b.lo)
                for x in a.offsets
                for y in b.offsets
                if a.size and b.size and x + a.lo < y + b.hi and y + b.lo < x + a.hi
            ]
            if not clash:
                continue
            point = _intersect(a.windows, b.windows)
            if point is None:
                continue
            x, y = clash[0]
            at = labels.get(a.arena, [])
            label = at[point] if 0 <= point < len(at) else "?"
            overlaps.append(
                f"{a.id} [{x}, +{a.size}) and {b.id} [{y}, +{b.size}) share bytes "
                f"{max(x, y)}..{min(x + a.size, y + b.size) - 1} while both are live "
                f"(program point {point}, {label})"
            )
    return problems + overlaps


def _check_call_graph(original: Program, rewritten: Program) -> list[str]:
    def edges(program: Program) -> set[tuple[str, str]]:
        return {(a, b) for a, b in program.call_graph.edges if OWN not in a and OWN not in b}

    before, after = edges(original), edges(rewritten)
    if before == after:
        return []
    changed = sorted(before ^ after)[:3]
    return [
        "the rewritten call graph differs from the original's: "
        + ", ".join(f"{a} -> {b} ({'lost' if (a, b) in before else 'new'})" for a, b in changed)
    ]


# -- USMP pools -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PoolProof:
    placements: list[Placement]
    sizes: dict[str, int | None]  # None: not declared where crewrite can read it
    problems: list[str]
    notes: list[str]


@dataclass(frozen=True)
class _PoolSlices:
    """Where one function of the rewritten C points its slices of one pool."""

    settings: tuple[_Setting, ...]  # let slices: declarations and crewrite's re-pointings
    inline: tuple[tuple[int, int], ...]  # (statement position, offset) of each inline use
    statements: int


def _pool_slices(body: c_ast.Compound, params: set[str], own: set[str]) -> _PoolSlices:
    """The slices of the pool parameters `params` in a rewritten function body, statement by
    statement; crewrite's own statements (a re-pointed slice, a poison build's clock) are
    set aside so that positions count the original's statements."""
    settings: list[_Setting] = []
    inline: list[tuple[int, int]] = []
    position = 0
    for item in body.block_items or []:
        uses = _ArenaUses(params)
        uses.visit(item)
        inserted = isinstance(item, c_ast.Assignment) and len(uses.settings) == 1
        for variable, (param, offset) in uses.settings:
            settings.append(_Setting(variable, param, offset, position, inserted))
        inline += [(position, offset) for offset in inline_slices(item, params)]
        if inserted or (not uses.settings and any(OWN in n or n in own for n in uses.names)):
            continue
        position += 1
    return _PoolSlices(tuple(settings), tuple(inline), position)


def inline_slices(node: c_ast.Node, params: set[str]) -> list[int]:
    """Offsets of every `&P[C]` in a statement (P one of `params`) that initialises no
    variable, in text order: the inline slices."""
    found: list[tuple[int, int, int]] = []

    class Visitor(c_ast.NodeVisitor):
        def visit_Decl(self, n: c_ast.Decl) -> None:
            if arena_address(n.init, params) is None:
                self.generic_visit(n)

        def visit_Assignment(self, n: c_ast.Assignment) -> None:
            if not isinstance(n.lvalue, c_ast.ID) or arena_address(n.rvalue, params) is None:
                self.generic_visit(n)

        def visit_UnaryOp(self, n: c_ast.UnaryOp) -> None:
            address = arena_address(n, params) if n.op == "&" else None
            if address is not None and isinstance(n.expr, c_ast.ArrayRef):
                coord = n.expr.coord
                found.append((coord.line if coord else 0, coord.column if coord else 0, address[1]))
                return
            self.generic_visit(n)

    Visitor().visit(node)
    return [offset for _, _, offset in sorted(found)]


def _moved(before: Program, after: Program) -> set[tuple[str, str]]:
    """Pools whose slices or size differ between two programs."""
    old, new = find_pools(before), find_pools(after)
    moved = set()
    for pool in old.pools:
        if pool.constant:
            continue
        same = next((p for p in new.pools if p.key == pool.key), None)
        offsets_before = sorted((s.function, s.offset) for s in old.slices_of(pool))
        offsets_after = sorted((s.function, s.offset) for s in new.slices_of(pool)) if same else []
        sizes = (
            (pool.definition.size if pool.definition else None),
            (same.definition.size if same is not None and same.definition else None),
        )
        if offsets_before != offsets_after or sizes[0] != sizes[1]:
            moved.add(pool.key)
    return moved


def _prove_pools(
    original: Program,
    rewritten: Program,
    headers: Mapping[str, str],
    own: set[str],
    extents: Mapping[str, FunctionExtents],
    statements: dict[tuple[str, str], list[_Statement]],
) -> _PoolProof:
    """Every moved workspace pool: each slice where the rewritten C puts it, its live ranges
    recomputed from the original (crewrite.usmp) and the bytes each range touches from the
    extents, checked like an arena's."""
    proof = _PoolProof([], {}, [], [])
    if original.allocs:
        return proof
    moved = _moved(original, rewritten)
    if not moved:
        return proof
    analysis = analyse_pools(original, list(original.modules), extents=extents)
    after = find_pools(rewritten)
    functions = {key: f for key, f in _own_functions(rewritten)}
    labels: dict[str, Sequence[str]] = {}
    for pool in analysis.facts.pools:
        if pool.key not in moved:
            continue
        if pool.key in analysis.refused:
            why = analysis.refused[pool.key]
            proof.problems.append(
                f"pool '{pool.name}' of module '{pool.module}' was moved, but its slices cannot "
                f"be sized ({why.file}:{why.line}: {why.reason})"
            )
            continue
        name = f"{pool.module}:{pool.name}"
        live = analysis.liveness(pool)
        labels[name] = live.labels
        proof.sizes[name] = _new_pool_size(after.pools, pool, headers)
        if proof.sizes[name] is None:
            proof.notes.append(f"pool {name}: its new size is declared nowhere crewrite reads")
        by_site: dict[tuple[str, str], list[LiveBuffer]] = defaultdict(list)
        for buf in live.buffers:
            by_site[buf.site.key].append(buf)
        for ranges in by_site.values():
            site = ranges[0].site
            assert isinstance(site, SliceSite)
            where = f"{site.file}:{site.line}"
            fn_key = (site.file, _bare(site.function))
            body = functions.get(fn_key)
            if body is None:
                proof.problems.append(f"{site.function} (from {where}) is not in the rewritten C")
                continue
            params = {p for p in _param_names(body) if pool_of_param(p) == pool.name}
            scanned = _pool_slices(body.body, params, own)
            lines = [s.line for s in statements[fn_key]]
            if scanned.statements != len(lines):
                proof.problems.append(
                    f"{site.function}: the rewritten function has {scanned.statements} of the "
                    f"original's statements, the original {len(lines)}: cannot line them up"
                )
                continue
            found = _slice_offsets(ranges, site, scanned, lines, original)
            if isinstance(found, str):
                proof.problems.append(f"{site.function}:{site.variable} ({where}) {found}")
                continue
            offsets, spans = found
            for buf in ranges:
                lo, hi, _ = _touched(
                    extents.get(site.function), site.variable, spans[buf.range], site.size
                )
                proof.placements.append(
                    Placement(
                        buf.id,
                        name,
                        tuple(sorted(offsets[buf.range])),
                        lo,
                        hi,
                        buf.windows,
                        where,
                    )
                )
    for pool in analysis.facts.pools:
        name = f"{pool.module}:{pool.name}"
        mine = [p for p in proof.placements if p.arena == name]
        proof.problems.extend(_check_placements(mine, proof.sizes, pool.alignment, labels))
    return proof


def _param_names(func: c_ast.FuncDef) -> list[str]:
    args = func.decl.type.args
    return [p.name for p in (args.params if args else []) if isinstance(p, c_ast.Decl) and p.name]


def _new_pool_size(pools: Sequence[Pool], pool: Pool, headers: Mapping[str, str]) -> int | None:
    """The pool's size in the rewritten project: its definition, else the module header's
    `TVMGEN_<MOD>_<POOL>_WORKSPACE_POOL_SIZE` (an application-provided pool)."""
    same = next((p for p in pools if p.key == pool.key), None)
    if same is not None and same.definition is not None:
        return same.definition.size
    for text in headers.values():
        for define in size_defines(text, pool.name):
            if define.module.lower() == pool.module.lower() and define.value is not None:
                return define.value
    return None


def _slice_offsets(
    ranges: list[LiveBuffer],
    site: SliceSite,
    scanned: _PoolSlices,
    lines: list[int],
    original: Program,
) -> tuple[dict[int, set[int]], dict[int, range]] | str:
    """Offsets each live range of one slice may see in the rewritten C and the original
    statements it spans, or why they cannot be told."""
    if site.form == "let":
        settings = [s for s in scanned.settings if s.variable == site.variable]
        if not settings:
            return "is no longer a slice of its pool"
        return _offsets(ranges, settings, lines)
    order = _inline_order(original, site)
    if order is None or len(order) != len(scanned.inline):
        return "cannot be lined up with the inline slices of the rewritten function"
    starts = []
    for buf in sorted(ranges, key=lambda b: b.range):
        if buf.range == 0:
            starts.append(0)
        elif buf.start_line in lines:
            starts.append(lines.index(buf.start_line))
        else:
            return f"has a live range starting at line {buf.start_line}, a statement not found"
    out: dict[int, set[int]] = {}
    for mine, (position, offset) in zip(order, scanned.inline, strict=True):
        if not mine:
            continue
        rng = max(i for i, start in enumerate(starts) if start <= position)
        out.setdefault(rng, set()).add(offset)
    missing = [b.range for b in ranges if b.range not in out]
    if missing:
        return f"has live ranges {missing} that no inline use points at"
    ends = [*starts[1:], len(lines)]
    return out, {b.range: range(starts[b.range], ends[b.range]) for b in ranges}


def _inline_order(original: Program, site: SliceSite) -> list[bool] | None:
    """For every inline slice of any pool parameter in the site's function, in text order:
    whether it is one of `site`'s uses."""
    tu = original.translation_units.get(site.file)
    if tu is None:
        return None
    for ext in tu.ast.ext:
        if isinstance(ext, c_ast.FuncDef) and ext.decl.name == _bare(site.function):
            params = {p for p in _param_names(ext) if pool_of_param(p) == site.pool}
            return [
                offset == site.offset
                for item in ext.body.block_items or []
                for offset in inline_slices(item, {site.param} & params or params)
            ]
    return None
