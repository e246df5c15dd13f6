"""Which bytes each live range uses (crewrite.footprint, through liveness): a reused buffer
splits only where a statement provably writes every byte read before the next split, each
range is planned with the bytes its code touches, and code reaching past its buffer is
found."""

from __future__ import annotations

import pytest

from crewrite.extents import analyse as analyse_extents
from crewrite.footprint import out_of_bounds, reads_covered, unproven
from crewrite.liveness import LiveBuffer, Liveness, analyse
from helpers.projects import make_project, program_of

# Operators the entry programs below call. `fill_N` writes all N bytes of its output;
# `copy_N` reads N bytes and writes N.
OPERATORS = """
static void tvmgen_t_fill_64(int8_t* out) {
  for (int32_t i = 0; i < 64; ++i) { out[i] = (int8_t)(i * 3); }
}
static void tvmgen_t_fill_16(int8_t* out) {
  for (int32_t i = 0; i < 16; ++i) { out[i] = (int8_t)i; }
}
static void tvmgen_t_copy_64(int8_t* in, int8_t* out) {
  for (int32_t i = 0; i < 64; ++i) { out[i] = in[i]; }
}
static void tvmgen_t_copy_16(int8_t* in, int8_t* out) {
  for (int32_t i = 0; i < 16; ++i) { out[i] = in[i]; }
}
"""


def entry(*statements: str, size: int = 64) -> str:
    """An AOT entry with one sid of `size` bytes and the statements in between."""
    body = "\n".join(f"  {s}" for s in statements)
    return (
        OPERATORS
        + f"""
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x, int8_t* y) {{
  void* sid_1 = TVMBackendAllocWorkspace(1, 0, (uint64_t){size}, 0, 8);
  if (sid_1 == NULL) {{
    return -1;
  }}
{body}
  if (TVMBackendFreeWorkspace(1, 0, sid_1) != 0) {{
    return -1;
  }}
  return 0;
}}
"""
    )


def ranges(live: Liveness, variable: str = "sid_1") -> list[LiveBuffer]:
    return sorted((b for b in live.buffers if b.site.variable == variable), key=lambda b: b.range)


def live_of(project, body: str, model: str = "fine") -> Liveness:
    return analyse(program_of(project(body)), "t", model)


# ------------------------------------------------------------------ where ranges start


def test_whole_writes_split_and_each_range_gets_its_tensors_bytes(project):
    live = live_of(
        project,
        entry(
            "tvmgen_t_copy_64(x, (int8_t*)sid_1);",
            "tvmgen_t_copy_64((int8_t*)sid_1, y);",
            "tvmgen_t_fill_16((int8_t*)sid_1);",  # a smaller tensor in the same sid
            "tvmgen_t_copy_16((int8_t*)sid_1, y);",
        ),
    )
    sid = ranges(live)
    assert [b.range for b in sid] == [0, 1]
    assert [b.size for b in sid] == [64, 16]
    assert sid[1].start_line is not None and sid[1].windows[0][0] > sid[0].windows[-1][1]


def test_coarse_liveness_never_splits(project):
    body = entry(
        "tvmgen_t_fill_64((int8_t*)sid_1);",
        "tvmgen_t_copy_64((int8_t*)sid_1, y);",
        "tvmgen_t_fill_64((int8_t*)sid_1);",
        "tvmgen_t_copy_64((int8_t*)sid_1, y);",
    )
    program = program_of(project(body))
    assert [b.range for b in ranges(analyse(program, "t", "fine"))] == [0, 1]
    assert [b.range for b in ranges(analyse(program, "t", "coarse"))] == [0]


PARTIAL_WRITERS = {
    # the loop one short: the last byte keeps the previous tensor's value
    "loop one short": "for (int32_t i = 0; i < 63; ++i) { out[i] = (int8_t)i; }",
    # two stores an iteration, one of them deleted from the unrolled pair
    "unrolled store deleted": "for (int32_t i = 0; i < 32; ++i) { out[2 * i] = (int8_t)i; }",
    # a store under a condition the analysis cannot decide
    "store under an if": "for (int32_t i = 0; i < 64; ++i) { if (flag[i] != 0) { out[i] = 1; } }",
    # an early exit before the last stores
    "early return": "for (int32_t i = 0; i < 64; ++i) { if (flag[0] == 7) return; out[i] = 1; }",
}


