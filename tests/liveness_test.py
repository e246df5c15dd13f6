"""Liveness: first to last touch, calls expanded on one clock, several windows for a
function called twice, escapes held from alloc to free."""

from __future__ import annotations

from crewrite.liveness import analyse
from helpers.cases import TWO_OPS
from helpers.projects import program_of

TWICE = """
static void tvmgen_t_fill(int8_t* out, int8_t* in) {
  for (int32_t i = 0; i < 32; ++i) { out[i] = in[i] + 1; }
}
TVM_DLL int32_t tvmgen_t_op(int8_t* p0, int8_t* T_out) {
  void* pad = TVMBackendAllocWorkspace(1, 0, (uint64_t)32, 0, 8);
  if (pad == NULL) {
    return -1;
  }
  tvmgen_t_fill((int8_t*)pad, p0);
  tvmgen_t_fill(T_out, (&(((int8_t*)pad)[0])));
  if (TVMBackendFreeWorkspace(1, 0, pad) != 0) {
    return -1;
  }
  return 0;
}
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x, int8_t* y) {
  void* sid_1 = TVMBackendAllocWorkspace(1, 0, (uint64_t)32, 0, 8);
  if (sid_1 == NULL) {
    return -1;
  }
  void* sid_2 = TVMBackendAllocWorkspace(1, 0, (uint64_t)32, 0, 8);
  if (sid_2 == NULL) {
    return -1;
  }
  if (tvmgen_t_op(x, sid_1) != 0 ) return -1;
  if (tvmgen_t_op(sid_1, sid_2) != 0 ) return -1;
  if (tvmgen_t_op(sid_2, y) != 0 ) return -1;
  if (TVMBackendFreeWorkspace(1, 0, sid_2) != 0) {
    return -1;
  }
  if (TVMBackendFreeWorkspace(1, 0, sid_1) != 0) {
    return -1;
  }
  return 0;
}
"""


def by_var(live):
    return {b.site.variable: b for b in live.buffers}


def test_function_called_three_times_has_three_windows(project):
    live = analyse(program_of(project(TWICE)), "t", model="coarse")
    buffers = by_var(live)
    assert len(buffers["pad"].windows) == 3
    sid_1, sid_2 = buffers["sid_1"].windows, buffers["sid_2"].windows
    assert len(sid_1) == len(sid_2) == 1
    # Coarse: both sids are live for the whole second call.
    assert sid_1[0][1] < sid_2[0][1] and sid_2[0][0] <= sid_1[0][1]
    assert all(s >= sid_1[0][0] for s, _ in buffers["pad"].windows)


def test_fine_model_follows_the_callee_parameter_uses(project):
    program = program_of(project(TWICE))
    coarse = by_var(analyse(program, "t", model="coarse"))
    fine = by_var(analyse(program, "t", model="fine"))
    sid_1, sid_2 = fine["sid_1"].windows, fine["sid_2"].windows
    # The operator copies its input into pad, then writes its output from pad: sid_1 (input
    # of the second call) is dead before sid_2 (its output) is first written.
    assert sid_1[-1][1] < sid_2[0][0]
    for name in ("sid_1", "sid_2", "pad"):
        covered = {p for s, e in fine[name].windows for p in range(s, e + 1)}
        assert covered <= {p for s, e in coarse[name].windows for p in range(s, e + 1)}


def test_escape_covers_alloc_to_free_and_as_written_peak(project):
    program = program_of(project(TWO_OPS))
    live = analyse(program, "t")
    assert {b.site.key: b.escaped for b in live.buffers} == {
        ("tvmgen_t_op_a", "data_vec"): False,
        ("tvmgen_t_op_b", "data_vec"): True,
        ("tvmgen_t___tvm_main__", "sid_1"): False,
    }
    # Stored in a global, op_b's scratch is live from its alloc to its free, though the
    # statements between its last use and its free never touch it.
    point = {label: i for i, label in enumerate(live.labels)}
    op_b = next(b for b in live.buffers if b.escaped)
    free = next(s for s in program.frees if s.function == "tvmgen_t_op_b")
    assert op_b.windows == (
        (point[f"tvmgen_t_op_b:{op_b.site.line}"], point[f"tvmgen_t_op_b:{free.line}"]),
    )
    # As written: sid_1 (64) and the larger scratch (2048) are held together.
    assert live.as_written_peak == 64 + 2048


