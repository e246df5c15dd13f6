"""The rewritten source read back where it changed: the AST a full parse of the new text
gives, built from the original's AST and a parse of the changed pieces only.

The original text is cut into chunks at lines where a top-level declaration, or a statement
at the top of a function body, may start (after a `;` or the `}` of a function or a block,
last on its line, outside parentheses and conditional blocks, not before `else` or
`while`). A chunk no edit touches has the same text in the new file, some lines lower or
higher: its nodes are the original's, copied with their lines moved (shared when they did
not move). The changed chunks, with the head and the last chunk of each function they lie
in, are parsed in one pass over the new text with every other line blank (directives that
define, include or condition kept), so their nodes carry the lines and columns a full parse
gives them; each function is put back together statement by statement.

Whatever does not line up (an edit that opens a brace, a comment or a typedef, a typedef in
the file itself, an include between functions, a node in no chunk) gives None, and the
caller parses the whole text: the result is the full parse's either way
(tests/fast_path_test.py compares them on every fixture). CREWRITE_PLAIN turns this off.
"""

from __future__ import annotations

import bisect
import functools
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pycparser import c_ast
from pycparser.c_parser import Coord

from crewrite.emit import Edit
from crewrite.errors import CrewriteError
from crewrite.frontend import (
    COMMENT_OR_LITERAL,
    PLAIN_ENV,
    TranslationUnit,
    code_only,
    elide_constant_data,
    line_starts,
    parse_source,
    without_cplusplus,
)

_TOKEN = re.compile(
    r"^[ \t]*#[^\n]*(?:\\\n[^\n]*)*|[{}();=,]|\b(?:else|while)\b|[A-Za-z_]\w*", re.MULTILINE
)
_CONDITIONAL = re.compile(r"[ \t]*#[ \t]*(if|ifdef|ifndef|endif)\b")
_KEPT_DIRECTIVE = re.compile(
    r"[ \t]*#[ \t]*(?:define|undef|include|if|ifdef|ifndef|elif|else|endif)\b"
)


@dataclass(frozen=True)
class _Chunk:
    line: int  # first line, 0-based, in the original text
    top: bool  # a top-level chunk (else: statements of the function body it lies in)


def chunks(text: str) -> list[_Chunk] | None:
    """Where the text may be cut (see the module's docstring), in order; None when its
    braces, parentheses or conditionals do not balance."""
    elided = elide_constant_data(text)[0]  # the same lines, fewer characters
    code = without_cplusplus(code_only(elided))
    comments = [  # a cut never falls inside a comment over several lines
        (m.start(), m.end())
        for m in COMMENT_OR_LITERAL.finditer(elided)
        if m.group(0).startswith("/") and "\n" in m.group(0)
    ]
    comment_starts = [start for start, _ in comments]
    cuts: list[_Chunk] = [_Chunk(0, True)]
    stack: list[str] = []  # kinds of the open braces: body, block, init, other
    parens = conditionals = 0
    last = ""  # the last significant token
    pending: tuple[int, bool] | None = None  # a cut after this offset, if nothing follows
    line, counted = 0, 0  # the line of offset `counted`
    for match in _TOKEN.finditer(code):
        token = match.group(0)
        if pending is not None:
            at, top = pending
            pending = None
            newline = code.find("\n", at)
            if 0 <= newline < match.start() and token not in ("else", "while") and not conditionals:
                line += code.count("\n", counted, newline) + 1
                counted = newline + 1
                at = bisect.bisect_right(comment_starts, counted) - 1
                if at < 0 or not comments[at][0] < counted < comments[at][1]:
                    cuts.append(_Chunk(line, top))
        if token[0] in " \t#":
            found = _CONDITIONAL.match(token)
            if found:
                conditionals += -1 if found.group(1) == "endif" else 1
            continue
        if token == "(":
            parens += 1
        elif token == ")":
            parens -= 1
        elif token == "{":
            if not stack:
                kind = "body" if last == ")" else "other"
            elif stack[-1] in ("body", "block"):
                kind = "init" if last in ("=", ",", "(") else "block"
            else:
                kind = "other"
            stack.append(kind)
            if kind == "body" and not parens:
                pending = (match.end(), False)
        elif token == "}":
            if not stack:
                return None
            kind = stack.pop()
            closes = (kind == "body" and not stack) or (kind == "block" and stack == ["body"])
            if closes and not parens:
                pending = (match.end(), not stack)
        elif token == ";" and not parens and (not stack or stack == ["body"]):
            pending = (match.end(), not stack)
        last = token
    if stack or parens or conditionals:
        return None
    return cuts


