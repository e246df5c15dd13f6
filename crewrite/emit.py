"""Edits on the original text: allocs become arena addresses, frees become 0, one arena per
module, headers and build files lowered to what the runtime allocator still needs.

An edit is (file, start, end, text) with start and end string indices into the original
text; each is checked against the text it replaces, edits of a file may not overlap, and the
new text is joined in one pass from left to right, so no edit moves another's indices.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from crewrite.errors import CrewriteError
from crewrite.extract import ALLOC, FREE, FreeSite
from crewrite.liveness import LiveBuffer
from crewrite.project import (
    BUILD_WORKSPACE,
    BUILD_WORKSPACE_OTHER,
    HEADER_MACRO_USE,
    SizeDefine,
    c_constant,
)

MARKER = "crewrite: rewritten"
_DIRECTIVE_LINE = re.compile(r"^[ \t]*#[ \t]*(include|if|ifdef|ifndef|endif)\b.*$", re.MULTILINE)


@dataclass(frozen=True)
class Edit:
    file: str
    start: int
    end: int
    text: str
    expect: str = ""  # the original text must start with this at `start`

    def __str__(self) -> str:
        return f"{self.file}:{self.start}:+{self.end - self.start}:{self.text!r}"


def apply_edits(text: str, edits: list[Edit]) -> str:
    """Apply one file's edits (all offsets refer to the original text); overlapping edits are
    a bug, never guessed. New lines follow the file's own newline style."""
    newline = "\r\n" if "\r\n" in text else "\n"
    ordered = sorted(edits, key=lambda e: (e.start, e.end))
    for before, after in zip(ordered, ordered[1:], strict=False):
        if after.start < before.end or (after.start == before.start == before.end == after.end):
            raise CrewriteError(f"conflicting edits {before} and {after}", before.file)
    pieces, cursor = [], 0
    for edit in ordered:
        if not text.startswith(edit.expect, edit.start):
            line = text.count("\n", 0, edit.start) + 1
            raise CrewriteError(
                f"expected {edit.expect!r} here, found {text[edit.start : edit.start + 40]!r}: "
                "refusing to edit",
                edit.file,
                line,
            )
        pieces.append(text[cursor : edit.start])
        pieces.append(edit.text if newline == "\n" else edit.text.replace("\n", newline))
        cursor = edit.end
    pieces.append(text[cursor:])
    return "".join(pieces)


def combine_inserts(edits: list[Edit]) -> list[Edit]:
    """Join insertions at one offset, in the order given (for builds that deliberately add
    several things before one statement)."""
    out: list[Edit] = []
    inserts: dict[tuple[str, int], int] = {}
    for edit in edits:
        key = (edit.file, edit.start)
        if edit.start == edit.end and key in inserts:
            first = out[inserts[key]]
            out[inserts[key]] = Edit(first.file, first.start, first.end, first.text + edit.text)
        else:
            if edit.start == edit.end:
                inserts[key] = len(out)
            out.append(edit)
    return out


def arena_name(module: str) -> str:
    return f"tvmgen_{module}_crewrite_arena"


def declaration_point(text: str, before: int) -> int:
    """Just after the last `#include` ahead of `before` that every build sees: an include
    inside `#if ... #endif` counts as the line after that `#endif`. Start of file if none."""
    point, depth, pending = 0, 0, False
    for match in _DIRECTIVE_LINE.finditer(text, 0, before):
        word = match.group(1)
        end = match.end() + 1 if match.end() < len(text) else match.end()
        if word in ("if", "ifdef", "ifndef"):
            depth += 1
        elif word == "endif" and depth:
            depth -= 1
            if depth == 0 and pending:
                point, pending = end, False
        elif word == "include":
            if depth == 0:
                point = end
            else:
                pending = True
    return point


@dataclass(frozen=True)
class ArenaLayout:
    """What the emitter needs from the planning stages for one module."""

    module: str
    arena_bytes: int
    alignment: int  # of every offset: what the runtime allocator promised each buffer
    base_alignment: int  # of the arena itself: also the largest `aligned(N)` the code asks for
    offsets: dict[str, int]  # LiveBuffer.id -> planned offset (its address is `lead` above)
    original_bytes: int
    arena_file: str  # where the arena is defined (the module's file with the most sites)
    section: str | None = None


