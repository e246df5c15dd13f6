"""Extent analysis: which bytes of each base a statement may read or write, and which it
always writes, on small C in the shapes TVM generates; and where it must give up."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path
from types import MappingProxyType

import extent_trace
import pytest

from crewrite.extents import Extent, FunctionExtents, Span, analyse
from crewrite.extents.library import KERNELS
from crewrite.extents.values import runs_cover
from crewrite.extract import WRITE_ONLY_OUTPUTS
from crewrite.frontend import parse_source

pytestmark = pytest.mark.e2e  # every snippet is also compiled and run (extent_trace)
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
FIXTURE_NAMES = sorted(p.name for p in FIXTURES.iterdir() if (p / "model").is_dir())

PRELUDE = """\
#include <stdint.h>
#include <string.h>
#include "tvm/runtime/c_runtime_api.h"
#include "tvm/runtime/c_backend_api.h"
#include <arm_nnfunctions.h>
#include <arm_acle.h>
"""


@pytest.fixture
def extents(tmp_path: Path):
    """Analyse a C snippet; returns every function's extents by name. Unless `truth` is
    False, the snippet is also run (each non-static function called once on random data, see
    extent_trace.build_snippet) and every byte it touches checked against the claims."""

    def run(source: str, truth: bool = True, slices=None) -> dict[str, FunctionExtents]:
        text = PRELUDE + textwrap.dedent(source)
        path = tmp_path / "t.c"
        path.write_text(text)
        result = analyse({"t.c": parse_source("t.c", path, text, [], [])}, slices)
        if truth:
            trace = extent_trace.run(extent_trace.build_snippet(text, PRELUDE, tmp_path / "run"))
            assert trace.may_violations == [] and trace.must_violations == []
            assert trace.summary["relevant"] > 0
        return result

    return run


def span(extent: Extent | None, kind: str) -> tuple[int | None, int | None] | None:
    part = getattr(extent, kind) if extent is not None else None
    return None if part is None else (part.lo, part.hi)


def at(fx: FunctionExtents, index: int, base: str) -> Extent:
    """What statement `index` of the body does to `base` (empty Extent: untouched)."""
    return fx.statements[index].bases.get(base, Extent())


# ------------------------------------------------------------------ element types, casts


def test_cast_element_sizes_and_a_dense_loop_is_a_full_must_write(extents):
    fx = extents("""
        void f(void* conv, int8_t* out) {
          for (int32_t n = 0; n < 10; ++n) {
            ((int32_t*)conv)[n] = n;
          }
          for (int32_t n = 0; n < 10; ++n) {
            out[n] = (int8_t)((int32_t*)conv)[n];
          }
        }
    """)["f"]
    assert span(at(fx, 0, "conv"), "writes") == (0, 40)
    assert at(fx, 0, "conv").must_write == ((0, 40),)
    assert span(at(fx, 1, "conv"), "reads") == (0, 40)
    assert span(at(fx, 1, "out"), "writes") == (0, 10)
    assert at(fx, 1, "conv").writes is None


def test_one_slice_read_through_several_element_types(extents):
    fx = extents("""
        void f(void* s, int8_t* out) {
          for (int32_t i = 0; i < 100; ++i) { out[i] = ((int8_t*)s)[i]; }
          for (int32_t j = 0; j < 10; ++j) { out[j] = (int8_t)((int32_t*)s)[j]; }
          out[0] = (int8_t)((int64_t*)s)[3];
        }
    """)["f"]
    assert span(at(fx, 0, "s"), "reads") == (0, 100)
    assert span(at(fx, 1, "s"), "reads") == (0, 40)
    assert span(at(fx, 2, "s"), "reads") == (24, 32)
    assert fx.touched("s").lo == 0 and fx.max_touched("s") == 100


def test_workspace_buffer_and_local_alias(extents):
    fx = extents("""
        int32_t f(int8_t* p0) {
          void* buf = TVMBackendAllocWorkspace(1, 0, (uint64_t)256, 0, 8);
          if (buf == NULL) {
            return -1;
          }
          int8_t* row = (int8_t*)buf + 64;
          for (int32_t i = 0; i < 16; ++i) {
            row[i] = p0[i];
          }
          if (TVMBackendFreeWorkspace(1, 0, buf) != 0) {
            return -1;
          }
          return 0;
        }
    """)["f"]
    assert fx.bases["buf"].kind == "workspace" and fx.bases["buf"].size == 256
    assert "row" not in fx.bases  # an alias of a workspace buffer, not a base of its own
    assert span(at(fx, 3, "buf"), "writes") == (64, 80)
    assert at(fx, 3, "buf").must_write == ((64, 80),)
    assert not fx.statements[1].bases and not fx.statements[4].bases  # NULL check, free
    assert fx.max_touched("buf") == 80


def test_address_of_element_and_pointer_arithmetic(extents):
    fx = extents("""
        void g(int32_t* dst, int32_t v) { dst[0] = v; dst[1] = v; }
        void f(void* buf, int8_t* q) {
          g((&(((int32_t*)buf)[6])), 1);
          g(((int32_t*)buf) + 10, 2);
          int8_t* p = q + 3;
          p[-1] = 0;
        }
    """)["f"]
    assert at(fx, 0, "buf").must_write == ((24, 32),)
    assert at(fx, 1, "buf").must_write == ((40, 48),)
    assert span(at(fx, 3, "q"), "writes") == (2, 3)


# ------------------------------------------------------------------ index expressions


def test_division_modulo_and_shifts(extents):
    fx = extents("""
        void f(int8_t* a, int8_t* b, int8_t* c, int8_t* d, int8_t* out) {
          for (int32_t i = 0; i < 16; ++i) {
            out[i] = a[((i / 4) * 8) + (i % 4)] + b[i >> 1] + c[i << 2] + d[(i * 4) / 4];
          }
        }
    """)["f"]
    assert span(at(fx, 0, "a"), "reads") == (0, 28)
    assert span(at(fx, 0, "b"), "reads") == (0, 8)
    assert span(at(fx, 0, "c"), "reads") == (0, 61)
    assert span(at(fx, 0, "d"), "reads") == (0, 16)


def test_min_max_ternaries_bound_the_index(extents):
    fx = extents("""
        void f(int8_t* p, int8_t* q, int8_t* out) {
          for (int32_t i = 0; i < 100; ++i) {
            int32_t lo = (i < 5) ? i : 5;
            int32_t hi = (i > 90) ? 90 : i;
            out[i] = p[lo] + q[hi];
          }
        }
    """)["f"]
    assert span(at(fx, 0, "p"), "reads") == (0, 6)
    assert span(at(fx, 0, "q"), "reads") == (0, 91)


def test_guarded_padding_read_narrows_the_loop_variables_through_cse_vars(extents):
    fx = extents("""
        void f(int8_t* p0, void* pad) {
          for (int32_t i1 = 0; i1 < 34; ++i1) {
            for (int32_t i2 = 0; i2 < 34; ++i2) {
              for (int32_t i3 = 0; i3 < 3; ++i3) {
                int32_t cse_var_1 = ((i2 * 3) + i3);
                ((int8_t*)pad)[((i1 * 102) + cse_var_1)] = (((1 <= i1) && (i1 < 33)) &&
                    ((1 <= i2) && (i2 < 33))) ? p0[(((i1 * 96) + cse_var_1) - 99)] : (int8_t)0;
              }
            }
          }
        }
    """)["f"]
    assert span(at(fx, 0, "p0"), "reads") == (0, 32 * 32 * 3)
    assert span(at(fx, 0, "pad"), "writes") == (0, 34 * 34 * 3)
    assert at(fx, 0, "pad").must_write == ((0, 34 * 34 * 3),)


def test_fused_loop_split_by_division_and_remainder_with_a_guard_on_the_remainder(extents):
    fx = extents("""
        void f(int8_t* p0, void* pad_temp) {
          for (int32_t fused = 0; fused < 3136; ++fused) {
            for (int32_t i3 = 0; i3 < 3; ++i3) {
              int32_t cse_var_1 = (fused % 56);
              ((int8_t*)pad_temp)[((fused * 3) + i3)] = (((((56 <= fused) && (fused < 3080))
                  && (1 <= cse_var_1)) && (cse_var_1 < 55))
                  ? p0[(((((fused / 56) * 162) + (cse_var_1 * 3)) + i3) - 165)] : (int8_t)0);
            }
          }
        }
    """)["f"]
    assert span(at(fx, 0, "p0"), "reads") == (0, 54 * 162)  # exactly the 54x54x3 input
    assert at(fx, 0, "pad_temp").must_write == ((0, 3136 * 3),)


def test_tail_guard_on_a_split_axis_bounds_the_store_not_the_load_before_it(extents):
    """A loop split by a factor that does not divide it (101 values in tiles of 16): the
    guard on the combined index bounds the store it guards, not the load above it, which
    really reads 11 values past the end; the guarded stores write exactly the 101 values
    (the second guard, on the same form negated and scaled, lets 6 of its even bytes
    through)."""
    fx = extents("""
        void f(void* conv, int8_t* out) {
          for (int32_t ax0_outer = 0; ax0_outer < 7; ++ax0_outer) {
            for (int32_t ax0_inner = 0; ax0_inner < 16; ++ax0_inner) {
              int32_t v = ((int32_t*)conv)[((ax0_outer * 16) + ax0_inner)];
              if ((((ax0_outer * 16) + ax0_inner) < 101)) {
                out[((ax0_outer * 16) + ax0_inner)] = (int8_t)v;
              }
              if (((ax0_outer * -32) - (ax0_inner * 2)) >= -10) {
                out[((ax0_outer * 32) + (ax0_inner * 2))] = (int8_t)v;
              }
            }
          }
        }
    """)["f"]
    assert span(at(fx, 0, "conv"), "reads") == (0, 4 * 7 * 16)
    assert span(at(fx, 0, "out"), "writes") == (0, 101)
    assert at(fx, 0, "out").must_write == ((0, 101),)


def test_guarded_stores_are_certain_only_at_the_guards_own_form(extents):
    """int32 elements under a tail guard (and its else branch) certainly write what the guard
    lets through; a guard on another form (only the outer counter), or a guard joined with
    another condition, write nothing certain."""
    fx = extents("""
        void f(int8_t* in, void* a, void* b, void* c, void* d) {
          for (int32_t o = 0; o < 5; ++o) {
            for (int32_t i = 0; i < 8; ++i) {
              if (((o * 8) + i) < 37) {
                ((int32_t*)a)[((o * 8) + i)] = 1;
              } else {
                ((int32_t*)a)[((o * 8) + i)] = 2;
              }
              if (((o * 8) + i) >= 3) {
                ((int32_t*)b)[((o * 8) + i)] = 3;
              }
              if (o < 4) {
                ((int32_t*)c)[((o * 8) + i)] = 4;
              }
              if ((((o * 8) + i) < 37) && (in[i] != 0)) {
                ((int32_t*)d)[((o * 8) + i)] = 5;
              }
            }
          }
        }
    """)["f"]
    assert at(fx, 0, "a").must_write == ((0, 160),)
    assert at(fx, 0, "b").must_write == ((12, 160),)
    assert at(fx, 0, "c").must_write == ()
    assert at(fx, 0, "d").must_write == ()
    assert span(at(fx, 0, "c"), "writes") == (0, 128)


def test_dense_affine_map_over_nested_loops_is_one_must_run(extents):
    fx = extents("""
        void f(int8_t* out) {
          for (int32_t i = 0; i < 5; ++i) {
            for (int32_t j = 0; j < 7; ++j) {
              for (int32_t c = 0; c < 3; ++c) {
                out[((i * 7 + j) * 3) + c] = 1;
              }
            }
          }
        }
    """)["f"]
    assert at(fx, 0, "out").must_write == ((0, 105),)


def test_descending_loop_and_while_loop_with_a_constant_bound(extents):
    fx = extents("""
        void f(int8_t* p, int8_t* q) {
          for (int32_t i = 9; i >= 0; --i) { p[i] = 0; }
          int32_t k = 0;
          while (k < 12) { q[k] = 1; k++; }
          q[k] = 2;
        }
    """)["f"]
    assert at(fx, 0, "p").must_write == ((0, 10),)
    assert span(at(fx, 2, "q"), "writes") == (0, 12)
    assert span(at(fx, 3, "q"), "writes") == (12, 13)  # the counter's value after the loop


def test_a_counter_also_moved_by_the_condition_is_no_induction(extents):
    fx = extents("""
        void f(int8_t* p) {
          int32_t i = 0;
          while (i++ < 10) {
            p[i] = 0;
            i++;
          }
        }
    """)["f"]
    assert at(fx, 1, "p").must_write == ()  # only every other byte is written
    assert span(at(fx, 1, "p"), "writes") == (None, None)


# ------------------------------------------------------------------ pointers moved in loops


def test_pointer_local_incremented_inside_an_intrinsic_loop(extents):
    fx = extents("""
        void f(int8_t* p0, int32_t* out) {
          for (int32_t k = 0; k < 4; ++k) {
            int8_t* ptr = &p0[k * 16];
            int32_t s = 0;
            for (int32_t j = 0; j < 16; ++j) {
              s = __SMLAD(*ptr, 3, s);
              ++ptr;
            }
            out[k] = s;
          }
        }
        void g(void* buf) {
          int16_t* q = (int16_t*)buf;
          for (int32_t i = 0; i < 32; ++i) {
            *q++ = 0;
          }
        }
    """)
    assert span(at(extents_f := fx["f"], 0, "p0"), "reads") == (0, 64)
    assert at(extents_f, 0, "out").must_write == ((0, 16),)
    assert at(fx["g"], 1, "buf").must_write == ((0, 64),)


def test_loop_bounded_by_a_pointer_comparison(extents):
    fx = extents("""
        void f(void* buf) {
          int32_t* end = (int32_t*)buf + 16;
          for (int32_t* q = (int32_t*)buf; q < end; ++q) {
            *q = 0;
          }
        }
    """)["f"]
    assert at(fx, 1, "buf").must_write == ((0, 64),)


def test_inlined_gemm_kernel_with_strides_as_integer_arguments(extents):
    fx = extents("""
        static inline int32_t dot(int8_t* a, int8_t* b, int32_t n, int32_t stride) {
          int32_t s = 0;
          for (int32_t i = 0; i < n; ++i) {
            s += a[i * stride] * b[i];
          }
          return s;
        }
        void f(int8_t* p0, int8_t* p1, int32_t* out) {
          for (int32_t k = 0; k < 8; ++k) {
            out[k] = dot(&p0[k * 4], p1, 4, 32);
          }
        }
    """)
    f = fx["f"]
    assert span(at(f, 0, "p0"), "reads") == (0, 7 * 4 + 3 * 32 + 1)
    assert span(at(f, 0, "p1"), "reads") == (0, 4)
    assert at(f, 0, "out").must_write == ((0, 32),)
    # On its own (unknown n and stride) the kernel cannot be bounded, and says why.
    assert span(at(fx["dot"], 1, "a"), "reads") == (None, None)
    assert any("index not bounded" in u.reason for u in fx["dot"].unbounded)


def test_callee_extent_is_shifted_by_the_argument_over_the_callers_loop(extents):
    fx = extents("""
        static void fill8(int8_t* dst) { for (int32_t i = 0; i < 8; ++i) { dst[i] = 7; } }
        static void maybe(int8_t* dst, int32_t x) { if (x > 3) { dst[0] = 1; } }
        void f(int8_t* buf, int32_t x) {
          for (int32_t k = 0; k < 4; ++k) {
            fill8(&buf[k * 8]);
          }
          maybe(buf + 40, x);
        }
    """)["f"]
    assert span(at(fx, 0, "buf"), "writes") == (0, 32)
    assert at(fx, 0, "buf").must_write == ((0, 32),)
    assert span(at(fx, 1, "buf"), "writes") == (40, 41)
    assert at(fx, 1, "buf").must_write == ()
    assert fx.summary["buf"].must_write == ((0, 32),)


# ------------------------------------------------------------------ dead code by constants


def test_branches_decided_by_constants(extents):
    fx = extents("""
        #define K 6
        void f(int8_t* p) {
          if (1 < 2 && 2 < 2) {
            p[100] = 1;
          } else {
            p[0] = 1;
          }
          switch (K % 4) {
            case 0: p[50] = 1; break;
            case 2: p[1] = 1;
            case 3: p[2] = 1; break;
            default: p[60] = 1;
          }
        }
    """)["f"]
    assert span(at(fx, 0, "p"), "writes") == (0, 1)
    assert at(fx, 0, "p").must_write == ((0, 1),)  # the branch that runs always runs
    assert span(at(fx, 1, "p"), "writes") == (1, 3)  # case 2 falls through into case 3
    assert at(fx, 1, "p").must_write == ((1, 3),)


def test_switch_on_an_unknown_value_may_take_any_case(extents):
    fx = extents("""
        void f(int8_t* p, int32_t x) {
          switch (x) {
            case 0: p[5] = 1; break;
            default: p[9] = 1;
          }
        }
    """)["f"]
    assert span(at(fx, 0, "p"), "writes") == (5, 10)
    assert at(fx, 0, "p").must_write == ()


def test_packed_api_operator_with_union_arguments_and_do_while_zero(extents):
    fx = extents(
        """
        int32_t op(void* args, int32_t* type_codes, int32_t num_args) {
          void* arg0 = (((TVMValue*)args)[0].v_handle);
          void* arg1 = (((TVMValue*)args)[1].v_handle);
          int8_t* p0 = (int8_t*)(((DLTensor*)arg0)[0].data);
          int32_t dev_id = (((DLTensor*)arg1)[0].device.device_id);
          void* tmp = TVMBackendAllocWorkspace(1, dev_id, (uint64_t)64, 0, 8);
          do {
            for (int32_t i = 0; i < 64; ++i) { ((int8_t*)tmp)[i] = p0[i]; }
          } while (0);
          return 0;
        }
    """,
        truth=False,  # its pointers come out of the arguments' memory
    )["op"]
    assert span(at(fx, 0, "args"), "reads") == (0, 8)  # TVMValue: a union of 8 bytes
    assert span(at(fx, 1, "args"), "reads") == (8, 16)
    assert at(fx, 5, "tmp").must_write == ((0, 64),)  # the body of `do ... while (0)` runs once
    assert not fx.unbounded


# ------------------------------------------------------------------ library calls


def test_memcpy_and_memset_with_constant_sizes(extents):
    fx = extents("""
        void f(int8_t* dst, int8_t* src, int32_t n) {
          memcpy(dst + 4, src, 16);
          memset(dst, 0, 64);
          memcpy(dst, src, n);
        }
    """)["f"]
    assert span(at(fx, 0, "dst"), "writes") == (4, 20)
    assert at(fx, 0, "dst").must_write == ((4, 20),)
    assert span(at(fx, 0, "src"), "reads") == (0, 16)
    assert at(fx, 1, "dst").must_write == ((0, 64),)
    assert span(at(fx, 2, "dst"), "writes") == (0, None)  # n unknown: no upper bound
    assert at(fx, 2, "dst").must_write == ()


CMSIS_CONV = """
    int32_t f(int8_t* input_, int8_t* filter_, int32_t* multiplier_, int32_t* bias_,
              int32_t* shift_, int8_t* output_) {
      void* context_buffer_0 = TVMBackendAllocWorkspace(1, 0, (uint64_t)80, 0, 8);
      if (context_buffer_0 == NULL) {
        return -1;
      }
      cmsis_nn_context context= {context_buffer_0,80};
      cmsis_nn_tile stride = {2,2};
      cmsis_nn_tile padding = {1,4};
      cmsis_nn_tile dilation = {1,1};
      cmsis_nn_activation activation = {-128,127};
      cmsis_nn_conv_params conv_params = {0,-3,stride,padding,dilation,activation};
      cmsis_nn_per_channel_quant_params quant_params = {multiplier_,shift_};
      cmsis_nn_dims input_dims = {1,49,10,1};
      cmsis_nn_dims filter_dims = {64,10,4,1};
      cmsis_nn_dims bias_dims = {1,1,1,64};
      cmsis_nn_dims output_dims = {1,25,5,64};
      arm_cmsis_nn_status status = arm_convolve_wrapper_s8(&context,&conv_params,&quant_params,
          &input_dims,input_,&filter_dims,filter_,&bias_dims,bias_,&output_dims,output_);
      if (status != ARM_CMSIS_NN_SUCCESS) {
        return -1;
      }
      return 0;
    }