def test_buffer_never_touched_gets_no_window(project):
    body = """
    int32_t tvmgen_t___tvm_main__(int8_t* x) {
      void* unused = TVMBackendAllocWorkspace(1, 0, (uint64_t)16, 0, 8);
      if (unused == NULL) {
        return -1;
      }
      if (TVMBackendFreeWorkspace(1, 0, unused) != 0) {
        return -1;
      }
      return 0;
    }
    """
    live = analyse(program_of(project(body)), "t")
    assert by_var(live)["unused"].windows == ()


BRANCH = """
static void tvmgen_t_write(int8_t* out) {
  for (int32_t i = 0; i < 32; ++i) { out[i] = (int8_t)i; }
}
static void tvmgen_t_read(int8_t* in, int8_t* out) {
  for (int32_t i = 0; i < 32; ++i) { out[i] = in[i]; }
}
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x, int8_t* y, int32_t flag) {
  void* sid_1 = TVMBackendAllocWorkspace(1, 0, (uint64_t)32, 0, 8);
  if (sid_1 == NULL) {
    return -1;
  }
  tvmgen_t_write(sid_1);
  tvmgen_t_read(sid_1, y);
  if (flag) {
    tvmgen_t_write(sid_1);
  }
  tvmgen_t_read(sid_1, y);
  tvmgen_t_write(sid_1);
  tvmgen_t_read(sid_1, x);
  if (TVMBackendFreeWorkspace(1, 0, sid_1) != 0) {
    return -1;
  }
  return 0;
}
"""


def test_only_a_certain_write_starts_a_new_live_range(project):
    live = analyse(program_of(project(BRANCH)), "t")
    ranges = sorted((b.range, b.start_line) for b in live.buffers)
    # The write under `if (flag)` may not happen: the tensor read after it can still be the
    # first one. Only the unconditional write (line 24) starts a new range.
    assert [r for r, _ in ranges] == [0, 1]
    assert ranges[1][1] == 24


PARTIAL = """
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x, int8_t* y) {
  void* dense = TVMBackendAllocWorkspace(1, 0, (uint64_t)16, 2, 32);
  if (dense == NULL) {
    return -1;
  }
  ((int32_t*)dense)[0] = (int32_t)x[0];
  ((int32_t*)dense)[1] = 0;
  for (int32_t k = 0; k < 2; ++k) {
    ((int32_t*)dense)[2 + k] = (int32_t)x[k];
  }
  for (int32_t k = 0; k < 4; ++k) {
    y[k] = (int8_t)((int32_t*)dense)[k];
  }
  if (TVMBackendFreeWorkspace(1, 0, dense) != 0) {
    return -1;
  }
  return 0;
}
"""


def test_stores_that_each_fill_a_part_start_no_new_range(project):
    """Each store fills a part of what the last loop reads: one tensor, one range."""
    live = analyse(program_of(project(PARTIAL)), "t")
    assert [b.range for b in live.buffers] == [0]


FNPTR = """
typedef int32_t (*op_fn)(int8_t*, int8_t*);
static int32_t tvmgen_t_scale(int8_t* p0, int8_t* T_out) {
  void* S = TVMBackendAllocWorkspace(1, 0, (uint64_t)64, 0, 8);
  if (S == NULL) {
    return -1;
  }
  for (int32_t i = 0; i < 64; ++i) { ((int8_t*)S)[i] = p0[i] * 2; }
  for (int32_t i = 0; i < 64; ++i) { T_out[i] = ((int8_t*)S)[i]; }
  if (TVMBackendFreeWorkspace(1, 0, S) != 0) {
    return -1;
  }
  return 0;
}
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x, int8_t* y) {
  op_fn last = tvmgen_t_scale;
  void* sid_1 = TVMBackendAllocWorkspace(1, 0, (uint64_t)64, 0, 8);
  if (sid_1 == NULL) {
    return -1;
  }
  for (int32_t i = 0; i < 64; ++i) { ((int8_t*)sid_1)[i] = x[i]; }
  if (last((int8_t*)sid_1, y) != 0 ) return -1;
  if (TVMBackendFreeWorkspace(1, 0, sid_1) != 0) {
    return -1;
  }
  return 0;
}
"""


