"""Preprocess (pcpp) and parse (pycparser) one generated C file; every parser quirk lives here.

The AST is for analysis only: edits are made later on the original text, located through
`#line`-accurate coordinates and a table of line starts.
"""

from __future__ import annotations

import functools
import gc
import io
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    "asm(...)",
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
COMMENT_OR_LITERAL = re.compile(
    r"//[^\n]*|/\*.*?(?:\*/|\Z)|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'", re.DOTALL
)
# Starts with its literal (fast to search); a match inside a longer name is skipped by hand.
_WORKSPACE_CALL = re.compile(r"TVMBackend(?:Alloc|Free)Workspace\s*\(")
_CPLUSPLUS_ONLY = re.compile(
    r"^[ \t]*#[ \t]*ifdef[ \t]+__cplusplus\b.*?^[ \t]*#[ \t]*endif\b", re.DOTALL | re.MULTILINE
)
# A function definition at file scope: a name, its parameter list, then `{`.
_DEFINITION = re.compile(r"\b([A-Za-z_]\w*)\s*\([^;{}()]*(?:\([^;{}()]*\)[^;{}()]*)*\)\s*\{")

# A brace initializer made only of numbers: weights. Elided before preprocessing.
_NUMERIC_INITIALIZER = re.compile(r"=\s*\{([\s0-9a-fA-FxXpP+\-.,uUlL]*)\}")
ELIDE_MIN_CHARS = 512
PLAIN_ENV = "CREWRITE_PLAIN"  # set: every source goes whole through pcpp (tests compare)

# `#line N "file"` and GNU's `# N "file"`: in a source they would move its own coordinates
# away from its text, where every edit is located.
_LINE_DIRECTIVE = re.compile(r"^[ \t]*#[ \t]*(?:line\b|\d)[^\n]*", re.MULTILINE)
# `asm volatile (...)`: the qualifiers between the keyword and its operand list are blanked
# (same length) so that the macros above swallow it like `__asm__(...)`.
_ASM_QUALIFIERS = re.compile(
    r"\b(__asm__|__asm|asm)((?:\s+(?:volatile|__volatile__|__volatile|inline|goto))+)(?=\s*\()"
)


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


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside: parsing and extraction build hundreds of thousands
    of objects that all stay alive, and the collector's passes over them cost a third of the
    parse time on a large file."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


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
    return COMMENT_OR_LITERAL.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def workspace_call_lines(text: str) -> list[int]:
    """Lines of workspace calls in a source, found without parsing: enough to tell "nothing to
    do" and "already rewritten" before any parse, and which files crewrite must change."""
    if _WORKSPACE_CALL.search(text) is None:
        return []
    code = code_only(text)
    lines, line, counted = [], 1, 0
    for match in _WORKSPACE_CALL.finditer(code):
        if match.start() > 0 and (
            code[match.start() - 1].isalnum() or code[match.start() - 1] == "_"
        ):
            continue
        line += code.count("\n", counted, match.start())
        counted = match.start()
        lines.append(line)
    return lines


def without_cplusplus(code: str) -> str:
    """`#ifdef __cplusplus` blocks blanked (newlines kept): C never sees them, and their
    `extern "C" {` opens a brace the C text does not close."""
    return _CPLUSPLUS_ONLY.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), code)


def defined_functions(text: str) -> set[str]:
    """Names of functions a source seems to define, read from its text (for a file that does
    not parse: what crewrite would miss by leaving it out)."""
    code = without_cplusplus(code_only(text))
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


# The headers pcpp opens while `recording_headers` runs (absolute paths), None otherwise.
_headers_read: set[str] | None = None


@contextmanager
def recording_headers() -> Iterator[set[str]]:
    """Every header pcpp opens inside the block: what a result depends on beyond the
    project's own files and folders (`#include "../common/x.h"`, a header that includes
    another from elsewhere); crewrite.cache checks them before reusing a result. Scoped, so
    that nothing accumulates over the runs of a long-lived process."""
    global _headers_read
    outer, _headers_read = _headers_read, set()
    try:
        yield _headers_read
    finally:
        if outer is not None:
            outer |= _headers_read
        _headers_read = outer


class _Preprocessor(Preprocessor):
    """pcpp with errors collected instead of printed, unknown includes remembered, and every
    header it opens recorded (`recording_headers`)."""

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

    def on_file_open(self, is_system_include: bool, includepath: str) -> Any:
        handle = super().on_file_open(is_system_include, includepath)  # raises if absent
        if _headers_read is not None:
            _headers_read.add(includepath)
        return handle


