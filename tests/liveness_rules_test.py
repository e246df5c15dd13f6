"""Every liveness rule has a program that goes wrong without it (issue 12: a test that cannot
fail is a defect). Each program is built and run as written and as rewritten, outputs
compared byte for byte by `crewrite verify`; where the poison build can follow the program
(one entry, no body that jumps back) it runs too, since it catches a window that ends early
whatever offsets the planner picks. Each was checked by switching its rule off (the rule's
line is named)."""

from __future__ import annotations

import pytest

from helpers import small_project

ALLOC = "TVMBackendAllocWorkspace(1, 0, (uint64_t)64, 0, 8)"

# liveness.py `if fn.loops_back:` -- a backward goto makes the whole body one loop: `a` is
# read at the top of each pass, `b` written below it, the straight-line windows are apart.
BACKWARD_GOTO = f"""
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x, int8_t* y) {{
  void* a = {ALLOC};
  void* b = {ALLOC};
  int32_t n = 0;
  for (int32_t i = 0; i < 64; ++i) {{ ((int8_t*)a)[i] = x[i]; }}
  for (int32_t i = 0; i < 64; ++i) {{ y[i] = 0; }}
again:
  for (int32_t i = 0; i < 64; ++i) {{ y[i] = (int8_t)(y[i] + ((int8_t*)a)[i]); }}
  for (int32_t i = 0; i < 64; ++i) {{ ((int8_t*)b)[i] = (int8_t)(y[i] * 3 + n); }}
  for (int32_t i = 0; i < 64; ++i) {{ y[i] = (int8_t)(((int8_t*)b)[63 - i] ^ y[i]); }}
  if (++n < 3) goto again;
  if (TVMBackendFreeWorkspace(1, 0, b) != 0) {{ return -1; }}
  if (TVMBackendFreeWorkspace(1, 0, a) != 0) {{ return -1; }}
  return 0;
}}
"""

# liveness.py `elif inst.escaped:` -- a pointer kept in a global is read later through it.
ESCAPE = f"""
static int8_t* tvmgen_t_keep;
static void tvmgen_t_use(int8_t* y) {{
  for (int32_t i = 0; i < 64; ++i) {{ y[i] = (int8_t)(y[i] + tvmgen_t_keep[i]); }}
}}
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x, int8_t* y) {{
  void* a = {ALLOC};
  void* b = {ALLOC};
  for (int32_t i = 0; i < 64; ++i) {{ ((int8_t*)a)[i] = (int8_t)(x[i] * 2); }}
  tvmgen_t_keep = (int8_t*)a;
  for (int32_t i = 0; i < 64; ++i) {{ ((int8_t*)b)[i] = (int8_t)(x[i] + 5); }}
  for (int32_t i = 0; i < 64; ++i) {{ y[i] = ((int8_t*)b)[63 - i]; }}
  tvmgen_t_use(y);
  if (TVMBackendFreeWorkspace(1, 0, b) != 0) {{ return -1; }}
  if (TVMBackendFreeWorkspace(1, 0, a) != 0) {{ return -1; }}
  return 0;
}}
"""

# liveness.py `if inst.anytime:` (and extract.py `runs_anytime`) -- an operator listed in a
# table that the module calls through may run at any moment.
POINTER_RUN = f"""
typedef int32_t (*op_fn)(int8_t*, int8_t*);
static int32_t tvmgen_t_fused_a(int8_t* p0, int8_t* T_out) {{
  void* s = {ALLOC};
  for (int32_t i = 0; i < 64; ++i) {{ ((int8_t*)s)[i] = (int8_t)(p0[i] + 1); }}
  for (int32_t i = 0; i < 64; ++i) {{ T_out[i] = ((int8_t*)s)[63 - i]; }}
  if (TVMBackendFreeWorkspace(1, 0, s) != 0) {{ return -1; }}
  return 0;
}}
static op_fn tvmgen_t_ops[1] = {{tvmgen_t_fused_a}};
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x, int8_t* y) {{
  void* sid = {ALLOC};
  for (int32_t i = 0; i < 64; ++i) {{ ((int8_t*)sid)[i] = (int8_t)(x[i] * 3); }}
  if (tvmgen_t_ops[0](x, y) != 0) return -1;
  for (int32_t i = 0; i < 64; ++i) {{ y[i] = (int8_t)(y[i] ^ ((int8_t*)sid)[i]); }}
  if (TVMBackendFreeWorkspace(1, 0, sid) != 0) {{ return -1; }}
  return 0;
}}
"""

