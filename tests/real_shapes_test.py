"""Real projects as they ship (issue 12): one fixture per shape seen in public microTVM
projects, each rewritten end to end (outputs byte-equal on the host where the project has
workspace calls, "nothing to do" with exit 0 where it has none), and the pieces behind them."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from crewrite import api
from crewrite.cli import main
from crewrite.emit import MovedWorkspace, apply_edits, metadata_edits
from crewrite.errors import CrewriteError
from crewrite.frontend import FAKE_LIBC, parse_source, workspace_call_lines
from crewrite.poison import undeclared_uses
from crewrite.project import c_constant, size_defines
from crewrite.verify import VerifyOptions, host, verify
from crewrite.verify.host import HOSTRT_INCLUDE, find_compiler
from helpers import graph_driver
from helpers.cases import STATIC
from helpers.projects import never_parse, snapshot

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PTHREAD = Path(__file__).resolve().parent / "helpers" / "include"  # a pthread.h
SEEDS = [1, 7]
OPTIONS = VerifyOptions(runs=2)


def rewrite_to(name: str, out: Path, *extra: str) -> tuple[int, str]:
    """crewrite on a fixture into `out` (the fixture stays as it is): exit code and what it
    printed."""
    said = io.StringIO()
    with contextlib.redirect_stdout(said), contextlib.redirect_stderr(said):
        code = main(["rewrite", str(FIXTURES / name), "--out", str(out), *extra])
    return code, said.getvalue()


@pytest.fixture(scope="module")
def rewritten(tmp_path_factory):
    """Fixture name -> (its rewritten copy, what crewrite printed), rewritten once."""
    done: dict[str, tuple[Path, str]] = {}

    def get(name: str) -> tuple[Path, str]:
        if name not in done:
            out = tmp_path_factory.mktemp(f"rw_{name}") / "out"
            code, said = rewrite_to(name, out)
            assert code == 0, said
            done[name] = (out, said)
        return done[name]

    return get


def proven(name: str, out: Path, original_builds) -> None:
    """`crewrite verify` proves the rewritten copy of a board fixture: layout, and every
    output byte equal; the rewritten one makes no workspace call."""
    verdict = verify(FIXTURES / name, out, OPTIONS, original_build=original_builds[name])
    assert verdict.ok, verdict.text()
    assert all(before > 0 and after == 0 for _, before, after in verdict.calls)
    assert all(after == 0 for _, _, after in verdict.peaks)


def same_graph_outputs(original: host.HostBuild, rewritten: host.HostBuild) -> None:
    """A graph-executor output as written and as rewritten: the original reads no byte it
    never wrote (two workspace fills agree), the rewritten one computes the same bytes and
    makes no workspace call."""
    want = host.run(original, SEEDS, fill_seed=1)
    assert host.run(original, SEEDS, fill_seed=2).outputs == want.outputs
    assert all(calls > 0 for _, calls in want.stats.values())
    got = host.run(rewritten, SEEDS, fill_seed=3)
    assert got.outputs == want.outputs
    assert set(got.stats.values()) == {(0, 0)}


# ----------------------------------------------------------------- graph executor, system lib


@pytest.mark.e2e  # a fixture rewritten through the CLI on disk
@pytest.mark.parametrize(
    ("name", "resource_handle", "main_before", "main_after"),
    [("graph_syslib", True, 16512, 4000), ("graph_tvm08", False, 2176, 512)],
)
def test_graph_executor_metadata_keeps_graph_storage(
    name, resource_handle, main_before, main_after, rewritten
):
    out, _ = rewritten(name)
    before = json.loads((FIXTURES / name / "metadata.json").read_text())
    after = json.loads((out / "metadata.json").read_text())
    if "modules" in before:  # newer metadata: per module
        before, after = before["modules"]["default"], after["modules"]["default"]
    functions_before = before["memory"]["functions"]
    functions_after = after["memory"]["functions"]
    assert functions_before["main"][0]["workspace_size_bytes"] == main_before
    # Only what TVM added for the operators (the largest one) comes off: the graph's
    # tensors stay with the runtime.
    largest = max(
        w["workspace_size_bytes"]
        for f in functions_before["operator_functions"]
        for w in f["workspace"]
    )
    assert main_after == main_before - largest
    assert functions_after["main"][0]["workspace_size_bytes"] == main_after
    assert all(
        w["workspace_size_bytes"] == 0
        for f in functions_after["operator_functions"]
        for w in f["workspace"]
    )
    lib0 = next(p.name for p in (out / "codegen" / "host" / "src").glob("*lib0.c"))
    assert (out / "codegen/host/src" / lib0).read_bytes() == (
        FIXTURES / name / "codegen/host/src" / lib0
    ).read_bytes()  # the registry is not touched


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("name", "resource_handle"), [("graph_syslib", True), ("graph_tvm08", False)]
)
def test_graph_executor_outputs_byte_equal(name, resource_handle, rewritten, tmp_path):
    out, _ = rewritten(name)
    same_graph_outputs(
        graph_driver.build(FIXTURES / name, tmp_path / "original", resource_handle),
        graph_driver.build(out, tmp_path / "rewritten", resource_handle),
    )


def test_old_names_parse_tvmarray_ctx_and_module_h():
    lib1 = FIXTURES / "graph_tvm08" / "codegen" / "host" / "src" / "lib1.c"
    text = lib1.read_text()
    assert "((TVMArray*)arg0)[0].ctx.device_id" in text and "tvmgen_" not in text
    tu = parse_source("lib1.c", lib1, text, [], [])
    assert any(type(e).__name__ == "FuncDef" for e in tu.ast.ext)
    lib0 = FIXTURES / "graph_tvm08" / "codegen" / "host" / "src" / "lib0.c"
    assert "TVMFuncRegistry" in lib0.read_text()
    parse_source("lib0.c", lib0, lib0.read_text(), [], [])


def test_graph_metadata_lowered_only_by_the_largest_operator():
    text = json.dumps(
        {
            "memory": {
                "functions": {
                    "main": [{"device": 1, "workspace_size_bytes": 13545152}],
                    "operator_functions": [
                        {"function_name": "op_a", "workspace": [{"workspace_size_bytes": 6272}]},
                        {"function_name": "op_b", "workspace": [{"workspace_size_bytes": 9000}]},
                        {"function_name": "other", "workspace": [{"workspace_size_bytes": 5}]},
                    ],
                }
            },
            "executors": ["graph"],
        }
    )
    moved = {"default": MovedWorkspace(9000, False, frozenset({"op_a", "op_b"}))}
    edits, notes = metadata_edits("metadata.json", text, moved)
    data = json.loads(apply_edits(text, edits))
    assert data["memory"]["functions"]["main"][0]["workspace_size_bytes"] == 13545152 - 9000
    ops = data["memory"]["functions"]["operator_functions"]
    assert [o["workspace"][0]["workspace_size_bytes"] for o in ops] == [0, 0, 5]
    assert "graph executor" in notes[0]
    # Smaller than what moved: the number does not mean what crewrite changed; kept.
    small = text.replace("13545152", "100")
    edits, notes = metadata_edits("metadata.json", small, moved)
    data = json.loads(apply_edits(small, edits))
    assert data["memory"]["functions"]["main"][0]["workspace_size_bytes"] == 100
    assert "left unchanged" in notes[0]


# ------------------------------------------------------------ header copies that disagree


@pytest.mark.e2e  # a fixture rewritten through the CLI on disk
def test_zephyr_project_with_disagreeing_header_copies(rewritten):
    out, said = rewritten("zephyr_stale_header")
    disagreed = [line for line in said.splitlines() if "copies disagreed" in line]
    assert len(disagreed) == 1
    line = disagreed[0]
    assert "include/tvmgen_default.h 0" in line
    assert "(generated) 38048" in line and "(20*1024) = 20480" in line
    assert "every copy now says 0" in line
    for rel in (
        "model/codegen/host/include/tvmgen_default.h",
        "include/tvmgen_default.h",
        "src/tvmgen_default.h",
    ):
        (define,) = size_defines((out / rel).read_text())
        assert define.value == 0, rel
    # The hand-extended run wrapper does not parse (pthread.h), and is not needed.
    assert "default_lib0.c: left out: it does not parse" in said
    assert (out / "model/codegen/host/src/default_lib0.c").read_bytes() == (
        FIXTURES / "zephyr_stale_header/model/codegen/host/src/default_lib0.c"
    ).read_bytes()
    assert "-DWORKSPACE_SIZE=512" in (out / "CMakeLists.txt").read_text()


@pytest.mark.e2e
@pytest.mark.parametrize("name", ["zephyr_stale_header", "aot_header_sized", "vww_kernels"])
def test_board_shapes_are_proven(name, rewritten, original_builds):
    """Header copies that disagree (and a run wrapper crewrite cannot parse), an allocator
    sized from the header, tensorized micro-kernels: each rewritten copy proven."""
    proven(name, rewritten(name)[0], original_builds)


@pytest.mark.parametrize(
    ("expr", "value"),
    [
        ("146448", 146448),
        ("(20*1024)", 20480),
        ("(uint32_t)(16 * 1024U) + 0x10", 16400),
        ("010", 8),
        ("(A + B) / 3", 10),
        ("SOMETHING_ELSE", None),
        ("1 << 99", None),
        ('"x"', None),
    ],
)
def test_header_values_are_c_expressions(expr, value):
    assert c_constant(expr, {"A": "(20)", "B": "A / 2"}) == value


def test_two_generated_headers_that_disagree_are_refused(project, tmp_path, capsys):
    root = project(
        "int32_t tvmgen_t___tvm_main__(int8_t* x) {\n"
        "  void* b = TVMBackendAllocWorkspace(1, 0, (uint64_t)64, 0, 8);\n"
        "  ((int8_t*)b)[0] = x[0];\n  x[1] = ((int8_t*)b)[0];\n  return 0;\n}\n"
    )
    second = root / "second" / "codegen" / "host"
    (second / "include").mkdir(parents=True)
    (second / "src").mkdir()
    header = (root / "model/codegen/host/include/tvmgen_t.h").read_text()
    (second / "include" / "tvmgen_t.h").write_text(header.replace("1048576", "64"))
    assert main(["rewrite", str(root), "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert "two generated headers of one module disagree" in err and "tvmgen_t.h:7:" in err


# ---------------------------------------------- an application sizing its allocator from the header


def strict_iso_compiles(source: Path, includes: list[Path]) -> subprocess.CompletedProcess:
    flags = [f"-I{d}" for d in includes]
    return subprocess.run(
        [find_compiler(None), "-std=c11", "-pedantic-errors", "-fsyntax-only", *flags, str(source)],
        capture_output=True,
        text=True,
    )


@pytest.mark.e2e
def test_allocator_sized_from_the_header_stays_valid_iso_c(rewritten, tmp_path):
    out, said = rewritten("aot_header_sized")
    includes = [HOSTRT_INCLUDE, FAKE_LIBC / "tvm", out / "model/codegen/host/include"]
    original = strict_iso_compiles(
        FIXTURES / "aot_header_sized/src/main.c",
        includes[:2] + [FIXTURES / "aot_header_sized/model/codegen/host/include"],
    )
    assert original.returncode == 0, original.stderr
    rewritten = strict_iso_compiles(out / "src/main.c", includes)
    assert rewritten.returncode == 0, rewritten.stderr
    assert "g_aot_memory[TVMGEN_DEFAULT_WORKSPACE_SIZE] would have length 0" in said
    assert "made it [TVMGEN_DEFAULT_WORKSPACE_SIZE + 1]" in said
    # Negative control: the header at 0 without the fix is what a strict compiler rejects.
    unfixed = tmp_path / "unfixed.c"
    unfixed.write_text((FIXTURES / "aot_header_sized/src/main.c").read_text())
    assert strict_iso_compiles(unfixed, includes).returncode != 0


def test_array_sized_through_an_application_macro_is_kept_valid(project, tmp_path):
    root = project(
        "int32_t tvmgen_t___tvm_main__(int8_t* x) {\n"
        "  void* b = TVMBackendAllocWorkspace(1, 0, (uint64_t)64, 0, 8);\n"
        "  ((int8_t*)b)[0] = x[0];\n  x[1] = ((int8_t*)b)[0];\n  return 0;\n}\n"
    )
    (root / "src").mkdir()
    app = (
        '#include "tvmgen_t.h"\n#define POOL_BYTES (TVMGEN_T_WORKSPACE_SIZE)\n'
        "static unsigned char pool[POOL_BYTES];\n"
        "static unsigned char spare[TVMGEN_T_WORKSPACE_SIZE + 64];\n"
    )
    (root / "src" / "app.c").write_text(app)
    assert main(["rewrite", str(root), "-q"]) == 0
    text = (root / "src" / "app.c").read_text()
    assert "pool[POOL_BYTES + 1 /*" in text
    assert "spare[TVMGEN_T_WORKSPACE_SIZE + 64]" in text  # never zero: left alone


# --------------------------------------------------------- nothing to do needs no parse


def test_no_workspace_call_and_no_pool_is_nothing_to_do_without_parsing(
    project, capsys, monkeypatch
):
    """An offload project (a vendor header crewrite cannot read, no workspace call, no USMP
    pool) is decided from its text: it is never parsed."""
    root = project('#include "tvm_ethosu_runtime.h"\n' + STATIC)
    before = snapshot(root)
    never_parse(monkeypatch)
    assert main(["rewrite", str(root)]) == 0
    assert "no TVMBackendAllocWorkspace call and no USMP pool" in capsys.readouterr().err
    assert snapshot(root) == before


@pytest.mark.e2e
def test_a_usmp_pool_used_where_crewrite_cannot_read_stays_as_planned(
    tmp_path, capsys, monkeypatch
):
    """usmp_vendor slices its pool in a source whose vendor header needs pthread.h: the pool
    is seen from the text, the source is parsed and fails, and the pool stays as USMP planned
    it, saying why; given the header, the pool is re-planned, and a second run knows it from
    crewrite's marker without parsing."""
    copy = tmp_path / "usmp"
    shutil.copytree(FIXTURES / "usmp_vendor", copy)
    before = snapshot(copy)
    assert main(["rewrite", str(copy)]) == 0
    said = capsys.readouterr().err
    assert "default_lib1.c: left out: it does not parse" in said and "pthread.h" in said
    assert "the USMP pool(s) it uses (global_workspace) stay as USMP planned them" in said
    assert snapshot(copy) == before
    lib1 = copy / "model/codegen/host/src/default_lib1.c"
    with pytest.raises(CrewriteError, match="pthread.h"):  # what parsing it says
        parse_source("default_lib1.c", lib1, lib1.read_text(), [copy / "include"], [])

    assert main(["rewrite", str(copy), "-I", str(PTHREAD), "-q"]) == 0
    lib0 = (copy / "model/codegen/host/src/default_lib0.c").read_text()
    (size,) = re.findall(r"static uint8_t global_workspace\[(\d+)\];", lib0)
    assert int(size) < 5504 and "crewrite: rewritten" in lib0
    never_parse(monkeypatch)
    assert main(["rewrite", str(copy)]) == 0
    assert "already rewritten" in capsys.readouterr().err


