"""Fixture projects: the specs, and the Zephyr-like project around the generated modules."""

# ruff: noqa: E501  (C text templates read better on one line each)

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .cfmt import round16
from .model import USMP_DEFAULTS, ModuleBuilder, ModuleResult

ALLOCATOR_OVERHEAD = 512


def _kws_layers(
    C: int,
    blocks: int,
    dw_kind="dw",
    pw_kind="pw",
    conv_kind="conv",
    residual_after: int | None = 2,
) -> list:
    layers = [{"kind": "lut"}, {"kind": conv_kind, "kernel": (10, 4), "stride": 2, "cout": C}]
    for b in range(1, blocks + 1):
        layers.append({"kind": dw_kind})
        layers.append({"kind": pw_kind, "cout": C, "id": f"block{b}"})
        if residual_after is not None and b == residual_after:
            layers.append({"kind": "add_rw", "skip": f"block{b - 1}"})
    return layers


SPECS: dict[str, dict] = {
    # README's bundled example: DS-CNN-like keyword spotting, native int8 schedules.
    "kws_native": {
        "modules": {
            "default": {
                "seed": 11,
                "inputs": [("audio", (49, 10, 1))],
                "outputs": ["scores"],
                "layers": _kws_layers(96, 4)
                + [
                    {"kind": "avgpool"},
                    {"kind": "dense_acc", "units": 12},
                    {"kind": "softmax"},
                ],
            }
        },
    },
    # A larger visual-wake-words-like network with ~2.5 MB of weights.
    "vww_big": {
        "header_copy": True,
        "modules": {
            "vww": {
                "seed": 23,
                "target": "c -keys=arm_cpu,cpu -mcpu=cortex-m55",
                "inputs": [("input_1", (48, 48, 3))],
                "outputs": ["Identity"],
                "layers": [
                    {"kind": "conv", "kernel": (3, 3), "stride": 2, "cout": 16},
                    {"kind": "dw"},
                    {"kind": "pw", "cout": 32},
                    {"kind": "dw", "stride": 2},
                    {"kind": "pw", "cout": 64, "id": "s12a"},
                    {"kind": "dw"},
                    {"kind": "pw", "cout": 64},
                    {"kind": "add_rw", "skip": "s12a"},
                    {"kind": "dw", "stride": 2},
                    {"kind": "pw", "cout": 128},
                    {"kind": "dw"},
                    {"kind": "pw", "cout": 128},
                    {"kind": "dw", "stride": 2},
                    {"kind": "pw", "cout": 256, "id": "s3a"},
                    {"kind": "dw"},
                    {"kind": "pw", "cout": 256},
                    {"kind": "dw"},
                    {"kind": "pw", "cout": 256},
                    {"kind": "dw"},
                    {"kind": "pw", "cout": 256},
                    {"kind": "dw"},
                    {"kind": "pw", "cout": 256},
                    {"kind": "avgpool"},
                    {"kind": "dense_f", "units": 96, "relu": True},
                    {"kind": "dense_f", "units": 2},
                    {"kind": "softmax"},
                ],
            }
        },
    },
    # CMSIS-NN external codegen (default_lib2.c) next to native operators.
    "cmsis_kws": {
        "modules": {
            "default": {
                "seed": 31,
                "target": "c -keys=arm_cpu,cpu -mcpu=cortex-m55",
                "inputs": [("input", (49, 10, 1))],
                "outputs": ["output"],
                "layers": _kws_layers(
                    64, 3, dw_kind="cmsis_dw", pw_kind="cmsis_conv", conv_kind="cmsis_conv"
                )
                + [
                    {"kind": "cmsis_avgpool"},
                    {"kind": "cmsis_fc", "units": 12},
                    {"kind": "softmax"},
                ],
            }
        },
    },
    # One project, two modules.
    "two_modules": {
        "modules": {
            "kws": {
                "seed": 41,
                "size_defines": True,
                "inputs": [("audio", (49, 10, 1))],
                "outputs": ["scores"],
                "layers": _kws_layers(32, 3)
                + [
                    {"kind": "avgpool"},
                    {"kind": "dense_acc", "units": 12},
                    {"kind": "softmax"},
                ],
            },
            "ad": {
                "seed": 43,
                "size_defines": True,
                "inputs": [("input_1", (320,))],
                "outputs": ["output"],
                "layers": [
                    {"kind": "lut"},
                    {"kind": "dense_q", "units": 64, "relu": True},
                    {"kind": "dense_q", "units": 64, "relu": True},
                    {"kind": "dense_q", "units": 8, "relu": True},
                    {"kind": "dense_q", "units": 64, "relu": True},
                    {"kind": "dense_q", "units": 64, "relu": True},
                    {"kind": "dense_q", "units": 320},
                ],
            },
        },
    },
    # Graph executor, system-lib: packed-API operators and the function registry (TVM 0.9+),
    # as a Model Library Format folder; metadata's main workspace counts graph storage too.
    "graph_syslib": {
        "layout": "mlf",
        "modules": {
            "default": {
                "seed": 61,
                "executor": "graph",
                "inputs": [("input", (49, 10, 1))],
                "outputs": ["output"],
                "layers": [
                    {"kind": "lut"},
                    {"kind": "conv", "kernel": (10, 4), "stride": 2, "cout": 16},
                    {"kind": "pw", "cout": 16},
                    {"kind": "pw", "cout": 16},
                    {"kind": "avgpool"},
                    {"kind": "dense_q", "units": 12},
                    {"kind": "softmax"},
                ],
            }
        },
    },
    # The same shape as TVM 0.8 and older wrote it: TVMArray and .ctx, no tvmgen_ prefix,
    # lib0.c / lib1.c, no resource_handle, metadata version 5 with one top-level module.
    "graph_tvm08": {
        "layout": "mlf",
        "metadata_version": 5,
        "modules": {
            "default": {
                "seed": 67,
                "executor": "graph",
                "legacy": True,
                "inputs": [("input", (16, 8, 2))],
                "outputs": ["output"],
                "layers": [
                    {"kind": "conv", "kernel": (3, 3), "stride": 2, "cout": 8},
                    {"kind": "pw", "cout": 8},
                    {"kind": "avgpool"},
                    {"kind": "dense_f", "units": 4},
                    {"kind": "softmax"},
                ],
            }
        },
    },
    # A Zephyr-template board project as people ship it: copies of the module header in the
    # application, one stale (0), one written as an expression; a hand-extended run wrapper
    # that takes a pthread lock (crewrite's headers have no pthread.h: it does not parse).
    "zephyr_stale_header": {
        "header_copies": {"include/tvmgen_default.h": "0", "src/tvmgen_default.h": "(20*1024)"},
        "lib0_pthread": True,
        "modules": {
            "default": {
                "seed": 71,
                "inputs": [("audio", (49, 10, 1))],
                "outputs": ["scores"],
                "layers": _kws_layers(32, 2)
                + [{"kind": "avgpool"}, {"kind": "dense_acc", "units": 12}, {"kind": "softmax"}],
            }
        },
    },
    # An application that sizes its allocator from the module header, with no CMake size.
    "aot_header_sized": {
        "app": "header_sized",
        "modules": {
            "default": {
                "seed": 73,
                "inputs": [("input", (25, 5, 1))],
                "outputs": ["output"],
                "layers": _kws_layers(16, 1, residual_after=None)
                + [{"kind": "avgpool"}, {"kind": "dense_q", "units": 8}, {"kind": "softmax"}],
            }
        },
    },
    # Visual-wake-words shaped, with tensorized micro-kernels: each brings its own includes in
    # the middle of lib1 (so helpers precede the arena's declaration point), a forward goto,
    # __STATIC_FORCEINLINE and a CRT error code; operators call kernels inside loops and
    # return early from inside them.
    "vww_kernels": {
        "modules": {
            "vww": {
                "seed": 79,
                "target": "c -keys=arm_cpu,cpu -mcpu=cortex-m55",
                "inputs": [("input_1", (24, 24, 4))],
                "outputs": ["Identity"],
                "layers": [
                    {"kind": "kpool"},
                    {"kind": "kconv", "cout": 16, "id": "k1"},
                    {"kind": "dw"},
                    {"kind": "kconv", "cout": 16},
                    {"kind": "add_rw", "skip": "k1"},
                    {"kind": "avgpool"},
                    {"kind": "dense_f", "units": 2},
                    {"kind": "softmax"},
                ],
            }
        },
    },
    # Keyword spotting with the shapes that need byte extents (issue 15): the first conv's
    # allocation carries two tensors in turn ("center") and reads past its int32 buffer
    # with only its stores guarded ("tile"); a pointwise conv leaves the last row of its
    # output to the tensor before it in that sid ("partial"); the dense reads the tail of a
    # reused sid past its own input ("tail").
    "kws_edges": {
        "modules": {
            "default": {
                "seed": 61,
                "inputs": [("audio", (49, 10, 1))],
                "outputs": ["scores"],
                "layers": [
                    {"kind": "lut"},
                    {
                        "kind": "conv",
                        "kernel": (10, 4),
                        "stride": 2,
                        "cout": 64,
                        "center": True,
                        "tile": 768,
                    },
                    {"kind": "dw"},
                    {"kind": "pw", "cout": 64, "id": "block1"},
                    {"kind": "dw"},
                    {"kind": "pw", "cout": 64},
                    {"kind": "add_rw", "skip": "block1"},
                    {"kind": "dw"},
                    {"kind": "pw", "cout": 64, "partial": True},
                    {"kind": "avgpool"},
                    {"kind": "dense_acc", "units": 12, "tail": 64},
                    {"kind": "softmax"},
                ],
            }
        },
    },
    # A small MobileNet-like image classifier whose sids carry tensors of very different
    # sizes (TVM sizes a sid for the largest it carries), with a skip connection held across
    # the heaviest block in a sid sized for a larger tensor; the first conv's allocation
    # carries two tensors in turn ("center").
    "ic_residual": {
        "modules": {
            "default": {
                "seed": 71,
                "inputs": [("input_1", (32, 32, 3))],
                "outputs": ["Identity"],
                "layers": [
                    {"kind": "conv", "kernel": (3, 3), "stride": 2, "cout": 16, "center": True},
                    {"kind": "dw"},
                    {"kind": "pw", "cout": 32},
                    {"kind": "dw", "stride": 2},
                    {"kind": "pw", "cout": 64},
                    {"kind": "dw", "stride": 2},
                    {"kind": "pw", "cout": 128, "id": "s3a"},
                    {"kind": "dw"},
                    {"kind": "pw", "cout": 128},
                    {"kind": "add_rw", "skip": "s3a"},
                    {"kind": "avgpool"},
                    {"kind": "dense_acc", "units": 10},
                    {"kind": "softmax"},
                ],
            }
        },
    },
    # Built with USMP: a static pool, no workspace calls; the entry reuses its sids.
    "usmp_static": {
        "usmp": {"sids": "reused"},
        "modules": {
            "default": {
                "seed": 53,
                "inputs": [("input", (49, 10, 1))],
                "outputs": ["output"],
                "layers": _kws_layers(32, 2)
                + [
                    {"kind": "avgpool"},
                    {"kind": "dense_acc", "units": 12},
                    {"kind": "softmax"},
                ],
            }
        },
    },
    # USMP-built, and offloading: lib1 includes a vendor runtime header that needs pthread.h
    # (crewrite must read lib1 to re-plan the pool: without a pthread.h given with -I, the
    # pool stays as USMP planned it).
    "usmp_vendor": {
        "usmp": True,
        "vendor_header": True,
        "modules": {
            "default": {
                "seed": 83,
                "inputs": [("input", (25, 5, 1))],
                "outputs": ["output"],
                "layers": _kws_layers(16, 1)
                + [{"kind": "avgpool"}, {"kind": "dense_acc", "units": 8}, {"kind": "softmax"}],
            }
        },
    },
}


