"""Edits for a re-planned USMP pool: every slice's constant offset, the pool array's size
(attributes kept), the module header's defines, the MLF metadata's sizes, and a marker in
every file changed. Constant pools and everything else stay as they are.

Each edit replaces the exact text it expects (crewrite.emit.Edit): a slice's offset literal,
the pool's dimension, a define's number.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace

from crewrite.emit import MARKER, Edit, declaration_point, json_scalar_spans
from crewrite.errors import CrewriteError
from crewrite.extract import Program
from crewrite.extract.pools import SliceSite, pool_of_param
from crewrite.liveness import LiveBuffer
from crewrite.poison import poison_edits
from crewrite.project import WORKSPACE_DEFINE
from crewrite.usmp import PoolResult, pool_define, pool_define_name

_SIZE_KEYS = frozenset({"size_bytes", "size", "pool_size", "pool_size_bytes", "allocated_size"})


def _literal(texts: Mapping[str, str], site: SliceSite, span: tuple[int, int], new: int) -> Edit:
    start, end = span
    return Edit(site.file, start, end, str(new), expect=texts[site.file][start:end])


def _indent_at(text: str, offset: int) -> str:
    line = text[offset : text.find("\n", offset)]
    return line[: len(line) - len(line.lstrip())]


def slice_edits(result: PoolResult, texts: Mapping[str, str]) -> list[Edit]:
    """Every slice at its planned offset: the literal of a let slice (and an assignment
    before each later live range of a reused one), each occurrence of an inline slice at
    the offset of the live range its statement belongs to."""
    ranges: dict[tuple[str, str], list[LiveBuffer]] = {}
    for buf in result.liveness.buffers:
        ranges.setdefault(buf.site.key, []).append(buf)
    edits: list[Edit] = []
    for found in ranges.values():
        found.sort(key=lambda b: b.range)
        site = found[0].site
        assert isinstance(site, SliceSite)
        offsets = [result.offsets[b.id] for b in found]
        starts = [-1]
        for buf in found[1:]:
            if buf.start_offset is None:
                raise CrewriteError(
                    f"cannot tell where the next tensor in '{site.variable}' starts (its "
                    "statement shares its line with another); use --liveness coarse",
                    site.file,
                    buf.start_line,
                )
            starts.append(buf.start_offset)
        if site.form == "inline":
            for span in site.literals:
                index = max(i for i, at in enumerate(starts) if at <= span[0])
                edits.append(_literal(texts, site, span, offsets[index]))
            continue
        edits.append(_literal(texts, site, (site.start, site.end), offsets[0]))
        for buf, offset in zip(found[1:], offsets[1:], strict=True):
            assert buf.start_offset is not None
            indent = _indent_at(texts[site.file], buf.start_offset)
            edits.append(
                Edit(
                    site.file,
                    buf.start_offset,
                    buf.start_offset,
                    f"{indent}{site.variable} = ({site.declared_type})(&({site.param}"
                    f"[{offset}])); /* {MARKER}: next tensor in {site.variable} */\n",
                )
            )
    return edits


def marker_edits(result: PoolResult, files: Sequence[str], texts: Mapping[str, str]) -> list[Edit]:
    """A comment saying what changed: after the pool's definition, and after the includes
    of every other source whose slices moved."""
    pool = result.pool
    note = (
        f"/* {MARKER}: USMP pool '{pool.name}' of module '{pool.module}' re-planned by "
        f"lifetime: {result.arena_bytes} bytes, USMP planned {result.original_bytes}. "
        "Regenerate the model rather than edit this. */"
    )
    edits = []
    for rel in sorted(set(files)):
        if pool.definition is not None and rel == pool.definition.file:
            continue
        at = declaration_point(texts[rel], len(texts[rel]))
        edits.append(Edit(rel, at, at, note + "\n"))
    if pool.definition is not None:
        end = pool.definition.end
        edits.append(Edit(pool.definition.file, end, end, " " + note))
    return edits


def definition_edits(result: PoolResult, texts: Mapping[str, str]) -> list[Edit]:
    """The pool array's dimension, when the generated code defines it."""
    definition = result.pool.definition
    if definition is None or definition.dim is None:
        return []
    start, end = definition.dim
    return [
        Edit(
            definition.file,
            start,
            end,
            str(result.arena_bytes),
            expect=texts[definition.file][start:end],
        )
    ]


def header_edits(result: PoolResult, header: str, text: str) -> tuple[list[Edit], list[str]]:
    """`TVMGEN_<MOD>_<POOL>_WORKSPACE_POOL_SIZE` becomes the new pool size and
    `TVMGEN_<MOD>_WORKSPACE_SIZE` (USMP: the pools' total) drops by what was saved."""
    pool = result.pool
    edits, notes = [], []
    found = pool_define(text, pool.module, pool.name)
    if found is not None:
        (start, end), old = found
        edits.append(_number(header, start, end, old, result.arena_bytes))
    for match in WORKSPACE_DEFINE.finditer(text):
        if match.group(1).lower() != pool.module.lower():
            continue
        old = match.group(2)
        if int(old) < result.saved_bytes:
            notes.append(
                f"{header}: TVMGEN_{pool.module.upper()}_WORKSPACE_SIZE={old} is below the "
                f"{result.saved_bytes} bytes saved; left unchanged"
            )
            continue
        start, end = match.span(2)
        edits.append(_number(header, start, end, old, int(old) - result.saved_bytes))
    return edits, notes