def test_already_rewritten_is_decided_without_parsing(project, capsys, monkeypatch):
    copy = project(
        "int32_t tvmgen_t___tvm_main__(int8_t* x) {\n"
        "  void* b = TVMBackendAllocWorkspace(1, 0, (uint64_t)64, 0, 8);\n"
        "  ((int8_t*)b)[0] = x[0];\n  x[1] = ((int8_t*)b)[0];\n  return 0;\n}\n"
    )
    assert main(["rewrite", str(copy), "-q"]) == 0
    lib1 = copy / "model/codegen/host/src/t_lib1.c"
    lib1.write_text(lib1.read_text() + "\nthis is not C at all {{{\n")
    never_parse(monkeypatch)
    assert main(["rewrite", str(copy)]) == 0
    assert "already rewritten" in capsys.readouterr().err


def test_workspace_calls_are_found_in_code_not_in_comments_or_strings():
    text = (
        '/* TVMBackendAllocWorkspace( */\nconst char* s = "TVMBackendFreeWorkspace(";\n'
        "void* p = TVMBackendAllocWorkspace (1, 0, 8, 0, 8); // TVMBackendFreeWorkspace(\n"
    )
    assert workspace_call_lines(text) == [3]


def test_an_unparsable_file_that_defines_what_crewrite_follows_is_refused(project, capsys):
    root = project(
        "int32_t tvmgen_t_helper(int8_t* p);\n"
        "int32_t tvmgen_t___tvm_main__(int8_t* x) {\n"
        "  void* b = TVMBackendAllocWorkspace(1, 0, (uint64_t)64, 0, 8);\n"
        "  tvmgen_t_helper((int8_t*)b);\n  x[0] = ((int8_t*)b)[0];\n  return 0;\n}\n"
    )
    (root / "model/codegen/host/src/t_lib2.c").write_text(
        "#include <pthread.h>\nstatic pthread_mutex_t m;\n"
        "int32_t tvmgen_t_helper(int8_t* p) { p[0] = 1; return 0; }\n"
    )
    assert main(["rewrite", str(root)]) == 1
    err = capsys.readouterr().err
    assert "t_lib2.c:1:" in err and "pthread.h" in err and "tvmgen_t_helper" in err