def test_function_called_through_a_pointer_keeps_its_buffers_live_throughout(project):
    live = analyse(program_of(project(FNPTR)), "t")
    buffers = by_var(live)
    last_point = len(live.labels) - 1
    assert buffers["S"].windows == ((0, last_point),)
    # sid_1 is handed to a call through a pointer: it escapes, alloc to free, and so is never
    # given bytes of S.
    assert buffers["sid_1"].escaped
    point = {label.split(":")[1]: i for i, label in enumerate(live.labels)}
    assert buffers["sid_1"].windows == ((point["22"], point["28"]),)  # its alloc .. its free


PARTIAL_CALL = """
static void tvmgen_t_init_tile(int32_t* out, int32_t n, int32_t v) {
  for (int32_t i = 0; i < n; ++i) { out[i] = v + i; }
}
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x, int8_t* y) {
  void* conv = TVMBackendAllocWorkspace(1, 0, (uint64_t)256, 0, 32);
  if (conv == NULL) {
    return -1;
  }
  tvmgen_t_init_tile((&(((int32_t*)conv)[0])), 32, (int32_t)x[0]);
  tvmgen_t_init_tile((&(((int32_t*)conv)[32])), 32, (int32_t)x[1]);
  for (int32_t i = 0; i < 64; ++i) { y[i] = (int8_t)((int32_t*)conv)[i]; }
  if (TVMBackendFreeWorkspace(1, 0, conv) != 0) {
    return -1;
  }
  return 0;
}
"""

NESTED = """
static int32_t tvmgen_t_count(int8_t* x) {
  void* tmp = TVMBackendAllocWorkspace(1, 0, (uint64_t)64, 0, 8);
  for (int32_t i = 0; i < 64; ++i) { ((int8_t*)tmp)[i] = x[i]; }
  return ((int8_t*)tmp)[3];
}
static int32_t tvmgen_t_use(int8_t* a, int32_t n, int8_t* y) {
  for (int32_t i = 0; i < 64; ++i) { y[i] = a[i] + n; }
  return 0;
}
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x, int8_t* y) {
  void* sid_1 = TVMBackendAllocWorkspace(1, 0, (uint64_t)64, 0, 8);
  for (int32_t i = 0; i < 64; ++i) { ((int8_t*)sid_1)[i] = x[i]; }
  tvmgen_t_use(sid_1, tvmgen_t_count(x), y);
  return 0;
}
"""


def test_a_call_given_a_pointer_into_a_buffer_never_starts_a_range(project):
    """Each call fills one half: the first half must stay live until the reader."""
    live = analyse(program_of(project(PARTIAL_CALL)), "t")
    assert [b.range for b in live.buffers] == [0]


def test_calls_in_arguments_are_replayed_before_the_call(project):
    live = by_var(analyse(program_of(project(NESTED)), "t"))
    # tmp (count) runs while sid_1 already holds data that `use` reads afterwards.
    tmp = set(range(live["tmp"].windows[0][0], live["tmp"].windows[0][1] + 1))
    sid = set(range(live["sid_1"].windows[0][0], live["sid_1"].windows[0][1] + 1))
    assert tmp & sid