def _harmless(text: str) -> bool:
    """An edit's text that cannot change how the text around it parses: no directive, no
    typedef, brackets balanced, comments and quotes closed."""
    code = code_only(text)
    return (
        text.count("/*") == text.count("*/")
        and text.count('"') % 2 == 0
        and "typedef" not in code
        and "#" not in code
        and all(code.count(a) == code.count(b) for a, b in ("()", "{}", "[]"))
    )


def reread_source(
    original: TranslationUnit,
    new_text: str,
    edits: Sequence[Edit],
    include_dirs: list[Path],
    defines: list[str],
) -> TranslationUnit:
    """The translation unit of `new_text` (the original's text with `edits` applied), as
    `parse_source` gives it."""
    if not os.environ.get(PLAIN_ENV):
        built = _incremental(original, new_text, edits, include_dirs, defines)
        if built is not None:
            return built
    return parse_source(original.rel, Path(original.filename), new_text, include_dirs, defines)


def _incremental(
    original: TranslationUnit,
    new_text: str,
    edits: Sequence[Edit],
    include_dirs: list[Path],
    defines: list[str],
) -> TranslationUnit | None:
    text = original.text
    if "\r" in text or "\r" in new_text or not all(_harmless(e.text) for e in edits):
        return None
    if re.search(r"\btypedef\b", text):  # blanked, it would no longer make a name a type
        return None
    cut = chunks(text)
    if cut is None:
        return None
    starts = [original.line_starts[c.line] for c in cut]
    head = [0] * len(cut)  # the function head a statement chunk belongs to (itself if top)
    for k, c in enumerate(cut):
        head[k] = k if c.top else head[k - 1]
    if not cut[0].top:
        return None
    last_of = {head[k]: k for k in range(len(cut))}  # the last chunk of each head

    ordered = sorted(edits, key=lambda e: (e.start, e.end))
    changed: set[int] = set()
    new_starts, shift, i = [], 0, 0
    for s in starts:
        while i < len(ordered) and ordered[i].start < s:
            if ordered[i].end > s:
                return None  # across a cut
            shift += len(ordered[i].text) - (ordered[i].end - ordered[i].start)
            i += 1
        new_starts.append(s + shift)
    for e in ordered:
        changed.add(bisect.bisect_right(starts, e.start) - 1)
    again = set(changed)  # changed chunks, and the head and last chunk of their functions
    for k in changed:
        again |= {head[k], last_of[head[k]]}

    new_line_starts = line_starts(new_text)
    new_lines: list[int] = []
    ends = starts[1:] + [len(text)]
    for k, s in enumerate(new_starts):
        at = bisect.bisect_left(new_line_starts, s)
        if at >= len(new_line_starts) or new_line_starts[at] != s:
            return None
        new_lines.append(at)
        if k not in again and new_text[s : s + ends[k] - starts[k]] != text[starts[k] : ends[k]]:
            return None

    lines = new_text.split("\n")
    bounds = new_lines + [len(lines)]
    keep_next = False
    for k in range(len(cut)):
        if k in again:
            continue
        for n in range(bounds[k], bounds[k + 1]):
            kept = keep_next or _KEPT_DIRECTIVE.match(lines[n]) is not None
            keep_next = kept and lines[n].endswith("\\")
            if not kept:
                lines[n] = ""
    try:
        part = parse_source(
            original.rel, Path(original.filename), "\n".join(lines), include_dirs, defines
        )
    except CrewriteError:
        return None
    ast = _assemble(original, part, cut, again, [c.line for c in cut], new_lines)
    if ast is None:
        return None
    return TranslationUnit(original.rel, original.filename, new_text, ast, new_line_starts)


