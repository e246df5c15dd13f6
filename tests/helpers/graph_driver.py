"""Graph-executor outputs built and run by `crewrite verify`'s host build (crewrite/hostrt):
they have no AOT entry, so the driver's project half is written here. Its run function calls
each packed operator of the graph one at a time, as the C runtime's graph executor does, on
DLTensors over static storage (one array per storage id of the graph JSON): the input is
copied into the first entry's storage, the output out of the head's.

Only the shapes our fixtures have (weights inside the operators, one input, one output);
`crewrite verify` itself drives the AOT executor's C interface."""

from __future__ import annotations

import json
import math
from pathlib import Path

from crewrite.project import load_project
from crewrite.verify import VerifyOptions, host
from crewrite.verify.compare import toolchain
from crewrite.verify.interface import Interface, ModuleInterface, Tensor

_DTYPES = {"int8": (0, 8, 1), "int32": (0, 32, 4), "float32": (2, 32, 4)}


def _graph(mlf: Path) -> dict:
    return json.loads((mlf / "executor-config" / "graph" / "graph.json").read_text())


def interface(mlf: Path, module: str = "default") -> Interface:
    """One input (the graph's first entry) and one output (its head), sized from the graph."""
    graph = _graph(mlf)
    attrs = graph["attrs"]
    shapes, dtypes = attrs["shape"][1], attrs["dltype"][1]
    head = graph["heads"][0][0]
    tensors = tuple(
        Tensor(module, kind, kind, math.prod(shapes[e]) * _DTYPES[dtypes[e]][2], dtypes[e], "graph")
        for kind, e in (("input", 0), ("output", head))
    )
    return Interface((ModuleInterface(module, "", (), tensors, maps_io=False),))


def glue_source(mlf: Path, resource_handle: bool) -> str:
    """The driver's project half (hostrt/crewrite_verify.h) for the graph of `mlf`."""
    graph = _graph(mlf)
    attrs = graph["attrs"]
    storage, shapes, dtypes = (attrs[k][1] for k in ("storage_id", "shape", "dltype"))
    nbytes = [math.prod(s) * _DTYPES[d][2] for s, d in zip(shapes, dtypes, strict=True)]
    sizes: dict[int, int] = {}
    for sid, size in zip(storage, nbytes, strict=True):
        sizes[sid] = max(sizes.get(sid, 0), size)
    ops = [(k, n) for k, n in enumerate(graph["nodes"]) if n["op"] == "tvm_op"]
    head = graph["heads"][0][0]
    params = "void*, int32_t*, int32_t, void*, int32_t*" + (", void*" if resource_handle else "")
    out = [
        "#include <stdint.h>\n#include <string.h>\n",
        '#include <tvm/runtime/c_runtime_api.h>\n#include "crewrite_verify.h"\n\n',
    ]
    out += [
        f"int32_t {name}({params});\n"
        for name in dict.fromkeys(n["attrs"]["func_name"] for _, n in ops)
    ]
    out += [
        f"static uint8_t storage_{sid}[{size}] __attribute__((aligned(16)));\n"
        for sid, size in sorted(sizes.items())
    ]
    out += [
        f"static int64_t shape_{entry}[] = {{{', '.join(map(str, shape))}}};\n"
        for entry, shape in enumerate(shapes)
    ]
    out.append(
        "\nstatic void tensor(DLTensor* t, void* data, int64_t* shape, int ndim, uint8_t code,\n"
        "                   uint8_t bits) {\n"
        "  memset(t, 0, sizeof(*t));\n  t->data = data;\n  t->device.device_type = kDLCPU;\n"
        "  t->ndim = ndim;\n  t->dtype.code = code;\n  t->dtype.bits = bits;\n"
        "  t->dtype.lanes = 1;\n  t->shape = shape;\n}\n\n"
        "static int32_t crewrite_run_0(uint8_t* const* buffers) {\n"
        f"  memcpy(storage_{storage[0]}, buffers[0], {nbytes[0]}u);\n"
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
            f"    int32_t rc = {node['attrs']['func_name']}(v, codes, {len(entries)}, &ret, "
            f"&ret_code{extra});\n"
            "    if (rc != 0) {\n      return rc;\n    }\n  }\n"
        )
    out.append(
        f"  memcpy(buffers[1], storage_{storage[head]}, {nbytes[head]}u);\n  return 0;\n}}\n\n"
        "const crewrite_tensor crewrite_tensors[] = {\n"
        f'  {{0, CREWRITE_INPUT, CREWRITE_BYTES, {nbytes[0]}u, "input"}},\n'
        f'  {{0, CREWRITE_OUTPUT, CREWRITE_BYTES, {nbytes[head]}u, "output"}},\n'
        "};\nconst int crewrite_tensor_count = 2;\n"
        'const crewrite_module crewrite_modules[] = {{"default", crewrite_run_0}};\n'
        "const int crewrite_module_count = 1;\n"
    )
    return "".join(out)


def build(mlf: Path, out_dir: Path, resource_handle: bool = True) -> host.HostBuild:
    """The MLF's sources, crewrite's host runtime and this driver, built for the host."""
    project = load_project([mlf])
    try:
        return host.build(
            project,
            interface(mlf),
            out_dir,
            toolchain(VerifyOptions()),
            alignment=project.alloc_alignment,
            glue=glue_source(mlf, resource_handle),
        )
    finally:
        project.close()