# extract.py `_UnitScanner.visit_FuncCall` (arguments before the call) -- the call in an
# argument runs first, while `sid` already holds what `use` reads afterwards.
NESTED_CALLS = f"""
static int32_t tvmgen_t_count(int8_t* x) {{
  void* tmp = {ALLOC};
  int32_t r = 0;
  for (int32_t i = 0; i < 64; ++i) {{ ((int8_t*)tmp)[i] = (int8_t)(x[i] ^ 0x33); }}
  for (int32_t i = 0; i < 64; ++i) {{ r += ((int8_t*)tmp)[i]; }}
  if (TVMBackendFreeWorkspace(1, 0, tmp) != 0) {{ return -1; }}
  return r;
}}
static int32_t tvmgen_t_use(int8_t* a, int32_t n, int8_t* y) {{
  for (int32_t i = 0; i < 64; ++i) {{ y[i] = (int8_t)(a[i] + n); }}
  return 0;
}}
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x, int8_t* y) {{
  void* sid = {ALLOC};
  for (int32_t i = 0; i < 64; ++i) {{ ((int8_t*)sid)[i] = (int8_t)(x[i] * 5); }}
  tvmgen_t_use((int8_t*)sid, tvmgen_t_count(x), y);
  if (TVMBackendFreeWorkspace(1, 0, sid) != 0) {{ return -1; }}
  return 0;
}}
"""

# liveness.py `or call.in_loop` -- calls in a loop run again: `a` is read by later passes
# after `b` (written backwards) took its bytes in earlier ones.
CALLS_IN_LOOP = f"""
static void tvmgen_t_copy8(int8_t* dst, int8_t* src) {{
  for (int32_t j = 0; j < 8; ++j) {{ dst[j] = src[j]; }}
}}
static void tvmgen_t_inc8(int8_t* dst, int8_t* src) {{
  for (int32_t j = 0; j < 8; ++j) {{ dst[j] = (int8_t)(src[j] + 1); }}
}}
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x, int8_t* y) {{
  void* a = {ALLOC};
  void* b = {ALLOC};
  for (int32_t i = 0; i < 64; ++i) {{ ((int8_t*)a)[i] = (int8_t)(x[i] * 3); }}
  for (int32_t k = 0; k < 8; ++k) {{
    tvmgen_t_copy8(y + k * 8, (int8_t*)a + k * 8);
    tvmgen_t_inc8((int8_t*)b + (7 - k) * 8, y + k * 8);
  }}
  for (int32_t i = 0; i < 64; ++i) {{ y[i] = (int8_t)(y[i] ^ ((int8_t*)b)[63 - i]); }}
  if (TVMBackendFreeWorkspace(1, 0, b) != 0) {{ return -1; }}
  if (TVMBackendFreeWorkspace(1, 0, a) != 0) {{ return -1; }}
  return 0;
}}
"""

