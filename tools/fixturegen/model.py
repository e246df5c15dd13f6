"""Module builder: walks a layer list, assigns sids the way TVM's storage rewrite does
(ping-pong reuse), collects operator text, and renders one module's files."""

# ruff: noqa: E501  (C text templates read better on one line each)

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .cfmt import Rng, hex_i8, hex_i32, hexfloat, round16
from .ops import EXTERN_C, OPS, Scratch, Tensor


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
    graph: str | None = None  # graph executor: executor-config/graph/graph.json


class ModuleBuilder:
    def __init__(self, mod: str, spec: dict, usmp: bool = False) -> None:
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
        self.gw_of: dict[str, bool] = {}
        self.nbufs_of: dict[str, int] = {}
        self.bufs_of: dict[str, list] = {}
        self.shared: dict = {}
        self.sites = 0
        self.gw_n = 1
        self.cmsis_count = 0

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
        sc = Scratch(self.usmp)
        if self.usmp:
            self.gw_n += 1
            sc.gw = f"global_workspace_{self.gw_n}_var"
        return sc

    def const(self, ctype: str, values: list, prefix: str = "fused_constant") -> str:
        name = f"{prefix}_{self.const_n}"
        self.const_n += 1
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
        self.gw_of[fname] = bool(sc.param())
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
        nodes: list = []  # graph executor: (function, input layers, layer)
        out_tensor = None
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
                free = [s for s in sids if last_use.get(s.tensor, -2) < i]
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
                    return f"sid_{v}_let" if self.usmp else f"sid_{v}"
                return f"{v}_buffer_var"

            args = []
            for a in em.args:
                if a[0] == "in":
                    args.append(expr(src[a[1]]))
                elif a[0] == "out":
                    args.append(expr(i))
                else:
                    args.append(f"(({a[2]}*){a[1]})")
            if self.usmp and self.gw_of[em.fname]:
                args.append("global_workspace_1_var")
            calls.append((em.fname, args))
            if self.graph:
                assert [a[0] for a in em.args] == ["in"] * (len(em.args) - 1) + ["out"], em.args
                nodes.append((em.fname, [src[a[1]] for a in em.args[:-1]], i))

        sid_total = sum(round16(s.nbytes) for s in sids)
        max_scratch = max(self.scratch_of.values(), default=0)
        ws = sid_total + max_scratch
        if not self.usmp and not self.graph:
            self.sites += len(sids)
        if self.graph:
            files = self.render_graph(calls)
        else:
            files = self.render(
                sids, calls, in_name, out_name, tensors[-1], out_tensor, ws, sid_total
            )
        entry_buffers = (
            {}
            if self.graph
            else {
                f"{self.p}___tvm_main__": [[f"sid_{s.n}", s.nbytes, s.code, s.bits] for s in sids]
            }
        )
        sid_calls = 0 if self.usmp or self.graph else len(sids)
        alloc_calls = 0 if self.usmp else sid_calls + sum(self.nbufs_of[f] for f, _ in calls)
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
            self._graph_json(nodes, tensors, storage, len(sids)) if self.graph else None,
        )

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
    def render(self, sids, calls, in_name, out_name, tin, tout, ws, sid_total) -> dict:
        p, mod = self.p, self.mod
        P = p.upper()
        target = self.spec.get("target", "c -keys=arm_cpu,cpu -mcpu=cortex-m7")
        files = {}
        files[f"include/{p}.h"] = (
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
            f'/* Runs module "{mod}" once; returns 0 on success. */\n'
            f"int32_t {p}_run(\n  struct {p}_inputs* inputs,\n  struct {p}_outputs* outputs\n);\n\n"
            f"/* workspace the runtime allocator must hold for one inference */\n"
            f"#define {P}_WORKSPACE_SIZE {ws}\n\n"
            "#ifdef __cplusplus\n}\n#endif\n\n#endif  // " + f"{P}_H_\n"
        )

        if self.usmp:
            lib0 = (
                f"// tvm target: {target}\n"
                '#include "tvm/runtime/c_runtime_api.h"\n'
                '#ifdef __cplusplus\nextern "C" {\n#endif\n'
                '__attribute__((section(".bss.noinit.tvm"), aligned(16)))\n'
                f"static uint8_t global_workspace[{ws}];\n"
                f"#include <{p}.h>\n"
                f"TVM_DLL int32_t {p}___tvm_main__(void* {in_name},void* {out_name},uint8_t* global_workspace_0_var);\n"
                f"int32_t {p}_run(struct {p}_inputs* inputs,struct {p}_outputs* outputs) {{"
                f"return {p}___tvm_main__(inputs->{in_name},outputs->{out_name},((uint8_t*)&global_workspace));\n}}\n"
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
        gw_param = ", uint8_t* global_workspace_1_var" if self.usmp else ""
        entry = (
            f"{EXTERN_C}TVM_DLL int32_t {p}___tvm_main__({tin.dtype}* {in_name}_buffer_var,"
            f"{tout.dtype}* {out_name}_buffer_var{gw_param}) {{\n"
        )
        if self.usmp:
            off = 0
            for s in sids:
                entry += f"  void* sid_{s.n}_let = (&(global_workspace_1_var[{off}]));\n"
                off += round16(s.nbytes)
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
        lib1 = head + "".join(self.consts) + "".join(self.lib1)
        if uses_cmsis:
            lib1 += "".join(self.lib2_protos) + "\n"
        lib1 += entry
        files[f"src/{mod}_lib1.c"] = self._resolve(lib1, sid_total)
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

    @staticmethod
    def _resolve(text: str, base: int) -> str:
        """USMP: scratch slices sit after the sids (@SB+off@ -> base + off)."""
        if "@SB+" not in text:
            return text
        out = []
        parts = text.split("@SB+")
        out.append(parts[0])
        for part in parts[1:]:
            num, rest = part.split("@", 1)
            out.append(str(base + int(num)) + rest)
        return "".join(out)