TABLE = """
typedef int32_t (*op_fn)(int8_t*, int8_t*);
static int32_t tvmgen_t_fused_a(int8_t* p0, int8_t* T_out) {
  void* s = TVMBackendAllocWorkspace(1, 0, (uint64_t)64, 0, 8);
  for (int32_t i = 0; i < 64; ++i) { ((int8_t*)s)[i] = p0[i]; }
  for (int32_t i = 0; i < 64; ++i) { T_out[i] = ((int8_t*)s)[i]; }
  return 0;
}
static op_fn tvmgen_t_ops[1] = {tvmgen_t_fused_a};
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x, int8_t* y) {
  void* sid_1 = TVMBackendAllocWorkspace(1, 0, (uint64_t)64, 0, 8);
  for (int32_t i = 0; i < 64; ++i) { ((int8_t*)sid_1)[i] = x[i]; }
  tvmgen_t_ops[0](x, y);
  for (int32_t i = 0; i < 64; ++i) { y[i] = ((int8_t*)sid_1)[i]; }
  return 0;
}
"""

GOTO = """
static void tvmgen_t_step(int8_t* a, int8_t* b) {
  for (int32_t i = 0; i < 16; ++i) { b[i] = a[i] + 1; }
}
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x, int8_t* y) {
  void* sid_1 = TVMBackendAllocWorkspace(1, 0, (uint64_t)16, 0, 8);
  void* sid_2 = TVMBackendAllocWorkspace(1, 0, (uint64_t)16, 0, 8);
  int32_t n = 0;
  tvmgen_t_step(x, sid_1);
again:
  tvmgen_t_step(sid_1, sid_2);
  tvmgen_t_step(sid_2, sid_1);
  if (++n < 2) goto again;
  tvmgen_t_step(sid_1, y);
  return 0;
}
"""


def test_functions_in_a_table_called_through_pointers_are_live_throughout(project):
    live = analyse(program_of(project(TABLE)), "t")
    assert by_var(live)["s"].windows == ((0, len(live.labels) - 1),)


def test_backward_goto_keeps_everything_touched_in_the_body_live_for_all_of_it(project):
    live = by_var(analyse(program_of(project(GOTO)), "t"))
    assert [b.range for b in (live["sid_1"], live["sid_2"])] == [0, 0]
    (s1, e1), (s2, e2) = live["sid_1"].windows[0], live["sid_2"].windows[0]
    assert s1 <= s2 <= e2 <= e1 or s2 <= s1 <= e1 <= e2


VARIADIC = """
static void tvmgen_t_write(int8_t* out) {
  for (int32_t i = 0; i < 16; ++i) { out[i] = (int8_t)i; }
}
static void tvmgen_t_log(int32_t n, ...) {
}
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x, int8_t* y) {
  void* sid_1 = TVMBackendAllocWorkspace(1, 0, (uint64_t)16, 0, 8);
  tvmgen_t_write(x);
  tvmgen_t_write(sid_1);
  tvmgen_t_write(sid_1);
  tvmgen_t_log(1, sid_1);
  for (int32_t i = 0; i < 16; ++i) { y[i] = ((int8_t*)sid_1)[i]; }
  return 0;
}
"""


def test_buffer_escaping_through_a_variadic_call_is_one_buffer_with_every_window(project):
    live = analyse(program_of(project(VARIADIC)), "t")
    sid = [b for b in live.buffers if b.site.variable == "sid_1"]
    assert len(sid) == 1 and sid[0].escaped and sid[0].ranges == 1
    labels = live.labels
    last_use = max(i for i, label in enumerate(labels) if label.endswith(":14"))
    assert sid[0].windows[-1][1] >= last_use


FORWARD_GOTO = """
static void tvmgen_t_write(int8_t* out, int8_t v) {
  for (int32_t i = 0; i < 16; ++i) { out[i] = v; }
}
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x, int8_t* y) {
  void* sid_1 = TVMBackendAllocWorkspace(1, 0, (uint64_t)16, 0, 8);
  tvmgen_t_write(sid_1, x[0]);
  y[0] = ((int8_t*)sid_1)[0];
  if (x[1]) goto skip;
  tvmgen_t_write(sid_1, x[2]);
skip:
  y[1] = ((int8_t*)sid_1)[1];
  return 0;
}
"""


def test_a_goto_may_skip_the_statement_that_would_start_a_range(project):
    live = analyse(program_of(project(FORWARD_GOTO)), "t")
    assert [b.range for b in live.buffers] == [0]
