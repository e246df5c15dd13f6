"""The frontend: weights elided with lines kept, GNU C parsed, errors placed."""

from __future__ import annotations

from pathlib import Path

import pytest

from crewrite.errors import CrewriteError
from crewrite.frontend import elide_constant_data, parse_source


def test_elision_keeps_every_line_and_the_code_after_it():
    weights = ",\n".join("+0x12, -0x07, 0x1.058e08p-3, -12" for _ in range(200))
    text = f"static const int8_t w[800] = {{\n{weights}\n}};\nint f(void) {{ return 1; }}\n"
    elided, count = elide_constant_data(text)
    assert count > 0
    assert elided.count("\n") == text.count("\n")
    assert elided.endswith("};\nint f(void) { return 1; }\n")
    assert len(elided) < len(text) / 10


def test_small_initializers_are_kept():
    text = "int32_t dims[4] = {1, 25, 5, 64};\n"
    assert elide_constant_data(text) == (text, 0)


GNU = """\
#include "tvm/runtime/c_runtime_api.h"
#include <arm_nnsupportfunctions.h>
#include <stdbool.h>
#ifdef __cplusplus
extern "C" {
#endif
static const float __attribute__((section(".rodata.tvm"), aligned(16))) k[2] = {
  -0x1.058e08p-3, 0x1.3b05e4p-6
};
#ifdef __cplusplus
}
#endif
static inline __attribute__((always_inline)) int32_t dot(int8_t* __restrict__ a, int n) {
  int32_t s = 0;
  #pragma GCC unroll 4
  for (int i = 0; i < n; ++i) { s = __SMLAD(a[i], a[i], s); }
  return s + (int32_t)((int64_t)s * 3 >> 1);
}
"""


def test_gnu_c_of_generated_code_parses(tmp_path: Path):
    path = tmp_path / "default_lib1.c"
    path.write_text(GNU)
    tu = parse_source("default_lib1.c", path, GNU, [], [])
    names = [e.decl.name for e in tu.ast.ext if type(e).__name__ == "FuncDef"]
    assert names == ["dot"]
    assert tu.ast.ext[-1].coord.line == 13 and tu.ast.ext[-1].coord.file == str(path)


def test_parse_error_names_the_original_file_and_line(tmp_path: Path):
    text = "#include <stdint.h>\nint f(void) {\n  return 1 +;\n}\n"
    path = tmp_path / "bad.c"
    with pytest.raises(CrewriteError) as err:
        parse_source("bad.c", path, text, [], [])
    assert err.value.file == str(path) and err.value.line == 3
    assert "cannot parse C" in err.value.reason


def test_missing_header_is_named_when_parsing_fails(tmp_path: Path):
    text = '#include "vendor_types.h"\nvendor_t f(void) { return 0; }\n'
    with pytest.raises(CrewriteError) as err:
        parse_source("a.c", tmp_path / "a.c", text, [], [])
    assert "vendor_types.h" in err.value.reason and "-I" in err.value.reason


def test_user_defines_reach_the_preprocessor(tmp_path: Path):
    text = "#ifdef WANT\nint f(void) { return 1; }\n#endif\n"
    tu = parse_source("a.c", tmp_path / "a.c", text, [], ["WANT"])
    assert len(tu.ast.ext) == 1


def own_functions(tmp_path: Path, text: str) -> list[tuple[str, int, bool]]:
    """Name, line and whether it is the file's own, of every function a source defines."""
    path = tmp_path / "default_lib1.c"
    path.write_text(text)
    tu = parse_source("default_lib1.c", path, text, [], [])
    funcs = [e for e in tu.ast.ext if type(e).__name__ == "FuncDef"]
    return [(f.decl.name, f.coord.line, tu.is_own(f)) for f in funcs]


def test_line_directives_in_a_source_do_not_move_its_code(tmp_path: Path):
    """Coordinates locate edits in this very text: a `#line` (or `# N "file"`) in the source
    must not make its functions look like they come from another file or line."""
    text = (
        "#include <stdint.h>\n"
        '#line 1 "generated.cc"\n'
        "int f(void) { return 1; }\n"
        '# 900 "other.c"\n'
        "int g(void) { return 2; }\n"
    )
    assert own_functions(tmp_path, text) == [("f", 3, True), ("g", 5, True)]


def test_inline_assembly_with_qualifiers_parses(tmp_path: Path):
    """`asm volatile (...)`, the usual spelling of GNU inline assembly (in hand-extended
    operators, or CMSIS's own helpers), is read like `__asm__(...)`."""
    text = (
        "#include <stdint.h>\n"
        "static inline int32_t ror(int32_t x) {\n"
        "  int32_t r;\n"
        '  __asm__ __volatile__ ("ror %0, %1, #8" : "=r"(r) : "r"(x));\n'
        '  __asm volatile ("" ::: "memory");\n'
        '  asm volatile ("nop");\n'
        '  asm ("nop");\n'
        "  return r;\n"
        "}\n"
        "int f(void) { return ror(1); }\n"
    )
    assert own_functions(tmp_path, text) == [("ror", 2, True), ("f", 10, True)]


def test_a_byte_order_mark_is_read_as_gcc_reads_it(tmp_path: Path):
    """A source saved by a Windows editor starts with a UTF-8 BOM, which gcc skips."""
    text = "\ufeff#include <stdint.h>\nint f(void) { return 1; }\n"
    assert own_functions(tmp_path, text) == [("f", 2, True)]
