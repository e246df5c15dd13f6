"""Extraction: sites with folded sizes, buffers named by (function, variable), aliases,
escapes, the call graph, and clear refusals."""

from __future__ import annotations

import pytest

from crewrite.errors import CrewriteError
from helpers.cases import TWO_OPS
from helpers.projects import make_project, program_of


def test_sites_sizes_and_identity(project):
    root = project(TWO_OPS)
    prog = program_of(root)
    keys = [(s.key, s.size) for s in prog.allocs]
    assert keys == [
        (("tvmgen_t_op_a", "data_vec"), 1024),
        (("tvmgen_t_op_b", "data_vec"), 2048),
        (("tvmgen_t___tvm_main__", "sid_1"), 64),
    ]
    text = (root / "model/codegen/host/src/t_lib1.c").read_text()
    assert [text[s.start : s.end] for s in prog.allocs] == [
        "TVMBackendAllocWorkspace(1, 0, (uint64_t)1024, 0, 8)",
        "TVMBackendAllocWorkspace(1, 0, (uint64_t)(4 * 512), 2, 32)",
        "TVMBackendAllocWorkspace(1, 0, (uint64_t)64, 0, 8)",
    ]
    assert [(s.function, text[s.start : s.end]) for s in prog.frees] == [
        ("tvmgen_t_op_a", "TVMBackendFreeWorkspace(1, 0, data_vec)"),
        ("tvmgen_t_op_b", "TVMBackendFreeWorkspace(1, 0, data_vec)"),
        ("tvmgen_t___tvm_main__", "TVMBackendFreeWorkspace(1, 0, sid_1)"),
    ]


def test_aliases_escapes_and_call_graph(project):
    prog = program_of(project(TWO_OPS))
    op_a, op_b = prog.functions["tvmgen_t_op_a"], prog.functions["tvmgen_t_op_b"]
    assert op_a.aliases["row"] == {"data_vec"}
    assert op_a.escapes == frozenset()
    assert op_b.escapes == {"data_vec"}  # stored in a file-level pointer
    assert set(prog.call_graph.successors("tvmgen_t___tvm_main__")) == {
        "tvmgen_t_op_a",
        "tvmgen_t_op_b",
    }
    assert prog.roots("t") == ["tvmgen_t___tvm_main__"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            "int32_t f(int n) {\n  void* b = TVMBackendAllocWorkspace(1, 0, (uint64_t)n, 0, 8);\n"
            "  return 0;\n}\n",
            "is not a constant",
        ),
        (
            "int32_t f(void) {\n  void* b = TVMBackendAllocWorkspace(1, 0, (uint64_t)8, 0, 8);\n"
            "  void* c = TVMBackendAllocWorkspace(1, 0, (uint64_t)8, 0, 8);\n"
            "  TVMBackendFreeWorkspace(1, 0, b);\n  b = TVMBackendAllocWorkspace(1, 0, "
            "(uint64_t)8, 0, 8);\n  return 0;\n}\n",
            "allocated twice",
        ),
        (
            "int32_t f(void* q) {\n  if (TVMBackendFreeWorkspace(1, 0, q) != 0) { return -1; }\n"
            "  return 0;\n}\n",
            "did not allocate",
        ),
        (
            "int32_t g(void);\nint32_t f(void) {\n  void* b = TVMBackendAllocWorkspace(1, 0, "
            "(uint64_t)8, 0, 8);\n  g();\n  return 0;\n}\nint32_t g(void) { return f(); }\n",
            "recursive",
        ),
        (
            # A macro shifts the columns, and two calls share the line: which text is whose?
            "#define VP void*\nint32_t f(void) {\n  VP a = TVMBackendAllocWorkspace(1, 0, "
            "(uint64_t)8, 0, 8); VP b = TVMBackendAllocWorkspace(1, 0, (uint64_t)8, 0, 8);\n"
            "  TVMBackendFreeWorkspace(1, 0, b);\n  TVMBackendFreeWorkspace(1, 0, a);\n"
            "  return 0;\n}\n",
            "cannot find the text of the TVMBackendAllocWorkspace call",
        ),
    ],
    ids=["size-not-constant", "allocated-twice", "free-foreign", "recursion", "shared-line"],
)
def test_refusals_name_file_line_reason(project, body, reason):
    with pytest.raises(CrewriteError) as err:
        program_of(project(body))
    assert reason in err.value.reason
    assert err.value.file is not None and err.value.file.endswith("t_lib1.c")
    assert err.value.line is not None


CMSIS = """
#include <arm_nnfunctions.h>
int32_t tvmgen_t_cmsis_nn_main_0(int8_t* input_, int8_t* output_) {
  cmsis_nn_context context= {NULL,0};
  cmsis_nn_pool_params pool_params = {{1, 1}, {0, 0}, {-128, 127}};
  cmsis_nn_dims input_dims = {1, 4, 4, 8};
  cmsis_nn_dims filter_dims = {1, 2, 2, 1};
  cmsis_nn_dims output_dims = {1, 3, 3, 8};
  arm_cmsis_nn_status status = arm_avgpool_s8(&context, &pool_params, &input_dims, input_,
      &filter_dims, &output_dims, output_);
  if (status != ARM_CMSIS_NN_SUCCESS) {
    return -1;
  }
  return 0;
}
int32_t tvmgen_t_other(int8_t* a, int8_t* b) {
  arm_max_pool_s8(0, 0, 0, a, 0, 0, b, 0);
  return 0;
}
"""