# The models above built with USMP (tir.usmp.enable=1): pools planned by USMP's greedy by size.
SPECS["kws_usmp"] = {
    "usmp": {"const_pool": True, "merged_scratch": True},
    "modules": SPECS["kws_native"]["modules"],
}
SPECS["cmsis_kws_usmp"] = {"usmp": True, "modules": SPECS["cmsis_kws"]["modules"]}
SPECS["vww_usmp"] = {"usmp": True, "header_copy": True, "modules": SPECS["vww_big"]["modules"]}
SPECS["two_modules_usmp"] = {
    # pools the application provides, tensors as inline slices, loop-local scratch slices
    "usmp": {"pool": "application", "inline_sids": True, "tiled_dense": True},
    "modules": SPECS["two_modules"]["modules"],
}


def _scale_layers() -> list:
    """A visual-wake-words network at the scale of a real 96x96 MobileNet build: ~2.2 MB of
    weight initializers, ~1 MB of operator code (TVM unrolls the depthwise taps), 80+
    workspace sites, ~110 functions."""
    layers: list = [{"kind": "conv", "kernel": (3, 3), "stride": 2, "cout": 16}]
    stages = [(16, 1, 2), (32, 2, 3), (48, 2, 4), (64, 1, 4), (96, 2, 5), (128, 1, 4), (160, 2, 4)]
    for n, (cout, stride, repeat) in enumerate(stages):
        for r in range(repeat):
            layers.append(
                {"kind": "dw", "stride": stride if r == 0 else 1, "unroll": 8, "id": f"d{n}_{r}"}
            )
            layers.append({"kind": "pw", "cout": cout + 16 * (r % 2), "id": f"s{n}_{r}"})
    return layers + [
        {"kind": "avgpool"},
        {"kind": "dense_f", "units": 96, "relu": True},
        {"kind": "dense_f", "units": 2},
        {"kind": "softmax"},
    ]


