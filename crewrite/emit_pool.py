"""Edits for a re-planned USMP pool in the sources: every slice's constant offset, the pool
array's size (attributes kept), and a marker in every file changed. Constant pools and
everything else stay as they are. The module header's defines (every copy), the MLF
metadata and the build's sizes go with the arena rewrite's (crewrite.emit, one mechanism
for both).

Each edit replaces the exact text it expects (crewrite.emit.Edit): a slice's offset literal,
the pool's dimension.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from crewrite.emit import MARKER, Edit, declaration_point
from crewrite.errors import CrewriteError
from crewrite.extract import Program
from crewrite.extract.pools import SliceSite, pool_of_param
from crewrite.liveness import LiveBuffer
from crewrite.poison import poison_edits, pool_pointer
from crewrite.usmp import PoolResult, pool_define_name


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
        offsets = [result.address(b.id) for b in found]
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


def pool_edits(result: PoolResult, texts: Mapping[str, str]) -> tuple[list[Edit], list[str]]:
    """Every edit of one re-planned pool in the sources, and notes for the report (the
    module header's defines are the caller's: every copy of them, one module at a time)."""
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
    return edits, notes


def poison_pool_edits(
    result: PoolResult, program: Program, texts: dict[str, str], shift: int
) -> list[Edit]:
    """The `--poison-dead` build of a re-planned pool: every byte no live slice owns is
    overwritten after every statement, through a pointer each function with the pool sets
    from its pool parameter (an application-provided pool has no name in the sources).
    Sizes are exact, so even a slice one byte too small loses its last byte."""
    pool = result.pool
    memory = pool_pointer(pool.module)
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
        starts = [
            program.translation_units[rel].offset(fn.line)
            for fn in program.functions.values()
            if fn.file == rel and fn.module == pool.module
        ]
        # before the first function, as the poison clock's declarations (helpers may come
        # before the file's last include)
        at = declaration_point(texts[rel], min(starts, default=len(texts[rel])))
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
