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
from dataclasses import dataclass
from typing import Any

from crewrite.errors import CrewriteError
from crewrite.extract import ALLOC, FREE, FreeSite
from crewrite.liveness import LiveBuffer
from crewrite.project import BUILD_WORKSPACE, WORKSPACE_DEFINE

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


def header_edits(module: str, header: str, text: str, arena_bytes: int) -> list[Edit]:
    """`TVMGEN_<MOD>_WORKSPACE_SIZE` becomes what the runtime still needs: 0."""
    edits = []
    for match in WORKSPACE_DEFINE.finditer(text):
        if match.group(1).lower() != module.lower():
            continue
        old = match.group(2)
        start, end = match.span(2)
        edits.append(
            Edit(
                header,
                start,
                end,
                f"0 /* {MARKER}: was {old}; buffers moved to {arena_name(module)}"
                f" ({arena_bytes} bytes) */",
                expect=old,
            )
        )
    return edits


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
        start, end = match.span(group)
        edits.append(Edit(build_file, start, end, str(old - saved), expect=match.group(group)))
        notes.append(f"{build_file}: WORKSPACE_SIZE {old} -> {old - saved}")
    return edits, notes


_JSON_TOKEN = re.compile(
    r'\s*(?:("(?:[^"\\]|\\.)*")|(-?\d[\d.eE+-]*)|(true|false|null)|([{}\[\],:]))'
)


def json_scalar_spans(text: str) -> dict[tuple[str | int, ...], tuple[int, int]]:
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


def metadata_edits(rel: str, text: str, remaining: dict[str, int]) -> tuple[list[Edit], list[str]]:
    """Model Library Format metadata: each rewritten module's `main` workspace becomes what the
    runtime still needs (project generators size the allocator from it)."""
    try:
        spans = json_scalar_spans(text)
    except (ValueError, IndexError):
        return [], [f"{rel}: not readable JSON; workspace_size_bytes left unchanged"]
    edits, notes = [], []
    for path, (start, end) in sorted(spans.items(), key=lambda item: item[1]):
        if path[-1] != "workspace_size_bytes" or path[-5:-2] != ("memory", "functions", "main"):
            continue
        if path[:1] == ("modules",) and len(path) == 7 and path[1] in remaining:
            module = path[1]
        elif len(path) == 5 and len(remaining) == 1:  # older metadata: one module, no "modules"
            module = next(iter(remaining))
        else:
            continue
        old = text[start:end]
        edits.append(Edit(rel, start, end, str(remaining[module]), expect=old))
        notes.append(f"{rel}: {module} workspace_size_bytes {old} -> {remaining[module]}")
    return edits, notes