# Benchmark-only projects (tools/bench_pipeline.py writes them into a temporary folder):
# not fixtures, too large to keep in the repository.
BENCH_SPECS: dict[str, dict] = {
    "vww_scale": {
        "modules": {
            "vww": {
                "seed": 97,
                "target": "c -keys=arm_cpu,cpu -mcpu=cortex-m55",
                "inputs": [("input_1", (96, 96, 3))],
                "outputs": ["Identity"],
                "layers": _scale_layers(),
            }
        },
    },
}


def usmp_options(spec: dict) -> dict | None:
    """A spec's USMP options with their defaults; None when it is built without USMP."""
    given = spec.get("usmp")
    if not given:
        return None
    return {**USMP_DEFAULTS, **(given if isinstance(given, dict) else {})}


@dataclass
class Fixture:
    name: str
    files: dict  # relative path -> text
    modules: list  # ModuleResult
    workspace_define: int | None  # CMake WORKSPACE_SIZE (None: the project sets none)

    @property
    def sites(self) -> int:
        return sum(m.sites for m in self.modules)


def _main_c(name: str, mods: list[ModuleResult], header_sized: bool = False) -> str:
    P = [f"TVMGEN_{m.mod.upper()}_WORKSPACE_SIZE" for m in mods]
    out = [
        f'/* Application of the generated project "{name}": runs every model once on an input\n'
        " * drawn from the seed in argv[1], prints each output tensor as hex on stdout and the\n"
        " * workspace use on stderr. */\n",
        "#include <stdint.h>\n#include <stdio.h>\n#include <stdlib.h>\n\n",
        '#include "crewrite_shim.h"\n',
    ]
    out += [f'#include "tvmgen_{m.mod}.h"\n' for m in mods]
    if header_sized:  # the allocator is exactly what the module header asks for
        out.append(f"\nstatic uint8_t g_aot_memory[{' + '.join(P)}];\n")
    else:
        out.append(
            f"\n#ifndef WORKSPACE_SIZE\n#define WORKSPACE_SIZE ({' + '.join(P)} + 512)\n#endif\n\n"
        )
        out.append("static uint8_t g_aot_memory[WORKSPACE_SIZE];\n")
    for m in mods:
        if _app_pool(m):
            out.append(
                f"static uint8_t g_{m.mod}_pool[TVMGEN_{m.mod.upper()}_GLOBAL_WORKSPACE_"
                "WORKSPACE_POOL_SIZE] __attribute__((aligned(16)));\n"
            )
    for m in mods:
        for n, t, c in m.inputs:
            out.append(f"static {t} g_{m.mod}_in_{n}[{c}] __attribute__((aligned(16)));\n")
        for n, t, c in m.outputs:
            out.append(f"static {t} g_{m.mod}_out_{n}[{c}] __attribute__((aligned(16)));\n")
    out.append(
        "\nstatic uint32_t g_rng;\n\n"
        "static uint32_t xorshift32(void) {\n"
        "  uint32_t x = g_rng;\n  x ^= x << 13;\n  x ^= x >> 17;\n  x ^= x << 5;\n"
        "  g_rng = x;\n  return x;\n}\n\n"
        "static void fill_input(void* data, size_t n) {\n"
        "  uint8_t* b = (uint8_t*)data;\n"
        "  for (size_t i = 0; i < n; ++i) {\n    b[i] = (uint8_t)(xorshift32() >> 24);\n  }\n}\n\n"
        "static void print_hex(const char* name, const void* data, size_t n) {\n"
        "  const uint8_t* b = (const uint8_t*)data;\n"
        '  printf("%s %u\\n", name, (unsigned)n);\n'
        "  for (size_t i = 0; i < n; ++i) {\n"
        '    printf("%02x", b[i]);\n'
        '    if (i % 32 == 31 || i + 1 == n) {\n      printf("\\n");\n    }\n  }\n}\n\n'
        "int main(int argc, char** argv) {\n"
        "  uint32_t seed = (argc > 1) ? (uint32_t)strtoul(argv[1], NULL, 0) : 1u;\n"
        "  g_rng = (seed * 2654435761u) ^ 0x5bd1e995u;\n"
        "  if (g_rng == 0) {\n    g_rng = 1;\n  }\n"
        "  size_t peak = 0;\n  size_t calls = 0;\n  int failed = 0;\n"
    )
    for m in mods:
        p = f"tvmgen_{m.mod}"
        out.append(f"\n  /* module {m.mod} */\n")
        for n, _t, _c in m.inputs:
            out.append(f"  fill_input(g_{m.mod}_in_{n}, sizeof(g_{m.mod}_in_{n}));\n")
        out.append(f"  struct {p}_inputs {m.mod}_inputs = {{\n")
        out += [f"    .{n} = g_{m.mod}_in_{n},\n" for (n, _t, _c) in m.inputs]
        out.append("  };\n")
        out.append(f"  struct {p}_outputs {m.mod}_outputs = {{\n")
        out += [f"    .{n} = g_{m.mod}_out_{n},\n" for (n, _t, _c) in m.outputs]
        out.append("  };\n")
        pools = ""
        if _app_pool(m):
            out.append(
                f"  struct {p}_workspace_pools {m.mod}_pools = {{\n"
                f"    .global_workspace = g_{m.mod}_pool,\n  }};\n"
            )
            pools = f", &{m.mod}_pools"
        out.append(
            "  shim_workspace_init(g_aot_memory, sizeof(g_aot_memory));\n"
            f"  int32_t {m.mod}_rc = {p}_run(&{m.mod}_inputs, &{m.mod}_outputs{pools});\n"
            "  peak += shim_workspace_peak();\n"
            "  calls += shim_workspace_calls();\n"
            f"  if ({m.mod}_rc != 0) {{\n"
            f'    fprintf(stderr, "{p}_run failed: %d\\n", (int){m.mod}_rc);\n'
            "    failed = 1;\n  }\n"
            "  if (shim_workspace_in_use() != 0) {\n"
            f'    fprintf(stderr, "{p}_run left %u workspace bytes allocated\\n", '
            "(unsigned)shim_workspace_in_use());\n"
            "    failed = 1;\n  }\n"
        )
        for n, _t, _c in m.outputs:
            out.append(
                f'  print_hex("{m.mod}.{n}", g_{m.mod}_out_{n}, sizeof(g_{m.mod}_out_{n}));\n'
            )
    out.append(
        "\n  /* sum over modules: each module runs on its own empty allocator */\n"
        '  fprintf(stderr, "workspace_peak=%u workspace_calls=%u\\n", (unsigned)peak, (unsigned)calls);\n'
        "  return failed;\n}\n"
    )
    return "".join(out)