# liveness.py `for extra in call.args[len(callee.params) :]` -- a variadic argument is kept
# by the callee (va_arg into a global), where the analysis cannot follow it.
VARIADIC = f"""
#include <stdarg.h>
static int8_t* tvmgen_t_saved;
static void tvmgen_t_note(int32_t n, ...) {{
  va_list ap;
  va_start(ap, n);
  tvmgen_t_saved = va_arg(ap, int8_t*);
  va_end(ap);
}}
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x, int8_t* y) {{
  void* a = {ALLOC};
  void* b = {ALLOC};
  for (int32_t i = 0; i < 64; ++i) {{ ((int8_t*)a)[i] = (int8_t)(x[i] + 9); }}
  tvmgen_t_note(1, (int8_t*)a);
  for (int32_t i = 0; i < 64; ++i) {{ ((int8_t*)b)[i] = (int8_t)(x[i] * 7); }}
  for (int32_t i = 0; i < 64; ++i) {{ y[i] = (int8_t)(((int8_t*)b)[i] + tvmgen_t_saved[63 - i]); }}
  if (TVMBackendFreeWorkspace(1, 0, b) != 0) {{ return -1; }}
  if (TVMBackendFreeWorkspace(1, 0, a) != 0) {{ return -1; }}
  return 0;
}}
"""

WRITER = """
static void tvmgen_t_write(int8_t* out, int8_t* src, int8_t v) {
  for (int32_t i = 0; i < 64; ++i) { out[i] = (int8_t)(src[i] + v); }
}
"""

# liveness.py `range_starts`: `or fn.jumps` -- a forward goto may skip the statement that
# would start a new tensor in `sid`: the old one is still read after the label.
FORWARD_GOTO = (
    WRITER
    + f"""
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x, int8_t* y) {{
  void* sid = {ALLOC};
  void* other = {ALLOC};
  tvmgen_t_write((int8_t*)sid, x, 1);
  for (int32_t i = 0; i < 64; ++i) {{ y[i] = ((int8_t*)sid)[i]; }}
  if (x[0] > 0) goto skip;
  tvmgen_t_write((int8_t*)sid, x, 2);
skip:
  for (int32_t i = 0; i < 64; ++i) {{ ((int8_t*)other)[i] = (int8_t)(x[i] * 5); }}
  for (int32_t i = 0; i < 64; ++i) {{
    y[i] = (int8_t)(y[i] ^ ((int8_t*)sid)[63 - i] ^ ((int8_t*)other)[i]);
  }}
  if (TVMBackendFreeWorkspace(1, 0, other) != 0) {{ return -1; }}
  if (TVMBackendFreeWorkspace(1, 0, sid) != 0) {{ return -1; }}
  return 0;
}}
"""
)

# extract.py `_always_run` -- a write under a condition may not happen: no new tensor there.
CONDITIONAL_WRITE = (
    WRITER
    + f"""
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x, int8_t* y) {{
  void* sid = {ALLOC};
  void* other = {ALLOC};
  tvmgen_t_write((int8_t*)sid, x, 1);
  for (int32_t i = 0; i < 64; ++i) {{ y[i] = ((int8_t*)sid)[i]; }}
  if (x[0] > 0) {{
    tvmgen_t_write((int8_t*)sid, x, 2);
  }}
  for (int32_t i = 0; i < 64; ++i) {{ ((int8_t*)other)[i] = (int8_t)(x[i] * 5); }}
  for (int32_t i = 0; i < 64; ++i) {{
    y[i] = (int8_t)(y[i] ^ ((int8_t*)sid)[63 - i] ^ ((int8_t*)other)[i]);
  }}
  if (TVMBackendFreeWorkspace(1, 0, other) != 0) {{ return -1; }}
  if (TVMBackendFreeWorkspace(1, 0, sid) != 0) {{ return -1; }}
  return 0;
}}
"""
)

# liveness.py `range_starts`: `var not in unit.access.reads` -- an operator that reads its
# output before writing it (accumulates) continues the old tensor.
READ_THEN_WRITE = f"""
static void tvmgen_t_accumulate(int8_t* acc, int8_t* src) {{
  for (int32_t i = 0; i < 64; ++i) {{ acc[i] = (int8_t)(acc[i] + src[i]); }}
}}
{WRITER}
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x, int8_t* y) {{
  void* sid = {ALLOC};
  void* other = {ALLOC};
  tvmgen_t_write((int8_t*)sid, x, 3);
  for (int32_t i = 0; i < 64; ++i) {{ y[i] = ((int8_t*)sid)[i]; }}
  for (int32_t i = 0; i < 64; ++i) {{ ((int8_t*)other)[i] = (int8_t)(x[i] * 5); }}
  tvmgen_t_accumulate((int8_t*)sid, (int8_t*)other);
  for (int32_t i = 0; i < 64; ++i) {{ y[i] = (int8_t)(y[i] ^ ((int8_t*)sid)[63 - i]); }}
  if (TVMBackendFreeWorkspace(1, 0, other) != 0) {{ return -1; }}
  if (TVMBackendFreeWorkspace(1, 0, sid) != 0) {{ return -1; }}
  return 0;
}}
"""

