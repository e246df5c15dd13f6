"""Preprocess (pcpp) and parse (pycparser) one generated C file; every parser quirk lives here.

The AST is for analysis only: edits are made later on the original text, located through
`#line`-accurate coordinates and a table of line starts.
"""

from __future__ import annotations

import functools
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

from pcpp import Preprocessor
from pcpp.parser import Action, OutputDirective
from pycparser import c_ast
from pycparser.c_parser import CParser, ParseError

from crewrite.errors import CrewriteError
from crewrite.timing import stage


def _fake_libc() -> Path:
    """Our headers: inside the installed package, or at the top of a source checkout."""
    installed = Path(__file__).resolve().parent / "fake_libc_include"
    return (
        installed
        if installed.is_dir()
        else Path(__file__).resolve().parent.parent / ("fake_libc_include")
    )


FAKE_LIBC = _fake_libc()
FAKE_INCLUDE_DIRS = [FAKE_LIBC / "libc", FAKE_LIBC / "tvm", FAKE_LIBC / "cmsis"]

# GNU C that pycparser does not read, removed by the preprocessor with variadic macros that
# swallow whatever argument list follows.
GNU_DEFINES = [
    "__attribute__(...)",
    "__attribute(...)",
    "__declspec(...)",
    "__asm__(...)",  # inline assembly has operand lists: `__asm("..." : "=r"(x) : ...)`
    "__asm(...)",
    "__restrict__",
    "__restrict",
    "__inline__ inline",
    "__inline inline",
    "__forceinline inline",
    "__extension__",
    "__volatile__ volatile",
    "__const const",
    "__signed__ signed",
    "__builtin_va_list void*",
    "__STATIC_FORCEINLINE static inline",
    "__STATIC_INLINE static inline",
    "__ALIGNED(x)",
    "__PACKED",
    "__NO_RETURN",
    "__WEAK",
    "__USED",
    "__GNUC__ 12",
]

# Comments and string or character literals, blanked before a text scan of C.
_COMMENT_OR_LITERAL = re.compile(
    r"//[^\n]*|/\*.*?(?:\*/|\Z)|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'", re.DOTALL
)
_WORKSPACE_CALL = re.compile(r"\b(?:TVMBackendAllocWorkspace|TVMBackendFreeWorkspace)\s*\(")
_CPLUSPLUS_ONLY = re.compile(
    r"^[ \t]*#[ \t]*ifdef[ \t]+__cplusplus\b.*?^[ \t]*#[ \t]*endif\b", re.DOTALL | re.MULTILINE
)
# A function definition at file scope: a name, its parameter list, then `{`.
_DEFINITION = re.compile(r"\b([A-Za-z_]\w*)\s*\([^;{}()]*(?:\([^;{}()]*\)[^;{}()]*)*\)\s*\{")

# A brace initializer made only of numbers: weights. Elided before preprocessing.
_NUMERIC_INITIALIZER = re.compile(r"=\s*\{([\s0-9a-fA-FxXpP+\-.,uUlL]*)\}")
ELIDE_MIN_CHARS = 512


@dataclass
class TranslationUnit:
    """One parsed source file with what is needed to map coordinates back to its text."""

    rel: str
    filename: str  # the name its own coordinates carry
    text: str
    ast: c_ast.FileAST
    line_starts: list[int]

    def offset(self, line: int, column: int = 1) -> int:
        """Index in `text` (characters, not bytes) of a 1-based line and column."""
        return self.line_starts[line - 1] + column - 1

    def is_own(self, node: c_ast.Node) -> bool:
        """Whether a node comes from this file rather than a header (pcpp names files in
        `#line` relative to the working directory)."""
        return node.coord is not None and _same_file(node.coord.file, self.filename)


@functools.lru_cache(maxsize=4096)
def _same_file(a: str, b: str) -> bool:
    return a == b or os.path.realpath(a) == os.path.realpath(b)


def line_starts(text: str) -> list[int]:
    starts = [0]
    for match in re.finditer("\n", text):
        starts.append(match.end())
    return starts


def elide_constant_data(text: str) -> tuple[str, int]:
    """Replace large numeric initializers by `{0}` padded with the same newlines.

    Weights carry no information for crewrite and dominate preprocessing and parse time;
    keeping every newline keeps every line number (and every column outside the braces).
    """
    pieces: list[str] = []
    last = 0
    elided = 0
    for match in _NUMERIC_INITIALIZER.finditer(text):
        body = match.group(1)
        if len(body) < ELIDE_MIN_CHARS:
            continue
        start, end = match.span(1)
        pieces.append(text[last:start])
        pieces.append("0" + "\n" * body.count("\n"))
        last = end
        elided += len(body)
    pieces.append(text[last:])
    return "".join(pieces), elided


def code_only(text: str) -> str:
    """The text with comments and string literals blanked (newlines kept), for text scans."""
    return _COMMENT_OR_LITERAL.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def workspace_call_lines(text: str) -> list[int]:
    """Lines of workspace calls in a source, found without parsing: enough to tell "nothing to
    do" and "already rewritten" before any parse, and which files crewrite must change."""
    code = code_only(text)
    return [code.count("\n", 0, m.start()) + 1 for m in _WORKSPACE_CALL.finditer(code)]