def _app_pool(m: ModuleResult) -> bool:
    return m.usmp is not None and m.usmp["pool"] == "application"


def _cmake(name: str, ws: int | None) -> str:
    return (
        "# Generated project for a TVM model on Zephyr (host-buildable fixture for crewrite).\n"
        "cmake_minimum_required(VERSION 3.13.1)\n\n"
        "find_package(Zephyr HINTS $ENV{ZEPHYR_BASE})\n"
        f"project(microtvm_autogenerated_{name})\n\n"
        "set(CRT_LIBS microtvm_rpc_common aot_executor_module aot_executor common memory)\n"
        "set(CRT_CONFIG_PATH ${CMAKE_CURRENT_SOURCE_DIR}/crt_config)\n\n"
        "file(GLOB_RECURSE model_srcs ${CMAKE_CURRENT_SOURCE_DIR}/model/codegen/host/src/*.c)\n"
        "file(GLOB_RECURSE app_srcs ${CMAKE_CURRENT_SOURCE_DIR}/src/*.c)\n"
        "target_sources(app PRIVATE ${app_srcs} ${model_srcs})\n"
        "target_include_directories(app PRIVATE\n"
        "  ${CMAKE_CURRENT_SOURCE_DIR}/include\n"
        "  ${CMAKE_CURRENT_SOURCE_DIR}/crt_config\n"
        "  ${CMAKE_CURRENT_SOURCE_DIR}/crt/include\n"
        "  ${CMAKE_CURRENT_SOURCE_DIR}/model/codegen/host/include)\n"
        + (f"target_compile_definitions(app PUBLIC -DWORKSPACE_SIZE={ws})\n" if ws else "")
        + "target_compile_options(app PRIVATE -Wno-unused-variable)\n"
        "target_link_libraries(app PRIVATE m)\n"
    )


