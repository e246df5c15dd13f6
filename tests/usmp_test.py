"""USMP-built projects: the pool's slices found, sized by their extents, re-planned with
crewrite's liveness and planner, and rewritten (offsets, pool size, defines, metadata); a
pool crewrite cannot follow stays as USMP planned it, with the slice and statement named."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from crewrite.cli import main
from crewrite.extents import analyse as analyse_extents
from crewrite.extract.pools import find_pools, is_workspace_pool_param
from crewrite.pipeline import Options, rewrite_project
from crewrite.project import load_project
from crewrite.reading import read_program
from crewrite.usmp import analyse_pools, slice_sizes
from crewrite.verify import prove_layout
from helpers.cases import TWO_USES, USMP_ENTRY
from helpers.projects import make_usmp_project, never_parse, program_of

# USMP's greedy by size stacked everything (pool 512); live at once are at most pad + acc
# (320 B), or acc + the sid op_a writes.
SMALL = """
TVM_DLL int32_t tvmgen_t_op_a(int8_t* p0, int8_t* T_out, uint8_t* global_workspace_2_var) {
  void* pad_let = (&(global_workspace_2_var[0]));
  void* acc_let = (&(global_workspace_2_var[64]));
  for (int32_t i = 0; i < 64; ++i) {
    ((int8_t*)pad_let)[i] = p0[i];
  }
  for (int32_t i = 0; i < 64; ++i) {
    ((int32_t*)acc_let)[i] = ((int32_t)((int8_t*)pad_let)[i]) * 3;
  }
  for (int32_t i = 0; i < 64; ++i) {
    T_out[i] = (int8_t)(((int32_t*)acc_let)[i] >> 1);
  }
  return 0;
}
TVM_DLL int32_t tvmgen_t_op_b(int8_t* p0, int8_t* T_out, uint8_t* global_workspace_3_var) {
  for (int32_t j = 0; j < 4; ++j) {
    void* tile_let = (&(global_workspace_3_var[320]));
    for (int32_t i = 0; i < 16; ++i) {
      ((int32_t*)tile_let)[i] = (int32_t)p0[((j * 16) + i)];
    }
    for (int32_t i = 0; i < 16; ++i) {
      T_out[((j * 16) + i)] = (int8_t)(((int32_t*)tile_let)[i] + 1);
    }
  }
  return 0;
}
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x_buffer_var, int8_t* y_buffer_var, uint8_t* global_workspace_1_var) {
  void* sid_1_let = (&(global_workspace_1_var[384]));
  if (tvmgen_t_op_a(x_buffer_var, sid_1_let, global_workspace_1_var) != 0 ) return -1;
  if (tvmgen_t_op_b(sid_1_let, (&(global_workspace_1_var[448])), global_workspace_1_var) != 0 ) return -1;
  if (tvmgen_t_op_a((&(global_workspace_1_var[448])), y_buffer_var, global_workspace_1_var) != 0 ) return -1;
  return 0;
}
"""  # noqa: E501


@pytest.fixture
def small(tmp_path: Path) -> Path:
    return make_usmp_project(tmp_path / "small", SMALL, pool=512)


def rewritten(root: Path):
    project = load_project([root])
    try:
        return rewrite_project(project, Options())
    finally:
        project.close()


def lib1(texts, module: str = "t") -> str:
    return texts[f"model/codegen/host/src/{module}_lib1.c"]


def test_pool_and_every_slice_are_found(small):
    facts = find_pools(program_of(small))
    (pool,) = facts.pools
    assert (pool.module, pool.name, pool.constant) == ("t", "global_workspace", False)
    assert pool.definition is not None
    assert (pool.definition.size, pool.definition.alignment) == (512, 16)
    found = {
        (s.function.removeprefix("tvmgen_t_"), s.variable): (s.form, s.offset, len(s.literals))
        for s in facts.slices_of(pool)
    }
    assert found == {
        ("op_a", "pad_let"): ("let", 0, 1),
        ("op_a", "acc_let"): ("let", 64, 1),
        ("op_b", "tile_let"): ("let", 320, 1),  # declared inside a loop body
        ("__tvm_main__", "sid_1_let"): ("let", 384, 1),
        ("__tvm_main__", "global_workspace_1_var[448]"): ("inline", 448, 2),
    }
    assert facts.problems == {}


def test_slices_are_sized_by_the_bytes_they_touch(small):
    program = program_of(small)
    facts = find_pools(program)
    extents = analyse_extents(program.translation_units, slices=is_workspace_pool_param)
    sized, problems = slice_sizes(facts, extents)
    sizes = {s.variable: s.size for sites in sized.values() for s in sites}
    assert problems == {}
    assert sizes == {
        "pad_let": 64,
        "acc_let": 256,
        "tile_let": 64,
        "sid_1_let": 64,
        "global_workspace_1_var[448]": 64,  # what op_b writes and op_a reads through it
    }


def test_rewrite_moves_every_slice_and_shrinks_the_pool(small):
    result = rewritten(small)
    (pool,) = result.pools
    assert pool.original_bytes == 512 and pool.original_from.endswith("t_lib0.c:4")
    assert pool.arena_bytes == pool.plan.lower_bound_bytes == 320
    assert pool.saved_bytes == 192
    # with USMP's lifetimes (whole operator calls) sid_1 and the inline slice each need a
    # place clear of pad + acc: 448 B, so packing alone saves 64 B, finer lifetimes 128 B
    assert pool.usmp_lifetimes.arena_bytes == 448
    assert (pool.packing_saved, pool.lifetime_saved) == (64, 128)
    offsets = {b.site.variable: pool.offsets[b.id] for b in pool.liveness.buffers}
    text = lib1(result.new_texts)
    for variable, offset in offsets.items():
        if variable.endswith("_let"):
            assert re.search(
                rf"void\* {variable} = \(&\(global_workspace_\d_var\[{offset}\]\)\);", text
            )
    inline = offsets["global_workspace_1_var[448]"]
    assert text.count(f"(&(global_workspace_1_var[{inline}]))") == 2
    assert "[448]" not in text and "crewrite: rewritten" in text
    lib0 = result.new_texts["model/codegen/host/src/t_lib0.c"]
    attributes = '__attribute__((section(".bss.noinit.tvm"), aligned(16)))\n'
    assert attributes + "static uint8_t global_workspace[320];" in lib0
    header = result.new_texts["model/codegen/host/include/tvmgen_t.h"]
    assert "#define TVMGEN_T_WORKSPACE_SIZE 320 /* crewrite: rewritten: was 512 */" in header


def test_a_second_run_finds_the_pool_already_replanned(small, capsys, monkeypatch):
    assert main(["rewrite", str(small), "-q"]) == 0
    assert "[448]" not in (small / "model/codegen/host/src/t_lib1.c").read_text()
    never_parse(monkeypatch)  # crewrite's marker says so: the text alone decides
    assert main(["rewrite", str(small)]) == 0  # nothing to do is no failure
    assert "already rewritten" in capsys.readouterr().err
    assert main(["rewrite", str(small), "--ok-if-rewritten", "-q"]) == 0


def test_report_says_what_usmp_left_and_where_the_saving_comes_from(small, tmp_path, capsys):
    report, picture = tmp_path / "report.json", tmp_path / "layout.svg"
    flags = ["--dry-run", "--report-json", str(report), "--svg", str(picture), "-v"]
    assert main(["rewrite", str(small), *flags]) == 0
    printed = capsys.readouterr().out
    assert "USMP pool global_workspace" in printed
    assert "pool as USMP planned it (model/codegen/host/src/t_lib0.c:4): 512 B" in printed
    assert "re-planned by crewrite: 320 B" in printed and "lower bound: 320 B" in printed
    assert "from packing" in printed and "from finer lifetimes" in printed
    data = json.loads(report.read_text())
    (pool,) = data["pools"]
    assert data["original_workspace_bytes"] == pool["usmp_pool_bytes"] == 512
    assert data["arena_bytes"] == pool["arena_bytes"] == 320
    assert (pool["saved_by_packing_bytes"], pool["saved_by_lifetimes_bytes"]) == (64, 128)
    assert {s["variable"] for s in pool["slices"]} >= {"pad_let", "tile_let"}
    assert all(s["usmp_offset"] is not None for s in pool["slices"])
    windows = sum(len(s["live"]) for s in pool["slices"])
    svg = picture.read_text()
    assert svg.count("in the pool, live at points") == windows and "USMP's pool 0.5 KB" in svg
    assert "in the pool as USMP planned it" in svg


def test_an_application_pool_gets_its_header_define_lowered(tmp_path, capsys):
    root = make_usmp_project(tmp_path / "app", SMALL, pool=512, application_pool=True)
    assert main(["rewrite", str(root)]) == 0
    header = (root / "model/codegen/host/include/tvmgen_t.h").read_text()
    assert "TVMGEN_T_GLOBAL_WORKSPACE_WORKSPACE_POOL_SIZE 320 /* crewrite: rewritten" in header
    assert "TVMGEN_T_WORKSPACE_SIZE 320 /* crewrite: rewritten" in header
    assert "provided by the application: give it 320 bytes" in capsys.readouterr().out


def test_every_header_copy_and_array_takes_the_replanned_sizes(tmp_path, capsys):
    """The arena's mechanism for header copies and arrays sized from them, with USMP's
    values: every copy of the workspace define (stale here) and of the pool define (an
    expression here) takes the new size, one note names the copies that disagreed, and an
    application array sized from the pool define is evaluated with the new size: one that
    would have length 0 gets `+ 1`."""
    root = make_usmp_project(tmp_path / "app", SMALL, pool=512, application_pool=True)
    generated = (root / "model/codegen/host/include/tvmgen_t.h").read_text()
    (root / "include").mkdir()
    (root / "include" / "tvmgen_t.h").write_text(
        generated.replace("POOL_SIZE 512", "POOL_SIZE (2*256)").replace(
            "SPACE_SIZE 512", "SPACE_SIZE 0"
        )
    )
    (root / "src").mkdir()
    (root / "src" / "app.c").write_text(
        '#include "tvmgen_t.h"\n'
        "static unsigned char g_pool[TVMGEN_T_GLOBAL_WORKSPACE_WORKSPACE_POOL_SIZE];\n"
        "static unsigned char g_rest[TVMGEN_T_GLOBAL_WORKSPACE_WORKSPACE_POOL_SIZE - 320];\n"
    )
    assert main(["rewrite", str(root)]) == 0
    said = capsys.readouterr().out
    for rel, was, pool in (
        ("model/codegen/host/include", "512", "512"),
        ("include", "0", "(2*256)"),
    ):
        text = (root / rel / "tvmgen_t.h").read_text()
        assert f"#define TVMGEN_T_WORKSPACE_SIZE 320 /* crewrite: rewritten: was {was} */" in text
        assert f"WORKSPACE_POOL_SIZE 320 /* crewrite: rewritten: was {pool} */" in text
    assert "TVMGEN_T_WORKSPACE_SIZE copies disagreed: " in said
    assert "include/tvmgen_t.h 0" in said and "every copy now says 320" in said
    assert "POOL_SIZE copies disagreed" not in said  # 512 and (2*256) agree
    app = (root / "src" / "app.c").read_text()
    assert "g_pool[TVMGEN_T_GLOBAL_WORKSPACE_WORKSPACE_POOL_SIZE];" in app
    assert "g_rest[TVMGEN_T_GLOBAL_WORKSPACE_WORKSPACE_POOL_SIZE - 320 + 1 /*" in app
    assert "would have length 0" in said


def test_a_pool_whose_entry_does_not_parse_stays_as_planned(tmp_path, capsys):
    """The entry that slices the tensors sits in a source crewrite cannot parse (a vendor
    header): the operators' scratch alone must not be re-planned over tensors it cannot see,
    so the pool stays as USMP planned it, and the one reason given is the source left out
    (not what its absence makes the rest look like: a pool handed to no known function)."""
    root = make_usmp_project(tmp_path / "p", SMALL, pool=512)
    src = root / "model/codegen/host/src"
    operators, entry = (src / "t_lib1.c").read_text().split("TVM_DLL int32_t tvmgen_t___tvm_")
    (src / "t_lib1.c").write_text(operators)
    (src / "t_lib2.c").write_text(
        '#include "tvm/runtime/c_runtime_api.h"\n#include "npu_driver.h"\n'
        "static npu_context_t tvmgen_t_npu;\n"
        "TVM_DLL int32_t tvmgen_t_op_a(int8_t* p0, int8_t* T_out, uint8_t* pool);\n"
        "TVM_DLL int32_t tvmgen_t_op_b(int8_t* p0, int8_t* T_out, uint8_t* pool);\n"
        "TVM_DLL int32_t tvmgen_t___tvm_" + entry
    )
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert main(["rewrite", str(root)]) == 0
    said = capsys.readouterr().err  # nothing to do: said on stderr
    assert "t_lib2.c: left out: it does not parse" in said and "npu_driver.h" in said
    assert "the USMP pool(s) it uses (global_workspace) stay as USMP planned them" in said
    assert "nothing to rewrite" in said and "stays as USMP planned it" not in said
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before


ESCAPES = """
static int32_t* tvmgen_t_kept;
TVM_DLL int32_t tvmgen_t_op(int8_t* p0, int8_t* T_out, uint8_t* global_workspace_2_var) {
  void* lut_let = (&(global_workspace_2_var[0]));
  tvmgen_t_kept = (int32_t*)lut_let;
  for (int32_t i = 0; i < 64; ++i) {
    T_out[i] = (int8_t)tvmgen_t_kept[p0[i] & 15];
  }
  return 0;
}
"""
DIRECT = """
TVM_DLL int32_t tvmgen_t_op(int8_t* p0, int8_t* T_out, uint8_t* global_workspace_2_var) {
  for (int32_t i = 0; i < 64; ++i) {
    global_workspace_2_var[i] = p0[i];
  }
  return 0;
}
"""
LIBRARY = """
TVM_DLL int32_t tvmgen_t_op(int8_t* p0, int8_t* T_out, uint8_t* global_workspace_2_var) {
  memset(global_workspace_2_var, 0, 64);
  return 0;
}
"""
BEFORE = """
TVM_DLL int32_t tvmgen_t_op(int8_t* p0, int8_t* T_out, uint8_t* global_workspace_2_var) {
  void* acc_let = (&(global_workspace_2_var[64]));
  for (int32_t i = 0; i < 64; ++i) {
    ((int8_t*)acc_let)[(i - 8)] = p0[i];
  }
  return 0;
}
"""


@pytest.mark.parametrize(
    ("body", "line", "reason"),
    [
        (ESCAPES, 9, "extent of the slice 'lut_let' in tvmgen_t_op cannot be bounded"),
        (DIRECT, 9, "uses the pool pointer 'global_workspace_2_var' other than"),
        (LIBRARY, 8, "hands the pool pointer 'global_workspace_2_var' to memset"),
        (BEFORE, 8, "'acc_let' in tvmgen_t_op is reached 8 bytes before its start"),
    ],
    ids=["unbounded", "direct-use", "library", "before-start"],
)
def test_a_pool_crewrite_cannot_follow_stays_as_usmp_planned_it(
    tmp_path, capsys, body, line, reason
):
    root = make_usmp_project(tmp_path / "p", body + USMP_ENTRY, pool=512)
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert main(["rewrite", str(root)]) == 0
    printed = capsys.readouterr().err  # nothing to do: said on stderr
    assert "pool 'global_workspace' of module 't' stays as USMP planned it" in printed
    assert f"model/codegen/host/src/t_lib1.c:{line}: " in printed and reason in printed
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before


CONSTANTS = """
TVM_DLL int32_t tvmgen_t_op(int8_t* p0, int8_t* T_out, uint8_t* global_const_workspace_2_var, uint8_t* global_workspace_3_var) {
  void* w_let = (&(global_const_workspace_2_var[32]));
  void* acc_let = (&(global_workspace_3_var[256]));
  for (int32_t i = 0; i < 64; ++i) {
    ((int32_t*)acc_let)[i] = p0[i] * ((int8_t*)w_let)[i];
  }
  for (int32_t i = 0; i < 64; ++i) {
    T_out[i] = (int8_t)((int32_t*)acc_let)[i];
  }
  return 0;
}
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x_buffer_var, int8_t* y_buffer_var, uint8_t* global_const_workspace_0_var, uint8_t* global_workspace_1_var) {
  if (tvmgen_t_op(x_buffer_var, y_buffer_var, global_const_workspace_0_var, global_workspace_1_var) != 0 ) return -1;
  return 0;
}
"""  # noqa: E501


def test_the_constant_pool_is_never_moved(tmp_path):
    root = make_usmp_project(tmp_path / "c", CONSTANTS, pool=512, constants=True)
    result = rewritten(root)
    (pool,) = result.pools
    assert pool.pool.name == "global_workspace" and pool.arena_bytes == 256
    text = lib1(result.new_texts)
    assert "void* w_let = (&(global_const_workspace_2_var[32]));" in text
    assert "void* acc_let = (&(global_workspace_3_var[0]));" in text


def test_the_layout_proof_reads_the_pool_back_and_catches_a_clash(small):
    result = rewritten(small)
    (pool,) = result.pools
    offsets = {b.site.variable: pool.offsets[b.id] for b in pool.liveness.buffers}
    project = load_project([small])
    try:
        original = read_program(project, []).program
        good = dict(project.texts, **result.new_texts)
        headers = {rel: good[rel] for rel in project.headers}
        text = lib1(good)
        # acc_let and pad_let are live at once in op_a: put acc where pad is
        clash = text.replace(
            f"(&(global_workspace_2_var[{offsets['acc_let']}]))",
            f"(&(global_workspace_2_var[{offsets['pad_let']}]))",
        )
        assert clash != text
        proofs = []
        for version in (text, clash):
            project.texts["model/codegen/host/src/t_lib1.c"] = version
            project.texts.update({k: v for k, v in good.items() if k.endswith("t_lib0.c")})
            after = read_program(project, []).program
            proofs.append(prove_layout(original, after, 16, headers))
    finally:
        project.close()
    assert proofs[0].ok, proofs[0].problems
    assert len(proofs[0].placements) == len(pool.liveness.buffers)
    assert not proofs[1].ok
    assert any("acc_let" in p and "pad_let" in p and "share bytes" in p for p in proofs[1].problems)


@pytest.mark.parametrize(
    ("extra", "replanned", "said"),
    [
        (
            "uint8_t* tvmgen_t_get_workspace_address(void) { return &global_workspace[0]; }\n",
            True,
            "t_lib0.c:9: warning: tvmgen_t_get_workspace_address uses the pool "
            "'global_workspace' itself (hand-extended code?)",
        ),
        (
            "int8_t* tvmgen_t_input(void) { return (int8_t*)&global_workspace[64]; }\n",
            False,
            "t_lib0.c:9: tvmgen_t_input uses the pool 'global_workspace' itself, not only to "
            "hand it to the model",
        ),
    ],
    ids=["base-returned", "offset-into-the-pool"],
)
def test_uses_of_the_pool_outside_the_model(tmp_path, capsys, extra, replanned, said):
    root = make_usmp_project(tmp_path / "p", SMALL, pool=512)
    lib0 = root / "model/codegen/host/src/t_lib0.c"
    lib0.write_text(lib0.read_text() + extra)
    assert main(["rewrite", str(root), "--dry-run"]) == 0
    printed = "".join(capsys.readouterr())  # a report on stdout, nothing to do on stderr
    assert said in printed
    assert ("re-planned by crewrite: 320 B" in printed) == replanned


def test_a_slice_used_for_two_things_in_sequence_shrinks_with_them(tmp_path):
    root = make_usmp_project(tmp_path / "two", TWO_USES + USMP_ENTRY, pool=512)
    result = rewritten(root)
    (pool,) = result.pools
    uses = {b.id.split(":")[-1]: (b.size, b.start_line) for b in pool.liveness.buffers}
    assert uses == {
        "s_let#0": (256, None),
        "s_let#1": (16, 17),  # from the statement at line 17, which rewrites s[0..16)
        "t_let": (16, None),
        "u_let": (240, None),
    }
    assert pool.arena_bytes == pool.plan.lower_bound_bytes == 272
    second = pool.offsets["tvmgen_t_op:s_let#1"]
    assert (
        f"  s_let = (void *)(&(global_workspace_2_var[{second}])); /* crewrite: rewritten: "
        "next tensor in s_let */\n  for (int32_t i = 0; i < 4; ++i) {\n    ((int32_t*)s_let)[i]"
    ) in lib1(result.new_texts)


# The entry's inline slices: P[0] holds 64 bytes, then (from op_h's call) 16 bytes that op_h
# writes whole before op_o reads them; P[128] holds one tensor.
INLINE_REUSED = """
TVM_DLL int32_t tvmgen_t_op_a(int8_t* p0, int8_t* T_out, uint8_t* global_workspace_2_var) {
  for (int32_t i = 0; i < 64; ++i) { T_out[i] = (int8_t)(p0[i] + 1); }
  return 0;
}
TVM_DLL int32_t tvmgen_t_op_h(int8_t* p0, int8_t* T_out, uint8_t* global_workspace_3_var) {
  for (int32_t i = 0; i < 16; ++i) { T_out[i] = (int8_t)(p0[i] * 2); }
  return 0;
}
TVM_DLL int32_t tvmgen_t_op_o(int8_t* p0, int8_t* T_out, uint8_t* global_workspace_4_var) {
  for (int32_t i = 0; i < 64; ++i) { T_out[i] = p0[(i & 15)]; }
  return 0;
}
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x_buffer_var, int8_t* y_buffer_var, uint8_t* global_workspace_1_var) {
  if (tvmgen_t_op_a(x_buffer_var, (&(global_workspace_1_var[0])), global_workspace_1_var) != 0 ) return -1;
  if (tvmgen_t_op_a((&(global_workspace_1_var[0])), (&(global_workspace_1_var[128])), global_workspace_1_var) != 0 ) return -1;
  if (tvmgen_t_op_h((&(global_workspace_1_var[128])), (&(global_workspace_1_var[0])), global_workspace_1_var) != 0 ) return -1;
  if (tvmgen_t_op_o((&(global_workspace_1_var[0])), y_buffer_var, global_workspace_1_var) != 0 ) return -1;
  return 0;
}
"""  # noqa: E501


@pytest.mark.parametrize("writes", [16, 8])
def test_an_inline_slice_of_the_entry_splits_and_sizes_as_any_buffer(tmp_path, writes):
    """Inline slices are buffers of the same mechanism as workspace allocations and let
    slices (crewrite.footprint): P[0] starts a new 16-byte range where op_h writes all that
    op_o reads after it; when op_h writes only 8 of those bytes, P[0] stays one range of 64."""
    body = INLINE_REUSED.replace("i < 16;", f"i < {writes};")
    root = make_usmp_project(tmp_path / f"w{writes}", body, pool=256)
    result = rewritten(root)
    (pool,) = result.pools
    ranges = {
        b.id.split(":")[-1]: (b.size, b.start_line)
        for b in pool.liveness.buffers
        if b.site.variable == "global_workspace_1_var[0]"
    }
    if writes == 16:
        assert ranges == {
            "global_workspace_1_var[0]#0": (64, None),
            "global_workspace_1_var[0]#1": (16, 22),  # op_h's call
        }
    else:
        assert ranges == {"global_workspace_1_var[0]": (64, None)}
    assert pool.arena_bytes == 128


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # the third statement rewrites s[0..2) only, s[2] and s[3] are read after it
        ("for (int32_t i = 0; i < 4; ++i) {\n    ((int32_t*)s_let)[i] =",
         "for (int32_t i = 0; i < 2; ++i) {\n    ((int32_t*)s_let)[i] ="),
        # it updates s[0..4) in place: it reads what the first use left
        ("((int32_t*)s_let)[i] = ((int32_t*)t_let)[(3 - i)];",
         "((int32_t*)s_let)[i] = ((int32_t*)s_let)[i] + ((int32_t*)t_let)[(3 - i)];"),
    ],
    ids=["rewrites-part", "updates-in-place"],
)  # fmt: skip
def test_a_use_that_keeps_bytes_of_the_one_before_is_not_split(tmp_path, old, new):
    """The first use's bytes are still needed after the third statement: s stays one range
    of 256 B."""
    body = TWO_USES.replace(old, new)
    assert body != TWO_USES
    root = make_usmp_project(tmp_path / "partial", body + USMP_ENTRY, pool=1024)
    (pool,) = rewritten(root).pools
    s = [b for b in pool.liveness.buffers if b.site.variable == "s_let"]
    assert [(b.id.split(":")[-1], b.size) for b in s] == [("s_let", 256)]


def test_a_pool_aligned_to_more_than_16_bytes_keeps_its_slices_so_aligned(tmp_path):
    arenas = {}
    for alignment in (16, 64):
        root = make_usmp_project(tmp_path / f"a{alignment}", TWO_USES + USMP_ENTRY, pool=1024)
        lib0 = root / "model/codegen/host/src/t_lib0.c"
        lib0.write_text(lib0.read_text().replace("aligned(16)", f"aligned({alignment})"))
        (pool,) = rewritten(root).pools
        assert pool.pool.alignment == pool.liveness.alignment == alignment
        assert all(offset % alignment == 0 for offset in pool.offsets.values())
        arenas[alignment] = pool.arena_bytes
    assert arenas == {16: 272, 64: 384}  # 16-byte t, s#1 and 240-byte u take 64, 64, 256


MIXED = """
TVM_DLL int32_t tvmgen_t_op(int8_t* p0, int8_t* T_out, uint8_t* global_workspace_2_var) {
  void* acc_let = (&(global_workspace_2_var[64]));
  void* tmp = TVMBackendAllocWorkspace(1, 0, (uint64_t)64, 0, 8);
  if (tmp == NULL) {
    return -1;
  }
  for (int32_t i = 0; i < 64; ++i) {
    ((int8_t*)tmp)[i] = p0[i];
    ((int8_t*)acc_let)[i] = ((int8_t*)tmp)[i];
  }
  for (int32_t i = 0; i < 64; ++i) {
    T_out[i] = ((int8_t*)acc_let)[i];
  }
  if (TVMBackendFreeWorkspace(1, 0, tmp) != 0) {
    return -1;
  }
  return 0;
}
"""


def test_a_project_with_workspace_calls_and_a_pool_moves_only_the_calls(tmp_path):
    root = make_usmp_project(tmp_path / "mixed", MIXED + USMP_ENTRY, pool=512)
    result = rewritten(root)
    assert result.status == "rewritten" and not result.pools and result.modules
    assert "(&(global_workspace_2_var[64]))" in lib1(result.new_texts)
    assert any("USMP pool(s) global_workspace left as planned" in n for n in result.notes)


def test_a_header_copy_crewrite_cannot_evaluate_is_named_as_such(tmp_path, capsys):
    """A copy that defines the size from a macro it does not see is named with what it
    says, not with a Python `None`."""
    root = make_usmp_project(tmp_path / "app", SMALL, pool=512, application_pool=True)
    generated = (root / "model/codegen/host/include/tvmgen_t.h").read_text()
    (root / "include").mkdir()
    (root / "include" / "tvmgen_t.h").write_text(
        generated.replace("SPACE_SIZE 512", "SPACE_SIZE BOARD_WORKSPACE")
    )
    assert main(["rewrite", str(root)]) == 0
    (line,) = [x for x in capsys.readouterr().out.splitlines() if "copies disagreed" in x]
    assert "include/tvmgen_t.h BOARD_WORKSPACE (not a number crewrite can read)" in line
    assert "None" not in line


def test_a_pool_sized_by_a_macro_is_left_to_the_user_with_its_new_size(tmp_path, capsys):
    """`static uint8_t global_workspace[POOL_BYTES];`: crewrite does not edit the macro (it
    may size other things), so the report must not claim a smaller pool without saying
    that the definition still needs the new size."""
    root = make_usmp_project(tmp_path / "app", SMALL, pool=512)
    lib0 = root / "model/codegen/host/src/t_lib0.c"
    text = lib0.read_text()
    assert "static uint8_t global_workspace[512];" in text
    lib0.write_text(
        text.replace(
            "static uint8_t global_workspace[512];",
            "#define T_POOL_BYTES 512\nstatic uint8_t global_workspace[T_POOL_BYTES];",
        )
    )
    assert main(["rewrite", str(root)]) == 0
    said = capsys.readouterr().out
    assert "static uint8_t global_workspace[T_POOL_BYTES];" in lib0.read_text()
    assert (
        "pool 'global_workspace' of module 't' is defined with the size 'T_POOL_BYTES' "
        "(model/codegen/host/src/t_lib0.c:"
    ) in said
    assert "make it 320 bytes" in said


# `pad_let` is written, then read through the same bytes spelled inline (`&pool[0]`): one
# buffer under two names. Planned as two slices, each in its own place, the read would see
# other bytes.
ALIASED = (
    """
