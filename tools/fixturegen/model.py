"""Module builder: walks a layer list, assigns sids the way TVM's storage rewrite does
(ping-pong reuse), collects operator text, and renders one module's files."""

# ruff: noqa: E501  (C text templates read better on one line each)

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from .cfmt import Rng, hex_i8, hex_i32, hexfloat, round16
from .ops import EXTERN_C, OPS, Scratch, Tensor
from .usmp import PoolBuffer, greedy_by_size

# How a USMP-built module is written (a project spec's "usmp": True or a dict of these):
USMP_DEFAULTS = {
    "sids": "per_tensor",  # one sid_N_let per tensor (TVM with USMP); "reused": ping-pong
    "pool": "static",  # the pool defined in <mod>_lib0.c; "application": workspace_pools
    "inline_sids": False,  # tensors between operators as (&(pool_1_var[N])) in the calls
    "const_pool": False,  # the entry's constants in a global_const_workspace struct
    "tiled_dense": False,  # int8 dense accumulates 8 outputs at a time in a loop-local slice
    "merged_scratch": False,  # conv2d's padded input and output staging share one slice
}


@dataclass
class Sid:
    n: int
    nbytes: int
    code: int
    bits: int
    tensor: int = -1  # index of the layer whose result it holds now


@dataclass
class ModuleResult:
    mod: str
    files: dict  # relative path under model/codegen/host -> text
    workspace_size: int
    sites: int  # TVMBackendAllocWorkspace call sites in the source
    inputs: list  # (name, ctype, count)
    outputs: list
    sid_sizes: list
    max_scratch: int
    alloc_calls: int  # TVMBackendAllocWorkspace calls one inference makes
    buffers: dict = field(default_factory=dict)  # function -> [[var, bytes, code, bits], ...]
    call_order: list = field(default_factory=list)  # functions the entry calls, in order
    usmp: dict | None = None  # USMP's options when the module is built with USMP
    slices: int = 0  # USMP: workspace pool slices in the sources
    graph: str | None = None  # graph executor: executor-config/graph/graph.json