def _operator_entries(m: ModuleResult) -> list:
    """metadata's operator_functions: each operator's own workspace, as TVM counts it."""
    return [
        {
            "function_name": fname,
            "workspace": [{"device": 1, "workspace_size_bytes": sum(round16(b[1]) for b in bufs)}],
        }
        for fname, bufs in sorted(m.buffers.items())
    ]


_DTYPES = {
    "int8_t": ("int8", 1),
    "uint8_t": ("uint8", 1),
    "int32_t": ("int32", 4),
    "float": ("float32", 4),
}


def _tensors(tensors: list) -> dict:
    """TVM's description of the entry's tensors: dtype and size in bytes."""
    return {n: {"dtype": _DTYPES[t][0], "size": c * _DTYPES[t][1]} for (n, t, c) in tensors}


def _metadata(name: str, mods: list[ModuleResult], spec: dict) -> str:
    """metadata.json as TVM 0.10+ writes it (format version 7): the run function's tensors
    under memory.functions.main; with USMP, each module's pool size by pool name (at the top
    for one module, in the module's entry for several); or as TVM 0.8 wrote it (version 5: one
    module, at the top level). The graph executor's operators list their own workspace."""
    usmp, specs = usmp_options(spec) is not None, spec["modules"]
    graph = {m.mod: specs[m.mod].get("executor") == "graph" for m in mods}
    if spec.get("metadata_version") == 5:
        (m,) = mods
        md5 = {
            "version": 5,
            "model_name": m.mod,
            "export_datetime": "2021-09-01 00:00:00Z",
            "memory": {
                "sids": [],
                "functions": {
                    "main": [
                        {
                            "device": 1,
                            "workspace_size_bytes": m.workspace_size,
                            "constants_size_bytes": 0,
                            "io_size_bytes": 0,
                        }
                    ],
                    "operator_functions": _operator_entries(m),
                },
            },
            "target": {"1": specs[m.mod].get("target", "c -keys=arm_cpu,cpu -mcpu=cortex-m7")},
            "executors": ["graph" if graph[m.mod] else "aot"],
            "style": "full-model",
        }
        return json.dumps(md5, indent=2, sort_keys=True) + "\n"
    md = {
        "version": 7,
        "model_name": name,
        "export_datetime": "2024-01-01 00:00:00Z",
        "modules": {},
        "memory_pools": (
            {"global_workspace": {"size_bytes": mods[0].workspace_size}}
            if usmp and len(mods) == 1
            else {}
        ),
    }
    for m in mods:
        inputs, outputs = _tensors(m.inputs), _tensors(m.outputs)
        io = sum(t["size"] for t in (*inputs.values(), *outputs.values()))
        functions: dict = {
            "main": [
                {
                    "device": 1,
                    "workspace_size_bytes": m.workspace_size,
                    "constants_size_bytes": 0,
                    "io_size_bytes": io,
                    "inputs": inputs,
                    "outputs": outputs,
                }
            ],
        }
        if graph[m.mod]:
            functions["operator_functions"] = _operator_entries(m)
        md["modules"][m.mod] = {
            "executors": ["graph" if graph[m.mod] else "aot"],
            "style": "full-model",
            "target": [specs[m.mod].get("target", "c -keys=arm_cpu,cpu -mcpu=cortex-m7")],
            "memory": {"functions": functions},
        }
        if usmp and len(mods) > 1:
            md["modules"][m.mod]["memory_pools"] = {
                "global_workspace": {"size_bytes": m.workspace_size}
            }
    return json.dumps(md, indent=2, sort_keys=True) + "\n"


