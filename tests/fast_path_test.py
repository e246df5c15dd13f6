"""The fast paths give what the plain path gives: the same AST (every node at the same line
and column) for each source, and the same analyses and output bytes for each fixture.
CREWRITE_PLAIN forces the plain path: every source whole through pcpp."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from crewrite import frontend
from crewrite.emit import Edit, apply_edits
from crewrite.errors import CrewriteError
from crewrite.frontend import PLAIN_ENV, TranslationUnit, parse_source
from crewrite.pipeline import rewrite_project
from crewrite.project import load_project
from crewrite.reading import read_program
from crewrite.report import make_report
from crewrite.reread import reread_source

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
ALL_FIXTURES = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())

HEADER = """#include <stdint.h>
#include "tvm/runtime/c_runtime_api.h"
#include "tvm/runtime/c_backend_api.h"
#define SCALE(x) ((x) * 3)
#define WIDE(a, b) \\
  ((a) + (b))
"""

CASES = {
    "macros over several lines": HEADER
    + """
static const int8_t __attribute__((section(".rodata"),
    aligned(16))) w[4] = {1, 2, 3, 4};
TVM_DLL int32_t f(int8_t* p0,
    int8_t* p1) {
  int32_t a = SCALE(
      p0[1]);
  int32_t b = WIDE(a,
      p1[2]) + 7;
  return a + b;
}
""",
    "comments and conditionals": HEADER
    + """
/* a comment
   over lines */ int32_t g(int32_t x) {
  int32_t y = x; // trailing
#ifdef __cplusplus
  y = 0;
#else
  y = y + 1;
#endif
#pragma GCC unroll 4
  for (int32_t i = 0; i < 4; ++i) {
    y += i;
  }
  return y;
}
#undef SCALE
#define SCALE(x) ((x) - 1)
int32_t h(int32_t x) { return SCALE(x) + NULL_CHECK; }
""",
    "line directives dropped": HEADER
    + """int32_t f(int32_t x) { return SCALE(x); }
# 900 "other.c"
int32_t g(int32_t x) { return x; }
#line 40
int32_t h(int32_t x) { return SCALE(x); }
""",
    "a -D macro undefined after its use": HEADER
    + """int8_t buf[NULL_CHECK + 8];
#undef NULL_CHECK
int32_t after;
""",
    "macro calls opened on a kept line or named alone": HEADER
    + """int32_t f(int32_t x) {
  int32_t a = SCALE(x) + 1;
  a += WIDE
      (x, 2);
  int32_t b = WIDE(x,  // a comment
      3);
  return a + b;
}
""",
    "a line continued inside a string": HEADER
    + """const char* s = "abc\\
def";
int32_t after;
""",
    "__COUNTER__": HEADER + "int32_t a = __COUNTER__;\n\nint32_t b = __COUNTER__;\n",
    "weights elided, then code": HEADER
    + "static const int8_t big[600] = {"
    + ",\n".join(", ".join(str((i * 7 + j) % 100) for j in range(20)) for i in range(30))
    + "};\n\n\n\nint32_t k(void) {\n\tint32_t  t  =   big[1];\n  return t;\n}\n",
}


def _dump(tu: TranslationUnit) -> str:
    out = io.StringIO()
    tu.ast.show(buf=out, attrnames=True, nodenames=True, showcoord=True)
    return out.getvalue()


def _both(
    monkeypatch: pytest.MonkeyPatch, source: Path, text: str, include: list[Path]
) -> tuple[str, str]:
    """The plain path's AST (or error) and the fast path's."""

    def parsed() -> str:
        try:
            return _dump(parse_source("x.c", source, text, include, ["NULL_CHECK=0"]))
        except CrewriteError as exc:
            return f"{exc.file}:{exc.line}: {exc.reason}"

    monkeypatch.setenv(PLAIN_ENV, "1")
    plain = parsed()
    monkeypatch.delenv(PLAIN_ENV)
    return plain, parsed()


@pytest.mark.parametrize("case", sorted(CASES))
def test_cases_parse_the_same(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mocker_spy: list[str]
) -> None:
    source = tmp_path / "src" / "x.c"
    source.parent.mkdir()
    plain, fast = _both(monkeypatch, source, CASES[case], [])
    assert fast == plain
    assert mocker_spy, "the fast path was not taken"


@pytest.mark.parametrize("use", ["__LINE__", "HERE"])
def test_line_macro_counts_the_files_lines(
    use: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`__LINE__`, written or from a macro, is the line in the file, not in what the fast
    path hands pcpp."""
    source = tmp_path / "src" / "x.c"
    source.parent.mkdir()
    text = HEADER + f"#define HERE (__LINE__ + 0)\nint32_t a;\n\nint32_t b = {use};\n"
    plain, fast = _both(monkeypatch, source, text, [])
    assert fast == plain
    assert "value=10 " in fast