@pytest.mark.parametrize("writer", sorted(PARTIAL_WRITERS))
def test_a_writer_that_may_leave_bytes_unwritten_keeps_the_tensors_joined(project, writer):
    body = (
        "static void tvmgen_t_part(int8_t* out, int8_t* flag) {\n  "
        + PARTIAL_WRITERS[writer]
        + "\n}\n"
        + entry(
            "tvmgen_t_fill_64((int8_t*)sid_1);",
            "tvmgen_t_copy_64((int8_t*)sid_1, y);",
            "tvmgen_t_part((int8_t*)sid_1, x);",
            "tvmgen_t_copy_64((int8_t*)sid_1, y);",  # reads the bytes `part` may not write
        )
    )
    assert [b.range for b in ranges(live_of(project, body))] == [0]


def test_a_partial_writer_splits_when_its_readers_read_only_what_it_wrote(project):
    body = (
        "static void tvmgen_t_part(int8_t* out) {\n  " + PARTIAL_WRITERS["loop one short"] + "\n}\n"
    ) + entry(
        "tvmgen_t_fill_64((int8_t*)sid_1);",
        "tvmgen_t_copy_64((int8_t*)sid_1, y);",
        "tvmgen_t_part((int8_t*)sid_1);",
        "tvmgen_t_copy_16((int8_t*)sid_1, y);",
    )
    sid = ranges(live_of(project, body))
    assert [(b.range, b.size) for b in sid] == [(0, 64), (1, 63)]


def test_a_writer_with_a_tail_guard_on_a_split_axis_still_starts_a_range(project):
    """TVM splits an axis by a factor that does not divide it and guards the tail: the
    guarded stores write exactly the tensor, so the new range stands."""
    body = (
        "static void tvmgen_t_tiled(int8_t* out) {\n"
        "  for (int32_t o = 0; o < 5; ++o) {\n"
        "    for (int32_t i = 0; i < 14; ++i) {\n"
        "      if (((o * 14) + i) < 64) { out[((o * 14) + i)] = (int8_t)i; }\n"
        "    }\n  }\n}\n"
        + entry(
            "tvmgen_t_fill_64((int8_t*)sid_1);",
            "tvmgen_t_copy_64((int8_t*)sid_1, y);",
            "tvmgen_t_tiled((int8_t*)sid_1);",
            "tvmgen_t_copy_64((int8_t*)sid_1, y);",
        )
    )
    assert [(b.range, b.size) for b in ranges(live_of(project, body))] == [(0, 64), (1, 64)]


def test_a_tail_read_of_a_reused_sid_keeps_the_tensors_joined(project):
    """The small writer fills 16 bytes; a later reader reads 64: 48 of them are the tensor
    before it, which must stay where it was."""
    live = live_of(
        project,
        entry(
            "tvmgen_t_fill_64((int8_t*)sid_1);",
            "tvmgen_t_copy_64((int8_t*)sid_1, y);",
            "tvmgen_t_fill_16((int8_t*)sid_1);",
            "tvmgen_t_copy_64((int8_t*)sid_1, y);",
        ),
    )
    sid = ranges(live)
    assert [(b.range, b.size) for b in sid] == [(0, 64)]


def test_writes_between_the_start_and_a_reader_count_toward_what_it_reads(project):
    """Two writers fill halves one after the other; the reader reads both: the range starts
    at the first, the second adds to what is certainly written."""
    body = (
        "static void tvmgen_t_half(int8_t* out) {\n"
        "  for (int32_t i = 0; i < 32; ++i) { out[i] = (int8_t)i; }\n}\n"
        + entry(
            "tvmgen_t_fill_64((int8_t*)sid_1);",
            "tvmgen_t_copy_64((int8_t*)sid_1, y);",
            "tvmgen_t_half((int8_t*)sid_1);",
            "tvmgen_t_half((int8_t*)sid_1 + 32);",
            "tvmgen_t_copy_64((int8_t*)sid_1, y);",
        )
    )
    sid = ranges(live_of(project, body))
    assert [(b.range, b.size) for b in sid] == [(0, 64), (1, 64)]
    assert sid[1].start_line is not None


def test_an_unbounded_read_keeps_the_tensors_joined(project):
    body = "void tvmgen_t_unknown(int8_t* p);\n" + entry(
        "tvmgen_t_fill_64((int8_t*)sid_1);",
        "tvmgen_t_copy_64((int8_t*)sid_1, y);",
        "tvmgen_t_fill_64((int8_t*)sid_1);",
        "tvmgen_t_unknown((int8_t*)sid_1);",
    )
    live = live_of(project, body)
    sid = ranges(live)
    assert [b.range for b in sid] == [0]
    assert sid[0].size == 64  # not bounded: the whole allocation