def _preprocessor(
    include_dirs: list[Path], defines: list[str], kind: type[_Preprocessor] = _Preprocessor
) -> _Preprocessor:
    pp = kind()
    for directory in FAKE_INCLUDE_DIRS + list(include_dirs):
        pp.add_path(str(directory))
    for define in GNU_DEFINES:
        pp.define(define)
    for define in defines:
        name, _, value = define.partition("=")
        pp.define(f"{name} {value or '1'}")
    return pp


def _run(pp: _Preprocessor, text: str, filename: str) -> str:
    with stage("preprocess"):
        pp.parse(text, source=filename)
        out = io.StringIO()
        pp.write(out)
    if pp.errors:
        file, line, msg = pp.errors[0]
        raise CrewriteError(f"preprocessor: {msg}", file, line)
    return out.getvalue()


def preprocess(
    text: str, filename: str, include_dirs: list[Path], defines: list[str]
) -> tuple[str, list[str]]:
    """Run pcpp with our headers first, then the project's and the user's include paths.

    Generated bodies use almost no macros: unless CREWRITE_PLAIN is set, lines that need no
    preprocessing skip pcpp (`_preprocess_needed`) and the result is the same text."""
    if not os.environ.get(PLAIN_ENV):
        skimmed = _preprocess_needed(text, filename, include_dirs, defines)
        if skimmed is not None:
            return skimmed
    pp = _preprocessor(include_dirs, defines)
    return _run(pp, text, filename), pp.missing_includes


class _DefineRecorder(_Preprocessor):
    """pcpp that remembers every macro name a `#define` or `#undef` names, wherever it stands
    (an `#undef` may remove a `-D` or a header's macro after lines that use it)."""

    def __init__(self) -> None:
        super().__init__()
        self.named: set[str] = set()

    def on_directive_handle(
        self, directive: Any, toks: Any, ifpassthru: bool, precedingtoks: Any
    ) -> bool | None:
        if directive.value in ("define", "undef") and toks:
            self.named.add(toks[0].value)
        handled: bool | None = super().on_directive_handle(
            directive, toks, ifpassthru, precedingtoks
        )
        return handled


_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
_CONDITIONAL = re.compile(r"#\s*(if|ifdef|ifndef|endif)\b")
_PASSED = "__crewrite_passed_{}__"
_STAND_IN = "__crewrite_main__."
_PASSED_LINE = re.compile(r"^[ \t]*__crewrite_passed_(\d+)__[ \t]*$", re.MULTILINE)
_PCPP_LINE = re.compile(r'^#line (\d+) "(.*)"$', re.MULTILINE)  # as pcpp writes them


def _preprocess_needed(
    text: str, filename: str, include_dirs: list[Path], defines: list[str]
) -> tuple[str, list[str]] | None:
    """pcpp on the lines that need it, the others passed around it: the same output for the
    parser (every token at its line and column), in a fraction of the time on generated code.

    A line needs pcpp when it is a directive (or continues one), stands inside a conditional
    block, touches a comment, a trigraph or a line continuation, or names a macro that any
    `#define` (of the file, of the headers it includes, our own or `-D`) names; and after a
    macro line with an open parenthesis, or ending with the macro's name, every line until
    the parenthesis closes. The other lines are
    replaced by one placeholder per run and put back after pcpp, between `#line` directives
    (blank lines, such as elided weights, are not put back: a `#line` says where the next
    line stands). None when the result cannot be trusted: then pcpp reads the whole text."""
    if "\r" in text or "__crewrite_" in text or "__FILE__" in text or "__LINE__" in text:
        return None
    lines = text.split("\n")
    code = code_only(text).split("\n")
    keep = [False] * len(lines)
    first, counted = 0, 0  # line of `counted`
    for match in COMMENT_OR_LITERAL.finditer(text):
        if match.group(0)[0] == "/":
            first += text.count("\n", counted, match.start())
            counted = match.start()
            for n in range(first, first + match.group(0).count("\n") + 1):
                keep[n] = True
    depth = 0
    continued = False  # the line before ends with `\` (in a directive, a string, a comment)
    for n, line in enumerate(code):
        stripped = line.lstrip()
        starts = stripped.startswith("#")
        if starts:
            found = _CONDITIONAL.match(stripped)
            if found and found.group(1) == "endif":
                depth -= 1
            elif found:
                depth += 1
        if starts or continued or depth > 0 or "??" in lines[n] or lines[n].endswith("\\"):
            keep[n] = True
        continued = lines[n].endswith("\\")
    if depth != 0:
        return None

    names = _names_defined(lines, keep, filename, include_dirs, defines)
    if "__LINE__" in names:  # pcpp would count the lines it is handed, not the file's
        return None
    opened = 0
    named_last = False  # the last line ended with a macro name: its `(` may follow below
    for n, line in enumerate(code):
        words = _IDENTIFIER.findall(line)
        named = any(word in names for word in words)
        if opened > 0 or named or named_last:
            keep[n] = True  # also counted when kept already (a comment on a macro line)
            opened = max(opened + line.count("(") - line.count(")"), 0)
        ends_named = named and line.rstrip().endswith(words[-1]) and words[-1] in names
        named_last = ends_named or (named_last and not line.strip())

    skeleton: list[str] = []
    original_line: list[int] = [0]  # skeleton line (1-based) -> original line
    runs: list[tuple[int, int]] = []  # (first, last) original lines, 0-based
    n = 0
    while n < len(lines):
        if keep[n]:
            skeleton.append(lines[n])
            original_line.append(n + 1)
            n += 1
            continue
        end = n
        while end + 1 < len(lines) and not keep[end + 1]:
            end += 1
        skeleton.append(_PASSED.format(len(runs)))
        original_line.append(n + 1)
        runs.append((n, end))
        n = end + 1
    pp = _preprocessor(include_dirs, defines)
    base = os.path.basename(filename)
    try:  # under a stand-in name, to tell this file's `#line`s from its headers'
        out = _run(
            pp, "\n".join(skeleton), os.path.join(os.path.dirname(filename), _STAND_IN + base)
        )
    except CrewriteError:
        return None  # the plain path says it, with the file's own name
    back = _put_back(out, lines, runs, original_line, _STAND_IN + base, base)
    return (back, pp.missing_includes) if back is not None else None