@pytest.fixture
def mocker_spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Texts the fast path handed back (so a test knows it ran, not its fallback)."""
    taken: list[str] = []
    real = frontend._put_back

    def spy(*args: object, **kwargs: object) -> str | None:
        out = real(*args, **kwargs)  # type: ignore[arg-type]
        if out is not None:
            taken.append(out)
        return out

    monkeypatch.setattr(frontend, "_put_back", spy)
    return taken


def test_fast_path_skips_what_needs_no_preprocessing(tmp_path: Path) -> None:
    """The lines pcpp sees are the directives, the macro lines and their continuations."""
    source = tmp_path / "src" / "x.c"
    source.parent.mkdir()
    text, _ = frontend.elide_constant_data(CASES["weights elided, then code"])
    out, _ = frontend.preprocess(text, str(source), [], [])
    assert "\n\n\n\n" not in out.split("int32_t k")[0][-200:]  # no run of blank lines
    assert f'#line {text.count(chr(10), 0, text.index("int32_t k")) + 1} "{source}"' in out


REWRITTEN = (
    HEADER
    + """#ifdef __cplusplus
extern "C" {
#endif
static const int8_t w[4] = {1, 2, 3, 4};
int32_t one(void) { return 1; }
TVM_DLL int32_t f(int8_t* p0,
    int8_t* p1) {
  void* buf = TVMBackendAllocWorkspace(1, 0, (uint64_t)64, 0, 8);
  if (buf == NULL) {
    return -1;
  }
  for (int32_t i = 0; i < 4; ++i) {
    ((int8_t*)buf)[i] = p0[i];
  }
  if (p1[0]) {
    p1[1] = SCALE(((int8_t*)buf)[0]);
  }
  else {
    p1[1] = 0;
  }
#pragma GCC unroll 4
  for (int32_t j = 0; j < 4; ++j) {
    p1[j] += w[j];
  }
  if (TVMBackendFreeWorkspace(1, 0, buf) != 0) {
    return -1;
  }
  return one();
}
int32_t g(int32_t x) {
  int32_t y = x;
  do {
    y -= 1;
  }
  while (y > 0);
  return y;
}
#ifdef __cplusplus
}
#endif
"""
)


def _edits(text: str) -> list[Edit]:
    """What a rewrite does: a declaration added above (every line below moves), a call
    replaced, a statement added inside a body, a name replaced in an `if` with an `else`, a
    call replaced inside an if, a name replaced in a `do`'s body."""
    alloc = text.index("TVMBackendAllocWorkspace(1, 0, (uint64_t)64, 0, 8)")
    free = text.index("TVMBackendFreeWorkspace(1, 0, buf)")
    pragma = text.index("#pragma")
    branch = text.index("buf)[0]);")
    return [
        Edit(
            "x.c", text.index("static const"), text.index("static const"), "static uint8_t a[64];\n"
        ),
        Edit("x.c", alloc, alloc + len("TVMBackendAllocWorkspace(1, 0, (uint64_t)64, 0, 8)"), "a"),
        Edit("x.c", pragma, pragma, "  buf = (void*)&a[0];\n"),
        Edit("x.c", branch, branch + 3, "p0"),
        Edit("x.c", free, free + len("TVMBackendFreeWorkspace(1, 0, buf)"), "0"),
        Edit("x.c", text.index("y -= 1"), text.index("y -= 1") + 1, "(y)"),
    ]