def _number(file: str, start: int, end: int, old: str, new: int) -> Edit:
    return Edit(file, start, end, f"{new} /* {MARKER}: was {old} */", expect=old)


def metadata_edits(
    results: Sequence[PoolResult], rel: str, text: str
) -> tuple[list[Edit], list[str]]:
    """Model Library Format metadata: the `main` workspace of each module drops by what its
    pools saved, and a size given for a pool by name (`<pool>: {size_bytes: N}` or
    `{pool_name: <pool>, size_bytes: N}`) becomes its new size."""
    try:
        spans = json_scalar_spans(text)
    except (ValueError, IndexError):
        return [], [f"{rel}: not readable JSON; pool sizes left unchanged"]
    saved: dict[str, int] = {}
    for r in results:
        saved[r.pool.module] = saved.get(r.pool.module, 0) + r.saved_bytes
    named = _named_pools(text)
    edits, notes = [], []
    for path, (start, end) in sorted(spans.items(), key=lambda item: item[1]):
        old = text[start:end]
        if not old.isdigit():
            continue
        key = path[-1]
        if key == "workspace_size_bytes" and path[-5:-2] == ("memory", "functions", "main"):
            module = path[1] if path[:1] == ("modules",) and len(path) == 7 else None
            if module is None and len(saved) == 1:
                module = next(iter(saved))
            if module in saved and int(old) >= saved[module]:
                new = int(old) - saved[module]
                edits.append(Edit(rel, start, end, str(new), expect=old))
                notes.append(f"{rel}: {module} workspace_size_bytes {old} -> {new}")
            continue
        if key not in _SIZE_KEYS:
            continue
        for r in results:
            owner = path[:-1]
            if (r.pool.name in owner or named.get(owner) == r.pool.name) and int(old) == (
                r.original_bytes
            ):
                edits.append(Edit(rel, start, end, str(r.arena_bytes), expect=old))
                notes.append(
                    f"{rel}: pool {r.pool.name} {'.'.join(map(str, path))} {old} -> {r.arena_bytes}"
                )
                break
    return edits, notes


def _named_pools(text: str) -> dict[tuple[str | int, ...], str]:
    """Path of every JSON object with a `pool_name` (or `name`) string -> that name."""
    out: dict[tuple[str | int, ...], str] = {}

    def walk(node: object, path: tuple[str | int, ...]) -> None:
        if isinstance(node, dict):
            name = node.get("pool_name", node.get("name"))
            if isinstance(name, str):
                out[path] = name
            for k, v in node.items():
                walk(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, (*path, i))

    try:
        walk(json.loads(text), ())
    except ValueError:
        pass
    return out


def pool_edits(
    result: PoolResult, texts: Mapping[str, str], headers: Sequence[str]
) -> tuple[list[Edit], list[str]]:
    """Every edit of one re-planned pool in sources and headers, and notes for the report."""
    edits = slice_edits(result, texts)
    edits += definition_edits(result, texts)
    edits += marker_edits(result, sorted({e.file for e in edits}), texts)
    notes = []
    if result.pool.definition is None:
        notes.append(
            f"pool '{result.pool.name}' of module '{result.pool.module}' is provided by the "
            f"application: give it {result.arena_bytes} bytes "
            f"({pool_define_name(result.pool.module, result.pool.name)}"
            " in the module header says so)"
        )
    for rel in headers:
        more, header_notes = header_edits(result, rel, texts[rel])
        edits += more
        notes += header_notes
    return edits, notes


def poison_pool_edits(
    result: PoolResult, program: Program, texts: dict[str, str], shift: int
) -> list[Edit]:
    """The `--poison-dead` build of a re-planned pool: every byte no live slice owns is
    overwritten after every statement, through a pointer each function with the pool sets
    from its pool parameter (an application-provided pool has no name in the sources).
    Sizes are exact, so even a slice one byte too small loses its last byte."""
    pool = result.pool
    memory = f"tvmgen_{pool.module}_crewrite_pool_"
    holders = [
        (fn, param)
        for fn in program.functions.values()
        if fn.module == pool.module
        for param in fn.params
        if pool_of_param(param) == pool.name
    ]
    files = sorted({fn.file for fn in program.functions.values() if fn.module == pool.module})
    host = pool.definition.file if pool.definition is not None else holders[0][0].file
    edits, declarations = [], {}
    for rel in sorted({*files, host}):
        at = declaration_point(texts[rel], len(texts[rel]))
        storage = "" if rel == host else "extern "
        declarations[rel] = Edit(rel, at, at, f"{storage}uint8_t* {memory};\n")
        edits.append(declarations[rel])
    for fn, param in holders:
        first = fn.units[0].start if fn.units else None
        if first is None:
            raise CrewriteError(
                "poison build: the first statement shares its line with another", fn.file, fn.line
            )
        edits.append(Edit(fn.file, first, first, f"{memory} = {param};\n"))
    live = replace(result.liveness, alignment=1)
    return edits + poison_edits(
        program,
        live,
        dict(result.offsets),
        result.arena_bytes,
        host,
        declarations,
        texts,
        shift,
        memory=memory,
    )