def test_an_operator_reads_its_output_first_never_starts_a_range(project):
    body = (
        "static void tvmgen_t_accumulate(int8_t* out) {\n"
        "  for (int32_t i = 0; i < 64; ++i) { out[i] = (int8_t)(out[i] + 1); }\n}\n"
        + entry(
            "tvmgen_t_fill_64((int8_t*)sid_1);",
            "tvmgen_t_accumulate((int8_t*)sid_1);",
            "tvmgen_t_copy_64((int8_t*)sid_1, y);",
        )
    )
    assert [b.range for b in ranges(live_of(project, body))] == [0]


# ------------------------------------------------------------------ operator allocations

MERGED = """
TVM_DLL int32_t tvmgen_t_op(int8_t* p0, int8_t* T_out) {
  void* buf = TVMBackendAllocWorkspace(1, 0, (uint64_t)256, 0, 8);
  if (buf == NULL) {
    return -1;
  }
  for (int32_t i = 0; i < 256; ++i) {
    ((int8_t*)buf)[i] = p0[i];
  }
  for (int32_t i = 0; i < 16; ++i) {
    T_out[i] = ((int8_t*)buf)[i * 16];
  }
  for (int32_t c = 0; c < 4; ++c) {
    ((int32_t*)buf)[c] = 0;
  }
  for (int32_t i = 0; i < 16; ++i) {
    ((int32_t*)buf)[(i % 4)] = (((int32_t*)buf)[(i % 4)] + T_out[i]);
  }
  for (int32_t i = 0; i < 16; ++i) {
    T_out[i] = (int8_t)(((int32_t*)buf)[(i % 4)] >> 2);
  }
  if (TVMBackendFreeWorkspace(1, 0, buf) != 0) {
    return -1;
  }
  return 0;
}
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x, int8_t* y) {
  if (tvmgen_t_op(x, y) != 0 ) return -1;
  return 0;
}
"""


def test_an_operator_allocation_carrying_two_tensors_splits_with_their_sizes(project):
    live = live_of(project, MERGED)
    buf = ranges(live, "buf")
    assert [(b.range, b.size) for b in buf] == [(0, 256), (1, 16)]
    assert buf[0].windows[-1][1] < buf[1].windows[0][0]


def test_a_pointer_kept_across_statements_blocks_the_split(tmp_path):
    """`row`, declared at the top of the body, could carry the first tensor's address past
    the split: the variable keeps one address (and one range). Declared inside a statement,
    it dies with it (unless static): the split stands."""
    kept = MERGED.replace(
        "  for (int32_t i = 0; i < 16; ++i) {\n    T_out[i] = ((int8_t*)buf)[i * 16];",
        "  int8_t* row = (int8_t*)buf;\n"
        "  for (int32_t i = 0; i < 16; ++i) {\n    T_out[i] = row[i * 16];",
    )
    inner = MERGED.replace(
        "T_out[i] = ((int8_t*)buf)[i * 16];",
        "int8_t* row = (int8_t*)buf; T_out[i] = row[i * 16];",
    )
    kept_static = inner.replace("int8_t* row = ", "static int8_t* row; row = ")
    assert kept != MERGED and inner != MERGED and kept_static != inner
    for name, body, expected in (
        ("kept", kept, [0]),
        ("inner", inner, [0, 1]),
        ("static", kept_static, [0]),  # a static outlives the statement that declares it
    ):
        program = program_of(make_project(tmp_path / name, body))
        assert [b.range for b in ranges(analyse(program, "t"), "buf")] == expected, name


def test_a_reassigned_variable_blocks_the_split(project):
    moved = MERGED.replace(
        "  for (int32_t c = 0; c < 4; ++c) {",
        "  buf = (int8_t*)buf + 0;\n  for (int32_t c = 0; c < 4; ++c) {",
    )
    assert [b.range for b in ranges(live_of(project, moved), "buf")] == [0]


# ------------------------------------------------------------------ out of bounds

