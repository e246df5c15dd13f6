"""Module builder: walks a layer list, assigns sids the way TVM's storage rewrite does
(ping-pong reuse), collects operator text, and renders one module's files."""

# ruff: noqa: E501  (C text templates read better on one line each)

from __future__ import annotations

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


class ModuleBuilder:
    def __init__(self, mod: str, spec: dict, usmp: bool = False) -> None:
        self.mod = mod
        self.p = f"tvmgen_{mod}"
        self.seed = spec["seed"]
        self.rng = Rng(spec["seed"])
        self.spec = spec
        self.usmp = usmp
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

        sid_total = sum(round16(s.nbytes) for s in sids)
        max_scratch = max(self.scratch_of.values(), default=0)
        ws = sid_total + max_scratch
        if not self.usmp:
            self.sites += len(sids)
        files = self.render(sids, calls, in_name, out_name, tensors[-1], out_tensor, ws, sid_total)
        return ModuleResult(
            self.mod,
            files,
            ws,
            self.sites,
            [(in_name, "int8_t", tensors[-1].count)],
            [(out_name, out_tensor.dtype, out_tensor.count)],
            [s.nbytes for s in sids],
            max_scratch,
            0 if self.usmp else len(sids) + sum(self.nbufs_of[f] for f, _ in calls),
            {
                f"{self.p}___tvm_main__": [[f"sid_{s.n}", s.nbytes, s.code, s.bits] for s in sids],
                **self.bufs_of,
            },
            [f for f, _ in calls],
        )

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
