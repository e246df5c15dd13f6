"""From AST coordinates back to the original text, where edits are made.

pycparser's columns count in the preprocessed text, which drifts from the original where a
macro expanded; so every place is checked against the original spelling, and refused when
it cannot be told for sure. Indices are into the text as read (characters).
"""

from __future__ import annotations

import re

from pycparser import c_ast

from crewrite.errors import CrewriteError
from crewrite.frontend import TranslationUnit


def line_of(node: c_ast.Node) -> int:
    """The line pycparser gave a node (each node it parses from text has a place)."""
    assert node.coord is not None
    line: int = node.coord.line
    return line


def locate_call(tu: TranslationUnit, node: c_ast.FuncCall, callee: str) -> tuple[int, int]:
    """Start and end of `callee(...)` in the original text, checked against the spelling
    there."""
    line = line_of(node)
    if line > len(tu.line_starts):
        raise CrewriteError(f"{callee} call lies outside the file", tu.rel, line)
    begin = tu.line_starts[line - 1]
    guess = tu.offset(line, node.coord.column if node.coord and node.coord.column else 1)
    if tu.text.startswith(callee, guess):
        start = guess
    else:
        line_end = tu.text.find("\n", begin)
        line_text = tu.text[begin : line_end if line_end >= 0 else len(tu.text)]
        hits = [m.start() for m in re.finditer(re.escape(callee) + r"\s*\(", line_text)]
        if len(hits) != 1:
            raise CrewriteError(
                f"cannot find the text of the {callee} call (it comes from a macro or shares "
                "its line): refusing to edit it",
                tu.rel,
                line,
            )
        start = begin + hits[0]
    paren = tu.text.find("(", start)
    depth = 0
    for pos in range(paren, len(tu.text)):
        ch = tu.text[pos]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return start, pos + 1
    raise CrewriteError(f"unbalanced parentheses in the {callee} call", tu.rel, line)


def statement_start(
    tu: TranslationUnit, item: c_ast.Node, line: int, brace_line: int | None = None
) -> int | None:
    """Where text can be inserted right before a statement: the start of its line (above
    any `#pragma` lines that belong to it), or just after the function's `{` when the first
    statement shares its line (`... run(...) {return f(x);`: found in the text, since columns
    drift where a macro such as TVM_DLL expanded); None if another statement ends on that
    line."""
    begin = tu.line_starts[line - 1]
    if line == brace_line:
        brace = tu.text.find(
            "{", begin, tu.line_starts[line] if line < len(tu.line_starts) else len(tu.text)
        )
        return brace + 1 if brace >= 0 else None
    column = item.coord.column if item.coord and item.coord.column else 1
    before = tu.text[begin : begin + column - 1]
    if ";" in before or "}" in before:
        return None
    if "{" in before:
        if before.rstrip().endswith("{") and not isinstance(item, c_ast.Decl):
            return begin + column - 1
        return None
    while line > 1:
        above = tu.text[tu.line_starts[line - 2] : tu.line_starts[line - 1]].strip()
        if not above.startswith("#pragma"):
            break
        line -= 1
    return tu.line_starts[line - 1]