def test_library_kernel_outputs_are_write_only_only_for_the_known_prototype(project):
    prog = program_of(project(CMSIS))
    summary = prog.functions["tvmgen_t_cmsis_nn_main_0"].summary
    assert "output_" in summary.writes and "output_" not in summary.reads
    assert "input_" in summary.reads
    # Eight arguments: not the prototype the table knows, so read and written.
    other = prog.functions["tvmgen_t_other"].summary
    assert {"a", "b"} <= other.reads and {"a", "b"} <= other.writes


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ("(uint64_t)6272", 6272),
        ("(uint64_t)(64 * sizeof(int32_t))", 256),
        ("1024ULL", 1024),
        ("(uint64_t)4*(uint64_t)64", 256),
        ("0x100", 256),
    ],
)
def test_sizes_fold(project, size, expected):
    body = (
        "int32_t tvmgen_t___tvm_main__(void) {\n"
        f"  void* b = TVMBackendAllocWorkspace(1, 0, {size}, 0, 8);\n"
        "  ((int8_t*)b)[0] = 1;\n  return 0;\n}\n"
    )
    assert program_of(project(body)).allocs[0].size == expected


def test_workspace_on_another_device_is_refused(project):
    body = (
        "int32_t tvmgen_t___tvm_main__(void) {\n"
        "  void* b = TVMBackendAllocWorkspace(2, 0, (uint64_t)64, 0, 8);\n  return 0;\n}\n"
    )
    with pytest.raises(CrewriteError, match="device type 2"):
        program_of(project(body))


def test_inline_assembly_with_operands_and_statement_expressions_parse(project):
    body = """
    #define __pkhbt(A, B, C) __extension__ ({ uint32_t __RES, __A = (A), __B = (B); \\
      __asm("pkhbt %0, %1, %2, lsl %3" : "=r" (__RES) : "r" (__A), "r" (__B), "I" (C)); __RES; })
    static inline int32_t tvmgen_t_pack(int32_t a, int32_t b) { return __pkhbt(a, b, 16); }
    int32_t tvmgen_t___tvm_main__(int8_t* x) {
      void* b = TVMBackendAllocWorkspace(1, 0, (uint64_t)64, 0, 8);
      ((int32_t*)b)[0] = tvmgen_t_pack(x[0], x[1]);
      x[2] = (int8_t)((int32_t*)b)[0];
      return 0;
    }
    """
    assert [s.variable for s in program_of(project(body)).allocs] == ["b"]


def test_static_functions_of_the_same_name_in_two_files_stay_apart(project):
    root = project("""
    static int32_t helper(int8_t* p) { p[0] = 1; return 0; }
    int32_t tvmgen_t___tvm_main__(int8_t* x);
    int32_t tvmgen_t_run(int8_t* x) { return tvmgen_t___tvm_main__(x); }
    """)
    (root / "model/codegen/host/src/t_lib2.c").write_text(
        '#include "tvm/runtime/c_backend_api.h"\n'
        "static int32_t helper(int8_t* p) { return p[0]; }\n"
        "int32_t tvmgen_t___tvm_main__(int8_t* x) {\n"
        "  void* b = TVMBackendAllocWorkspace(1, 0, (uint64_t)8, 0, 8);\n"
        "  helper((int8_t*)b);\n  return 0;\n}\n"
    )
    prog = program_of(root)
    main = prog.functions["tvmgen_t___tvm_main__"]
    callee = main.units[1].calls[0].callee
    assert callee == "helper@model/codegen/host/src/t_lib2.c"
    assert "p" in prog.functions[callee].summary.reads
    assert "p" not in prog.functions[callee].summary.writes
    assert "helper@model/codegen/host/src/t_lib1.c" in prog.functions


def test_shared_helper_without_workspace_belongs_to_no_module(tmp_path):
    root = make_project(
        tmp_path / "p",
        """
    int32_t shared_copy(int8_t* a, int8_t* b);
    int32_t tvmgen_a___tvm_main__(int8_t* x, int8_t* y) {
      void* s = TVMBackendAllocWorkspace(1, 0, (uint64_t)16, 0, 8);
      shared_copy(x, (int8_t*)s);
      shared_copy((int8_t*)s, y);
      return 0;
    }
    """,
        module="a",
    )
    src = root / "model/codegen/host/src"
    (src / "shared.c").write_text(
        "#include <stdint.h>\n"
        "int32_t shared_copy(int8_t* a, int8_t* b) {\n"
        "  for (int32_t i = 0; i < 16; ++i) { b[i] = a[i]; }\n  return 0;\n}\n"
    )
    (root / "model/codegen/host/include/tvmgen_b.h").write_text(
        "#define TVMGEN_B_WORKSPACE_SIZE 0\n"
    )
    prog = program_of(root)
    assert prog.functions["shared_copy"].module == ""
    assert [s.key for s in prog.allocs] == [("tvmgen_a___tvm_main__", "s")]
    assert "b" in prog.functions["shared_copy"].summary.writes