# ------------------------------------------------------------- the CRT and CMSIS-NN surface

API_SURFACE = """
#include <arm_nn_math_types.h>
#include <arm_nnfunctions.h>
#include <arm_nnsupportfunctions.h>
#include <tvm/runtime/crt/error_codes.h>
#include <tvm/runtime/crt/module.h>
#include <tvm/runtime/crt/stack_allocator.h>
__STATIC_FORCEINLINE int32_t tvmgen_t_check(arm_status s, int32_t code) {
  return s == ARM_MATH_SUCCESS ? kTvmErrorNoError : (code ? kTvmErrorFunctionCallInvalidArg
                                                          : kTvmErrorPlatformStackAllocBadFree);
}
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* input_, int8_t* output_) {
  void* context_buffer_0 = TVMBackendAllocWorkspace(1, 0, (uint64_t)512, 0, 8);
  if (context_buffer_0 == NULL) {
    return kTvmErrorPlatformNoMemory;
  }
  cmsis_nn_context context = {context_buffer_0, 512};
  cmsis_nn_transpose_conv_params tp;
  cmsis_nn_bias_data bias = {NULL, false};
  cmsis_nn_lstm_context lstm = {NULL, NULL, NULL};
  q7_t limit = NN_Q7_MAX;
  arm_status status = (arm_status)arm_elementwise_mul_s8(input_, input_, 0, 0, output_, 0,
      1 << 30, 0, -128, limit, 16);
  for (int32_t i = 0; i < 16; ++i) {
    ((int8_t*)context_buffer_0)[i] = output_[i];
  }
  output_[0] = ((int8_t*)context_buffer_0)[15];
  if (TVMBackendFreeWorkspace(1, 0, context_buffer_0) != 0) {
    return -1;
  }
  return tvmgen_t_check(status, 1);
}
"""