def _indent_at(text: str, offset: int) -> str:
    line = text[offset : text.find("\n", offset)]
    return line[: len(line) - len(line.lstrip())]


def module_edits(
    layout: ArenaLayout,
    buffers: Sequence[LiveBuffer],
    frees: Sequence[FreeSite],
    texts: Mapping[str, str],
) -> list[Edit]:
    """Edits in the C sources of one module: sites, new ranges, and the arena declarations
    (`declaration_edits`)."""
    name = arena_name(layout.module)
    edits: list[Edit] = []
    new_ranges: dict[tuple[str, int], list[str]] = {}
    for buf in buffers:
        site, offset = buf.site, layout.offsets[buf.id] + buf.lead
        if buf.range == 0:
            edits.append(
                Edit(site.file, site.start, site.end, f"((void*)&{name}[{offset}])", expect=ALLOC)
            )
        else:
            # A new tensor in a reused variable: point the variable at its own place.
            if buf.start_offset is None:
                raise CrewriteError(
                    f"cannot insert the new address of '{site.variable}' before this statement "
                    "(it shares its line with another); use --liveness coarse",
                    site.file,
                    buf.start_line,
                )
            indent = _indent_at(texts[site.file], buf.start_offset)
            new_ranges.setdefault((site.file, buf.start_offset), []).append(
                f"{indent}{site.variable} = ((void*)&{name}[{offset}]);"
                f" /* {MARKER}: next tensor in {site.variable} */\n"
            )
    for (rel, at), lines in sorted(new_ranges.items()):
        edits.append(Edit(rel, at, at, "".join(lines)))
    for free in frees:
        edits.append(Edit(free.file, free.start, free.end, "0", expect=FREE))
    return edits + list(declaration_edits(layout, buffers, texts).values())


def declaration_edits(
    layout: ArenaLayout, buffers: Sequence[LiveBuffer], texts: Mapping[str, str]
) -> dict[str, Edit]:
    """Per file with alloc sites of the module: the insertion that declares the arena there,
    after the includes ahead of its first site. The arena file defines it (`static` when no
    other file needs it), the others declare it `extern`."""
    name = arena_name(layout.module)
    first_site: dict[str, int] = {}
    for buf in buffers:
        if buf.range == 0:
            site = buf.site
            first_site[site.file] = min(first_site.get(site.file, site.start), site.start)
    shared = len(first_site) > 1  # the arena file always has sites: it has the most
    attrs = [f"aligned({layout.base_alignment})"]
    if layout.section:
        attrs.insert(0, f'section("{layout.section}")')
    size = max(layout.arena_bytes, layout.alignment)
    note = (
        f"/* {MARKER}: every workspace buffer of module '{layout.module}' lives in {name}"
        f" ({layout.arena_bytes} bytes, planned by lifetime; the runtime allocator held"
        f" {layout.original_bytes}). Regenerate the model rather than edit this. */\n"
    )
    edits = {}
    for rel in sorted(first_site):
        at = declaration_point(texts[rel], first_site[rel])
        if rel == layout.arena_file:
            storage = "" if shared else "static "
            decl = f"{storage}uint8_t __attribute__(({', '.join(attrs)})) {name}[{size}];\n"
        else:
            decl = f"extern uint8_t {name}[];\n"
        edits[rel] = Edit(rel, at, at, note + decl)
    return edits


def define_edits(header: str, defines: Sequence[SizeDefine], value: int, why: str) -> list[Edit]:
    """Each define of a module header macro (every copy of it) takes `value`, whatever number
    or expression it held; the old one stays in a comment."""
    return [
        Edit(
            header,
            define.start,
            define.end,
            f"{value} /* {MARKER}: was {define.expr.replace('*/', '* /')}{why} */",
            expect=define.expr,
        )
        for define in defines
    ]