_VENDOR_HEADER = """\
/* Runtime of an NPU offload, as a vendor ships it (written for crewrite's fixtures): it
   needs pthread.h, which crewrite's own headers do not have. */
#ifndef TVM_ETHOSU_RUNTIME_H_
#define TVM_ETHOSU_RUNTIME_H_
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct ethosu_driver;
typedef struct {
  pthread_mutex_t lock;
  struct ethosu_driver* driver;
} tvm_ethosu_context_t;

int32_t TVMEthosULaunch(tvm_ethosu_context_t* context, void* cms_data, size_t cms_data_size,
                        uint64_t* base_addrs, size_t* base_addrs_size, int num_tensors);
#endif
"""


def _with_run_lock(lib0: str, mod: str) -> str:
    """A run wrapper extended by hand: one inference at a time, under a pthread mutex."""
    p = f"tvmgen_{mod}"
    head, call = lib0.split(f"int32_t {p}_run(", 1)
    signature, rest = call.split("{", 1)
    body, tail = rest.split("\n}\n", 1)
    return (
        head.replace(f"#include <{p}.h>\n", f"#include <{p}.h>\n#include <pthread.h>\n")
        + f"static pthread_mutex_t {p}_run_lock = PTHREAD_MUTEX_INITIALIZER;\n"
        + f"int32_t {p}_run({signature}{{\n"
        + f"  pthread_mutex_lock(&{p}_run_lock);\n"
        + f"  int32_t status = {body.strip().removeprefix('return ').rstrip(';')};\n"
        + f"  pthread_mutex_unlock(&{p}_run_lock);\n"
        + "  return status;\n}\n"
        + tail
    )