def test_crt_and_cmsis_nn_api_surface_parses_and_rewrites(project, tmp_path):
    root = project(API_SURFACE)
    assert main(["rewrite", str(root), "--out", str(tmp_path / "out"), "-q"]) == 0
    text = next((tmp_path / "out").rglob("t_lib1.c")).read_text()
    assert "TVMBackendAllocWorkspace(" not in text and "tvmgen_t_crewrite_arena[" in text


# ------------------------------------------------------- tensorized micro-kernels, poison build


def test_vww_kernels_shape_that_broke_the_poison_build():
    """tests/poison_test.py proves the poison build on this fixture (exact: equal outputs;
    one point early: not); here, that the fixture has the shape that broke it."""
    name = "vww_kernels"
    lib1 = (FIXTURES / name / "model/codegen/host/src/vww_lib1.c").read_text()
    # The shape the poison build used to break on: a function that the clock steps through
    # comes before the last #include ahead of the first workspace site.
    first_site = lib1.index("TVMBackendAllocWorkspace(")
    last_include = lib1.rindex("#include", 0, first_site)
    assert re.search(r"TVM_DLL int32_t tvmgen_vww_fused_nn_max_pool2d\(", lib1[:last_include])


def test_every_inserted_name_is_checked_for_a_declaration_before_use(tmp_path):
    text = (
        "#include <stdint.h>\n"
        "void f(void) { tvmgen_m_crewrite_now_ = 1; }\n"
        "uint32_t tvmgen_m_crewrite_now_;\n"
        "void g(void) { uint32_t crewrite_level_ = 0; tvmgen_m_crewrite_now_ = crewrite_level_; }\n"
        "void h(void) { crewrite_start_ = 2; }\n"
    )
    path = tmp_path / "x.c"
    tu = parse_source("x.c", path, text, [], [])
    names = {"tvmgen_m_crewrite_now_", "crewrite_level_", "crewrite_start_"}
    assert undeclared_uses(tu.ast, names, str(path)) == [
        ("tvmgen_m_crewrite_now_", 2),
        ("crewrite_start_", 5),
    ]


def test_an_allocator_size_from_a_cmake_variable_is_named_not_left_silently(kws):
    """`-DWORKSPACE_SIZE=${WS}`: crewrite edits numbers only; the note says where the size is
    set and by how much to lower it, and the rewrite goes ahead (accept and warn)."""
    cmake = kws / "CMakeLists.txt"
    text = cmake.read_text()
    cmake.write_text(
        "set(WS 126944)\n" + text.replace("-DWORKSPACE_SIZE=126944", "-DWORKSPACE_SIZE=${WS}")
    )
    result = api.run(kws, write=False)
    assert result.status == "rewritten" and "CMakeLists.txt" not in str(list(result.new_texts))
    said = [note for note in result.notes if "does not edit" in note]
    assert said == [  # the allocator held the whole workspace; all of it moved to the arena
        "CMakeLists.txt:19: WORKSPACE_SIZE is set as '${WS}', which crewrite does not edit: "
        "lower it by 126,432 bytes (moved to the arena) to free that RAM"
    ]