def build_edits(build_file: str, text: str, saved: int) -> tuple[list[Edit], list[str]]:
    """Lower the allocator size a project sets (workspace plus allocator overhead) by what
    moved out."""
    edits, notes = [], []
    for match in BUILD_WORKSPACE.finditer(text):
        group = 1 if match.group(1) is not None else 2
        old = int(match.group(group))
        if old < saved:
            notes.append(
                f"{build_file}: WORKSPACE_SIZE={old} is below the {saved} bytes moved "
                "to the arena; left unchanged"
            )
            continue
        # Never 0: an allocator pool sized by it would be a zero-length array (invalid C).
        new = max(old - saved, 1)
        start, end = match.span(group)
        edits.append(Edit(build_file, start, end, str(new), expect=match.group(group)))
        kept = " (kept at 1: a zero-length array is not C)" if new != old - saved else ""
        notes.append(f"{build_file}: WORKSPACE_SIZE {old} -> {new}{kept}")
    for match in BUILD_WORKSPACE_OTHER.finditer(text):
        value = next(g for g in match.groups() if g is not None).strip()
        line = text.count("\n", 0, match.start()) + 1
        notes.append(
            f"{build_file}:{line}: WORKSPACE_SIZE is set as '{value}', which crewrite does not "
            f"edit: lower it by {saved:,} bytes (moved to the arena) to free that RAM"
        )
    return edits, notes


_OBJECT_MACRO = re.compile(
    r"^[ \t]*#[ \t]*define[ \t]+(\w+)[ \t]+((?:[^\s/]|/(?![/*])|[ \t]+(?=[^\s/]|/(?![/*])))+)",
    re.MULTILINE,
)
# `static uint8_t g_aot_memory[TVMGEN_DEFAULT_WORKSPACE_SIZE];` and struct members alike: a
# declaration (type words, then a name) whose array length is an expression.
_ARRAY_DECLARATION = re.compile(
    r"^[ \t]*(?:[A-Za-z_][\w]*[ \t*]+|__attribute__\s*\(\(.*?\)\)[ \t]*)+?"
    r"(?P<name>[A-Za-z_]\w*)[ \t]*\[(?P<length>[^\[\]\n;]+)\]",
    re.MULTILINE,
)


def object_macros(texts: list[str]) -> dict[str, str]:
    """`#define NAME value` of the given texts (first one wins), for evaluating lengths."""
    macros: dict[str, str] = {}
    for text in texts:
        for match in _OBJECT_MACRO.finditer(text):
            macros.setdefault(match.group(1), match.group(2))
    return macros


def array_length_edits(rel: str, text: str, macros: dict[str, str]) -> tuple[list[Edit], list[str]]:
    """Keep arrays sized from a rewritten module's header macros valid C: a length that
    becomes 0 (`g_aot_memory[TVMGEN_DEFAULT_WORKSPACE_SIZE]`) gets `+ 1`, since strict ISO C
    compilers reject zero-length arrays. `macros` hold the new values (the workspace 0 after
    an arena rewrite; after a USMP re-plan, the lowered workspace and the pools' sizes)."""
    edits, notes = [], []
    for match in _ARRAY_DECLARATION.finditer(text):
        length = match.group("length")
        if not _mentions_header_macro(length, macros):
            continue
        line = text.count("\n", 0, match.start()) + 1
        value = c_constant(length, macros)
        if value is None:
            notes.append(
                f"{rel}:{line}: cannot evaluate the length of {match.group('name')}[{length}] "
                "after the rewrite; check that it is not zero"
            )
            continue
        if value > 0:
            continue
        start, end = match.span("length")
        new = f"{length.rstrip()} + 1 /* {MARKER}: never a zero-length array */"
        edits.append(Edit(rel, start, end, new, expect=length))
        notes.append(
            f"{rel}:{line}: {match.group('name')}[{length.strip()}] would have length {value} "
            "with the module header's new values (strict ISO C rejects it): made it "
            f"[{length.strip()} + 1]"
        )
    return edits, notes


def _mentions_header_macro(expr: str, macros: dict[str, str], depth: int = 0) -> bool:
    """Whether an expression reaches a `TVMGEN_<MOD>_WORKSPACE_SIZE` (or a USMP pool's
    `..._WORKSPACE_POOL_SIZE`), directly or through other macros."""
    if HEADER_MACRO_USE.search(expr):
        return True
    if depth > 16:
        return False
    return any(
        _mentions_header_macro(macros[name], macros, depth + 1)
        for name in re.findall(r"\b[A-Za-z_]\w*", expr)
        if name in macros
    )