@pytest.mark.parametrize("which", ["all", "one", "none"])
def test_reread_is_the_full_parse(
    which: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rewritten source read back from the original's AST and the changed chunks: the
    same AST (every line and column) as parsing the new text whole."""
    source = tmp_path / "src" / "x.c"
    source.parent.mkdir()
    edits = {"all": _edits(REWRITTEN), "one": _edits(REWRITTEN)[4:5], "none": []}[which]
    new_text = apply_edits(REWRITTEN, edits)
    original = parse_source("x.c", source, REWRITTEN, [], [])
    whole = parse_source("x.c", source, new_text, [], [])
    calls: list[str] = []
    real = frontend.parse_source

    def spy(rel: str, path: Path, text: str, *args: object) -> TranslationUnit:
        calls.append(text)
        return real(rel, path, text, *args)  # type: ignore[arg-type]

    monkeypatch.setattr("crewrite.reread.parse_source", spy)
    again = reread_source(original, new_text, edits, [], [])
    assert _dump(again) == _dump(whole)
    assert (again.text, again.line_starts) == (new_text, whole.line_starts)
    assert len(calls) == 1 and calls[0] != new_text, "not read back in part"


def test_reread_knows_the_files_own_typedefs(tmp_path: Path) -> None:
    """A typedef of the file, in a chunk no edit touches, still makes `acc_t * q = 0;` in an
    edited chunk a declaration (not a product assigned to)."""
    source = tmp_path / "src" / "x.c"
    source.parent.mkdir()
    text = HEADER + (
        "int32_t one(void) { return 1; }\n"
        "typedef int32_t acc_t;\n"
        "int32_t f(void) {\n"
        "  void* buf = TVMBackendAllocWorkspace(1, 0, (uint64_t)64, 0, 8); acc_t * q = 0;\n"
        "  return (int32_t)(buf != 0) + (q == 0);\n"
        "}\n"
    )
    call = "TVMBackendAllocWorkspace(1, 0, (uint64_t)64, 0, 8)"
    edits = [Edit("x.c", text.index(call), text.index(call) + len(call), "a")]
    new_text = apply_edits(text, edits)
    original = parse_source("x.c", source, text, [], [])
    whole = parse_source("x.c", source, new_text, [], [])
    again = reread_source(original, new_text, edits, [], [])
    assert _dump(again) == _dump(whole)
    assert "Decl <block_items[1]>: name=q" in _dump(again)


@pytest.mark.e2e
@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_fixtures_rewrite_the_same(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every source of every fixture parses to the same AST, and the rewrite gives the same
    report and the same bytes, with and without the fast paths."""
    project = load_project([FIXTURES / name], None, [])
    try:
        for rel in project.sources:
            plain, fast = _both(
                monkeypatch, project.path(rel), project.texts[rel], project.include_dirs
            )
            assert fast == plain, rel
        monkeypatch.setenv(PLAIN_ENV, "1")
        plain_result = rewrite_project(project)
        monkeypatch.delenv(PLAIN_ENV)
        fast_result = rewrite_project(project)
    finally:
        project.close()
    assert fast_result.new_texts == plain_result.new_texts
    units = read_program(project, []).translation_units
    for rel, text in fast_result.new_texts.items():
        if rel in units:
            whole = parse_source(rel, project.path(rel), text, project.include_dirs, [])
            again = reread_source(
                units[rel], text, fast_result.edits[rel], project.include_dirs, []
            )
            assert _dump(again) == _dump(whole), rel
    plain_json = make_report(plain_result, name, False).to_json()
    fast_json = make_report(fast_result, name, False).to_json()
    for report in (plain_json, fast_json):
        report.pop("seconds", None)
    assert fast_json == plain_json


JUMPS = (
    HEADER
    + """
int32_t h(int32_t* p, int32_t n) {
  int32_t* q = &n;
  for (int32_t i = 0; i < n; ++i) {
    for (int32_t j = 0; j < n; ++j) {
      if (p[j] < 0) { continue; }
      if (p[j] > 9) { break; }
      switch (p[j]) { case 1: break; default: p[j] += 1; }
    }
    while (p[i] > 0) { p[i]--; if (p[i] == 5) { return -1; } }
    do { n -= 1; if (n == 3) { continue; } } while (n > 7);
    if (i == 4) { goto out; }
  }
out:
  return *q;
}
"""
)


@pytest.mark.parametrize("name", ["kws_native", "vww_kernels", "two_modules_usmp", "jumps"])
def test_one_scan_of_a_body_answers_what_each_scan_would(name: str, tmp_path: Path) -> None:
    """extents.scans.scan_body: for every subtree of every function, the names `assigned`
    finds and the exits `jumps` finds; the body's taken addresses and gotos."""
    from pycparser import c_ast

    from crewrite.extents import scans
    from crewrite.extract import fold_constant

    if name == "jumps":
        source = tmp_path / "x.c"
        units = {"x.c": parse_source("x.c", source, JUMPS, [], [])}
    else:
        project = load_project([FIXTURES / name], None, [])
        try:
            units = dict(read_program(project, []).translation_units)
        finally:
            project.close()

    def is_error(node: c_ast.Node) -> bool:
        value = fold_constant(node.expr) if isinstance(node, c_ast.Return) and node.expr else None
        return value is not None and value != 0

    checked = 0
    for tu in units.values():
        for ext in tu.ast.ext:
            if not isinstance(ext, c_ast.FuncDef) or not tu.is_own(ext):
                continue
            scan = scans.scan_body(ext.body, is_error)
            for node in scans.walk(ext.body):
                assert scan.assigned([node]) == scans.assigned([node])
                assert scan.exits[id(node)] == scans.jumps(node, is_error)
                checked += 1
            assert scan.addresses == scans.address_taken(ext.body)
            goto = any(isinstance(n, c_ast.Goto | c_ast.Label) for n in scans.walk(ext.body))
            assert scan.goto == goto
    assert checked > 100
