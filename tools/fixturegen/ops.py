"""Operator emitters: each writes one fused operator (and its helpers) in the shapes microTVM
generates, registers its weights and scratch with the module builder, and says how the AOT
entry calls it.

Every emitter returns ``Emitted(fname, out, args)``: ``out`` is the result tensor, ``args`` the
call arguments as tokens: ``("in", i)`` the i-th input tensor, ``("out",)`` the result,
``("const", name, ctype)`` a weight array handed in by the entry.
"""

# ruff: noqa: E501  (C text templates read better on one line each)

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .cfmt import hexfloat_f, q31, quant_mult_shift, round16, short_hash

SW = 40.0  # std of int8 weights
TARGET = 40.0  # std aimed at for int8 activations
EXTERN_C = '#ifdef __cplusplus\nextern "C"\n#endif\n'


@dataclass
class Tensor:
    shape: tuple
    dtype: str  # int8_t, int32_t, float
    std: float = TARGET

    @property
    def count(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.count * (1 if self.dtype == "int8_t" else 4)

    @property
    def hint(self) -> tuple[int, int]:
        return {"int8_t": (0, 8), "int32_t": (0, 32), "float": (2, 32)}[self.dtype]


@dataclass
class Emitted:
    fname: str
    out: Tensor
    args: list
    rw: bool = False  # the result is written into the storage of input 1


@dataclass
class Scratch:
    """Workspace buffers of one function, as TVMBackendAllocWorkspace calls or USMP slices
    (at a placeholder offset `@SLICE<uid>@` until USMP's plan is known)."""

    usmp: bool
    gw: str | None = None  # USMP: the workspace pool parameter
    const: str | None = None  # USMP: the constant pool parameter, when there is one
    bufs: list = field(default_factory=list)  # (name, nbytes, code, bits, offset)
    used: int = 0
    registry: list = field(default_factory=list)  # the module's slice sizes, by uid
    uids: list = field(default_factory=list)  # this function's slices

    def v(self, name: str) -> str:
        return name + "_let" if self.usmp else name

    def alloc(self, name: str, nbytes: int, code: int, bits: int) -> str:
        off = self.used
        self.bufs.append((name, nbytes, code, bits, off))
        self.used += round16(nbytes)
        if self.usmp:
            uid = len(self.registry)
            self.registry.append(nbytes)
            self.uids.append(uid)
            return f"  void* {name}_let = (&({self.gw}[@SLICE{uid}@]));\n"
        return (
            f"  void* {name} = TVMBackendAllocWorkspace(1, 0, (uint64_t){nbytes}, {code}, {bits});\n"
            f"  if ({name} == NULL) {{\n    return -1;\n  }}\n"
        )

    def frees(self) -> str:
        if self.usmp:
            return ""
        return "".join(
            f"  if (TVMBackendFreeWorkspace(1, 0, {b[0]}) != 0) {{\n    return -1;\n  }}\n"
            for b in reversed(self.bufs)
        )

    def param(self) -> str:
        """USMP hands every operator its pools, whether it slices them or not."""
        if not self.usmp:
            return ""
        return (f", uint8_t* {self.const}" if self.const else "") + f", uint8_t* {self.gw}"

    @property
    def total(self) -> int:
        return self.used


def clamp8(dst: str, v: str, lo: int = -128, hi: int = 127) -> str:
    return f"{dst} = (int8_t)(({v} < {hi}) ? (({v} > {lo}) ? {v} : {lo}) : {hi});"


def requant(acc: str, mult: str, shift: int, zp: int = 0) -> str:
    zp_s = f" + {zp}" if zp > 0 else (f" - {-zp}" if zp < 0 else "")
    return (
        f"((int32_t)(((((int64_t){acc}) * ((int64_t){mult})) + ((int64_t){1 << (shift - 1)})) "
        f">> ((int64_t){shift}))){zp_s}"
    )


def _bias(mb, n: int, acc_std: float) -> list[int]:
    return [int(round(mb.rng.normalish() * acc_std * 0.25)) for _ in range(n)]


def _pchan_mults(mb, n: int, scale: float, shift: int) -> list[int]:
    return [quant_mult_shift(scale * (0.8 + 0.4 * mb.rng.uniform()), shift) for _ in range(n)]


# --------------------------------------------------------------------------- native operators


def op_lut(mb, L, xs):
    """Input pre-processing through a look-up table built in scratch; the table pointer escapes
    into a file-static global that a helper reads."""
    (x,) = xs
    n = x.count
    base = f"{mb.p}_fused_cast_subtract_multiply_clip_cast"
    fname = mb.uniq(base)
    sc = mb.scratch()
    mul = quant_mult_shift(1.25, 8)
    body = sc.alloc("T_lut", 1024, 0, 32)
    lut = sc.v("T_lut")
    glob = f"{fname}_lut_ptr"
    helper = f"{fname}_lookup"
    table = f"((int32_t*){lut})"
    if mb.usmp:  # the table handed to the helper: a pool slice never leaves our sight
        mb.lib1.append(
            f"static inline int8_t {helper}(int32_t* lut, int8_t x) {{\n"
            f"  return (int8_t)lut[(((int32_t)x) + 128)];\n}}\n\n"
        )
        keep, lookup = "", f"{helper}({table}, p0[ax0])"
    else:
        mb.lib1.append(
            f"static int32_t* {glob};\n\n"
            f"static inline int8_t {helper}(int8_t x) {{\n"
            f"  return (int8_t){glob}[(((int32_t)x) + 128)];\n}}\n\n"
        )
        keep, lookup = f"  {glob} = {table};\n", f"{helper}(p0[ax0])"
    body += (
        f"  for (int32_t i0 = 0; i0 < 256; ++i0) {{\n"
        f"    int32_t v = ((int32_t)((((int64_t)(i0 - 128)) * ((int64_t){mul})) >> ((int64_t)8))) + 3;\n"
        f"    ((int32_t*){lut})[i0] = ((v < 127) ? ((v > -128) ? v : -128) : 127);\n  }}\n"
        f"{keep}"
        f"  for (int32_t ax0 = 0; ax0 < {n}; ++ax0) {{\n"
        f"    T_cast[ax0] = {lookup};\n  }}\n"
    )
    mb.add_op(fname, "int8_t* p0, int8_t* T_cast", body, sc)
    return Emitted(fname, Tensor(x.shape, "int8_t", x.std * 1.25), [("in", 0), ("out",)])


def op_conv(mb, L, xs):
    """conv2d (any kernel/stride, 'same' padding) through pad_temp and an int32 conv buffer.

    Options: "tile": requantise in tiles of that many values, the last tile reading past the
    end of `conv` and only the store guarded (`if (i < N)`), as native schedules that split an
    axis by a factor that does not divide it do; "center": subtract each channel's mean
    before requantising, the sums kept in pad_temp's allocation, which TVM's storage rewrite
    reuses once the padded input is dead (one allocation, two tensors of different sizes)."""
    (x,) = xs
    H, W, Cin = x.shape
    KH, KW = L["kernel"]
    S = L["stride"]
    Cout = L["cout"]
    OH, OW = -(-H // S), -(-W // S)
    ph, pw = max((OH - 1) * S + KH - H, 0), max((OW - 1) * S + KW - W, 0)
    pt, pl = ph // 2, pw // 2
    PH, PW = H + ph, W + pw
    K = KH * KW * Cin
    wname = mb.const("int8_t", mb.rng.int8s(K * Cout, SW))
    acc_std = math.sqrt(K) * x.std * SW
    bname = mb.const("int32_t", _bias(mb, Cout, acc_std))
    shift = 24
    mult = quant_mult_shift(TARGET / acc_std, shift)
    h = short_hash(mb.p, "conv", mb.seed, len(mb.lib1))
    fname = mb.uniq(
        f"{mb.p}_fused_cast_subtract_nn_conv2d_add_cast_multiply_add_right_shift_cast_add_clip_cast_clip_{h}"
    )
    helper = f"{mb.p}_conv2d_nhwc_dot_row_{h[:6]}"
    mb.lib1.append(
        f"{EXTERN_C}TVM_DLL void {helper}(int32_t* __restrict__ conv_row, int8_t* __restrict__ pad_row, "
        f"const int8_t* w, const int32_t* bias) {{\n"
        f"  for (int32_t oc = 0; oc < {Cout}; ++oc) {{\n"
        f"    int32_t sum = bias[oc];\n"
        f"    for (int32_t ry = 0; ry < {KH}; ++ry) {{\n"
        f"      for (int32_t rx = 0; rx < {KW}; ++rx) {{\n"
        f"        for (int32_t rc = 0; rc < {Cin}; ++rc) {{\n"
        f"          sum = (sum + (((int32_t)pad_row[(((ry * {PW * Cin}) + (rx * {Cin})) + rc)]) * "
        f"((int32_t)w[((((ry * {KW * Cin * Cout}) + (rx * {Cin * Cout})) + (rc * {Cout})) + oc)])));\n"
        f"        }}\n      }}\n    }}\n"
        f"    conv_row[oc] = sum;\n  }}\n}}\n\n"
    )
    sc = mb.scratch()
    center = L.get("center", False)
    # USMP after TVM merged two scratch buffers with disjoint lifetimes: the padded input,
    # then the requantized output staged before it is copied out
    merged = bool(mb.usmp and mb.usmp["merged_scratch"])
    assert not (center and merged), "pad_temp holds either the sums or the staged output"
    pad_bytes = PH * PW * Cin
    if center:  # the padded input, then the per-channel sums
        pad_bytes = max(pad_bytes, Cout * 4)
    if merged:
        pad_bytes = max(pad_bytes, OH * OW * Cout)
    body = sc.alloc("pad_temp", pad_bytes, 0, 8)
    body += sc.alloc("conv", OH * OW * Cout * 4, 0, 32)
    pad, conv = sc.v("pad_temp"), sc.v("conv")
    out = f"((int8_t*){pad})[ax0]" if merged else "T_cast[ax0]"
    body += (
        f"  for (int32_t i1 = 0; i1 < {PH}; ++i1) {{\n"
        f"    for (int32_t i2 = 0; i2 < {PW}; ++i2) {{\n"
        f"      for (int32_t i3 = 0; i3 < {Cin}; ++i3) {{\n"
        f"        ((int8_t*){pad})[(((i1 * {PW * Cin}) + (i2 * {Cin})) + i3)] = (((({pt} <= i1) && (i1 < {H + pt})) "
        f"&& (({pl} <= i2) && (i2 < {W + pl}))) ? p0[((((i1 - {pt}) * {W * Cin}) + ((i2 - {pl}) * {Cin})) + i3)] "
        f": (int8_t)0);\n"
        f"      }}\n    }}\n  }}\n"
        f"  for (int32_t yy = 0; yy < {OH}; ++yy) {{\n"
        f"    for (int32_t xx = 0; xx < {OW}; ++xx) {{\n"
        f"      {helper}((&(((int32_t*){conv})[((yy * {OW * Cout}) + (xx * {Cout}))])), "
        f"(&(((int8_t*){pad})[((yy * {S * PW * Cin}) + (xx * {S * Cin}))])), {wname}, {bname});\n"
        f"    }}\n  }}\n"
    )
    value = f"((int32_t*){conv})[ax0]"
    if center:
        body += (
            f"  for (int32_t c = 0; c < {Cout}; ++c) {{\n"
            f"    ((int32_t*){pad})[c] = 0;\n  }}\n"
            f"  for (int32_t p = 0; p < {OH * OW}; ++p) {{\n"
            f"    for (int32_t c_1 = 0; c_1 < {Cout}; ++c_1) {{\n"
            f"      ((int32_t*){pad})[c_1] = (((int32_t*){pad})[c_1] + ((int32_t*){conv})[((p * {Cout}) + c_1)]);\n"
            f"    }}\n  }}\n"
        )
        value = f"(((int32_t*){conv})[ax0] - (((int32_t*){pad})[(ax0 % {Cout})] / {OH * OW}))"
    tile = L.get("tile")
    if tile:
        tiles = -(-(OH * OW * Cout) // tile)
        body += (
            f"  for (int32_t ax0_outer = 0; ax0_outer < {tiles}; ++ax0_outer) {{\n"
            f"    for (int32_t ax0_inner = 0; ax0_inner < {tile}; ++ax0_inner) {{\n"
            f"      int32_t v = {requant(value.replace('ax0', f'((ax0_outer * {tile}) + ax0_inner)'), str(mult), shift, -2)};\n"
            f"      if ((((ax0_outer * {tile}) + ax0_inner) < {OH * OW * Cout})) {{\n"
            f"        {clamp8(out.replace('ax0', f'((ax0_outer * {tile}) + ax0_inner)'), 'v')}\n"
            f"      }}\n    }}\n  }}\n"
        )
    else:
        body += (
            f"  for (int32_t ax0 = 0; ax0 < {OH * OW * Cout}; ++ax0) {{\n"
            f"    int32_t v = {requant(value, str(mult), shift, -2)};\n"
            f"    {clamp8(out, 'v')}\n  }}\n"
        )
    if merged:
        body += (
            f"  for (int32_t ax0_1 = 0; ax0_1 < {OH * OW * Cout}; ++ax0_1) {{\n"
            f"    T_cast[ax0_1] = ((int8_t*){pad})[ax0_1];\n  }}\n"
        )
    mb.add_op(fname, "int8_t* p0, int8_t* T_cast", body, sc)
    return Emitted(fname, Tensor((OH, OW, Cout), "int8_t"), [("in", 0), ("out",)])


def op_dw(mb, L, xs):
    """3x3 depthwise conv2d; identical layers share one function, weights come from the entry.
    `unroll`: N channels at a time with the tap and channel loops unrolled (TVM's arm_cpu
    schedules), N * 9 straight-line statements; an `id` keeps the layer's own function."""
    (x,) = xs
    H, W, C = x.shape
    S = L.get("stride", 1)
    B = L.get("unroll", 16)  # channels per block of acc[]
    assert C % B == 0
    OH, OW = -(-H // S), -(-W // S)
    ph, pw = max((OH - 1) * S + 3 - H, 0), max((OW - 1) * S + 3 - W, 0)
    pt, pl = ph // 2, pw // 2
    PH, PW = H + ph, W + pw
    shift = 24
    acc_std = 3.0 * x.std * SW
    wname = mb.const("int8_t", mb.rng.int8s(9 * C, SW))
    bname = mb.const("int32_t", _bias(mb, C, acc_std))
    mname = mb.const("int32_t", _pchan_mults(mb, C, TARGET / acc_std, shift))
    key = ("dw", H, W, C, S, L.get("unroll"), L.get("id"))
    fname = mb.shared.get(key)
    if fname is None:
        fname = mb.uniq(
            f"{mb.p}_fused_nn_conv2d_add_cast_multiply_add_right_shift_cast_add_clip_cast_clip"
        )
        mb.shared[key] = fname
        sc = mb.scratch()
        body = sc.alloc("PaddedInput", PH * PW * C, 0, 8)
        body += sc.alloc("DepthwiseConv2d", OH * OW * C * 4, 0, 32)
        pin, dwc = sc.v("PaddedInput"), sc.v("DepthwiseConv2d")
        body += (
            f"  int32_t acc[{B}];\n"
            f"  for (int32_t i1 = 0; i1 < {PH}; ++i1) {{\n"
            f"    for (int32_t i2 = 0; i2 < {PW}; ++i2) {{\n"
            f"      for (int32_t i3 = 0; i3 < {C}; ++i3) {{\n"
            f"        ((int8_t*){pin})[(((i1 * {PW * C}) + (i2 * {C})) + i3)] = (((({pt} <= i1) && (i1 < {H + pt})) "
            f"&& (({pl} <= i2) && (i2 < {W + pl}))) ? p0[((((i1 - {pt}) * {W * C}) + ((i2 - {pl}) * {C})) + i3)] "
            f": (int8_t)0);\n"
            f"      }}\n    }}\n  }}\n"
            f"  for (int32_t i = 0; i < {OH}; ++i) {{\n"
            f"    for (int32_t j = 0; j < {OW}; ++j) {{\n"
            f"      for (int32_t c_outer = 0; c_outer < {C // B}; ++c_outer) {{\n"
            f"        for (int32_t c_inner = 0; c_inner < {B}; ++c_inner) {{\n"
            f"          acc[c_inner] = p2[((c_outer * {B}) + c_inner)];\n        }}\n"
            + _dw_taps(pin, S, PW, C, L.get("unroll"))
            + f"        for (int32_t c_inner_2 = 0; c_inner_2 < {B}; ++c_inner_2) {{\n"
            f"          ((int32_t*){dwc})[((((i * {OW * C}) + (j * {C})) + (c_outer * {B})) + c_inner_2)] = acc[c_inner_2];\n"
            f"        }}\n      }}\n    }}\n  }}\n"
            f"  for (int32_t ax0 = 0; ax0 < {OH * OW}; ++ax0) {{\n"
            f"    for (int32_t ax1 = 0; ax1 < {C}; ++ax1) {{\n"
            f"      int32_t v = {requant(f'((int32_t*){dwc})[((ax0 * {C}) + ax1)]', 'p3[ax1]', shift, 1)};\n"
            f"      {clamp8(f'T_cast[((ax0 * {C}) + ax1)]', 'v')}\n    }}\n  }}\n"
        )
        mb.add_op(
            fname,
            "int8_t* p0, int8_t* __restrict__ p1, int32_t* __restrict__ p2, "
            "int32_t* __restrict__ p3, int8_t* T_cast",
            body,
            sc,
        )
    return Emitted(
        fname,
        Tensor((OH, OW, C), "int8_t"),
        [
            ("in", 0),
            ("const", wname, "int8_t"),
            ("const", bname, "int32_t"),
            ("const", mname, "int32_t"),
            ("out",),
        ],
    )


def _dw_taps(pin: str, S: int, PW: int, C: int, unroll: int | None) -> str:
    """The 3x3 taps of a block of channels into acc[]: loops over 16, or (TVM's unroll of
    the tap and channel loops, as arm_cpu schedules ask) 9 * `unroll` straight-line
    statements."""
    if not unroll:
        return (
            f"        for (int32_t di = 0; di < 3; ++di) {{\n"
            f"          for (int32_t dj = 0; dj < 3; ++dj) {{\n"
            f"#pragma GCC unroll 4\n"
            f"            for (int32_t c_inner_1 = 0; c_inner_1 < 16; ++c_inner_1) {{\n"
            f"              acc[c_inner_1] = (acc[c_inner_1] + (((int32_t)((int8_t*){pin})[((((((i * {S}) + di) * {PW * C}) "
            f"+ (((j * {S}) + dj) * {C})) + (c_outer * 16)) + c_inner_1)]) * ((int32_t)p1[((((di * {3 * C}) + (dj * {C})) "
            f"+ (c_outer * 16)) + c_inner_1)])));\n"
            f"            }}\n          }}\n        }}\n"
        )
    return "".join(
        f"        acc[{c}] = (acc[{c}] + (((int32_t)((int8_t*){pin})[(((((i * {S * PW * C}) + (j * {S * C})) "
        f"+ (c_outer * {unroll})) + {di * PW * C + dj * C + c}))]) * ((int32_t)p1[((c_outer * {unroll}) + {di * 3 * C + dj * C + c})])));\n"
        for di in range(3)
        for dj in range(3)
        for c in range(unroll)
    )


def _smlad_helper(mb) -> str:
    if "smlad" not in mb.shared:
        name = f"{mb.p}_gemm_1x1_int16_smlad_{short_hash(mb.p, 'smlad', n=8)}"
        mb.shared["smlad"] = name
        mb.lib1.append(
            f"static inline int32_t {name}(int32_t* __restrict__ aa, int32_t* __restrict__ bb, "
            f"int32_t k2, int32_t sum) {{\n"
            f"  for (int32_t k = 0; k < k2; ++k) {{\n"
            f"    sum = __SMLAD(aa[k], bb[k], sum);\n  }}\n"
            f"  return sum;\n}}\n\n"
        )
    return mb.shared["smlad"]


def op_pw(mb, L, xs):
    """1x1 conv2d: input and kernel packed as int16 pairs (data_vec, kernel_vec), dot products
    with __SMLAD, int32 conv buffer, per-channel requantization."""
    (x,) = xs
    *sp, Cin = x.shape
    HW = math.prod(sp)
    Cout = L["cout"]
    assert Cin % 2 == 0
    K2 = Cin // 2
    shift = 24
    acc_std = math.sqrt(Cin) * x.std * SW
    wname = mb.const("int8_t", mb.rng.int8s(Cin * Cout, SW))
    bname = mb.const("int32_t", _bias(mb, Cout, acc_std))
    mname = mb.const("int32_t", _pchan_mults(mb, Cout, TARGET / acc_std, shift))
    smlad = _smlad_helper(mb)
    fname = mb.uniq(
        f"{mb.p}_fused_nn_conv2d_add_cast_multiply_add_right_shift_cast_add_clip_cast_clip"
    )
    sc = mb.scratch()
    body = sc.alloc("data_vec", HW * Cin * 2, 0, 16)
    body += sc.alloc("kernel_vec", Cout * Cin * 2, 0, 16)
    body += sc.alloc("conv", HW * Cout * 4, 0, 32)
    dv, kv, conv = sc.v("data_vec"), sc.v("kernel_vec"), sc.v("conv")
    body += (
        f"  for (int32_t p = 0; p < {HW}; ++p) {{\n"
        f"    for (int32_t k = 0; k < {K2}; ++k) {{\n"
        f"      ((int32_t*){dv})[((p * {K2}) + k)] = ((((int32_t)p0[((p * {Cin}) + (k * 2))]) & 65535) | "
        f"(((int32_t)p0[(((p * {Cin}) + (k * 2)) + 1)]) * 65536));\n"
        f"    }}\n  }}\n"
        f"  for (int32_t oc = 0; oc < {Cout}; ++oc) {{\n"
        f"    for (int32_t k_1 = 0; k_1 < {K2}; ++k_1) {{\n"
        f"      ((int32_t*){kv})[((oc * {K2}) + k_1)] = ((((int32_t){wname}[(((k_1 * 2) * {Cout}) + oc)]) & 65535) | "
        f"(((int32_t){wname}[((((k_1 * 2) + 1) * {Cout}) + oc)]) * 65536));\n"
        f"    }}\n  }}\n"
        f"  for (int32_t p_1 = 0; p_1 < {HW}; ++p_1) {{\n"
        f"    int32_t* row = ((int32_t*){dv}) + (p_1 * {K2});\n"
        f"    for (int32_t oc_1 = 0; oc_1 < {Cout}; ++oc_1) {{\n"
        f"      ((int32_t*){conv})[((p_1 * {Cout}) + oc_1)] = {smlad}(row, (&(((int32_t*){kv})[(oc_1 * {K2})])), "
        f"{K2}, {bname}[oc_1]);\n"
        f"    }}\n  }}\n"
        # "partial": the last row of the output is left as the tensor before it in that
        # storage had it (a hand edit or another schedule; a later reader sees it).
        f"  for (int32_t ax0 = 0; ax0 < {HW - 1 if L.get('partial') else HW}; ++ax0) {{\n"
        f"    for (int32_t ax1 = 0; ax1 < {Cout}; ++ax1) {{\n"
        f"      int32_t v = {requant(f'((int32_t*){conv})[((ax0 * {Cout}) + ax1)]', f'{mname}[ax1]', shift)};\n"
        f"      {clamp8(f'T_cast[((ax0 * {Cout}) + ax1)]', 'v')}\n    }}\n  }}\n"
    )
    mb.add_op(fname, "int8_t* p0, int8_t* T_cast", body, sc)
    return Emitted(fname, Tensor((*sp, Cout), "int8_t"), [("in", 0), ("out",)])


def op_add_rw(mb, L, xs):
    """Residual add into its second input: T_add is read, then overwritten (read-write)."""
    skip, x = xs
    assert skip.shape == x.shape and x.count % 2 == 0
    n = x.count
    fname = mb.uniq(f"{mb.p}_fused_add_right_shift_clip_cast")
    sc = mb.scratch()
    body = sc.alloc("T_cast", n * 4, 0, 32)
    tc = sc.v("T_cast")
    half = n // 2
    body += (
        f"  int32_t* T_cast_hi = ((int32_t*){tc}) + {half};\n"
        f"  for (int32_t ax0 = 0; ax0 < {n}; ++ax0) {{\n"
        f"    ((int32_t*){tc})[ax0] = ((((int32_t)T_add[ax0]) * 3) + (((int32_t)p0[ax0]) * 2));\n  }}\n"
        f"  for (int32_t ax0_1 = 0; ax0_1 < {half}; ++ax0_1) {{\n"
        f"    int32_t v = ((int32_t)((((int64_t)((int32_t*){tc})[ax0_1]) + ((int64_t)2)) >> ((int64_t)2)));\n"
        f"    {clamp8('T_add[ax0_1]', 'v')}\n"
        f"    int32_t v_1 = ((int32_t)((((int64_t)T_cast_hi[ax0_1]) + ((int64_t)2)) >> ((int64_t)2)));\n"
        f"    {clamp8(f'T_add[(ax0_1 + {half})]', 'v_1')}\n  }}\n"
    )
    mb.add_op(fname, "int8_t* p0, int8_t* T_add", body, sc)
    return Emitted(fname, Tensor(x.shape, "int8_t"), [("in", 0), ("out",)], rw=True)


def op_avgpool(mb, L, xs):
    (x,) = xs
    *sp, C = x.shape
    HW = math.prod(sp)
    shift = 16
    mult = quant_mult_shift(1.0 / HW * 2.0, shift)
    fname = mb.uniq(f"{mb.p}_fused_nn_avg_pool2d_cast_multiply_right_shift_cast")
    sc = mb.scratch()
    body = sc.alloc("tensor", C * 4, 0, 32)
    t = sc.v("tensor")
    body += (
        f"  for (int32_t ax3 = 0; ax3 < {C}; ++ax3) {{\n"
        f"    ((int32_t*){t})[ax3] = 0;\n  }}\n"
        f"  for (int32_t rv = 0; rv < {HW}; ++rv) {{\n"
        f"    for (int32_t ax3_1 = 0; ax3_1 < {C}; ++ax3_1) {{\n"
        f"      ((int32_t*){t})[ax3_1] = (((int32_t*){t})[ax3_1] + ((int32_t)p0[((rv * {C}) + ax3_1)]));\n"
        f"    }}\n  }}\n"
        f"  for (int32_t ax3_2 = 0; ax3_2 < {C}; ++ax3_2) {{\n"
        f"    int32_t v = {requant(f'((int32_t*){t})[ax3_2]', str(mult), shift)};\n"
        f"    {clamp8('T_cast[ax3_2]', 'v')}\n  }}\n"
    )
    mb.add_op(fname, "int8_t* p0, int8_t* T_cast", body, sc)
    return Emitted(
        fname, Tensor((C,), "int8_t", x.std * 2.0 / math.sqrt(HW) + 8.0), [("in", 0), ("out",)]
    )


def op_dense_acc(mb, L, xs):
    """dense with int32 result accumulated in place in the output (read-write parameter).
    Option "tail": also read that many bytes past the input tensor, the tail of whatever the
    input's storage held before (a later operator reading a reused sid's tail)."""
    (x,) = xs
    K = x.count + L.get("tail", 0)
    N = L["units"]
    wname = mb.const("int8_t", mb.rng.int8s(K * N, SW))
    acc_std = math.sqrt(K) * x.std * SW
    bname = mb.const("int32_t", _bias(mb, N, acc_std))
    fname = mb.uniq(f"{mb.p}_fused_reshape_nn_dense_add")
    sc = mb.scratch()
    body = sc.alloc("T_reshape", K, 0, 8)
    tr = sc.v("T_reshape")
    body += (
        f"  for (int32_t ax1 = 0; ax1 < {K}; ++ax1) {{\n"
        f"    ((int8_t*){tr})[ax1] = p0[ax1];\n  }}\n"
        f"  for (int32_t j = 0; j < {N}; ++j) {{\n"
        f"    T_matmul[j] = {bname}[j];\n  }}\n"
        f"  for (int32_t k = 0; k < {K}; ++k) {{\n"
        f"    for (int32_t j_1 = 0; j_1 < {N}; ++j_1) {{\n"
        f"      T_matmul[j_1] = (T_matmul[j_1] + (((int32_t)((int8_t*){tr})[k]) * ((int32_t){wname}[((k * {N}) + j_1)])));\n"
        f"    }}\n  }}\n"
    )
    mb.add_op(fname, "int8_t* p0, int32_t* T_matmul", body, sc)
    return Emitted(fname, Tensor((N,), "int32_t", acc_std), [("in", 0), ("out",)])


def op_dense_q(mb, L, xs):
    """int8 dense: int32 accumulation in scratch (T_matmul), then requantization."""
    (x,) = xs
    K = x.count
    N = L["units"]
    relu = L.get("relu", False)
    wname = mb.const("int8_t", mb.rng.int8s(K * N, SW))
    acc_std = math.sqrt(K) * x.std * SW
    bname = mb.const("int32_t", _bias(mb, N, acc_std))
    shift = 24
    mult = quant_mult_shift(TARGET / acc_std, shift)
    fname = mb.uniq(
        f"{mb.p}_fused_nn_dense_add_cast_multiply_right_shift_cast_clip"
        + ("_nn_relu" if relu else "")
    )
    sc = mb.scratch()
    if mb.usmp and mb.usmp["tiled_dense"] and N % 8 == 0:
        body = _dense_q_tiled(sc, K, N, wname, bname, mult, shift, relu)
    else:
        body = sc.alloc("T_matmul", N * 4, 0, 32)
        tm = sc.v("T_matmul")
        body += (
            f"  for (int32_t j = 0; j < {N}; ++j) {{\n"
            f"    ((int32_t*){tm})[j] = {bname}[j];\n  }}\n"
            f"  for (int32_t k = 0; k < {K}; ++k) {{\n"
            f"    for (int32_t j_1 = 0; j_1 < {N}; ++j_1) {{\n"
            f"      ((int32_t*){tm})[j_1] = (((int32_t*){tm})[j_1] + (((int32_t)p0[k]) * ((int32_t){wname}[((k * {N}) + j_1)])));\n"
            f"    }}\n  }}\n"
            f"  for (int32_t j_2 = 0; j_2 < {N}; ++j_2) {{\n"
            f"    int32_t v = {requant(f'((int32_t*){tm})[j_2]', str(mult), shift)};\n"
            f"    {clamp8('T_cast[j_2]', 'v', -20 if relu else -128)}\n  }}\n"
        )
    mb.add_op(fname, "int8_t* p0, int8_t* T_cast", body, sc)
    return Emitted(
        fname, Tensor((N,), "int8_t", TARGET * (0.7 if relu else 1.0)), [("in", 0), ("out",)]
    )


def _dense_q_tiled(sc, K, N, wname, bname, mult, shift, relu) -> str:
    """int8 dense, 8 outputs at a time: TVM with USMP declares the accumulator slice inside
    the loop over output tiles (`void* compute_global_let = ...;` in a loop body)."""
    decl = sc.alloc("T_matmul", 32, 0, 32).replace("  void*", "    void*", 1)
    tm = sc.v("T_matmul")
    return (
        f"  for (int32_t j_outer = 0; j_outer < {N // 8}; ++j_outer) {{\n"
        f"{decl}"
        f"    for (int32_t j_inner = 0; j_inner < 8; ++j_inner) {{\n"
        f"      ((int32_t*){tm})[j_inner] = {bname}[((j_outer * 8) + j_inner)];\n    }}\n"
        f"    for (int32_t k = 0; k < {K}; ++k) {{\n"
        f"      for (int32_t j_inner_1 = 0; j_inner_1 < 8; ++j_inner_1) {{\n"
        f"        ((int32_t*){tm})[j_inner_1] = (((int32_t*){tm})[j_inner_1] + (((int32_t)p0[k]) * "
        f"((int32_t){wname}[((k * {N}) + ((j_outer * 8) + j_inner_1))])));\n"
        f"      }}\n    }}\n"
        f"    for (int32_t j_inner_2 = 0; j_inner_2 < 8; ++j_inner_2) {{\n"
        f"      int32_t v = {requant(f'((int32_t*){tm})[j_inner_2]', str(mult), shift)};\n"
        f"      {clamp8('T_cast[((j_outer * 8) + j_inner_2)]', 'v', -20 if relu else -128)}\n"
        f"    }}\n  }}\n"
    )


def op_dense_f(mb, L, xs):
    """float dense with hex-float weights; int8 input is dequantized into scratch first."""
    (x,) = xs
    K = x.count
    N = L["units"]
    relu = L.get("relu", False)
    wname = mb.const(
        "float", mb.rng.floats(K * N, 1.0 / math.sqrt(K)), prefix="fused_nn_dense_constant"
    )
    bname = mb.const("float", mb.rng.floats(N, 0.1), prefix="fused_nn_dense_constant")
    fname = mb.uniq(f"{mb.p}_fused_cast_multiply_nn_dense_add" + ("_nn_relu" if relu else ""))
    sc = mb.scratch()
    body = sc.alloc("T_cast", K * 4, 2, 32)
    body += sc.alloc("T_matmul", N * 4, 2, 32)
    tc, tm = sc.v("T_cast"), sc.v("T_matmul")
    if x.dtype == "int8_t":
        conv = f"(((float)p0[k]) * {hexfloat_f(1.0 / x.std)})"
        ptype = "int8_t"
    else:
        conv = "p0[k]"
        ptype = "float"
    body += (
        f"  for (int32_t k = 0; k < {K}; ++k) {{\n"
        f"    ((float*){tc})[k] = {conv};\n  }}\n"
        f"  for (int32_t j = 0; j < {N}; ++j) {{\n"
        f"    float sum = {bname}[j];\n"
        f"    for (int32_t k_1 = 0; k_1 < {K}; ++k_1) {{\n"
        f"      sum = (sum + (((float*){tc})[k_1] * {wname}[((k_1 * {N}) + j)]));\n    }}\n"
        f"    ((float*){tm})[j] = sum;\n  }}\n"
        f"  for (int32_t j_1 = 0; j_1 < {N}; ++j_1) {{\n"
    )
    if relu:
        body += f"    T_out[j_1] = ((0x0p+0f < ((float*){tm})[j_1]) ? ((float*){tm})[j_1] : 0x0p+0f);\n  }}\n"
    else:
        body += f"    T_out[j_1] = ((float*){tm})[j_1];\n  }}\n"
    mb.add_op(fname, f"{ptype}* p0, float* T_out", body, sc)
    return Emitted(fname, Tensor((N,), "float", 1.0), [("in", 0), ("out",)])


def op_softmax(mb, L, xs):
    """float softmax of int32/int8 logits (dequantized with a hex-float scale) or float input."""
    (x,) = xs
    N = x.count
    fname = mb.uniq(f"{mb.p}_fused_cast_multiply_nn_softmax")
    sc = mb.scratch()
    body = sc.alloc("T_softmax_maxelem", 4, 2, 32)
    body += sc.alloc("T_softmax_exp", N * 4, 2, 32)
    body += sc.alloc("T_softmax_expsum", 4, 2, 32)
    mx, ex, es = sc.v("T_softmax_maxelem"), sc.v("T_softmax_exp"), sc.v("T_softmax_expsum")
    if x.dtype == "float":
        val = "p0[{i}]"
    else:
        val = "(((float)p0[{i}]) * " + hexfloat_f(1.25 / x.std) + ")"
    body += (
        f"  ((float*){mx})[0] = -0x1.fffffep+127f;\n"
        f"  for (int32_t k = 0; k < {N}; ++k) {{\n"
        f"    float v = {val.format(i='k')};\n"
        f"    ((float*){mx})[0] = ((((float*){mx})[0] < v) ? v : ((float*){mx})[0]);\n  }}\n"
        f"  for (int32_t i1 = 0; i1 < {N}; ++i1) {{\n"
        f"    ((float*){ex})[i1] = expf(({val.format(i='i1')} - ((float*){mx})[0]));\n  }}\n"
        f"  ((float*){es})[0] = 0x0p+0f;\n"
        f"  for (int32_t k_1 = 0; k_1 < {N}; ++k_1) {{\n"
        f"    ((float*){es})[0] = (((float*){es})[0] + ((float*){ex})[k_1]);\n  }}\n"
        f"  for (int32_t i1_1 = 0; i1_1 < {N}; ++i1_1) {{\n"
        f"    T_softmax_norm[i1_1] = (((float*){ex})[i1_1] / ((float*){es})[0]);\n  }}\n"
    )
    mb.add_op(fname, f"{x.dtype}* p0, float* T_softmax_norm", body, sc)
    return Emitted(fname, Tensor((N,), "float", 0.2), [("in", 0), ("out",)])


# --------------------------------------------------------------------------- CMSIS-NN (lib2)


def _cmsis_fn(mb, params: str, body: str, sc, ctx: int | None) -> str:
    n = mb.cmsis_count
    mb.cmsis_count += 1
    fname = f"{mb.p}_cmsis_nn_main_{n}"
    text = ""
    if ctx:
        cb = f"context_buffer_{n}"
        text += sc.alloc(cb, ctx, 0, 8)
        text += f"  cmsis_nn_context context= {{{sc.v(cb)},{ctx}}};\n"
    else:
        text += "  cmsis_nn_context context= {NULL,0};\n"
    text += body
    text += "  if (status != ARM_CMSIS_NN_SUCCESS) {\n    return -1;\n  }\n"
    mb.add_op(fname, params, text, sc, lib=2)
    return fname


def op_cmsis_conv(mb, L, xs):
    (x,) = xs
    H, W, Cin = x.shape
    KH, KW = L.get("kernel", (1, 1))
    S = L.get("stride", 1)
    Cout = L["cout"]
    OH, OW = -(-H // S), -(-W // S)
    ph, pw = max((OH - 1) * S + KH - H, 0), max((OW - 1) * S + KW - W, 0)
    K = KH * KW * Cin
    acc_std = math.sqrt(K) * x.std * SW
    wname = mb.const("int8_t", mb.rng.int8s(K * Cout, SW))
    qs = [q31(TARGET / acc_std * (0.8 + 0.4 * mb.rng.uniform())) for _ in range(Cout)]
    mname = mb.const("int32_t", [q[0] for q in qs])
    bname = mb.const("int32_t", _bias(mb, Cout, acc_std))
    sname = mb.const("int32_t", [q[1] for q in qs])
    onebyone = KH == 1 and KW == 1 and S == 1
    ctx = 0 if onebyone else 2 * K
    key = ("cmsis_conv", H, W, Cin, KH, KW, S, Cout)
    fname = mb.shared.get(key)
    if fname is None:
        sc = mb.scratch()
        body = (
            f"  cmsis_nn_tile stride = {{{S},{S}}};\n"
            f"  cmsis_nn_tile padding = {{{pw // 2},{ph // 2}}};\n"
            f"  cmsis_nn_tile dilation = {{1,1}};\n"
            f"  cmsis_nn_activation activation = {{-128,127}};\n"
            f"  cmsis_nn_conv_params conv_params = {{0,-3,stride,padding,dilation,activation}};\n"
            f"  cmsis_nn_per_channel_quant_params quant_params = {{multiplier_,shift_}};\n"
            f"  cmsis_nn_dims input_dims = {{1,{H},{W},{Cin}}};\n"
            f"  cmsis_nn_dims filter_dims = {{{Cout},{KH},{KW},{Cin}}};\n"
            f"  cmsis_nn_dims bias_dims = {{1,1,1,{Cout}}};\n"
            f"  cmsis_nn_dims output_dims = {{1,{OH},{OW},{Cout}}};\n"
            f"  arm_cmsis_nn_status status = arm_convolve_wrapper_s8(&context,&conv_params,&quant_params,"
            f"&input_dims,input_,&filter_dims,filter_,&bias_dims,bias_,&output_dims,output_);\n"
        )
        fname = _cmsis_fn(
            mb,
            "int8_t* input_, int8_t* filter_, int32_t* multiplier_, int32_t* bias_, "
            "int32_t* shift_, int8_t* output_",
            body,
            sc,
            ctx,
        )
        mb.shared[key] = fname
    return Emitted(
        fname,
        Tensor((OH, OW, Cout), "int8_t"),
        _per_channel_args(wname, mname, bname, sname),
    )


def _per_channel_args(wname, mname, bname, sname):
    """Entry-call arguments of a per-channel quantised CMSIS-NN operator, in its order."""
    return [
        ("in", 0),
        ("const", wname, "int8_t"),
        ("const", mname, "int32_t"),
        ("const", bname, "int32_t"),
        ("const", sname, "int32_t"),
        ("out",),
    ]


def op_cmsis_dw(mb, L, xs):
    (x,) = xs
    H, W, C = x.shape
    S = L.get("stride", 1)
    OH, OW = -(-H // S), -(-W // S)
    ph, pw = max((OH - 1) * S + 3 - H, 0), max((OW - 1) * S + 3 - W, 0)
    acc_std = 3.0 * x.std * SW
    wname = mb.const("int8_t", mb.rng.int8s(9 * C, SW))
    qs = [q31(TARGET / acc_std * (0.8 + 0.4 * mb.rng.uniform())) for _ in range(C)]
    mname = mb.const("int32_t", [q[0] for q in qs])
    bname = mb.const("int32_t", _bias(mb, C, acc_std))
    sname = mb.const("int32_t", [q[1] for q in qs])
    key = ("cmsis_dw", H, W, C, S)
    fname = mb.shared.get(key)
    if fname is None:
        sc = mb.scratch()
        body = (
            f"  cmsis_nn_tile stride = {{{S},{S}}};\n"
            f"  cmsis_nn_tile padding = {{{pw // 2},{ph // 2}}};\n"
            f"  cmsis_nn_tile dilation = {{1,1}};\n"
            f"  cmsis_nn_activation activation = {{-128,127}};\n"
            f"  cmsis_nn_dw_conv_params dw_conv_params = {{0,1,1,stride,padding,dilation,activation}};\n"
            f"  cmsis_nn_per_channel_quant_params quant_params = {{multiplier_,shift_}};\n"
            f"  cmsis_nn_dims input_dims = {{1,{H},{W},{C}}};\n"
            f"  cmsis_nn_dims filter_dims = {{1,3,3,{C}}};\n"
            f"  cmsis_nn_dims bias_dims = {{1,1,1,{C}}};\n"
            f"  cmsis_nn_dims output_dims = {{1,{OH},{OW},{C}}};\n"
            f"  arm_cmsis_nn_status status = arm_depthwise_conv_wrapper_s8(&context,&dw_conv_params,&quant_params,"
            f"&input_dims,input_,&filter_dims,filter_,&bias_dims,bias_,&output_dims,output_);\n"
        )
        fname = _cmsis_fn(
            mb,
            "int8_t* input_, int8_t* filter_, int32_t* multiplier_, int32_t* bias_, "
            "int32_t* shift_, int8_t* output_",
            body,
            sc,
            2 * 9 * C,
        )
        mb.shared[key] = fname
    return Emitted(
        fname,
        Tensor((OH, OW, C), "int8_t"),
        _per_channel_args(wname, mname, bname, sname),
    )


def op_cmsis_avgpool(mb, L, xs):
    (x,) = xs
    H, W, C = x.shape
    sc = mb.scratch()
    body = (
        f"  cmsis_nn_tile stride = {{1,1}};\n"
        f"  cmsis_nn_tile padding = {{0,0}};\n"
        f"  cmsis_nn_activation activation = {{-128,127}};\n"
        f"  cmsis_nn_pool_params pool_params = {{stride,padding,activation}};\n"
        f"  cmsis_nn_dims input_dims = {{1,{H},{W},{C}}};\n"
        f"  cmsis_nn_dims filter_dims = {{1,{H},{W},1}};\n"
        f"  cmsis_nn_dims output_dims = {{1,1,1,{C}}};\n"
        f"  arm_cmsis_nn_status status = arm_avgpool_s8(&context,&pool_params,&input_dims,input_,"
        f"&filter_dims,&output_dims,output_);\n"
    )
    fname = _cmsis_fn(mb, "int8_t* input_, int8_t* output_", body, sc, C * 4)
    return Emitted(
        fname, Tensor((C,), "int8_t", x.std / math.sqrt(H * W) + 8.0), [("in", 0), ("out",)]
    )


def op_cmsis_fc(mb, L, xs):
    (x,) = xs
    K = x.count
    N = L["units"]
    acc_std = math.sqrt(K) * x.std * SW
    wname = mb.const("int8_t", mb.rng.int8s(K * N, SW))
    bname = mb.const("int32_t", _bias(mb, N, acc_std))
    m, s = q31(TARGET / acc_std)
    sc = mb.scratch()
    body = (
        f"  cmsis_nn_activation activation = {{-128,127}};\n"
        f"  cmsis_nn_fc_params fc_params = {{0,0,2,activation}};\n"
        f"  cmsis_nn_per_tensor_quant_params quant_params = {{{m},{s}}};\n"
        f"  cmsis_nn_dims input_dims = {{1,1,1,{K}}};\n"
        f"  cmsis_nn_dims filter_dims = {{{K},1,1,{N}}};\n"
        f"  cmsis_nn_dims bias_dims = {{1,1,1,{N}}};\n"
        f"  cmsis_nn_dims output_dims = {{1,1,1,{N}}};\n"
        f"  arm_cmsis_nn_status status = arm_fully_connected_s8(&context,&fc_params,&quant_params,"
        f"&input_dims,input_,&filter_dims,filter_,&bias_dims,bias_,&output_dims,output_);\n"
    )
    fname = _cmsis_fn(
        mb, "int8_t* input_, int8_t* filter_, int32_t* bias_, int8_t* output_", body, sc, None
    )
    return Emitted(
        fname,
        Tensor((N,), "int8_t"),
        [("in", 0), ("const", wname, "int8_t"), ("const", bname, "int32_t"), ("out",)],
    )


# --------------------------------------------------------------- micro-kernel operators


def _kernel_block(mb, body: str) -> None:
    """A tensorized micro-kernel as TVM's Arm schedules import it: its own includes in the
    middle of the file, CMSIS's __STATIC_FORCEINLINE, a CRT error code and a forward goto."""
    mb.lib1.append(
        f"{EXTERN_C}#include <arm_acle.h>\n#include <arm_nn_math_types.h>\n"
        "#include <tvm/runtime/crt/error_codes.h>\n\n" + body
    )


def op_kpool(mb, L, xs):
    """2x2 max pooling through a micro-kernel called in a loop; no scratch of its own."""
    (x,) = xs
    H, W, C = x.shape
    uid = short_hash(mb.p, "kpool", len(mb.lib1), n=8).upper()
    kernel = f"max4_s8_{uid}"
    _kernel_block(
        mb,
        f"{EXTERN_C}__STATIC_FORCEINLINE int32_t {kernel}(int8_t* in, int8_t* out, int32_t row, "
        "int32_t step) {\n"
        "  int32_t retcode = 0;\n"
        "  if (row <= 0 || step <= 0) {\n"
        "    retcode = kTvmErrorFunctionCallInvalidArg;\n    goto out;\n  }\n"
        "  int8_t m = in[0];\n"
        "  m = in[step] > m ? in[step] : m;\n"
        "  m = in[row] > m ? in[row] : m;\n"
        "  m = in[row + step] > m ? in[row + step] : m;\n"
        "  out[0] = m;\n"
        "out:\n  return retcode;\n}\n\n",
    )
    fname = mb.uniq(f"{mb.p}_fused_nn_max_pool2d")
    OH, OW = H // 2, W // 2
    body = (
        f"  for (int32_t i = 0; i < {OH}; ++i) {{\n"
        f"    for (int32_t j = 0; j < {OW}; ++j) {{\n"
        f"      for (int32_t c = 0; c < {C}; ++c) {{\n"
        f"        if ({kernel}((&(p0[(((((i * 2) * {W}) + (j * 2)) * {C}) + c)])), "
        f"(&(T_pool[((((i * {OW}) + j) * {C}) + c)])), {W * C}, {C}) != 0) {{\n"
        "          return -1;\n        }\n      }\n    }\n  }\n"
    )
    mb.add_op(fname, "int8_t* p0, int8_t* T_pool", body, mb.scratch())
    return Emitted(fname, Tensor((OH, OW, C), "int8_t", x.std), [("in", 0), ("out",)])


def op_kconv(mb, L, xs):
    """1x1 conv2d through a 16-bit dot-product micro-kernel: weights widened into kernel_vec,
    each input row into data_vec, the kernel called per output channel inside the loops with
    an early return on error, int32 conv buffer, requantization."""
    (x,) = xs
    *sp, Cin = x.shape
    HW = math.prod(sp)
    Cout = L["cout"]
    assert Cin % 2 == 0
    shift = 24
    acc_std = math.sqrt(Cin) * x.std * SW
    wname = mb.const("int8_t", mb.rng.int8s(Cin * Cout, SW))
    bname = mb.const("int32_t", _bias(mb, Cout, acc_std))
    mult = quant_mult_shift(TARGET / acc_std, shift)
    uid = short_hash(mb.p, "kconv", len(mb.lib1), n=8).upper()
    kernel = f"dot16_{Cin}_body_{uid}"
    _kernel_block(
        mb,
        f"{EXTERN_C}__STATIC_FORCEINLINE int32_t {kernel}(int16_t* aa, int16_t* bb, int32_t* cc) {{\n"
        "  int32_t retcode = 0;\n"
        "  if ((((uintptr_t)aa) & 0x3) != 0 || (((uintptr_t)bb) & 0x3) != 0) {\n"
        "    retcode = kTvmErrorFunctionCallInvalidArg;\n    goto out;\n  }\n"
        "  int32_t sum = 0;\n"
        f"  for (int32_t l = 0; l < {Cin // 2}; ++l) {{\n"
        "    int32_t a;\n    int32_t b;\n"
        "    memcpy(&a, &aa[l * 2], sizeof(a));\n    memcpy(&b, &bb[l * 2], sizeof(b));\n"
        "    sum = __smlad(a, b, sum);\n  }\n"
        "  cc[0] = sum;\n"
        "out:\n  return retcode;\n}\n\n",
    )
    fname = mb.uniq(f"{mb.p}_fused_nn_conv2d_add_cast_multiply_right_shift_cast_clip")
    sc = mb.scratch()
    body = sc.alloc("data_vec", Cin * 2, 0, 16)
    body += sc.alloc("kernel_vec", Cout * Cin * 2, 0, 16)
    body += sc.alloc("conv", HW * Cout * 4, 0, 32)
    dv, kv, conv = sc.v("data_vec"), sc.v("kernel_vec"), sc.v("conv")
    body += (
        f"  for (int32_t oc = 0; oc < {Cout}; ++oc) {{\n"
        f"    for (int32_t k = 0; k < {Cin}; ++k) {{\n"
        f"      ((int16_t*){kv})[((oc * {Cin}) + k)] = ((int16_t){wname}[((k * {Cout}) + oc)]);\n"
        "    }\n  }\n"
        f"  for (int32_t p = 0; p < {HW}; ++p) {{\n"
        f"    for (int32_t k_1 = 0; k_1 < {Cin}; ++k_1) {{\n"
        f"      ((int16_t*){dv})[k_1] = ((int16_t)p0[((p * {Cin}) + k_1)]);\n    }}\n"
        f"    for (int32_t oc_1 = 0; oc_1 < {Cout}; ++oc_1) {{\n"
        f"      if ({kernel}(((int16_t*){dv}), (&(((int16_t*){kv})[(oc_1 * {Cin})])), "
        f"(&(((int32_t*){conv})[((p * {Cout}) + oc_1)]))) != 0) {{\n"
        "        return -1;\n      }\n    }\n  }\n"
        f"  for (int32_t ax0 = 0; ax0 < {HW}; ++ax0) {{\n"
        f"    for (int32_t ax1 = 0; ax1 < {Cout}; ++ax1) {{\n"
        f"      int32_t v = {requant(f'(((int32_t*){conv})[((ax0 * {Cout}) + ax1)] + {bname}[ax1])', str(mult), shift)};\n"
        f"      {clamp8(f'T_cast[((ax0 * {Cout}) + ax1)]', 'v')}\n    }}\n  }}\n"
    )
    mb.add_op(fname, "int8_t* p0, int8_t* T_cast", body, sc)
    return Emitted(fname, Tensor((*sp, Cout), "int8_t"), [("in", 0), ("out",)])


OPS = {
    "lut": op_lut,
    "conv": op_conv,
    "dw": op_dw,
    "pw": op_pw,
    "add_rw": op_add_rw,
    "avgpool": op_avgpool,
    "dense_acc": op_dense_acc,
    "dense_q": op_dense_q,
    "dense_f": op_dense_f,
    "softmax": op_softmax,
    "cmsis_conv": op_cmsis_conv,
    "cmsis_dw": op_cmsis_dw,
    "cmsis_avgpool": op_cmsis_avgpool,
    "cmsis_fc": op_cmsis_fc,
    "kpool": op_kpool,
    "kconv": op_kconv,
}