_JSON_TOKEN = re.compile(
    r'\s*(?:("(?:[^"\\]|\\.)*")|(-?\d[\d.eE+-]*)|(true|false|null)|([{}\[\],:]))'
)


JsonPath = tuple[str | int, ...]  # keys and indices from the top of a JSON document


def json_scalar_spans(text: str) -> dict[JsonPath, tuple[int, int]]:
    """Path (keys and list indices) -> (start, end) of every number in a JSON text, so that a
    value can be changed without reformatting the file."""
    spans: dict[tuple[str | int, ...], tuple[int, int]] = {}
    stack: list[list[Any]] = []  # [container kind, current key or index]
    pos = 0
    expect_key = False
    while pos < len(text):
        match = _JSON_TOKEN.match(text, pos)
        if match is None:
            if text[pos:].strip():
                raise ValueError(f"not JSON at offset {pos}")
            break
        pos = match.end()
        string, number, _, punct = match.groups()
        path = tuple(frame[1] for frame in stack)
        if punct in ("{", "["):
            stack.append(["{", None] if punct == "{" else ["[", 0])
            expect_key = punct == "{"
        elif punct in ("}", "]"):
            stack.pop()
        elif punct == ",":
            if stack[-1][0] == "[":
                stack[-1][1] += 1
            else:
                expect_key = True
        elif string is not None and expect_key:
            stack[-1][1] = json.loads(string)
            expect_key = False
        elif number is not None:
            spans[path] = match.span(2)
    return spans


@dataclass(frozen=True)
class MovedWorkspace:
    """What one rewritten module moved out of the runtime allocator into its arena, or (USMP)
    what re-planning its pools saved, for metadata.json."""

    moved_bytes: int  # its workspace as written (sids and scratch), now in the arena; or
    # with `pools`, the bytes its re-planned pools saved
    has_entry: bool  # an AOT entry; without one it is a graph-executor module
    functions: frozenset[str]  # functions whose workspace moved
    pools: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # USMP pool -> (size
    # as USMP planned it, as re-planned)


def _executors(data: dict[str, Any], module: str | None) -> list[str] | None:
    """`executors` of a module (newer metadata) or of the whole file (older)."""
    scope = data.get("modules", {}).get(module) if module is not None else data
    found = scope.get("executors") if isinstance(scope, dict) else None
    if found is None and module is not None:
        found = data.get("executors")
    return found if isinstance(found, list) else None


def _at(data: Any, path: JsonPath) -> Any:
    """The value at a path of keys and indices in parsed JSON."""
    for key in path:
        data = data[key]
    return data