class ModuleBuilder:
    def __init__(self, mod: str, spec: dict, usmp: dict | None = None) -> None:
        self.mod = mod
        self.p = f"tvmgen_{mod}"
        self.seed = spec["seed"]
        self.rng = Rng(spec["seed"])
        self.spec = spec
        self.usmp = usmp
        # Graph executor: packed-API operators called one at a time by the runtime, registered
        # in a system library (default_lib0.c); "legacy" writes TVM 0.8's names (TVMArray,
        # .ctx, no tvmgen_ prefix, lib0.c / lib1.c, no resource_handle).
        self.graph = spec.get("executor") == "graph"
        self.legacy = bool(spec.get("legacy"))
        self.consts: list[str] = []
        self.const_n = 0
        self.lib1: list[str] = []
        self.lib2: list[str] = []
        self.lib2_protos: list[str] = []
        self.used_names: dict[str, int] = {}
        self.scratch_of: dict[str, int] = {}
        self.nbufs_of: dict[str, int] = {}
        self.bufs_of: dict[str, list] = {}
        self.shared: dict = {}
        self.sites = 0
        self.gw_n = 1
        self.cmsis_count = 0
        self.pool_slices: list[int] = []  # USMP: bytes of every scratch slice, by uid
        self.slices_of: dict[str, list[int]] = {}  # function -> uids of its scratch slices
        self.const_values: dict[str, tuple[str, list]] = {}  # name -> (ctype, values)
        self.const_names: list[str] = []  # parallel to self.consts

    # -- registration helpers used by the emitters
    def uniq(self, base: str) -> str:
        """base, then base_1, base_2, ... (TVM's suffixes for fused functions with one name)."""
        n = self.used_names.get(base, -1)
        name = base if n < 0 else f"{base}_{n + 1}"
        while name in self.used_names:
            n += 1
            name = f"{base}_{n + 1}"
        self.used_names[base] = n + 1 if n >= 0 else 0
        self.used_names.setdefault(name, -1)
        return name

    def scratch(self) -> Scratch:
        sc = Scratch(bool(self.usmp), registry=self.pool_slices)
        if self.usmp:
            if self.usmp["const_pool"]:
                self.gw_n += 1
                sc.const = f"global_const_workspace_{self.gw_n}_var"
            self.gw_n += 1
            sc.gw = f"global_workspace_{self.gw_n}_var"
        return sc

    def const(self, ctype: str, values: list, prefix: str = "fused_constant") -> str:
        name = f"{prefix}_{self.const_n}"
        self.const_n += 1
        self.const_values[name] = (ctype, values)
        self.const_names.append(name)
        fmt = {"int8_t": hex_i8, "int32_t": hex_i32, "float": hexfloat}[ctype]
        per_line = {"int8_t": 16, "int32_t": 8, "float": 6}[ctype]
        lines = []
        for i in range(0, len(values), per_line):
            lines.append("    " + ", ".join(fmt(v) for v in values[i : i + per_line]))
        self.consts.append(
            '#ifdef __cplusplus\nextern "C" {\n#endif\n'
            f'static const {ctype} __attribute__((section(".rodata.tvm"), aligned(16))) '
            f"{name}[{len(values)}] = {{\n" + ",\n".join(lines) + "\n};\n"
            '#ifdef __cplusplus\n}  // extern "C"\n#endif\n'
        )
        return name

    def add_op(self, fname: str, params: str, body: str, sc: Scratch, lib: int = 1) -> None:
        text = (
            f"{EXTERN_C}TVM_DLL int32_t {fname}({params}{sc.param()}) {{\n"
            f"{body}{sc.frees()}  return 0;\n}}\n\n"
        )
        if self.graph:
            text = self._packed(fname, params, body + sc.frees())
        if not self.usmp:
            self.sites += len(sc.bufs)
        self.scratch_of[fname] = sc.total
        self.slices_of[fname] = list(sc.uids)
        self.nbufs_of[fname] = 0 if self.usmp else len(sc.bufs)
        self.bufs_of[fname] = [[b[0], b[1], b[2], b[3]] for b in sc.bufs]
        if lib == 1:
            self.lib1.append(text)
        else:
            self.lib2.append(text)
            self.lib2_protos.append(f"{EXTERN_C}TVM_DLL int32_t {fname}({params}{sc.param()});\n")

    def _packed(self, fname: str, params: str, body: str) -> str:
        """The operator as the graph executor calls it: packed arguments (TVMValue handles to
        DLTensors) unpacked into typed data pointers, workspace on the tensors' device id."""
        if self.legacy:
            signature = (
                "void* args, void* arg_type_ids, int32_t num_args, void* out_ret_value, "
                "void* out_ret_tcode"
            )
            tensor, device, code = "TVMArray", "ctx", "((int32_t*)arg_type_ids)[({i})]"
        else:
            signature = (
                "void* args, int32_t* arg_type_ids, int32_t num_args, void* out_ret_value, "
                "int32_t* out_ret_tcode, void* resource_handle"
            )
            tensor, device, code = "DLTensor", "device", "arg_type_ids[{i}]"
        head = []
        names = []
        for i, param in enumerate(params.split(", ")):
            ctype, name = param.replace("__restrict__ ", "").rsplit(" ", 1)
            ctype = ctype.rstrip("*").strip()
            names.append((i, ctype, name))
            head.append(f"  void* arg{i} = (((TVMValue*)args)[{i}].v_handle);\n")
            head.append(f"  int32_t arg{i}_code = {code.format(i=i)};\n")
        for i, ctype, name in names:
            head.append(f"  {ctype}* {name} = ({ctype}*)((({tensor}*)arg{i})[0].data);\n")
            head.append(f"  void* arg{i}_shape = ((({tensor}*)arg{i})[0].shape);\n")
            head.append(f"  void* arg{i}_strides = ((({tensor}*)arg{i})[0].strides);\n")
            if i == 0:
                head.append(f"  int32_t dev_id = ((({tensor}*)arg0)[0].{device}.device_id);\n")
        for i, _, _ in names:
            head.append(f"  if (!(arg{i}_strides == NULL)) {{\n  }}\n")
        body = body.replace("TVMBackendAllocWorkspace(1, 0,", "TVMBackendAllocWorkspace(1, dev_id,")
        body = body.replace("TVMBackendFreeWorkspace(1, 0,", "TVMBackendFreeWorkspace(1, dev_id,")
        return (
            f"{EXTERN_C}TVM_DLL int32_t {fname}({signature}) {{\n"
            + "".join(head)
            + f"{body}  return 0;\n}}\n\n"
        )

    # -- the walk
    def build(self) -> ModuleResult:
        spec = self.spec
        layers = spec["layers"]
        ((in_name, in_shape),) = spec["inputs"]
        (out_name,) = spec["outputs"]
        ids = {}
        for i, L in enumerate(layers):
            if "id" in L:
                ids[L["id"]] = i

        def srcs(i, L):
            if i == 0:
                return [-1]
            if L["kind"] == "add_rw":
                return [ids[L["skip"]], i - 1]
            return [i - 1]

        last_use = {}
        for i, L in enumerate(layers):
            for s in srcs(i, L):
                last_use[s] = i
        tensors = {-1: Tensor(tuple(in_shape), "int8_t")}
        storage = {-1: ("in", in_name)}
        sids: list[Sid] = []
        calls = []
        sid_calls: dict[int, list[int]] = {}  # sid -> entry calls that hand it over
        pooled: list[tuple[str, str]] = []  # USMP: constants the entry slices from its pool
        nodes: list = []  # graph executor: (function, input layers, layer)
        out_tensor = None
        usmp = self.usmp
        for i, L in enumerate(layers):
            src = srcs(i, L)
            em = OPS[L["kind"]](self, L, [tensors[s] for s in src])
            t = em.out
            tensors[i] = t
            if i == len(layers) - 1:
                storage[i] = ("out", out_name)
                out_tensor = t
            elif em.rw:
                storage[i] = storage[src[1]]
                sids[storage[i][1] - 1].tensor = i
            else:
                per_tensor = usmp is not None and usmp["sids"] == "per_tensor"
                free = [] if per_tensor else [s for s in sids if last_use.get(s.tensor, -2) < i]
                if free:
                    sid = free[0]
                    sid.nbytes = max(sid.nbytes, t.nbytes)
                else:
                    code, bits = t.hint
                    sid = Sid(len(sids) + 1, t.nbytes, code, bits)
                    sids.append(sid)
                sid.tensor = i
                storage[i] = ("sid", sid.n)

            def expr(s):
                kind, v = storage[s]
                if kind == "sid":
                    sid_calls.setdefault(v, []).append(len(calls))
                    if usmp is None:
                        return f"sid_{v}"
                    if usmp["inline_sids"]:
                        return f"(&(global_workspace_1_var[@SID{v}@]))"
                    return f"sid_{v}_let"
                return f"{v}_buffer_var"

            args = []
            for a in em.args:
                if a[0] == "in":
                    args.append(expr(src[a[1]]))
                elif a[0] == "out":
                    args.append(expr(i))
                elif usmp is not None and usmp["const_pool"]:
                    if (a[1], a[2]) not in pooled:
                        pooled.append((a[1], a[2]))
                    args.append(f"{a[1]}_let")
                else:
                    args.append(f"(({a[2]}*){a[1]})")
            if usmp is not None:
                if usmp["const_pool"]:
                    args.append("global_const_workspace_0_var")
                args.append("global_workspace_1_var")
            calls.append((em.fname, args))
            if self.graph:
                assert [a[0] for a in em.args] == ["in"] * (len(em.args) - 1) + ["out"], em.args
                nodes.append((em.fname, [src[a[1]] for a in em.args[:-1]], i))

        sid_total = sum(round16(s.nbytes) for s in sids)
        max_scratch = max(self.scratch_of.values(), default=0)
        ws = sid_total + max_scratch
        offsets: dict[str, int] = {}
        if usmp is not None:
            offsets, ws = self._plan_pool(sids, sid_calls, calls)
        elif not self.graph:
            self.sites += len(sids)
        if self.graph:
            files = self.render_graph(calls)
        else:
            files = self.render(sids, calls, in_name, out_name, tensors[-1], out_tensor, ws, pooled)
            files = {rel: _placed(text, offsets) for rel, text in files.items()}
        entry_buffers = (
            {}
            if self.graph
            else {
                f"{self.p}___tvm_main__": [[f"sid_{s.n}", s.nbytes, s.code, s.bits] for s in sids]
            }
        )
        entry_allocs = 0 if usmp or self.graph else len(sids)
        alloc_calls = 0 if usmp else entry_allocs + sum(self.nbufs_of[f] for f, _ in calls)
        if self.legacy:  # TVM 0.8 names carry no tvmgen_<mod>_ prefix
            strip = f"{self.p}_"
            calls = [(f.replace(strip, ""), a) for f, a in calls]
            nodes = [(f.replace(strip, ""), i, n) for f, i, n in nodes]
            self.bufs_of = {f.replace(strip, ""): b for f, b in self.bufs_of.items()}
        return ModuleResult(
            self.mod,
            files,
            ws,
            self.sites,
            [(in_name, "int8_t", tensors[-1].count)],
            [(out_name, out_tensor.dtype, out_tensor.count)],
            [s.nbytes for s in sids],
            max_scratch,
            alloc_calls,
            {**entry_buffers, **self.bufs_of},
            [f for f, _ in calls],
            usmp,
            len(self.pool_slices) + (0 if usmp is None else len(sids)),
            self._graph_json(nodes, tensors, storage, len(sids)) if self.graph else None,
        )

    def _plan_pool(self, sids: list, sid_calls: dict, calls: list) -> tuple[dict[str, int], int]:
        """USMP's offsets for every sid and scratch slice, by its placeholder key."""
        buffers = [
            PoolBuffer(
                f"SID{s.n}",
                s.nbytes,
                frozenset(range(min(sid_calls[s.n]), max(sid_calls[s.n]) + 1)),
            )
            for s in sids
        ]
        for fname, uids in self.slices_of.items():
            at = frozenset(c for c, (f, _) in enumerate(calls) if f == fname)
            for uid in uids:
                buffers.append(PoolBuffer(f"SLICE{uid}", self.pool_slices[uid], at))
        return greedy_by_size(buffers)

    def _graph_json(self, nodes: list, tensors: dict, storage: dict, n_sids: int) -> str:
        """TVM's graph JSON for the graph executor: an input node, one node per operator, with
        every node's storage id, shape and dtype."""
        dtype = {"int8_t": "int8", "int32_t": "int32", "float": "float32"}
        graph_nodes = [{"op": "null", "name": self.spec["inputs"][0][0], "inputs": []}]
        entries = [-1]
        for fname, inputs, layer in nodes:
            graph_nodes.append(
                {
                    "op": "tvm_op",
                    "name": fname,
                    "attrs": {
                        "func_name": fname,
                        "num_inputs": str(len(inputs)),
                        "num_outputs": "1",
                        "flatten_data": "0",
                    },
                    "inputs": [[entries.index(s), 0, 0] for s in inputs],
                }
            )
            entries.append(layer)

        def storage_id(layer: int) -> int:
            kind, value = storage[layer]
            return {"in": 0, "sid": value, "out": n_sids + 1}[kind] if kind != "sid" else value

        graph = {
            "nodes": graph_nodes,
            "arg_nodes": [0],
            "heads": [[len(graph_nodes) - 1, 0, 0]],
            "attrs": {
                "dltype": ["list_str", [dtype[tensors[e].dtype] for e in entries]],
                "device_index": ["list_int", [1] * len(entries)],
                "storage_id": ["list_int", [storage_id(e) for e in entries]],
                "shape": ["list_shape", [[1, *tensors[e].shape] for e in entries]],
            },
            "node_row_ptr": list(range(len(graph_nodes) + 1)),
        }
        return json.dumps(graph, indent=2) + "\n"

    # -- rendering
    def render(self, sids, calls, in_name, out_name, tin, tout, ws, pooled) -> dict:
        p, mod = self.p, self.mod
        target = self.spec.get("target", "c -keys=arm_cpu,cpu -mcpu=cortex-m7")
        files = {}
        files[f"include/{p}.h"] = self._header(in_name, out_name, tin, tout, ws)
        app_pool = self.usmp is not None and self.usmp["pool"] == "application"
        if self.usmp:
            const_param = "uint8_t* global_const_workspace_0_var," if pooled else ""
            const_arg = "((uint8_t*)&global_const_workspace)," if pooled else ""
            pool_arg = (
                "workspace_pools->global_workspace" if app_pool else "((uint8_t*)&global_workspace)"
            )
            run_params = f"struct {p}_inputs* inputs,struct {p}_outputs* outputs" + (
                f",struct {p}_workspace_pools* workspace_pools" if app_pool else ""
            )
            lib0 = (
                f"// tvm target: {target}\n"
                '#include "tvm/runtime/c_runtime_api.h"\n'
                '#ifdef __cplusplus\nextern "C" {\n#endif\n'
                + (self._const_pool(pooled) if pooled else "")
                + (
                    ""
                    if app_pool
                    else '__attribute__((section(".bss.noinit.tvm"), aligned(16)))\n'
                    f"static uint8_t global_workspace[{ws}];\n"
                )
                + f"#include <{p}.h>\n"
                f"TVM_DLL int32_t {p}___tvm_main__(void* {in_name},void* {out_name},"
                f"{const_param}uint8_t* global_workspace_0_var);\n"
                f"int32_t {p}_run({run_params}) {{"
                f"return {p}___tvm_main__(inputs->{in_name},outputs->{out_name},{const_arg}"
                f"{pool_arg});\n}}\n"
                "#ifdef __cplusplus\n}\n#endif\n"
            )
        else:
            lib0 = (
                f"// tvm target: {target}\n"
                '#include "tvm/runtime/c_runtime_api.h"\n'
                '#ifdef __cplusplus\nextern "C" {\n#endif\n'
                f"#include <{p}.h>\n"
                f"TVM_DLL int32_t {p}___tvm_main__(void* {in_name},void* {out_name});\n"
                f"int32_t {p}_run(struct {p}_inputs* inputs,struct {p}_outputs* outputs) {{"
                f"return {p}___tvm_main__(inputs->{in_name},outputs->{out_name});\n}}\n"
                "#ifdef __cplusplus\n}\n#endif\n"
            )
        files[f"src/{mod}_lib0.c"] = lib0

        # the AOT entry
        gw_param = ""
        if self.usmp:
            gw_param = (
                ", uint8_t* global_const_workspace_0_var" if self.usmp["const_pool"] else ""
            ) + ", uint8_t* global_workspace_1_var"
        entry = (
            f"{EXTERN_C}TVM_DLL int32_t {p}___tvm_main__({tin.dtype}* {in_name}_buffer_var,"
            f"{tout.dtype}* {out_name}_buffer_var{gw_param}) {{\n"
        )
        if self.usmp:
            for name, _ctype, offset in self._const_layout(pooled):
                entry += f"  void* {name}_let = (&(global_const_workspace_0_var[{offset}]));\n"
            if not self.usmp["inline_sids"]:
                for s in sids:
                    entry += f"  void* sid_{s.n}_let = (&(global_workspace_1_var[@SID{s.n}@]));\n"
        else:
            for s in sids:
                entry += (
                    f"  void* sid_{s.n} = TVMBackendAllocWorkspace(1, 0, (uint64_t){s.nbytes}, {s.code}, {s.bits});\n"
                    f"  if (sid_{s.n} == NULL) {{\n    return -1;\n  }}\n"
                )
        for fname, args in calls:
            entry += f"  if ({fname}({', '.join(args)}) != 0 ) return -1;\n"
        if not self.usmp:
            for s in reversed(sids):
                entry += f"  if (TVMBackendFreeWorkspace(1, 0, sid_{s.n}) != 0) {{\n    return -1;\n  }}\n"
        entry += "  return 0;\n}\n"

        uses_cmsis = bool(self.lib2)
        head = (
            f"// tvm target: {target}\n#define TVM_EXPORTS\n"
            '#include "tvm/runtime/c_runtime_api.h"\n'
            '#include "tvm/runtime/c_backend_api.h"\n'
            "#include <math.h>\n#include <stdbool.h>\n"
        )
        head += "#include <arm_nnsupportfunctions.h>\n" if uses_cmsis else "#include <arm_acle.h>\n"
        head += '#pragma GCC diagnostic ignored "-Wunused-variable"\n'
        in_pool = {name for name, _ in pooled}
        consts = [t for n, t in zip(self.const_names, self.consts, strict=True) if n not in in_pool]
        lib1 = head + "".join(consts) + "".join(self.lib1)
        if uses_cmsis:
            lib1 += "".join(self.lib2_protos) + "\n"
        lib1 += entry
        files[f"src/{mod}_lib1.c"] = lib1
        if uses_cmsis:
            files[f"src/{mod}_lib2.c"] = (
                "// tvm target: c -keys=arm_cpu,cpu -mcpu=cortex-m55\n"
                "#include <stdio.h>\n#include <stdlib.h>\n"
                "#include <dlpack/dlpack.h>\n"
                "#include <arm_nnfunctions.h>\n#include <arm_nn_types.h>\n"
                "#include <arm_nnsupportfunctions.h>\n"
                "#include <tvm/runtime/c_runtime_api.h>\n#include <tvm/runtime/c_backend_api.h>\n\n"
                + "".join(self.lib2)
            )
        return files

    def _header(self, in_name, out_name, tin, tout, ws) -> str:
        p, mod = self.p, self.mod
        P = p.upper()
        app_pool = self.usmp is not None and self.usmp["pool"] == "application"
        pools = (
            f'/* Workspace pool pointers for TVM module "{mod}" */\n'
            f"struct {p}_workspace_pools {{\n  void* global_workspace;\n}};\n\n"
            f'/* global_workspace size for TVM module "{mod}" */\n'
            f"#define {P}_GLOBAL_WORKSPACE_WORKSPACE_POOL_SIZE {ws}\n\n"
            if app_pool
            else ""
        )
        return (
            f"#ifndef {P}_H_\n#define {P}_H_\n#include <stdint.h>\n\n"
            '#ifdef __cplusplus\nextern "C" {\n#endif\n\n'
            + (
                # TVM 0.11 and later: the size of every input and output, in bytes
                f'/* bytes of input tensor "{in_name}" */\n'
                f"#define {P}_{in_name.upper()}_SIZE {tin.nbytes}\n"
                f'/* bytes of output tensor "{out_name}" */\n'
                f"#define {P}_{out_name.upper()}_SIZE {tout.nbytes}\n\n"
                if self.spec.get("size_defines")
                else ""
            )
            + f'/* Input tensors of module "{mod}" */\n'
            f"struct {p}_inputs {{\n  void* {in_name};\n}};\n\n"
            f'/* Output tensors of module "{mod}" */\n'
            f"struct {p}_outputs {{\n  void* {out_name};\n}};\n\n"
            + pools
            + f'/* Runs module "{mod}" once; returns 0 on success. */\n'
            f"int32_t {p}_run(\n  struct {p}_inputs* inputs,\n  struct {p}_outputs* outputs"
            + (f",\n  struct {p}_workspace_pools* workspace_pools" if app_pool else "")
            + "\n);\n\n"
            f"/* workspace the runtime allocator must hold for one inference */\n"
            f"#define {P}_WORKSPACE_SIZE {ws}\n\n"
            "#ifdef __cplusplus\n}\n#endif\n\n#endif  // " + f"{P}_H_\n"
        )

    def _const_layout(self, pooled: list) -> list[tuple[str, str, int]]:
        """(name, ctype, offset) of every constant in the constant pool, 16-byte aligned."""
        out, offset = [], 0
        for name, ctype in pooled:
            out.append((name, ctype, offset))
            values = self.const_values[name][1]
            offset += round16(len(values) * (1 if ctype == "int8_t" else 4))
        return out

    def _const_pool(self, pooled: list) -> str:
        """TVM's constant pool: one struct of every constant the entry slices, initialised."""
        fmt = {"int8_t": hex_i8, "int32_t": hex_i32, "float": hexfloat}
        members, inits, total = [], [], 0
        for name, ctype, offset in self._const_layout(pooled):
            values = self.const_values[name][1]
            nbytes = len(values) * (1 if ctype == "int8_t" else 4)
            total = offset + nbytes
            members.append(
                f"  {ctype} {name}_let[{len(values)}] __attribute__((packed, aligned(16)));"
                f" // {nbytes} bytes, aligned offset: {offset}\n"
            )
            rows = [
                "    " + ", ".join(fmt[ctype](v) for v in values[i : i + 16])
                for i in range(0, len(values), 16)
            ]
            inits.append(f"  .{name}_let = {{\n" + ",\n".join(rows) + "\n  },\n")
        return (
            '__attribute__((section(".rodata.tvm"), ))\n'
            "static struct global_const_workspace {\n"
            + "".join(members)
            + "} global_const_workspace = {\n"
            + "".join(inits)
            + f"}};// of total size {total} bytes\n"
        )

    def render_graph(self, calls: list) -> dict:
        """A graph-executor / system-lib module: packed operators in lib1, the function
        registry and TVMSystemLibEntryPoint in lib0; no module header, no AOT entry."""
        target = self.spec.get("target", "c -keys=arm_cpu,cpu -mcpu=cortex-m7")
        functions = list(dict.fromkeys(f for f, _ in calls))
        if self.legacy:
            params = "TVMValue* args, int* type_code, int num_args, TVMValue* out_value, int* out_type_code"
        else:
            params = (
                "TVMValue* args, int* type_code, int num_args, TVMValue* out_value, "
                "int* out_type_code, void* resource_handle"
            )
        count = len(functions)
        names = f"\\{count & 255:03o}\\{count >> 8:03o}" + "".join(f"{f}\\000" for f in functions)
        lib0 = (
            f"// tvm target: {target}\n"
            "#include <tvm/runtime/crt/module.h>\n"
            + "".join(f"{EXTERN_C}TVM_DLL int32_t {f}({params});\n" for f in functions)
            + "static TVMBackendPackedCFunc _tvm_func_array[] = {\n"
            + "".join(f"    (TVMBackendPackedCFunc){f},\n" for f in functions)
            + "};\n"
            "static const TVMFuncRegistry _tvm_func_registry = {\n"
            f'    "{names}",\n'
            "    _tvm_func_array,\n"
            "};\n"
            "static const TVMModule _tvm_system_lib = {\n"
            "    &_tvm_func_registry,\n"
            "};\n"
            "const TVMModule* TVMSystemLibEntryPoint(void) {\n"
            "    return &_tvm_system_lib;\n"
            "}\n"
        )
        head = (
            f"// tvm target: {target}\n#define TVM_EXPORTS\n"
            '#include "tvm/runtime/c_runtime_api.h"\n'
            '#include "tvm/runtime/c_backend_api.h"\n'
            "#include <math.h>\n#include <stdbool.h>\n#include <arm_acle.h>\n"
        )
        lib1 = head + "".join(self.consts) + "".join(self.lib1)
        if self.legacy:
            lib0 = lib0.replace(f"{self.p}_", "")
            lib1 = lib1.replace(f"{self.p}_", "")
            return {"src/lib0.c": lib0, "src/lib1.c": lib1}
        return {f"src/{self.mod}_lib0.c": lib0, f"src/{self.mod}_lib1.c": lib1}


def _placed(text: str, offsets: dict[str, int]) -> str:
    """USMP: every `@SID<n>@` / `@SLICE<uid>@` placeholder at the offset USMP gave it."""
    return re.sub(r"@((?:SID|SLICE)\d+)@", lambda m: str(offsets[m.group(1)]), text)