TVM_DLL int32_t tvmgen_t_op(int8_t* p0, int8_t* T_out, uint8_t* global_workspace_2_var) {
  void* pad_let = (&(global_workspace_2_var[0]));
  for (int32_t i = 0; i < 64; ++i) {
    ((int8_t*)pad_let)[i] = p0[i];
  }
  for (int32_t i = 0; i < 64; ++i) {
    T_out[i] = ((int8_t*)(&(global_workspace_2_var[0])))[(63 - i)];
  }
  return 0;
}
"""
    + USMP_ENTRY
)


@pytest.mark.parametrize(
    ("body", "other"),
    [
        (ALIASED, "global_workspace_2_var[0]"),
        # a view 16 bytes inside pad_let, read where pad_let was written
        (
            ALIASED.replace("(63 - i)]", "(47 - (i & 31))]").replace("var[0])))", "var[16])))"),
            "global_workspace_2_var[16]",
        ),
    ],
    ids=["same-offset", "view-inside"],
)
def test_slices_that_share_bytes_keep_the_pool_as_planned(tmp_path, capsys, body, other):
    root = make_usmp_project(tmp_path / "alias", body, pool=512)
    lib = root / "model/codegen/host/src/t_lib1.c"
    before = lib.read_text()
    assert main(["rewrite", str(root)]) == 0
    said = capsys.readouterr().err
    assert lib.read_text() == before
    assert "pool 'global_workspace' of module 't' stays as USMP planned it" in said
    assert f"'pad_let' (line 8) and '{other}' (line 13) of tvmgen_t_op" in said
    assert "share bytes of the pool and one reads what it did not write" in said


# Two slices on shared bytes, told apart by their reads (crewrite.usmp._shared_bytes): `acc`
# reads bytes in the statement that first writes them (an accumulation). At pad's offset,
# what it reads is pad's: one buffer under two names, the pool stays. Elsewhere, an
# accumulation into its own bytes is fed by itself: two buffers USMP overlapped in time.
OVERLAPPED = (
    """