def defined_functions(text: str) -> set[str]:
    """Names of functions a source seems to define, read from its text (for a file that does
    not parse: what crewrite would miss by leaving it out)."""
    code = _CPLUSPLUS_ONLY.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), code_only(text))
    names = set()
    depth = 0
    last = 0
    for match in re.finditer(r"[{}]", code):
        if depth == 0:
            for found in _DEFINITION.finditer(code, last, match.end()):
                names.add(found.group(1))
        depth += 1 if match.group(0) == "{" else -1
        depth = max(depth, 0)
        last = match.end()
    return names - {"if", "for", "while", "switch", "return", "sizeof"}


class _Preprocessor(Preprocessor):
    """pcpp with errors collected instead of printed, and unknown includes remembered."""

    def __init__(self) -> None:
        super().__init__()
        self.line_directive = "#line"
        self.errors: list[tuple[str, int, str]] = []
        self.missing_includes: list[str] = []

    def on_error(self, file: str, line: int, msg: str) -> None:
        self.errors.append((file, line, msg))

    def on_include_not_found(
        self, is_malformed: bool, is_system_include: bool, curdir: str, includepath: str
    ) -> None:
        # A header we do not have is skipped; if it declared a type the code needs, the
        # parse error below names it.
        self.missing_includes.append(includepath)
        raise OutputDirective(Action.IgnoreAndRemove)

    def on_comment(self, tok: object) -> bool:
        return False


def preprocess(
    text: str, filename: str, include_dirs: list[Path], defines: list[str]
) -> tuple[str, list[str]]:
    """Run pcpp with our headers first, then the project's and the user's include paths."""
    pp = _Preprocessor()
    for directory in FAKE_INCLUDE_DIRS + list(include_dirs):
        pp.add_path(str(directory))
    for define in GNU_DEFINES:
        pp.define(define)
    for define in defines:
        name, _, value = define.partition("=")
        pp.define(f"{name} {value or '1'}")
    with stage("preprocess"):
        pp.parse(text, source=filename)
        out = io.StringIO()
        pp.write(out)
    if pp.errors:
        file, line, msg = pp.errors[0]
        raise CrewriteError(f"preprocessor: {msg}", file, line)
    return out.getvalue(), pp.missing_includes


_PARSE_ERROR_PLACE = re.compile(r"^(?P<file>.*?):(?P<line>\d+):(?:(?P<col>\d+):)?\s*(?P<msg>.*)$")


def _error_place(parser: CParser, message: str, filename: str) -> tuple[str, int | None, str]:
    """File, line and reason of a pycparser error. Some of its errors carry only a file name;
    then the token the parser stopped at gives the line."""
    place = _PARSE_ERROR_PLACE.match(message)
    if place:
        return place.group("file"), int(place.group("line")), place.group("msg")
    msg = message.split(": ", 1)[-1]
    try:
        tok = parser._tokens.peek(1)
        coord = parser._tok_coord(tok) if tok is not None else None
    except (AttributeError, IndexError):
        tok, coord = None, None
    if tok is not None and getattr(tok, "value", None):
        msg += f" near '{tok.value}'"
        if getattr(tok, "type", "") == "ID":
            msg += " (a type from a header crewrite does not see? pass -I DIR or -D NAME=type)"
    if coord is not None and coord.line:
        return coord.file or filename, coord.line, msg
    return filename, None, msg


def _include_line(text: str, header: str) -> int | None:
    """Line of `#include <header>` or `#include "header"` in a source, if it is there."""
    found = re.search(
        rf'^[ \t]*#[ \t]*include[ \t]*[<"]{re.escape(header)}[>"]', text, re.MULTILINE
    )
    return text.count("\n", 0, found.start()) + 1 if found else None


def parse_source(
    rel: str, path: Path, text: str, include_dirs: list[Path], defines: list[str]
) -> TranslationUnit:
    """Elide weights, preprocess, parse; errors name the original file and line."""
    filename = str(path)
    elided_text, _ = elide_constant_data(text)
    preprocessed, missing = preprocess(elided_text, filename, include_dirs, defines)
    parser = CParser()
    try:
        with stage("parse"):
            ast = parser.parse(preprocessed, filename)
    except ParseError as exc:
        file, line, msg = _error_place(parser, str(exc), filename)
        reason = f"cannot parse C: {msg}"
        if msg.startswith(("before:", "Invalid declaration")) and "pass -I" not in msg:
            reason += " (an unknown type name? pass -I DIR for its header, or -D NAME=type)"
        for header in dict.fromkeys(missing):
            at = _include_line(text, header)
            if at is not None:  # the likely cause, in this very file: name its line
                where = f" at line {line}" if line is not None else ""
                raise CrewriteError(
                    f"#include {header!r} not found, and parsing then failed{where}: {msg} "
                    "(pass -I DIR for the folder that holds it)",
                    filename,
                    at,
                ) from None
        if missing:
            reason += f" (headers not found, pass -I: {', '.join(sorted(set(missing)))})"
        raise CrewriteError(reason, file, line) from None
    return TranslationUnit(
        rel=rel,
        filename=filename,
        text=text,
        ast=ast,
        line_starts=line_starts(text),
    )