def _names_defined(
    lines: list[str], keep: list[bool], filename: str, include_dirs: list[Path], defines: list[str]
) -> set[str]:
    """Every macro name the directives of the file and of what it includes can define."""
    recorder = _preprocessor(include_dirs, defines, _DefineRecorder)
    assert isinstance(recorder, _DefineRecorder)
    directives = "\n".join(line for n, line in enumerate(lines) if keep[n])
    recorder.parse(directives, source=filename)
    recorder.write(io.StringIO())
    names = recorder.named | set(recorder.macros) | {"__COUNTER__"}  # pcpp's own
    if any(t.value == "__LINE__" for macro in recorder.macros.values() for t in macro.value):
        names.add("__LINE__")
    return names


def _put_back(
    out: str,
    lines: list[str],
    runs: list[tuple[int, int]],
    original_line: list[int],
    stand_in: str,
    base: str,
) -> str | None:
    """pcpp's output with each placeholder replaced by its lines and every `#line` of the file
    (under its stand-in name) renumbered from the skeleton's lines to the original's, with
    the name pcpp gives the file itself."""
    found = [int(m.group(1)) for m in _PASSED_LINE.finditer(out)]
    if found != list(range(len(runs))) or out.count("__crewrite_passed_") != len(runs):
        return None
    names = {
        m.group(2)[: -len(stand_in)] + base
        for m in _PCPP_LINE.finditer(out)
        if m.group(2).endswith(stand_in)
    }
    if len(names) != 1 or out.count(stand_in) != sum(
        m.group(2).endswith(stand_in) for m in _PCPP_LINE.finditer(out)
    ):
        return None
    filename = names.pop()

    def renumber(match: re.Match[str]) -> str:
        number = int(match.group(1))
        if not match.group(2).endswith(stand_in):
            return match.group(0)
        if number >= len(original_line):
            number = len(original_line) - 1
        return f'#line {original_line[number]} "{filename}"'

    def run_text(match: re.Match[str]) -> str:
        first, last = runs[int(match.group(1))]
        pieces: list[str] = []
        at = None  # the line the parser counts next
        for n in range(first, last + 1):
            if not lines[n].strip():
                continue
            if at != n:
                pieces.append(f'#line {n + 1} "{filename}"')
            pieces.append(lines[n])
            at = n + 1
        if at != last + 1:
            pieces.append(f'#line {last + 2} "{filename}"')
        return "\n".join(pieces)

    return _PASSED_LINE.sub(run_text, _PCPP_LINE.sub(renumber, out))


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
    plain = _ASM_QUALIFIERS.sub(
        lambda m: m.group(1) + re.sub(r"\S", " ", m.group(2)), _LINE_DIRECTIVE.sub("", text)
    )
    if plain.startswith("\ufeff"):  # a UTF-8 byte order mark, which gcc skips
        plain = " " + plain[1:]
    elided_text, _ = elide_constant_data(plain)
    parser = CParser()
    try:
        with paused_gc():
            preprocessed, missing = preprocess(elided_text, filename, include_dirs, defines)
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