def _assemble(
    original: TranslationUnit,
    part: TranslationUnit,
    cut: list[_Chunk],
    again: set[int],
    old_lines: list[int],
    new_lines: list[int],
) -> c_ast.FileAST | None:
    """The new file's AST: the original's nodes of the chunks left alone (moved), the part's
    nodes of the chunks parsed again, function by function, statement by statement."""
    own_file = _own_file(original)
    old = _by_chunk(original, old_lines)
    new = _by_chunk(part, new_lines)
    if old is None or new is None or own_file is None:
        return None
    (old_prefix, old_top, old_items), (new_prefix, new_top, new_items) = old, new
    if len(old_prefix) != len(new_prefix) or set(new_top) - again or set(new_items) - again:
        return None
    ext: list[c_ast.Node] = list(old_prefix)
    for k in range(len(cut)):
        if not cut[k].top:
            continue
        if k not in again:
            delta = new_lines[k] - old_lines[k]
            ext += [_moved(n, delta, own_file) for n in old_top.get(k, [])]
            continue
        nodes = new_top.get(k, [])
        split = k + 1 < len(cut) and not cut[k + 1].top  # a body goes on in statement chunks
        if split and (_name(nodes) is None or _name(nodes) != _name(old_top.get(k, []))):
            return None
        for node in nodes:
            if split and node is nodes[-1] and isinstance(node, c_ast.FuncDef):
                items = [  # statements on the head's own line, then the chunks below
                    i for i in node.body.block_items or [] if _chunk_of(i, new_lines) == k
                ]
                j = k + 1
                while j < len(cut) and not cut[j].top:
                    if j in again:
                        items += new_items.pop(j, [])
                    else:
                        delta = new_lines[j] - old_lines[j]
                        items += [_moved(n, delta, own_file) for n in old_items.get(j, [])]
                    j += 1
                body = c_ast.Compound(items or None, node.body.coord)  # type: ignore[no-untyped-call]
                node = c_ast.FuncDef(  # type: ignore[no-untyped-call]
                    node.decl, node.param_decls, body, node.coord
                )
            ext.append(node)
    if new_items:  # statements of the part that no function took
        return None
    return c_ast.FileAST(ext, original.ast.coord)  # type: ignore[no-untyped-call]


_Grouped = tuple[list[c_ast.Node], dict[int, list[c_ast.Node]], dict[int, list[c_ast.Node]]]


def _by_chunk(tu: TranslationUnit, chunk_lines: list[int]) -> _Grouped | None:
    """A file's nodes: the headers' (all before the file's own), its own top-level nodes by
    chunk, and the statements of its functions' bodies by chunk."""
    prefix: list[c_ast.Node] = []
    top: dict[int, list[c_ast.Node]] = {}
    items: dict[int, list[c_ast.Node]] = {}
    for node in tu.ast.ext:
        if not tu.is_own(node):
            if top:
                return None  # an include between the file's own declarations
            prefix.append(node)
            continue
        k = _chunk_of(node, chunk_lines)
        top.setdefault(k, []).append(node)
        if isinstance(node, c_ast.FuncDef):
            if node.param_decls or node.body is None:
                return None
            places = [_chunk_of(item, chunk_lines) for item in node.body.block_items or []]
            if any(j == k for j in places) and not all(j == k for j in places):
                return None  # statements on the head's line and below: not cut
            for item, j in zip(node.body.block_items or [], places, strict=True):
                if j > k:
                    items.setdefault(j, []).append(item)
    return prefix, top, items


def _name(nodes: list[c_ast.Node]) -> str | None:
    """The name of the function that ends `nodes`, if one does."""
    last = nodes[-1] if nodes else None
    return last.decl.name if isinstance(last, c_ast.FuncDef) else None


def _chunk_of(node: c_ast.Node, chunk_lines: list[int]) -> int:
    line = node.coord.line if node.coord is not None else 0
    return bisect.bisect_right(chunk_lines, line - 1) - 1


def _own_file(tu: TranslationUnit) -> str | None:
    names = {n.coord.file for n in tu.ast.ext if tu.is_own(n) and n.coord is not None}
    return names.pop() if len(names) == 1 else None


def _moved(node: c_ast.Node, delta: int, own_file: str) -> c_ast.Node:
    """`node` with every coordinate of the file `delta` lines further (itself if 0)."""
    if delta == 0:
        return node
    cls = node.__class__
    copy = cls.__new__(cls)
    for name in _slots(cls):  # type: ignore[arg-type]
        value = getattr(node, name)
        if isinstance(value, c_ast.Node):
            value = _moved(value, delta, own_file)
        elif isinstance(value, list):
            value = [_moved(v, delta, own_file) if isinstance(v, c_ast.Node) else v for v in value]
        elif isinstance(value, Coord) and value.file == own_file:
            value = Coord(value.file, value.line + delta, value.column)
        setattr(copy, name, value)
    return copy


@functools.cache
def _slots(cls: type[object]) -> tuple[str, ...]:
    return tuple(n for n in getattr(cls, "__slots__", ()) if n != "__weakref__")