"""


def test_cmsis_nn_sizes_come_from_the_dims_and_the_context(extents):
    fx = extents(CMSIS_CONV)["f"]
    call = fx.statements[13]
    assert span(call.bases["input_"], "reads") == (0, 490)
    assert span(call.bases["filter_"], "reads") == (0, 2560)
    assert span(call.bases["bias_"], "reads") == (0, 256)
    assert span(call.bases["multiplier_"], "reads") == (0, 256)
    assert span(call.bases["shift_"], "reads") == (0, 256)
    assert span(call.bases["output_"], "writes") == (0, 8000)
    assert call.bases["output_"].must_write == ((0, 8000),)
    assert call.bases["output_"].reads is None
    assert span(call.bases["context_buffer_0"], "writes") == (0, 80)
    assert call.bases["context_buffer_0"].must_write == ()  # scratch: any part of it
    assert fx.summary["output_"].must_write == ((0, 8000),)
    assert not fx.unbounded


def test_cmsis_nn_call_with_an_unexpected_argument_count_is_unknown(extents):
    fx = extents(
        """
        void f(int8_t* a, int8_t* b, int8_t* out) {
          arm_elementwise_add_s8(a, b, 0, 1, 0, 0, 1, 0, 20, out, 0, 1, 0, -128, 127, 96);
          ((void (*)(int8_t*, int8_t*, int8_t*))arm_elementwise_add_s8)(a, b, out);
        }
    """,
        truth=False,
    )["f"]
    assert span(at(fx, 0, "a"), "reads") == (0, 96)
    assert at(fx, 0, "out").must_write == ((0, 96),)
    assert span(at(fx, 1, "out"), "writes") == (None, None)


# ------------------------------------------------------------------ giving up


def test_unknown_call_receiving_a_pointer_is_unbounded_with_the_reason(extents):
    fx = extents(
        """
        extern void vendor_kernel(int8_t* p, int32_t n);
        void f(int8_t* p, int8_t* q) {
          vendor_kernel(p + 4, 16);
          q[0] = (int8_t)__SSAT(q[1], 8);
        }
    """,
        truth=False,
    )["f"]
    assert span(at(fx, 0, "p"), "reads") == (None, None)
    assert span(at(fx, 0, "p"), "writes") == (None, None)
    (gap,) = [u for u in fx.unbounded if u.base == "p"]
    assert gap.statement == 0 and "vendor_kernel" in gap.reason and gap.line == 10
    assert span(at(fx, 1, "q"), "reads") == (1, 2)  # an intrinsic on values is fine


def test_pointer_stored_in_a_global_makes_later_reaches_unbounded(extents):
    fx = extents("""
        static int32_t* table_ptr;
        static inline int8_t lookup(int8_t x) { return (int8_t)table_ptr[(int32_t)x + 128]; }
        int32_t f(int8_t* p0, int8_t* out) {
          void* T_lut = TVMBackendAllocWorkspace(1, 0, (uint64_t)1024, 0, 32);
          for (int32_t i = 0; i < 256; ++i) { ((int32_t*)T_lut)[i] = i; }
          table_ptr = (int32_t*)T_lut;
          for (int32_t i = 0; i < 49; ++i) { out[i] = lookup(p0[i]); }
          out[0] = 1;
          return 0;
        }
    """)["f"]
    assert at(fx, 1, "T_lut").must_write == ((0, 1024),)  # before the escape: exact
    assert span(at(fx, 3, "T_lut"), "reads") == (None, None)
    assert any(u.base == "T_lut" and "global 'table_ptr'" in u.reason for u in fx.unbounded)
    assert fx.escapes["T_lut"].startswith("line ")
    assert "T_lut" not in fx.statements[4].bases  # no call, no unknown pointer: untouched
    assert fx.max_touched("T_lut") is None


def test_pointers_inside_local_structs_are_followed_or_given_up(extents):
    fx = extents(
        """
        extern void vendor(void* p);
        void f(int8_t* a, int8_t* b) {
          cmsis_nn_context c = {a, 16};
          ((int8_t*)(&c)->buf)[3] = 1;
          cmsis_nn_context d = {b, 16};
          vendor(&d.size);
        }
    """,
        truth=False,
    )["f"]
    assert span(at(fx, 1, "a"), "writes") == (3, 4)
    assert span(at(fx, 3, "b"), "writes") == (None, None)
    assert "vendor" in fx.escapes["b"]


def test_data_dependent_index(extents):
    fx = extents(
        """
        void f(int8_t* p, int32_t* idx, int8_t* small, int8_t* out) {
          for (int32_t i = 0; i < 8; ++i) {
            out[i] = p[idx[i]] + out[small[i]];
          }
        }
    """,
        truth=False,
    )["f"]  # random int32 indices would read anywhere
    assert span(at(fx, 0, "p"), "reads") == (None, None)
    assert any(u.base == "p" and "p[idx[i]]" in u.reason for u in fx.unbounded)
    # An int8_t index still has a range: sound, if wide.
    assert span(at(fx, 0, "out"), "reads") == (-128, 128)


def test_while_loop_without_a_constant_bound(extents):
    fx = extents("""
        void f(int8_t* p, int8_t* q) {
          int32_t i = 0;
          while (p[i] != 0) {
            q[i] = 1;
            i++;
          }
        }
    """)["f"]
    assert span(at(fx, 1, "q"), "writes") == (0, None)
    assert span(at(fx, 1, "p"), "reads") == (0, None)
    assert at(fx, 1, "q").must_write == ()


def test_goto_havocs_and_drops_every_must_write(extents):
    fx = extents("""
        void f(int8_t* p) {
          int32_t i = 0;
          p[0] = 1;
        again:
          p[i] = 2;
          i = i + 1;
          if (i < 4) goto again;
        }
    """)["f"]
    assert all(not e.must_write for s in fx.statements for e in s.bases.values())
    assert span(at(fx, 2, "p"), "writes") == (None, None)


# ------------------------------------------------------------------ must-write stays empty


def test_store_under_a_data_dependent_if_is_no_must_write(extents):
    fx = extents("""
        void f(int8_t* x, int8_t* out) {
          for (int32_t i = 0; i < 10; ++i) {
            if (x[i] > 0) {
              out[i] = 1;
            }
          }
        }
    """)["f"]
    assert span(at(fx, 0, "out"), "writes") == (0, 10)
    assert at(fx, 0, "out").must_write == ()


def test_loop_one_short_leaves_the_last_element_out(extents):
    fx = extents("""
        void f(int32_t* out) {
          for (int32_t i = 0; i < 9; ++i) {
            out[i] = 0;
          }
        }
    """)["f"]
    written = at(fx, 0, "out")
    assert written.must_write == ((0, 36),)
    # The test a live-range split makes: does the writer fill every byte its readers read?
    assert runs_cover(written.must_write, Span(4, 36))
    assert not runs_cover(written.must_write, Span(0, 40))
    assert not runs_cover(written.must_write, Span(0, None))


@pytest.mark.parametrize(
    ("stores", "runs"),
    [
        ("0 1 2 3 4", ((0, 40),)),
        ("0 1 2 4", ((0, 3), (4, 5))),
        ("1 2 3 4", ((1, 5),)),
    ],
    ids=["all five", "one missing", "first missing"],
)
def test_unrolled_stores(extents, stores, runs):
    body = "".join(f"out[(i * 5) + {k}] = {k};\n" for k in stores.split())
    fx = extents(f"void f(int8_t* out) {{ for (int32_t i = 0; i < 8; ++i) {{ {body} }} }}")
    assert fx["f"].statements[0].bases["out"].must_write == runs


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("if (x[i] == 0) { return 0; }", ""),
        ("if (x[i] == 0) { break; }", ""),
        ("if (x[i]) continue;", ""),
        ("", "if (x[i] == 0) { return 0; }"),
        ("", "if (x[i] == 0) { break; }"),
    ],
    ids=["return", "break", "continue", "store then return", "store then break"],
)
def test_early_exit_in_the_loop_is_no_must_write(extents, before, after):
    fx = extents(f"""
        int32_t f(int8_t* x, int8_t* out) {{
          for (int32_t i = 0; i < 10; ++i) {{
            {before}
            out[i] = 1;
            {after}
          }}
          return 0;
        }}
    """)["f"]
    assert span(at(fx, 0, "out"), "writes") == (0, 10)
    assert at(fx, 0, "out").must_write == ()
    assert fx.summary["out"].must_write == ()


def test_error_exit_keeps_the_must_write_of_a_normal_completion(extents):
    fx = extents("""
        int32_t f(int32_t* x, int8_t* out) {
          for (int32_t i = 0; i < 10; ++i) {
            if (x[i] == 12345678) { return -1; }  /* never true on the random test data */
            out[i] = 1;
          }
          return 0;
        }
    """)["f"]
    assert at(fx, 0, "out").must_write == ((0, 10),)
    assert fx.error_exits


def test_a_possible_normal_return_ends_the_functions_must_writes(extents):
    fx = extents("""
        int32_t f(int8_t* x, int8_t* out) {
          out[0] = 1;
          if (x[0] == 0) {
            return 0;
          }
          out[1] = 1;
          return 0;
        }
    """)["f"]
    assert at(fx, 2, "out").must_write == ((1, 2),)  # when it runs, it writes
    assert fx.summary["out"].must_write == ((0, 1),)  # but the call may not reach it


def test_an_operators_must_write_counts_only_where_its_failure_is_checked(extents):
    fx = extents("""
        int32_t op(int8_t* in, int8_t* out) {
          void* t = TVMBackendAllocWorkspace(1, 0, (uint64_t)16, 0, 8);
          if (t == NULL) {
            return -1;
          }
          for (int32_t i = 0; i < 16; ++i) { out[i] = in[i]; }
          return 0;
        }
        int32_t run(int8_t* a, int8_t* b) {
          if (op(a, b) != 0) return -1;
          op(b, a);
          return 0;
        }
    """)["run"]
    assert at(fx, 0, "b").must_write == ((0, 16),)
    assert span(at(fx, 1, "a"), "writes") == (0, 16)
    assert at(fx, 1, "a").must_write == ()


# ------------------------------------------------------------------ USMP slices, sizes


def test_usmp_slices_are_bases_reported_on_their_pool_too(extents):
    fx = extents("""
        static void op(int8_t* in, int8_t* out, uint8_t* pool) {
          void* scratch_let = (&(pool[1024]));
          for (int32_t i = 0; i < 64; ++i) { ((int32_t*)scratch_let)[i] = in[i]; }
          for (int32_t i = 0; i < 64; ++i) { out[i] = (int8_t)((int32_t*)scratch_let)[i]; }
        }
        int32_t main_(int8_t* input, int8_t* output, uint8_t* global_workspace_1_var) {
          void* sid_7_let = (&(global_workspace_1_var[9216]));
          op(input, sid_7_let, global_workspace_1_var);
          op(sid_7_let, output, global_workspace_1_var);
          return 0;
        }
    """)
    inner = fx["op"]
    assert inner.bases["scratch_let"].kind == "slice"
    assert inner.bases["scratch_let"].root == "pool" and inner.bases["scratch_let"].offset == 1024
    assert inner.max_touched("scratch_let") == 256
    assert inner.touched("pool").lo == 1024 and inner.max_touched("pool") == 1280
    entry = fx["main_"]
    assert entry.bases["sid_7_let"].offset == 9216
    assert entry.max_touched("sid_7_let") == 64
    assert at(entry, 1, "sid_7_let").must_write == ((0, 64),)
    assert at(entry, 1, "global_workspace_1_var").must_write == ((1024, 1280), (9216, 9280))
    assert span(at(entry, 2, "sid_7_let"), "reads") == (0, 64)


def test_inline_slices_of_a_named_pool_are_bases_of_their_own(extents):
    """`&pool[C]` written where it is used (USMP's inline slices) is a base `pool[C]`, the
    same at every use, when the analysis is told the parameter is a pool; a let slice's
    initialiser is none; without being told, nothing changes."""
    source = """
        static void op(int8_t* in, int8_t* out) {
          for (int32_t i = 0; i < 64; ++i) { out[i] = in[i]; }
        }
        static void half(int8_t* out) {
          for (int32_t i = 0; i < 32; ++i) { out[i] = (int8_t)i; }
        }
        int32_t main_(int8_t* input, int8_t* output, uint8_t* global_workspace_1_var) {
          void* sid_7_let = (&(global_workspace_1_var[9216]));
          op(input, (int8_t*)(&(global_workspace_1_var[128])));
          op((int8_t*)(&(global_workspace_1_var[128])), (int8_t*)sid_7_let);
          half((int8_t*)(&(global_workspace_1_var[128])));
          op((int8_t*)sid_7_let, output);
          return 0;
        }
    """
    pooled = extents(source, slices=lambda name: name == "global_workspace_1_var")["main_"]
    inline = pooled.bases["global_workspace_1_var[128]"]
    assert (inline.kind, inline.root, inline.offset) == ("inline", "global_workspace_1_var", 128)
    assert "global_workspace_1_var[9216]" not in pooled.bases  # sid_7_let's initialiser
    assert pooled.bases["sid_7_let"].kind == "slice"
    assert at(pooled, 1, "global_workspace_1_var[128]").must_write == ((0, 64),)
    assert span(at(pooled, 2, "global_workspace_1_var[128]"), "reads") == (0, 64)
    assert at(pooled, 3, "global_workspace_1_var[128]").must_write == ((0, 32),)
    assert pooled.max_touched("global_workspace_1_var[128]") == 64
    assert at(pooled, 1, "global_workspace_1_var").must_write == ((128, 192),)  # on its root
    plain = extents(source, truth=False)["main_"]
    assert not any("[" in name for name in plain.bases)
    assert at(plain, 1, "global_workspace_1_var").must_write == ((128, 192),)


def test_a_slice_declared_in_a_loop_body_is_a_base_too(extents):
    """USMP declares an operator's loop-local scratch where it is used; a name declared again
    at another offset stays a plain pointer (it is no single base)."""
    fx = extents("""
        void op(int8_t* in, int8_t* out, uint8_t* pool) {
          for (int32_t j = 0; j < 4; ++j) {
            void* tile_let = (&(pool[320]));
            for (int32_t i = 0; i < 16; ++i) { ((int32_t*)tile_let)[i] = in[((j * 16) + i)]; }
            for (int32_t i = 0; i < 16; ++i) { out[(j * 16) + i] = ((int32_t*)tile_let)[i]; }
          }
          for (int32_t j = 0; j < 2; ++j) {
            void* twice_let = (&(pool[0]));
            ((int8_t*)twice_let)[j] = in[j];
          }
          for (int32_t j = 0; j < 2; ++j) {
            void* twice_let = (&(pool[8]));
            out[j] = ((int8_t*)twice_let)[j];
          }
        }
    """)["op"]
    assert fx.bases["tile_let"].kind == "slice" and fx.bases["tile_let"].offset == 320
    assert fx.max_touched("tile_let") == 64
    assert fx.bases["twice_let"].offset == 0 and fx.max_touched("twice_let") == 2
    assert span(at(fx, 2, "pool"), "reads") == (8, 10)  # the second twice_let: not the base


def test_read_past_the_end_of_a_buffer_shows_in_its_extent(extents):
    fx = extents("""
        int32_t f(int8_t* out) {
          void* conv = TVMBackendAllocWorkspace(1, 0, (uint64_t)400, 0, 32);
          for (int32_t i = 0; i < 100; ++i) { ((int32_t*)conv)[i] = i; }
          for (int32_t i = 0; i < 100; ++i) {
            out[i] = (int8_t)(((int32_t*)conv)[i] + ((int32_t*)conv)[i + 3]);
          }
          return 0;
        }
    """)["f"]
    assert fx.max_touched("conv") == 412 and fx.bases["conv"].size == 400


def test_pointer_escaping_in_a_callee_reaches_the_caller(extents):
    fx = extents("""
        static int8_t* saved;
        static void keep(int8_t* p) { saved = p; }
        static void use(void) { saved[3] = 1; }
        void f(int8_t* a) {
          a[0] = 0;
          keep(a);
          use();
        }
    """)["f"]
    assert span(at(fx, 0, "a"), "writes") == (0, 1)
    assert span(at(fx, 2, "a"), "writes") == (None, None)
    assert "keep" in fx.escapes["a"]


# ------------------------------------------------------------------ the truth, on every fixture


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_every_byte_a_fixture_touches_lies_within_the_claims(tmp_path, name):
    """Build the fixture with a callback on every load and store and a marker before every
    top-level statement: no access outside the may-ranges of its statement (in every frame on
    the stack, callees included), no byte of a must-write run left unwritten."""
    built = extent_trace.build(FIXTURES / name, tmp_path)
    assert not built.unmarked
    trace = extent_trace.run(built, seed=3, fill_seed=5)
    assert trace.may_violations == [] and trace.summary["violations"] == 0
    assert trace.must_violations == [] and trace.summary["must_violations"] == 0
    # The check saw the model work: accesses inside tracked buffers, must-runs verified (the
    # smallest fixture, aot_header_sized, makes 92,387 such accesses; vww_kernels has 30 runs).
    assert trace.summary["relevant"] > 50_000 and trace.summary["must_runs"] >= 20
    assert not [u for fx in built.extents.values() for u in fx.unbounded if "failed" in u.reason]
    for fx in built.extents.values():
        for base in fx.bases.values():
            if base.kind == "workspace" and base.name not in fx.escapes:
                past = sum(
                    n
                    for (fixture, function, buffer), n in READS_PAST_THE_END.items()
                    if (fixture, buffer) == (name, base.name) and fx.name.startswith(function)
                )
                assert fx.touched(base.name) == Span(0, base.size + past), (fx.name, base.name)


# kws_edges' first conv requantises 8,000 values in tiles of 768: its last tile reads 448
# int32 values past the end of `conv` (tools/fixturegen, option "tile").
READS_PAST_THE_END = {("kws_edges", "tvmgen_default_fused_cast_subtract_nn_conv2d", "conv"): 1792}


def _tampered(extents: dict[str, FunctionExtents]) -> dict[str, FunctionExtents]:
    """The softmax claims one byte too short a read of p0 and one byte too long a must-write."""
    out = dict(extents)
    for name, fx in extents.items():
        if not name.endswith("nn_softmax"):
            continue
        statements = []
        for statement in fx.statements:
            bases = dict(statement.bases)
            read = bases.get("p0", Extent()).reads
            if read is not None and read.hi:
                bases["p0"] = dataclasses.replace(bases["p0"], reads=Span(read.lo, read.hi - 1))
            out_runs = bases.get("T_softmax_norm", Extent()).must_write
            if out_runs:
                (lo, hi), *_ = out_runs
                bases["T_softmax_norm"] = dataclasses.replace(
                    bases["T_softmax_norm"], must_write=((lo, hi + 1),)
                )
            statements.append(dataclasses.replace(statement, bases=MappingProxyType(bases)))
        out[name] = dataclasses.replace(fx, statements=tuple(statements))
    return out


def test_the_cross_check_catches_a_claim_one_byte_off(tmp_path):
    trace = extent_trace.run(extent_trace.build(FIXTURES / "kws_native", tmp_path, _tampered))
    assert trace.may_violations and "nn_softmax" in trace.may_violations[0]
    assert "read" in trace.may_violations[0]
    assert trace.must_violations and "missing=1" in trace.must_violations[0]


def test_library_outputs_agree_with_extracts_write_only_table():
    """extract's WRITE_ONLY_OUTPUTS and the kernels modelled here state the same contracts
    twice (extract cannot import the analysis): each write-only output there is the one
    output tensor here, at the same position, for the same argument count."""
    for name, (position, count) in WRITE_ONLY_OUTPUTS.items():
        kernel = KERNELS[name]
        outputs = [t.position for t in kernel.tensors if t.writes]
        assert (outputs, kernel.arguments) == ([position], count), name
