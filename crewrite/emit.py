"""Edits on the original text: allocs become arena addresses, frees become 0, one arena per
module, headers and build files lowered to what the runtime allocator still needs.

An edit is (file, start, end, text); each is checked against the text it replaces, edits of a
file may not overlap, and they are applied right to left so offsets stay valid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crewrite.errors import CrewriteError
from crewrite.extract import ALLOC, FREE, AllocSite, FreeSite
from crewrite.project import BUILD_WORKSPACE, WORKSPACE_DEFINE

MARKER = "crewrite: rewritten"
_INCLUDE_LINE = re.compile(r"^[ \t]*#[ \t]*include\b.*$", re.MULTILINE)


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
    """Apply one file's edits, last first; overlapping edits are a bug, never guessed."""
    ordered = sorted(edits, key=lambda e: (e.start, e.end))
    for before, after in zip(ordered, ordered[1:]):
        if after.start < before.end or (after.start == before.start == before.end == after.end):
            raise CrewriteError(f"conflicting edits {before} and {after}", before.file)
    for edit in reversed(ordered):
        if not text.startswith(edit.expect, edit.start):
            line = text.count("\n", 0, edit.start) + 1
            raise CrewriteError(
                f"expected {edit.expect!r} here, found {text[edit.start:edit.start + 40]!r}: "
                "refusing to edit", edit.file, line)
        text = text[: edit.start] + edit.text + text[edit.end :]
    return text


def arena_name(module: str) -> str:
    return f"tvmgen_{module}_crewrite_arena"


def _insertion_point(text: str, before: int) -> int:
    """Just after the last `#include` line ahead of `before` (start of file if none)."""
    point = 0
    for match in _INCLUDE_LINE.finditer(text, 0, before):
        point = match.end() + 1 if match.end() < len(text) else match.end()
    return point


@dataclass(frozen=True)
class ArenaLayout:
    """What the emitter needs from the planning stages for one module."""

    module: str
    arena_bytes: int
    alignment: int
    offsets: dict[tuple[str, str], int]  # (function, variable) -> offset
    original_bytes: int
    host_file: str  # where the arena is defined
    section: str | None = None


def module_edits(
    layout: ArenaLayout,
    allocs: list[AllocSite],
    frees: list[FreeSite],
    texts: dict[str, str],
) -> list[Edit]:
    """Edits in the C sources of one module."""
    name = arena_name(layout.module)
    edits: list[Edit] = []
    first_site: dict[str, int] = {}
    for site in allocs:
        offset = layout.offsets[site.key]
        edits.append(Edit(site.file, site.start, site.end,
                          f"((void*)&{name}[{offset}])", expect=ALLOC))
        first_site[site.file] = min(first_site.get(site.file, site.start), site.start)
    for site in frees:
        edits.append(Edit(site.file, site.start, site.end, "0", expect=FREE))

    files = sorted(first_site)
    shared = len(files) > 1 or files != [layout.host_file]
    attrs = [f"aligned({layout.alignment})"]
    if layout.section:
        attrs.insert(0, f'section("{layout.section}")')
    size = max(layout.arena_bytes, layout.alignment)
    note = (f"/* {MARKER}: every workspace buffer of module '{layout.module}' lives in {name}"
            f" ({layout.arena_bytes} bytes, planned by lifetime; the runtime allocator held"
            f" {layout.original_bytes}). Regenerate the model rather than edit this. */\n")
    for rel in sorted(set(files) | {layout.host_file}):
        text = texts[rel]
        at = _insertion_point(text, first_site.get(rel, len(text)))
        if rel == layout.host_file:
            storage = "" if shared else "static "
            decl = (f"{storage}uint8_t __attribute__(({', '.join(attrs)})) {name}[{size}];\n")
        else:
            decl = f"extern uint8_t {name}[];\n"
        edits.append(Edit(rel, at, at, note + decl))
    return edits


def header_edits(module: str, header: str, text: str, arena_bytes: int) -> list[Edit]:
    """`TVMGEN_<MOD>_WORKSPACE_SIZE` becomes what the runtime still needs: 0."""
    edits = []
    for match in WORKSPACE_DEFINE.finditer(text):
        if match.group(1).lower() != module.lower():
            continue
        old = match.group(2)
        start, end = match.span(2)
        edits.append(Edit(header, start, end,
                          f"0 /* {MARKER}: was {old}; buffers moved to {arena_name(module)}"
                          f" ({arena_bytes} bytes) */", expect=old))
    return edits


def build_edits(build_file: str, text: str, saved: int) -> tuple[list[Edit], list[str]]:
    """Lower `-DWORKSPACE_SIZE=N` (workspace plus allocator overhead) by what moved out."""
    edits, notes = [], []
    for match in BUILD_WORKSPACE.finditer(text):
        old = int(match.group(1))
        if old < saved:
            notes.append(f"{build_file}: WORKSPACE_SIZE={old} is below the {saved} bytes moved "
                         "to the arena; left unchanged")
            continue
        start, end = match.span(1)
        edits.append(Edit(build_file, start, end, str(old - saved), expect=match.group(1)))
        notes.append(f"{build_file}: WORKSPACE_SIZE {old} -> {old - saved}")
    return edits, notes