# extract.py `Function.bases` (aliases) -- `row` points into `a`; its later reads are `a`'s.
ALIAS = f"""
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x, int8_t* y) {{
  void* a = {ALLOC};
  void* b = {ALLOC};
  for (int32_t i = 0; i < 64; ++i) {{ ((int8_t*)a)[i] = (int8_t)(x[i] - 3); }}
  int8_t* row = (int8_t*)a + 32;
  for (int32_t i = 0; i < 64; ++i) {{ ((int8_t*)b)[i] = (int8_t)(x[i] * 7); }}
  for (int32_t i = 0; i < 64; ++i) {{ y[i] = ((int8_t*)b)[i]; }}
  for (int32_t i = 0; i < 32; ++i) {{ y[i] = (int8_t)(y[i] + row[i]); }}
  if (TVMBackendFreeWorkspace(1, 0, b) != 0) {{ return -1; }}
  if (TVMBackendFreeWorkspace(1, 0, a) != 0) {{ return -1; }}
  return 0;
}}
"""

# liveness.py `record.freed` -- a buffer never freed whose pointer was kept is read after its
# function returned: live to the end, not to the end of its function.
LEAKED_ESCAPE = f"""
static int8_t* tvmgen_t_kept;
static int32_t tvmgen_t_first(int8_t* x) {{
  void* table = {ALLOC};
  for (int32_t i = 0; i < 64; ++i) {{ ((int8_t*)table)[i] = (int8_t)(x[i] ^ 0x5a); }}
  tvmgen_t_kept = (int8_t*)table;
  return 0;
}}
static int32_t tvmgen_t_second(int8_t* x, int8_t* y) {{
  void* tmp = {ALLOC};
  for (int32_t i = 0; i < 64; ++i) {{ ((int8_t*)tmp)[i] = (int8_t)(x[i] + 7); }}
  for (int32_t i = 0; i < 64; ++i) {{ y[i] = (int8_t)(((int8_t*)tmp)[i] + tvmgen_t_kept[63 - i]); }}
  if (TVMBackendFreeWorkspace(1, 0, tmp) != 0) {{ return -1; }}
  return 0;
}}
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x, int8_t* y) {{
  if (tvmgen_t_first(x) != 0) return -1;
  if (tvmgen_t_second(x, y) != 0) return -1;
  return 0;
}}
"""

# liveness.py `for target in unit.taken` -- a function handed on as a callback runs inside
# the call that receives it; its scratch is live throughout.
CALLBACK = f"""
typedef int32_t (*cb_fn)(int8_t*);
static int32_t tvmgen_t_cb(int8_t* p) {{
  void* s = {ALLOC};
  for (int32_t i = 0; i < 64; ++i) {{ ((int8_t*)s)[i] = (int8_t)(p[i] + 1); }}
  for (int32_t i = 0; i < 64; ++i) {{ p[i] = ((int8_t*)s)[63 - i]; }}
  if (TVMBackendFreeWorkspace(1, 0, s) != 0) {{ return -1; }}
  return 0;
}}
static int32_t tvmgen_t_run_cb(cb_fn f, int8_t* p) {{ return f(p); }}
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x, int8_t* y) {{
  void* sid = {ALLOC};
  for (int32_t i = 0; i < 64; ++i) {{ ((int8_t*)sid)[i] = (int8_t)(x[i] * 3); }}
  for (int32_t i = 0; i < 64; ++i) {{ y[i] = x[i]; }}
  if (tvmgen_t_run_cb(tvmgen_t_cb, y) != 0) return -1;
  for (int32_t i = 0; i < 64; ++i) {{ y[i] = (int8_t)(y[i] ^ ((int8_t*)sid)[i]); }}
  if (TVMBackendFreeWorkspace(1, 0, sid) != 0) {{ return -1; }}
  return 0;
}}
"""

