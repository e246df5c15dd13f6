"""Findings of AddressSanitizer and UndefinedBehaviorSanitizer, told in the program's terms:
which operator, which workspace buffer (function and variable, from crewrite's extraction),
and how many bytes past its end.

Under `--sanitize` the host allocator gives every workspace buffer its own heap block of
exactly its size, so the sanitizer's red zone starts at the buffer's last byte; the driver
does the same for the inputs and outputs it hands the model.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import PurePath

from crewrite.extract import ALLOC, Program

_ASAN_HEAD = re.compile(r"ERROR: AddressSanitizer: ([\w-]+)")
_ACCESS = re.compile(r"^(READ|WRITE) of size (\d+) at", re.M)
_FRAME = re.compile(r"^\s*#\d+ 0x[0-9a-f]+ in (\S+) (\S+?):(\d+)(?::\d+)?\s*$", re.M)
_WHERE = re.compile(
    r"is located (\d+) bytes (to the right|to the left|inside) of (\d+)-byte region"
)
_GLOBAL = re.compile(
    r"is located (\d+) bytes (to the right|to the left|inside) of global variable '([^']+)'"
    r".*? of size (\d+)"
)
_UBSAN = re.compile(r"^(\S+?):(\d+):(\d+): runtime error: (.*)$", re.M)
_DRIVER = ("verify_main.c", "crewrite_glue.c")


@dataclass(frozen=True)
class Finding:
    """One kind of fault, at one place; `count` reports of it."""

    kind: str  # the sanitizer's name for it: heap-buffer-overflow, signed-integer-overflow...
    operator: str  # the function of the project that made the access
    where: str  # file:line of the access
    buffer: str  # what was accessed: a workspace buffer, a tensor, a global...
    detail: str  # the sentence the user reads
    count: int = 1
    build: str = ""  # "original" or "rewritten"


def _frames(block: str) -> list[tuple[str, str, int]]:
    return [(m.group(1), m.group(2), int(m.group(3))) for m in _FRAME.finditer(block)]


def _project_frame(
    frames: list[tuple[str, str, int]], files: set[str]
) -> tuple[str, str, int] | None:
    for func, file, line in frames:
        if PurePath(file).name in files:
            return func, file, line
    return None


def _workspace_buffer(
    alloc: list[tuple[str, str, int]], program: Program
) -> tuple[str, int, str] | None:
    """The site that allocated a block: (function:variable, size, file:line)."""
    for index, (func, _, _) in enumerate(alloc):
        if func != ALLOC or index + 1 >= len(alloc):
            continue
        caller, file, line = alloc[index + 1]
        sites = [
            s
            for s in program.allocs
            if s.function.split("@")[0] == caller and PurePath(s.file).name == PurePath(file).name
        ]
        if not sites:
            return None
        site = min(sites, key=lambda s: (abs(s.line - line), s.line))
        return f"{site.function}:{site.variable}", site.size, f"{site.file}:{site.line}"
    return None


def _asan(block: str, program: Program, files: set[str], tensors: dict[int, list[str]]) -> Finding:
    kind = _ASAN_HEAD.search(block).group(1)  # type: ignore[union-attr]
    access = _ACCESS.search(block)
    verb = {"READ": "reads", "WRITE": "writes"}.get(access.group(1), "accesses") if access else ""
    width = int(access.group(2)) if access else 0
    sections = re.split(r"\n(?=\S[^\n]*by thread T\d+)", block)
    frames = _frames(sections[0])
    alloc_frames = next(
        (_frames(s) for s in sections[1:] if "allocated by thread" in s.splitlines()[0]), []
    )
    where_frame = _project_frame(frames, files)
    operator = where_frame[0] if where_frame else (frames[0][0] if frames else "?")
    where = f"{PurePath(where_frame[1]).name}:{where_frame[2]}" if where_frame else "?"
    located = _WHERE.search(block)
    global_var = _GLOBAL.search(block)
    buffer, distance, side = "memory", 0, ""
    if global_var:
        distance, side = int(global_var.group(1)), global_var.group(2)
        buffer = f"the global '{global_var.group(3)}' ({int(global_var.group(4)):,} B)"
    elif located:
        distance, side, region = int(located.group(1)), located.group(2), int(located.group(3))
        site = _workspace_buffer(alloc_frames, program)
        if site is not None:
            buffer = f"workspace buffer '{site[0]}' ({site[1]:,} B, allocated at {site[2]})"
        elif any(PurePath(f).name in _DRIVER for _, f, _ in alloc_frames):
            names = tensors.get(region, [])
            buffer = (
                f"tensor {' or '.join(names)} ({region:,} B) that the driver handed the model"
                if names
                else f"a {region:,}-byte tensor the driver handed the model"
            )
        else:
            buffer = f"a {region:,}-byte heap block"
    if kind == "heap-use-after-free":
        detail = f"{operator} {verb} {width} B of {buffer} after it was freed"
    elif side == "to the right":
        detail = (
            f"{operator} {verb} {width} B past the end of {buffer}: the access starts "
            f"{distance} B after its last byte, so it reaches {distance + width} B beyond it"
        )
    elif side == "to the left":
        detail = f"{operator} {verb} {width} B that start {distance} B before {buffer}"
    else:
        detail = f"{operator} {verb} {width} B of {buffer} ({kind})"
    return Finding(kind, operator, where, buffer, detail)


def _function_at(program: Program, file: str, line: int) -> str:
    name = PurePath(file).name
    best = None
    for fn in program.functions.values():
        if PurePath(fn.file).name == name and fn.line <= line:
            if best is None or fn.line > best.line:
                best = fn
    return best.name if best is not None else "?"


def findings(
    stderr: str, program: Program, files: set[str], tensors: dict[int, list[str]]
) -> list[Finding]:
    """Parse a sanitized run's stderr; `files` are the project's source file names,
    `tensors` the driver's tensors by size."""
    found: dict[tuple[str, str, str], Finding] = {}

    def add(f: Finding) -> None:
        key = (f.kind, f.operator, f.buffer)
        if key in found:
            found[key] = dataclasses.replace(found[key], count=found[key].count + 1)
        else:
            found[key] = f

    for block in re.split(r"\n(?==+\d+==ERROR: )", stderr):
        if _ASAN_HEAD.search(block):
            add(_asan(block, program, files, tensors))
    for match in _UBSAN.finditer(stderr):
        file, line, message = match.group(1), int(match.group(2)), match.group(4)
        if PurePath(file).name not in files:
            continue
        operator = _function_at(program, file, line)
        add(
            Finding(
                "undefined-behaviour",
                operator,
                f"{PurePath(file).name}:{line}",
                "",
                f"{operator} ({PurePath(file).name}:{line}): undefined behaviour: {message}",
            )
        )
    return list(found.values())
