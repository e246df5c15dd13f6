"""The fast paths give what the plain path gives: the same AST (every node at the same line
and column) for each source, and the same analyses and output bytes for each fixture.
CREWRITE_PLAIN forces the plain path: every source whole through pcpp."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from crewrite import frontend
from crewrite.errors import CrewriteError
from crewrite.frontend import PLAIN_ENV, TranslationUnit, parse_source
from crewrite.pipeline import rewrite_project
from crewrite.project import load_project
from crewrite.report import json_report

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
    plain_json, fast_json = json_report(plain_result), json_report(fast_result)
    for report in (plain_json, fast_json):
        report.pop("seconds", None)
    assert fast_json == plain_json