TVM_DLL int32_t tvmgen_t_op(int8_t* p0, int8_t* T_out, uint8_t* global_workspace_2_var) {
  void* pad_let = (&(global_workspace_2_var[0]));
  void* acc_let = (&(global_workspace_2_var[ACC]));
  for (int32_t i = 0; i < 64; ++i) {
    ((int8_t*)pad_let)[i] = p0[i];
  }
  for (int32_t i = 0; i < 64; ++i) {
    T_out[i] = ((int8_t*)pad_let)[i];
  }
  for (int32_t i = 0; i < 64; ++i) {
    ((int8_t*)acc_let)[i] = (int8_t)((((int8_t*)acc_let)[i] & 0) + T_out[i]);
  }
  for (int32_t i = 0; i < 64; ++i) {
    T_out[i] = ((int8_t*)acc_let)[(63 - i)];
  }
  return 0;
}
"""
    + USMP_ENTRY
)


@pytest.mark.parametrize(("acc", "stays"), [(0, True), (32, False)])
def test_an_accumulation_on_shared_bytes_is_fed_by_itself_only_at_another_offset(
    tmp_path, acc, stays
):
    root = make_usmp_project(tmp_path / "overlap", OVERLAPPED.replace("ACC", str(acc)), pool=512)
    program = program_of(root)
    refused = analyse_pools(program, list(program.modules)).refused
    assert (("t", "global_workspace") in refused) == stays
    if stays:
        assert (
            "'pad_let' (line 8) and 'acc_let' (line 9)" in refused[("t", "global_workspace")].reason
        )


def test_two_workspace_pools_of_one_module_are_both_replanned(tmp_path, capsys):
    """TVM may give a module several workspace pools (`--workspace-pools`): every operator
    takes one pointer per pool. Both move, and both markers land in the files they share."""
    root = make_usmp_project(tmp_path / "two", SMALL, pool=512)
    src = root / "model/codegen/host/src"
    lib = re.sub(
        r"uint8_t\* global_workspace_(\d+)_var\)",
        r"uint8_t* global_workspace_\1_var, uint8_t* fast_ws_\1_var)",
        (src / "t_lib1.c").read_text(),
    )
    lib = lib.replace(
        ", global_workspace_1_var) != 0 )", ", global_workspace_1_var, fast_ws_1_var) != 0 )"
    )
    lib = lib.replace("(&(global_workspace_3_var[320]))", "(&(fast_ws_3_var[64]))")
    (src / "t_lib1.c").write_text(lib)
    lib0 = (src / "t_lib0.c").read_text()
    for old, new in (
        (
            "static uint8_t global_workspace[512];\n",
            "static uint8_t global_workspace[512];\nstatic uint8_t fast_ws[256];\n",
        ),
        (
            "uint8_t* global_workspace_0_var);",
            "uint8_t* global_workspace_0_var, uint8_t* fast_ws_0_var);",
        ),
        (
            "((uint8_t*)&global_workspace));",
            "((uint8_t*)&global_workspace), ((uint8_t*)&fast_ws));",
        ),
    ):
        assert old in lib0
        lib0 = lib0.replace(old, new)
    (src / "t_lib0.c").write_text(lib0)
    assert main(["rewrite", str(root)]) == 0
    said = capsys.readouterr().out
    assert "USMP pool global_workspace" in said and "USMP pool fast_ws" in said
    lib0 = (src / "t_lib0.c").read_text()
    assert "static uint8_t fast_ws[64];" in lib0 and "global_workspace[512]" not in lib0
    lib = (src / "t_lib1.c").read_text()
    assert "USMP pool 'global_workspace'" in lib and "USMP pool 'fast_ws'" in lib
