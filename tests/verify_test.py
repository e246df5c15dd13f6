"""`crewrite verify` on small generated-project-shaped inputs: where tensor sizes come from,
a model that reads memory it never wrote, --sanitize naming a planted out-of-bounds read,
--lib-src, and the rewrite's own second look."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import crewrite.pipeline as pipeline
from crewrite.cli import main
from crewrite.errors import CrewriteError
from crewrite.project import load_project
from crewrite.verify import VerifyOptions, verify
from crewrite.verify.interface import GUESS_BYTES, module_interfaces

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

HEADER = """\
#ifndef TVMGEN_T_H_
#define TVMGEN_T_H_
#include <stdint.h>
{defines}
struct tvmgen_t_inputs {{ void* x; }};
struct tvmgen_t_outputs {{ void* y; }};
int32_t tvmgen_t_run(struct tvmgen_t_inputs* inputs, struct tvmgen_t_outputs* outputs);
#define TVMGEN_T_WORKSPACE_SIZE 128
#endif
"""

LIB0 = """\
#include "tvm/runtime/c_runtime_api.h"
#include <tvmgen_t.h>
TVM_DLL int32_t tvmgen_t___tvm_main__(void* x, void* y);
int32_t tvmgen_t_run(struct tvmgen_t_inputs* inputs, struct tvmgen_t_outputs* outputs) {
  return tvmgen_t___tvm_main__(inputs->x, outputs->y);
}
"""

LIB1 = """\
// tvm target: c -keys=arm_cpu,cpu -mcpu=cortex-m4
#define TVM_EXPORTS
#include "tvm/runtime/c_runtime_api.h"
#include "tvm/runtime/c_backend_api.h"
TVM_DLL int32_t tvmgen_t_fused_copy(int8_t* p0, int8_t* T_copy) {
  for (int32_t i = 0; i < 64; ++i) {
    T_copy[i] = p0[i];
  }
  return 0;
}
TVM_DLL int32_t tvmgen_t_fused_sum(int8_t* p0, int8_t* T_out) {
  void* conv = TVMBackendAllocWorkspace(1, 0, (uint64_t)64, 0, 32);
  if (conv == NULL) {
    return -1;
  }
  for (int32_t i = 0; i < {WRITTEN}; ++i) {
    ((int32_t*)conv)[i] = ((int32_t)p0[i * 4]) * 3;
  }
  for (int32_t i = 0; i < 16; ++i) {
    T_out[i] = (int8_t)(((int32_t*)conv)[i] + ((int32_t*)conv)[i + {PAST}]);
  }
  if (TVMBackendFreeWorkspace(1, 0, conv) != 0) {
    return -1;
  }
  return 0;
}
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x_buffer_var, int8_t* y_buffer_var) {
  void* sid_1 = TVMBackendAllocWorkspace(1, 0, (uint64_t)64, 0, 8);
  if (sid_1 == NULL) {
    return -1;
  }
  if (tvmgen_t_fused_copy(x_buffer_var, sid_1) != 0 ) return -1;
  if (tvmgen_t_fused_sum(sid_1, y_buffer_var) != 0 ) return -1;
  if (TVMBackendFreeWorkspace(1, 0, sid_1) != 0) {
    return -1;
  }
  return 0;
}
"""

SIZE_DEFINES = "#define TVMGEN_T_X_SIZE 64\n#define TVMGEN_T_Y_SIZE 16\n"


def small_project(
    root: Path,
    past: int = 0,
    written: int = 16,
    defines: str = SIZE_DEFINES,
    metadata: dict | None = None,
    app_header: str | None = None,
) -> Path:
    """A one-module generated project; `past` plants a read that many int32 past `conv`,
    `written` < 16 leaves part of `conv` unwritten before it is read."""
    host = root / "model" / "codegen" / "host"
    (host / "src").mkdir(parents=True)
    (host / "include").mkdir()
    (host / "include" / "tvmgen_t.h").write_text(HEADER.format(defines=defines))
    (host / "src" / "t_lib0.c").write_text(LIB0)
    lib1 = LIB1.replace("{PAST}", str(past)).replace("{WRITTEN}", str(written))
    (host / "src" / "t_lib1.c").write_text(lib1)
    if metadata is not None:
        (root / "model" / "metadata.json").write_text(json.dumps(metadata))
    if app_header is not None:
        (root / "include").mkdir()
        (root / "include" / "model_io.h").write_text(app_header)
    return root


def rewrite_copy(project: Path, out: Path) -> Path:
    assert main(["rewrite", str(project), "--out", str(out), "-q"]) == 0
    return out


def interface_of(root: Path, **sizes):
    project = load_project([root])
    try:
        return module_interfaces(project, [], sizes)
    finally:
        project.close()


def sizes(interface) -> dict[str, tuple[int, str]]:
    return {t.name: (t.size, t.source) for t in interface.tensors}


# -- where sizes come from --------------------------------------------------------------------


def test_sizes_from_the_header_defines(tmp_path):
    interface = interface_of(small_project(tmp_path / "p"))
    assert sizes(interface) == {"x": (64, "tvmgen_t.h"), "y": (16, "tvmgen_t.h")}
    assert interface.modules[0].run_params == ("inputs", "outputs")


META_LAYOUTS = {
    # TVM 0.10 and later (format 7): per module, in the main function's entry
    "v7": {
        "version": 7,
        "modules": {
            "t": {
                "memory": {
                    "functions": {
                        "main": [
                            {
                                "inputs": {"x": {"dtype": "int8", "size": 64}},
                                "outputs": {"y": {"dtype": "float32", "size": 16}},
                            }
                        ]
                    }
                }
            }
        },
    },
    # a shape instead of a size, and a name TVM sanitizes for C ("x:0" -> "x_0" is not "x")
    "shape": {
        "modules": {
            "t": {
                "inputs": [{"name": "x", "dtype": "int8", "shape": [1, 8, 8]}],
                "outputs": {"y": {"dtype": "float32", "shape": [4]}},
            }
        }
    },
    # TVM 0.8: one module at the top level; graph storage ids bind the inputs
    "v5": {
        "version": 5,
        "model_name": "t",
        "memory": {
            "sids": [{"storage_id": 0, "size_bytes": 64, "input_binding": "x"}],
            "functions": {"main": [{"workspace_size_bytes": 128}]},
        },
    },
}


@pytest.mark.parametrize("layout", sorted(META_LAYOUTS))
def test_sizes_from_metadata_layouts(tmp_path, layout):
    root = small_project(tmp_path / "p", defines="", metadata=META_LAYOUTS[layout])
    interface = interface_of(root, output={"y": 16} if layout == "v5" else {})
    assert sizes(interface)["x"] == (64, "metadata.json")
    assert sizes(interface)["y"] == (16, "--output" if layout == "v5" else "metadata.json")


def test_sizes_from_application_headers_then_a_guess(tmp_path):
    app = "const size_t input_data_len = 64;\nint8_t input_data[] = {\n  1, 2, 3,\n};\n"
    app += "static float y[4];\n"
    interface = interface_of(small_project(tmp_path / "a", defines="", app_header=app))
    assert sizes(interface) == {
        "x": (64, "array input_data in the application"),
        "y": (16, "array y in the application"),
    }
    guessed = interface_of(small_project(tmp_path / "b", defines=""))
    assert sizes(guessed)["y"] == (GUESS_BYTES, "guessed")
    assert any("--output y=BYTES" in note for note in guessed.notes)


def test_disagreeing_sources_are_noted_and_unknown_names_refused(tmp_path):
    meta = META_LAYOUTS["v7"]
    interface = interface_of(small_project(tmp_path / "p", metadata=meta))
    assert sizes(interface)["x"] == (64, "tvmgen_t.h")
    assert sizes(interface)["y"] == (16, "tvmgen_t.h")
    assert interface.tensors[1].dtype == "float32"  # the header has no dtype: metadata's
    with pytest.raises(CrewriteError, match="--output z: no such output"):
        interface_of(tmp_path / "p", output={"z": 4})


def test_a_header_without_a_run_function_is_refused(tmp_path):
    root = small_project(tmp_path / "p")
    header = root / "model" / "codegen" / "host" / "include" / "tvmgen_t.h"
    header.write_text(header.read_text().replace("tvmgen_t_run", "tvmgen_t_start"))
    with pytest.raises(CrewriteError, match="no declaration of tvmgen_t_run"):
        interface_of(root)


# -- what verify reports ------------------------------------------------------------------------


@pytest.mark.e2e
def test_an_original_reading_unwritten_scratch_is_not_blamed_on_the_rewrite(tmp_path, capsys):
    root = small_project(tmp_path / "p", written=15)
    out = rewrite_copy(root, tmp_path / "out")
    verdict = verify(root, out, VerifyOptions(runs=2))
    assert not verdict.ok
    assert verdict.unstable is not None and verdict.unstable.output == "y"
    assert "the ORIGINAL's outputs depend on memory it never wrote" in verdict.text()
    # rewrite --verify writes nothing when the rewrite cannot be proven
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert main(["rewrite", str(root), "--verify", "--runs", "2"]) == 1
    assert "nothing was written" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before


@pytest.mark.e2e
def test_a_project_that_does_not_build_on_the_host_is_bad_input(tmp_path, capsys):
    root = small_project(tmp_path / "p")
    lib1 = root / "model" / "codegen" / "host" / "src" / "t_lib1.c"
    lib1.write_text(
        lib1.read_text().replace("T_copy[i] = p0[i];", "arm_vendor_copy_s8(p0, T_copy);")
    )
    assert main(["verify", str(root), str(root), "--runs", "1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("crewrite: cannot build ")
    assert "arm_vendor_copy_s8" in err and "--keep DIR" in err


@pytest.mark.e2e
def test_sanitize_names_a_planted_out_of_bounds_read(tmp_path):
    root = small_project(tmp_path / "p", past=1)
    out = rewrite_copy(root, tmp_path / "out")
    verdict = verify(root, out, VerifyOptions(runs=1, sanitize=True))
    assert not verdict.ok
    original = [f for f in verdict.findings if f.build == "original"]
    assert len(original) == 1, verdict.text()
    finding = original[0]
    assert finding.kind == "heap-buffer-overflow"
    assert finding.operator == "tvmgen_t_fused_sum"
    assert finding.where == "t_lib1.c:20"
    assert "workspace buffer 'tvmgen_t_fused_sum:conv' (64 B" in finding.buffer
    assert "reads 4 B past the end" in finding.detail
    assert "starts 0 B after its last byte" in finding.detail
    assert "results can change" in verdict.text()


@pytest.mark.e2e
def test_sanitize_finds_nothing_in_a_clean_model(tmp_path):
    root = small_project(tmp_path / "p")
    out = rewrite_copy(root, tmp_path / "out")
    verdict = verify(root, out, VerifyOptions(runs=1, sanitize=True))
    assert verdict.ok and verdict.findings == (), verdict.text()


@pytest.mark.e2e
def test_lib_src_compiles_the_users_kernel_library(tmp_path, original_builds):
    """CMSIS-NN from a copy the user names: compiled with the DSP code paths."""
    lib = tmp_path / "lib"
    (lib / "Source").mkdir(parents=True)
    kernels = (Path(pipeline.__file__).parent / "hostrt" / "cmsis_nn_host.c").read_text()
    guard = "#if !defined(__ARM_FEATURE_DSP) || __ARM_FEATURE_DSP != 1\n#error no DSP\n#endif\n"
    (lib / "Source" / "kernels.c").write_text(guard + kernels)
    out = rewrite_copy(FIXTURES / "cmsis_kws", tmp_path / "out")
    options = VerifyOptions(runs=1, lib_src=(lib / "Source",))
    verdict = verify(
        FIXTURES / "cmsis_kws", out, options, original_build=original_builds["cmsis_kws"]
    )
    assert verdict.ok, verdict.text()
    (lib / "Source" / "kernels.c").write_text(
        kernels.replace("acc += (int32_t)col[k]", "acc -= (int32_t)col[k]", 1)
    )
    broken = verify(
        FIXTURES / "cmsis_kws", out, options, original_build=original_builds["cmsis_kws"]
    )
    assert broken.difference is not None


# -- the rewrite's second look ------------------------------------------------------------------


def test_second_look_proves_the_layout(tmp_path, monkeypatch):
    real = pipeline.module_edits

    def squashed(layout, *args):
        layout = type(layout)(**{**layout.__dict__, "offsets": dict.fromkeys(layout.offsets, 0)})
        return real(layout, *args)

    monkeypatch.setattr(pipeline, "module_edits", squashed)
    with pytest.raises(CrewriteError, match="fails its proof.*share bytes"):
        pipeline.rewrite_project(load_project([small_project(tmp_path / "p")]))


@pytest.mark.parametrize("marked", [True, False])
def test_second_look_requires_a_second_run_to_change_nothing(tmp_path, monkeypatch, marked):
    """A workspace call left behind (and, here, not caught by the re-parse) would make a
    second run refuse the project, or rewrite it again: the rewrite refuses either way."""
    real = pipeline.module_edits

    def keep_sid(layout, buffers, frees, texts):
        kept = [b for b in buffers if b.site.variable != "sid_1"]
        return real(layout, kept, [f for f in frees if f.variable != "sid_1"], texts)

    monkeypatch.setattr(pipeline, "module_edits", keep_sid)
    monkeypatch.setattr(pipeline, "_workspace_calls", lambda tu: [])
    if not marked:  # the second run does not see the marker: it plans the call again
        monkeypatch.setattr(pipeline, "MARKER", "not in any output")
    expected = "would fail .*partly rewritten" if marked else "would still change .*tvmgen_t.h"
    with pytest.raises(CrewriteError, match=expected):
        pipeline.rewrite_project(load_project([small_project(tmp_path / "p")]))


# -- projects that hand the model its memory ---------------------------------------------------

POOL_HEADER = """\
#ifndef TVMGEN_P_H_
#define TVMGEN_P_H_
#include <stdint.h>
#define TVMGEN_P_X_SIZE 16
#define TVMGEN_P_Y_SIZE 16
struct tvmgen_p_inputs { void* x; };
struct tvmgen_p_outputs { void* y; };
struct tvmgen_p_workspace_pools { void* sram; };
struct tvmgen_p_devices { void* npu; };
%s
#define TVMGEN_P_WORKSPACE_SIZE 0
#define TVMGEN_P_SRAM_WORKSPACE_POOL_SIZE 64
#endif
"""
POOL_RUN = (
    "int32_t tvmgen_p_run(struct tvmgen_p_inputs* inputs, struct tvmgen_p_outputs* outputs,\n"
    "  struct tvmgen_p_workspace_pools* workspace_pools, struct tvmgen_p_devices* devices);"
)
MAPPED_RUN = """\
struct tvmgen_p_inputs tvmgen_p_map_inputs(struct tvmgen_p_workspace_pools* workspace_pools);
struct tvmgen_p_outputs tvmgen_p_map_outputs(struct tvmgen_p_workspace_pools* workspace_pools);
int32_t tvmgen_p_run(struct tvmgen_p_workspace_pools* workspace_pools);"""
POOL_LIB0 = """\
#include "tvm/runtime/c_runtime_api.h"
#include <tvmgen_p.h>
TVM_DLL int32_t tvmgen_p___tvm_main__(int8_t* x, int8_t* y, uint8_t* sram, void* npu);
int32_t tvmgen_p_run(struct tvmgen_p_inputs* inputs, struct tvmgen_p_outputs* outputs,
  struct tvmgen_p_workspace_pools* workspace_pools, struct tvmgen_p_devices* devices) {
  return tvmgen_p___tvm_main__(inputs->x, outputs->y, workspace_pools->sram, devices->npu);
}
"""
MAPPED_LIB0 = """\
#include "tvm/runtime/c_runtime_api.h"
#include <tvmgen_p.h>
TVM_DLL int32_t tvmgen_p___tvm_main__(int8_t* x, int8_t* y, uint8_t* sram, void* npu);
struct tvmgen_p_inputs tvmgen_p_map_inputs(struct tvmgen_p_workspace_pools* workspace_pools) {
  struct tvmgen_p_inputs i = {&((uint8_t*)workspace_pools->sram)[0]};
  return i;
}
struct tvmgen_p_outputs tvmgen_p_map_outputs(struct tvmgen_p_workspace_pools* workspace_pools) {
  struct tvmgen_p_outputs o = {&((uint8_t*)workspace_pools->sram)[48]};
  return o;
}
int32_t tvmgen_p_run(struct tvmgen_p_workspace_pools* workspace_pools) {
  uint8_t* sram = (uint8_t*)workspace_pools->sram;
  return tvmgen_p___tvm_main__((int8_t*)&sram[0], (int8_t*)&sram[48], sram, NULL);
}
"""
POOL_LIB1 = """\
#include "tvm/runtime/c_runtime_api.h"
TVM_DLL int32_t tvmgen_p___tvm_main__(int8_t* x, int8_t* y, uint8_t* sram, void* npu) {
  if (npu != NULL) {
    return -1;
  }
  int8_t* tmp = (int8_t*)(&sram[16]);
  for (int32_t i = 0; i < 16; ++i) {
    tmp[i] = (int8_t)(x[i] + 1);
  }
  for (int32_t i = 0; i < 16; ++i) {
    y[i] = (int8_t)(tmp[15 - i] + tmp[%d]);
  }
  return 0;
}
"""


def pool_project(root: Path, mapped: bool, read: int = 0) -> Path:
    """USMP with a pool the application provides (`workspace_pools`), devices, and, when
    `mapped`, inputs and outputs that live in the pool; `read` >= 32 reads a pool byte that
    nothing wrote."""
    host = root / "model" / "codegen" / "host"
    (host / "src").mkdir(parents=True)
    (host / "include").mkdir()
    header = POOL_HEADER % (MAPPED_RUN if mapped else POOL_RUN)
    (host / "include" / "tvmgen_p.h").write_text(header)
    (host / "src" / "p_lib0.c").write_text(MAPPED_LIB0 if mapped else POOL_LIB0)
    (host / "src" / "p_lib1.c").write_text(POOL_LIB1 % read)
    return root


@pytest.mark.e2e
@pytest.mark.parametrize("mapped", [False, True])
def test_workspace_pools_and_devices_the_application_provides(tmp_path, mapped):
    root = pool_project(tmp_path / "p", mapped)
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    verdict = verify(root, copy, VerifyOptions(runs=2))
    assert verdict.ok, verdict.text()
    module = verdict.interface.modules[0]
    assert module.maps_io == mapped
    expected = (
        ("workspace_pools",) if mapped else ("inputs", "outputs", "workspace_pools", "devices")
    )
    assert module.run_params == expected
    assert [(t.kind, t.name, t.size) for t in module.tensors] == [
        ("input", "x", 16),
        ("output", "y", 16),
        ("pool", "sram", 64),
    ]
    # the pool is filled differently for each run of the original: a read of a byte nothing
    # wrote shows
    unwritten = pool_project(tmp_path / "u", mapped, read=40)
    verdict = verify(unwritten, unwritten, VerifyOptions(runs=1))
    assert verdict.unstable is not None and not verdict.ok