def metadata_edits(
    rel: str, text: str, modules: Mapping[str, MovedWorkspace]
) -> tuple[list[Edit], list[str]]:
    """Model Library Format metadata: lower each rewritten module's workspace numbers by what
    moved into the arena. For the AOT executor `main` counts only that workspace: it becomes
    0. For the graph executor `main` also counts the graph's tensor storage, which the runtime
    still allocates: only the largest operator workspace (what TVM added for the operators)
    comes off. Each rewritten operator's own entry becomes 0. A module whose USMP pools were
    re-planned: `main` (the pools' total) drops by what they saved, and a size given for a
    pool by name (`<pool>: {size_bytes: N}` or `{pool_name: <pool>, size_bytes: N}`) becomes
    its new size."""
    try:
        data = json.loads(text)
        spans = json_scalar_spans(text)
    except (ValueError, IndexError):
        return [], [f"{rel}: not readable JSON; workspace_size_bytes left unchanged"]
    if not isinstance(data, dict):
        return [], [f"{rel}: not Model Library Format metadata; left unchanged"]
    edits, notes = [], []
    ordered = sorted(spans.items(), key=lambda item: item[1])
    operators: dict[str, list[tuple[JsonPath, int]]] = {}  # module -> (path, value)
    mains: list[tuple[JsonPath, str]] = []
    named = _named_pools(data)
    for path, (start, end) in ordered:
        if path[-1] in _POOL_SIZE_KEYS:
            resized = _pool_size_edit(rel, text, path, (start, end), modules, named)
            if resized is not None:
                edits.append(resized[0])
                notes.append(resized[1])
            continue
        if path[-1] != "workspace_size_bytes":
            continue
        module = _metadata_module(path, modules)
        if module is None:
            continue
        if path[-5:-2] == ("memory", "functions", "main"):
            mains.append((path, module))
        elif path[-6:-4] == ("functions", "operator_functions"):
            name = _at(data, path[:-3]).get("function_name")
            if name in modules[module].functions:
                operators.setdefault(module, []).append((path, int(_at(data, path))))
    for entries in operators.values():
        for path, value in entries:
            if value != 0:
                start, end = spans[path]
                edits.append(Edit(rel, start, end, "0", expect=text[start:end]))
    for path, module in mains:
        info = modules[module]
        start, end = spans[path]
        old = int(text[start:end])
        executors = _executors(data, module if path[:1] == ("modules",) else None)
        graph = "graph" in executors if executors is not None else not info.has_entry
        if info.pools:
            if old < info.moved_bytes:
                notes.append(
                    f"{rel}: {module} workspace_size_bytes {old} is below the "
                    f"{info.moved_bytes} bytes its pools saved; left unchanged"
                )
                continue
            new, why = old - info.moved_bytes, ""
        elif not graph:
            new, why = 0, ""
        else:
            moved = max((v for _, v in operators.get(module, [])), default=info.moved_bytes)
            if old < moved:
                notes.append(
                    f"{rel}: {module} workspace_size_bytes {old} is below the {moved} bytes "
                    "moved to the arena (graph executor); left unchanged"
                )
                continue
            new, why = old - moved, " (graph executor: the graph's tensors stay in the runtime)"
        if new != old:
            edits.append(Edit(rel, start, end, str(new), expect=text[start:end]))
        notes.append(f"{rel}: {module} workspace_size_bytes {old} -> {new}{why}")
    return edits, notes


_POOL_SIZE_KEYS = frozenset(
    {"size_bytes", "size", "pool_size", "pool_size_bytes", "allocated_size"}
)


def _pool_size_edit(
    rel: str,
    text: str,
    path: JsonPath,
    span: tuple[int, int],
    modules: Mapping[str, MovedWorkspace],
    named: Mapping[JsonPath, str],
) -> tuple[Edit, str] | None:
    """The new size of a re-planned pool at `path` (a size under the pool's name, or in an
    object naming it), when it holds the size USMP planned; under `modules.<mod>`, only that
    module's pools."""
    start, end = span
    old = text[start:end]
    if not old.isdigit():
        return None
    owner = path[:-1]
    scope = path[1] if path[:1] == ("modules",) and len(path) > 1 else None
    for module, info in modules.items():
        if scope is not None and scope != module:
            continue
        for name, (before, after) in info.pools.items():
            if (name in owner or named.get(owner) == name) and int(old) == before:
                note = f"{rel}: pool {name} {'.'.join(map(str, path))} {old} -> {after}"
                return Edit(rel, start, end, str(after), expect=old), note
    return None


def _named_pools(data: Any) -> dict[JsonPath, str]:
    """Path of every JSON object with a `pool_name` (or `name`) string -> that name."""
    out: dict[JsonPath, str] = {}

    def walk(node: Any, path: JsonPath) -> None:
        if isinstance(node, dict):
            name = node.get("pool_name", node.get("name"))
            if isinstance(name, str):
                out[path] = name
            for key, value in node.items():
                walk(value, (*path, key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, (*path, index))

    walk(data, ())
    return out


def _metadata_module(path: JsonPath, modules: Mapping[str, MovedWorkspace]) -> str | None:
    """The rewritten module a metadata number belongs to: named under `modules` (newer
    metadata), or the only module (older metadata has one, at the top level)."""
    if path[:1] == ("modules",):
        named = path[1] if len(path) > 1 else None
        return named if isinstance(named, str) and named in modules else None
    return next(iter(modules)) if len(modules) == 1 and path[:1] == ("memory",) else None