def build_fixture(name: str) -> Fixture:
    spec = SPECS[name] if name in SPECS else BENCH_SPECS[name]
    usmp = usmp_options(spec)
    mods = [ModuleBuilder(mod, ms, usmp=usmp).build() for mod, ms in spec["modules"].items()]
    header_sized = spec.get("app") == "header_sized"
    ws = None if header_sized else sum(m.workspace_size for m in mods) + ALLOCATOR_OVERHEAD
    if spec.get("layout") == "mlf":  # a Model Library Format folder, no application
        files = {"metadata.json": _metadata(name, mods, spec)}
        for m in mods:
            for rel, text in m.files.items():
                files[f"codegen/host/{rel}"] = text
            if m.graph is not None:
                files["executor-config/graph/graph.json"] = m.graph
        return Fixture(name, dict(sorted(files.items())), mods, None)
    files = {
        "CMakeLists.txt": _cmake(name, ws),
        "src/main.c": _main_c(name, mods, header_sized),
        "model/metadata.json": _metadata(name, mods, spec),
    }
    for m in mods:
        for rel, text in m.files.items():
            if spec.get("lib0_pthread") and rel == f"src/{m.mod}_lib0.c":
                text = _with_run_lock(text, m.mod)
            if spec.get("vendor_header") and rel == f"src/{m.mod}_lib1.c":
                text = text.replace(
                    "#include <math.h>\n", '#include <math.h>\n#include "tvm_ethosu_runtime.h"\n'
                )
            files[f"model/codegen/host/{rel}"] = text
            if spec.get("header_copy") and rel.startswith("include/"):
                files[rel] = text
    for rel, value in spec.get("header_copies", {}).items():
        (m,) = mods
        generated = m.files[f"include/tvmgen_{m.mod}.h"]
        define = f"#define TVMGEN_{m.mod.upper()}_WORKSPACE_SIZE "
        files[rel] = generated.replace(f"{define}{m.workspace_size}\n", f"{define}{value}\n")
    if spec.get("vendor_header"):
        files["include/tvm_ethosu_runtime.h"] = _VENDOR_HEADER
    return Fixture(name, dict(sorted(files.items())), mods, ws)