# liveness.py `or call.in_loop`, with early returns inside the loop (error checks of kernel
# calls, as tensorized schedules write them; never taken here).
EARLY_RETURN_IN_LOOP = f"""
static int32_t tvmgen_t_kernel(int8_t* dst, int8_t* src, int32_t k) {{
  if (k < 0) {{
    return -1;
  }}
  for (int32_t j = 0; j < 8; ++j) {{ dst[j] = (int8_t)(src[j] * 2 + k); }}
  return 0;
}}
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x, int8_t* y) {{
  void* a = {ALLOC};
  void* b = {ALLOC};
  for (int32_t i = 0; i < 64; ++i) {{ ((int8_t*)a)[i] = x[i]; }}
  for (int32_t k = 0; k < 8; ++k) {{
    if (tvmgen_t_kernel(y + k * 8, (int8_t*)a + k * 8, k) != 0) {{
      return -1;
    }}
    if (tvmgen_t_kernel((int8_t*)b + (7 - k) * 8, y + k * 8, k) != 0) {{
      return -1;
    }}
  }}
  for (int32_t i = 0; i < 64; ++i) {{ y[i] = (int8_t)(y[i] ^ ((int8_t*)b)[i]); }}
  if (TVMBackendFreeWorkspace(1, 0, b) != 0) {{ return -1; }}
  if (TVMBackendFreeWorkspace(1, 0, a) != 0) {{ return -1; }}
  return 0;
}}
"""
# verify's driver refuses a run that leaves workspace allocated: a leaking original is
# compared through the same code with the leak closed at the end of the run.
CLOSED = {
    "leaked-escape": LEAKED_ESCAPE.replace(
        "  if (tvmgen_t_second(x, y) != 0) return -1;\n",
        "  if (tvmgen_t_second(x, y) != 0) return -1;\n"
        "  if (TVMBackendFreeWorkspace(1, 0, tvmgen_t_kept) != 0) { return -1; }\n",
    )
}

RULES = {
    "backward-goto": (BACKWARD_GOTO, False),
    "escape": (ESCAPE, True),
    "pointer-run": (POINTER_RUN, False),
    "nested-call-order": (NESTED_CALLS, True),
    "calls-in-loop": (CALLS_IN_LOOP, True),
    "variadic": (VARIADIC, True),
    "forward-goto": (FORWARD_GOTO, True),
    "conditional-write": (CONDITIONAL_WRITE, True),
    "read-then-write": (READ_THEN_WRITE, True),
    "alias": (ALIAS, True),
    "leaked-escape": (LEAKED_ESCAPE, True),
    "callback": (CALLBACK, False),
    "early-return-in-loop": (EARLY_RETURN_IN_LOOP, True),
}


@pytest.mark.e2e
@pytest.mark.parametrize("rule", sorted(RULES))
def test_rule_keeps_the_rewrite_right(rule, tmp_path):
    body, poison = RULES[rule]
    root = small_project.runnable(tmp_path / "p", body)
    # the diagnostic build: dead bytes overwritten after every statement
    for flags in [(), ("--poison-dead",)] if poison else [()]:
        where = tmp_path / ("poison" if flags else "plain")
        if rule in CLOSED:
            closed = small_project.runnable(where / "closed", CLOSED[rule])
            out = small_project.rewritten_copy(root, where / "out", *flags)
            want = small_project.outputs(closed, where / "b0")
            assert small_project.outputs(out, where / "b1") == want
            continue
        verdict = small_project.compare(root, where, *flags)
        assert verdict.unstable is None, "the program itself reads stale bytes"
        assert verdict.ok, verdict.text()
