"""A small host driver for graph-executor outputs, which have no AOT entry: it calls each
packed operator of the graph one at a time, as the C runtime's graph executor does, on
DLTensors over static storage (one array per storage id of the graph JSON).

Imported by tests; defines no tests. The product will get its own driver (`crewrite
verify`); this one only has to run our fixtures.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import host_build

_DTYPES = {"int8": (0, 8, 1), "int32": (0, 32, 4), "float32": (2, 32, 4)}


def driver_source(mlf: Path, module: str, resource_handle: bool) -> str:
    """C source of a program that runs the graph of `mlf` once on a seeded input, prints the
    output like the board fixtures' main.c does, and the workspace use on stderr."""
    graph = json.loads((mlf / "executor-config" / "graph" / "graph.json").read_text())
    attrs = graph["attrs"]
    storage, shapes, dtypes = (attrs[k][1] for k in ("storage_id", "shape", "dltype"))
    pairs = zip(shapes, dtypes, strict=True)
    nbytes = [_count(shape) * _DTYPES[dtype][2] for shape, dtype in pairs]
    sizes: dict[int, int] = {}
    for sid, size in zip(storage, nbytes, strict=True):
        sizes[sid] = max(sizes.get(sid, 0), size)
    ops = [(k, n) for k, n in enumerate(graph["nodes"]) if n["op"] == "tvm_op"]
    params = "void*, int32_t*, int32_t, void*, int32_t*" + (", void*" if resource_handle else "")
    out = ["#include <stdint.h>\n#include <stdio.h>\n#include <stdlib.h>\n"]
    out.append('#include <tvm/runtime/c_runtime_api.h>\n#include "crewrite_shim.h"\n\n')
    for name in dict.fromkeys(n["attrs"]["func_name"] for _, n in ops):
        out.append(f"int32_t {name}({params});\n")
    for sid, size in sorted(sizes.items()):
        out.append(f"static uint8_t storage_{sid}[{size}] __attribute__((aligned(16)));\n")
    for entry, shape in enumerate(shapes):
        out.append(f"static int64_t shape_{entry}[] = {{{', '.join(map(str, shape))}}};\n")
    out.append(
        "static uint8_t g_pool[1 << 20] __attribute__((aligned(16)));\n"
        "static uint32_t g_rng;\n\n"
        "static uint32_t xorshift32(void) {\n"
        "  uint32_t x = g_rng;\n  x ^= x << 13;\n  x ^= x >> 17;\n  x ^= x << 5;\n"
        "  g_rng = x;\n  return x;\n}\n\n"
        "static void tensor(DLTensor* t, void* data, int64_t* shape, int ndim, uint8_t code,\n"
        "                   uint8_t bits) {\n"
        "  t->data = data;\n  t->device.device_type = kDLCPU;\n  t->device.device_id = 0;\n"
        "  t->ndim = ndim;\n  t->dtype.code = code;\n  t->dtype.bits = bits;\n"
        "  t->dtype.lanes = 1;\n  t->shape = shape;\n  t->strides = NULL;\n"
        "  t->byte_offset = 0;\n}\n\n"
        "int main(int argc, char** argv) {\n"
        "  uint32_t seed = (argc > 1) ? (uint32_t)strtoul(argv[1], NULL, 0) : 1u;\n"
        "  g_rng = (seed * 2654435761u) ^ 0x5bd1e995u;\n"
        "  if (g_rng == 0) {\n    g_rng = 1;\n  }\n"
        "  size_t peak = 0, calls = 0;\n  int failed = 0;\n"
        f"  for (size_t i = 0; i < {nbytes[0]}; ++i) {{\n"
        f"    storage_{storage[0]}[i] = (uint8_t)(xorshift32() >> 24);\n  }}\n"
    )
    for k, node in ops:
        entries = [inp[0] for inp in node["inputs"]] + [k]
        out.append(f"  {{  /* {node['name']} */\n")
        out.append(f"    DLTensor t[{len(entries)}];\n    TVMValue v[{len(entries)}];\n")
        out.append(f"    int32_t codes[{len(entries)}];\n    TVMValue ret;\n")
        out.append("    int32_t ret_code = 0;\n")
        for j, e in enumerate(entries):
            code, bits, _ = _DTYPES[dtypes[e]]
            out.append(
                f"    tensor(&t[{j}], storage_{storage[e]}, shape_{e}, {len(shapes[e])}, "
                f"{code}, {bits});\n"
                f"    v[{j}].v_handle = &t[{j}];\n    codes[{j}] = kTVMDLTensorHandle;\n"
            )
        extra = ", NULL" if resource_handle else ""
        out.append(
            "    shim_workspace_init(g_pool, sizeof(g_pool));\n"
            f"    if ({node['attrs']['func_name']}(v, codes, {len(entries)}, &ret, &ret_code"
            f"{extra}) != 0) {{\n"
            f'      fprintf(stderr, "{node["name"]} failed\\n");\n      failed = 1;\n    }}\n'
            "    peak = shim_workspace_peak() > peak ? shim_workspace_peak() : peak;\n"
            "    calls += shim_workspace_calls();\n"
            "    if (shim_workspace_in_use() != 0) {\n"
            f'      fprintf(stderr, "{node["name"]} left workspace allocated\\n");\n'
            "      failed = 1;\n    }\n  }\n"
        )
    head = graph["heads"][0][0]
    out.append(
        f'  printf("{module}.output %u\\n", {nbytes[head]}u);\n'
        f"  for (size_t i = 0; i < {nbytes[head]}; ++i) {{\n"
        f'    printf("%02x", storage_{storage[head]}[i]);\n'
        f'    if (i % 32 == 31 || i + 1 == {nbytes[head]}) {{\n      printf("\\n");\n    }}\n  }}\n'
        '  fprintf(stderr, "workspace_peak=%u workspace_calls=%u\\n", (unsigned)peak, '
        "(unsigned)calls);\n"
        "  return failed;\n}\n"
    )
    return "".join(out)


def _count(shape: list[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def build(mlf: Path, out_dir: Path, module: str = "default", resource_handle: bool = True) -> Path:
    """Compile the MLF's sources with the driver and the runtime shim; return the program."""
    out_dir.mkdir(parents=True, exist_ok=True)
    driver = out_dir / "graph_driver.c"
    driver.write_text(driver_source(mlf, module, resource_handle))
    exe = out_dir / "graph"
    cmd = [
        host_build.CC,
        *host_build.BASE_CFLAGS,
        "-I",
        str(host_build.FAKE_INCLUDE / "tvm"),
        "-I",
        str(host_build.FAKE_INCLUDE / "cmsis"),
        "-I",
        str(host_build.SHIM_DIR / "include"),
        str(driver),
        *(str(s) for s in sorted(mlf.rglob("codegen/host/src/*.c"))),
        *(str(s) for s in host_build.SHIM_SOURCES),
        "-o",
        str(exe),
        "-lm",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise host_build.BuildError(f"{' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
    return exe