PAST = """
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x, int8_t* y) {
  void* conv = TVMBackendAllocWorkspace(1, 0, (uint64_t)400, 0, 32);
  if (conv == NULL) {
    return -1;
  }
  for (int32_t i = 0; i < 100; ++i) {
    ((int32_t*)conv)[i] = (int32_t)x[i];
  }
  for (int32_t o = 0; o < 7; ++o) {
    for (int32_t k = 0; k < 16; ++k) {
      int32_t v = ((int32_t*)conv)[((o * 16) + k)];
      if ((((o * 16) + k) < 100)) {
        y[((o * 16) + k)] = (int8_t)v;
      }
    }
  }
  for (int32_t i = 0; i < 4; ++i) {
    y[i] = (int8_t)(y[i] + ((int8_t*)conv)[(i - 8)]);
  }
  if (TVMBackendFreeWorkspace(1, 0, conv) != 0) {
    return -1;
  }
  return 0;
}
"""


def test_reads_past_the_end_and_before_the_start_are_found_and_planned(project):
    program = program_of(project(PAST))
    extents = analyse_extents(program.translation_units)
    found = out_of_bounds(program, extents, sorted(program.functions_of("t")))
    assert [(f.variable, f.access, f.past_end, f.before_start) for f in found] == [
        ("conv", "reads", 48, 0),  # 12 int32 values past the 100 it holds
        ("conv", "reads", 0, 8),
    ]
    assert all(f.operator == "tvmgen_t___tvm_main__" for f in found)
    assert "48 bytes past the end of 'conv'" in found[0].message()
    (conv,) = analyse(program, "t", alignment=16, extents=extents).buffers
    # 16 bytes (the alignment) reserved below its address, then 448 from there.
    assert (conv.lead, conv.size) == (16, 16 + 448)


def test_bytes_without_a_bound_are_listed_and_planned_whole(project):
    body = "void tvmgen_t_unknown(int8_t* p);\n" + entry(
        "tvmgen_t_fill_16((int8_t*)sid_1);", "tvmgen_t_unknown((int8_t*)sid_1);"
    )
    program = program_of(project(body))
    extents = analyse_extents(program.translation_units)
    (why,) = unproven(program, extents, sorted(program.functions_of("t")))
    assert why.variable == "sid_1" and "tvmgen_t_unknown" in why.reason
    assert out_of_bounds(program, extents, sorted(program.functions_of("t"))) == []
    assert [b.size for b in analyse(program, "t", extents=extents).buffers] == [64]


ACCUMULATE = (
    "for (int32_t i = 0; i < 16; ++i) { ((int8_t*)sid_1)[i + 16] = "
    "(int8_t)(((int8_t*)sid_1)[i + 16] + 1); }"
)


def test_reads_are_fed_by_earlier_writes_and_only_with_own_writes_by_the_reader(project):
    """The rule range splits and USMP's shared slices both use: a read is covered by bytes
    written before it; an accumulation, which reads the bytes it writes itself, is covered by
    its own writes only with `own_writes`."""
    body = entry(
        "tvmgen_t_fill_16((int8_t*)sid_1);", "tvmgen_t_copy_16((int8_t*)sid_1, y);", ACCUMULATE
    )
    program = program_of(project(body))
    fx = analyse_extents(program.translation_units)["tvmgen_t___tvm_main__"]
    fill, copy, accumulate = [s.index for s in fx.statements if "sid_1" in s.bases][:3]
    assert reads_covered(fx, "sid_1", [fill, copy])
    assert not reads_covered(fx, "sid_1", [copy])
    assert reads_covered(fx, "sid_1", [copy], fx.statements[fill].bases["sid_1"].must_write)
    assert not reads_covered(fx, "sid_1", [fill, copy, accumulate])
    assert reads_covered(fx, "sid_1", [fill, copy, accumulate], own_writes=True)


def test_a_failing_extent_analysis_leaves_a_safe_rewrite_and_says_so(monkeypatch):
    """A bug in the analysis must not stop a rewrite it only refines: nothing is split,
    every range gets its whole allocation, and the report says why."""
    from pathlib import Path

    from crewrite import pipeline
    from crewrite.project import load_project

    def broken(units, slices=None):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(pipeline.extent_analysis, "analyse", broken)
    project = load_project([Path(__file__).resolve().parent.parent / "fixtures" / "kws_native"])
    try:
        result = pipeline.rewrite_project(project, pipeline.Options())
    finally:
        project.close()
    assert any("byte-extent analysis failed (RecursionError" in n for n in result.notes)
    (module,) = result.modules
    assert all(b.ranges == 1 and b.size == b.site.size for b in module.liveness.buffers)
    assert module.arena_bytes < module.original_bytes