def write_fixture(fx: Fixture, out_dir: Path) -> None:
    root = Path(out_dir) / fx.name
    for rel, text in fx.files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)


def expected_facts(fixtures: list[Fixture]) -> str:
    """fixtures/EXPECTED.json: what an extractor should find in each fixture."""
    out = {}
    for fx in fixtures:
        spec = SPECS[fx.name]
        out[fx.name] = {
            "usmp": bool(spec.get("usmp")),
            "cmake_workspace_size": fx.workspace_define,
            "workspace_sites": fx.sites,
            "modules": {
                m.mod: {
                    "workspace_size": m.workspace_size,
                    "workspace_sites": m.sites,
                    "alloc_calls_per_run": m.alloc_calls,
                    "sid_bytes": m.sid_sizes,
                    "largest_operator_scratch_rounded": m.max_scratch,
                    "entry_calls": m.call_order,
                    "buffers": m.buffers,
                    "inputs": [list(i) for i in m.inputs],
                    "outputs": [list(o) for o in m.outputs],
                    **({"pool_slices": m.slices} if m.usmp else {}),
                }
                for m in fx.modules
            },
        }
    return json.dumps(out, indent=1, sort_keys=True) + "\n"


def write_index(fixtures: list[Fixture], out_dir: Path) -> None:
    with open(Path(out_dir) / "EXPECTED.json", "w", encoding="utf-8", newline="\n") as f:
        f.write(expected_facts(fixtures))
