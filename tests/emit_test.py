"""Edits: indices into the original text, checked against the text they replace, conflicts
refused."""

from __future__ import annotations

import json

import pytest

from crewrite.emit import (
    Edit,
    MovedWorkspace,
    apply_edits,
    build_edits,
    declaration_point,
    define_edits,
    metadata_edits,
)
from crewrite.errors import CrewriteError
from crewrite.project import size_defines


def test_edits_all_use_indices_into_the_original_text():
    text = "a = ALLOC(1);\nb = ALLOC(2);\n"
    edits = [
        Edit("f.c", 4, 12, "X", expect="ALLOC"),
        Edit("f.c", 18, 26, "YY", expect="ALLOC"),
        Edit("f.c", 0, 0, "/* m */\n"),
    ]
    assert apply_edits(text, edits) == "/* m */\na = X;\nb = YY;\n"


@pytest.mark.parametrize(
    "edits",
    [
        [Edit("f.c", 0, 5, "x"), Edit("f.c", 3, 8, "y")],
        [Edit("f.c", 2, 2, "x"), Edit("f.c", 2, 2, "y")],
    ],
    ids=["overlap", "two-inserts-at-one-offset"],
)
def test_conflicting_edits_are_refused_with_both_named(edits):
    with pytest.raises(CrewriteError) as err:
        apply_edits("0123456789", edits)
    assert "conflicting edits" in err.value.reason
    assert str(edits[0]) in err.value.reason and str(edits[1]) in err.value.reason


def test_edit_refused_when_text_is_not_what_was_analysed():
    with pytest.raises(CrewriteError) as err:
        apply_edits("x\nfoo(1);\n", [Edit("f.c", 2, 8, "0", expect="TVMBackendFreeWorkspace")])
    assert err.value.line == 2 and "refusing to edit" in err.value.reason


def test_header_define_takes_its_new_value_with_the_old_one_kept():
    text = (
        "#define TVMGEN_KWS_WORKSPACE_SIZE (20*1024) /* as kept */\n"
        "#define TVMGEN_KWS2_WORKSPACE_SIZE 7\n"
        "#define TVMGEN_KWS_GLOBAL_WORKSPACE_WORKSPACE_POOL_SIZE 99344\n"
    )
    kws = [d for d in size_defines(text) if d.module == "KWS"]
    (pool,) = size_defines(text, "global_workspace")
    assert [d.value for d in kws] == [20480] and pool.value == 99344
    out = apply_edits(text, define_edits("h", [*kws, pool], 0, "; moved"))
    assert out.startswith("#define TVMGEN_KWS_WORKSPACE_SIZE 0 /* crewrite: rewritten: was (20")
    assert "#define TVMGEN_KWS2_WORKSPACE_SIZE 7\n" in out
    assert out.endswith("POOL_SIZE 0 /* crewrite: rewritten: was 99344; moved */\n")


def test_build_workspace_lowered_by_what_moved_and_kept_if_too_small():
    text = "target_compile_definitions(app PUBLIC -DWORKSPACE_SIZE=146960)\n"
    edits, notes = build_edits("CMakeLists.txt", text, 99344)
    assert apply_edits(text, edits) == (
        "target_compile_definitions(app PUBLIC -DWORKSPACE_SIZE=47616)\n"
    )
    assert notes == ["CMakeLists.txt: WORKSPACE_SIZE 146960 -> 47616"]
    edits, notes = build_edits("CMakeLists.txt", text, 200000)
    assert edits == [] and "left unchanged" in notes[0]


@pytest.mark.parametrize(
    ("line", "value"),
    [
        ("target_compile_definitions(app PRIVATE -DWORKSPACE_SIZE=${WS})", "${WS}"),
        ("add_definitions(-DWORKSPACE_SIZE=(126432+512))", "(126432+512)"),
        ("set(WORKSPACE_SIZE 126944)", "126944"),
        ("#define WORKSPACE_SIZE (100*1024)", "(100*1024)"),
    ],
)
def test_a_workspace_size_crewrite_does_not_edit_is_named_with_the_bytes_to_take_off(line, value):
    """Accept and warn: the allocator keeps its old size unless the user lowers it."""
    text = f"project(app)\n{line}\n"
    edits, notes = build_edits("CMakeLists.txt", text, 24000)
    assert edits == []
    assert notes == [
        f"CMakeLists.txt:2: WORKSPACE_SIZE is set as '{value}', which crewrite does not edit: "
        "lower it by 24,000 bytes (moved to the arena) to free that RAM"
    ]


@pytest.mark.parametrize(
    "line",
    [
        "#define WORKSPACE_SIZE (TVMGEN_DEFAULT_WORKSPACE_SIZE + 512)",  # follows the header
        "#define WORKSPACE_SIZE (126944) // pool",  # edited as a number
        "zephyr_compile_definitions(-DWORKSPACE_SIZE=126944)",
    ],
)
def test_a_workspace_size_crewrite_edits_or_that_follows_the_header_is_no_such_note(line):
    _, notes = build_edits("CMakeLists.txt", f"{line}\n", 24000)
    assert not any("does not edit" in note for note in notes)


def test_declarations_go_where_every_build_sees_them():
    text = (
        "#include <a.h>\n#ifdef __ARM_FEATURE_DSP\n#include <arm_acle.h>\n#endif\n"
        '#ifdef __cplusplus\nextern "C" {\n#endif\nint f(void);\n'
    )
    point = declaration_point(text, len(text))
    assert text[:point].endswith("#include <arm_acle.h>\n#endif\n")
    assert declaration_point("int f(void);\n", 12) == 0


NEW_METADATA = """{
  "modules": {
    "kws": {"memory": {"functions": {"main": [
      {"constants_size_bytes": 0, "workspace_size_bytes": 38048}]}}},
    "ad": {"memory": {"functions": {"main": [{"workspace_size_bytes": 1664}],
      "operator_functions": [{"workspace_size_bytes": 99}]}}}
  },
  "version": 7
}
"""
OLD_METADATA = (
    '{"memory": {"functions": {"main": [{"workspace_size_bytes": 146960, '
    '"device": 1}]}}, "model_name": "x", "version": 5}'
)


def test_metadata_workspace_lowered_in_place_keeping_every_other_byte():
    edits, notes = metadata_edits(
        "metadata.json",
        NEW_METADATA,
        {
            "kws": MovedWorkspace(38048, True, frozenset()),
            "ad": MovedWorkspace(1664, True, frozenset()),
        },
    )
    out = apply_edits(NEW_METADATA, edits)
    data = json.loads(out)
    assert data["modules"]["kws"]["memory"]["functions"]["main"][0]["workspace_size_bytes"] == 0
    assert data["modules"]["ad"]["memory"]["functions"]["main"][0]["workspace_size_bytes"] == 0
    ops = data["modules"]["ad"]["memory"]["functions"]["operator_functions"]
    assert ops[0]["workspace_size_bytes"] == 99
    assert out.replace('"workspace_size_bytes": 0', "X") == NEW_METADATA.replace(
        '"workspace_size_bytes": 38048', "X"
    ).replace('"workspace_size_bytes": 1664', "X")
    assert len(notes) == 2


def test_old_single_module_metadata_and_unreadable_metadata():
    edits, _ = metadata_edits(
        "m.json", OLD_METADATA, {"default": MovedWorkspace(9, True, frozenset())}
    )
    assert (
        json.loads(apply_edits(OLD_METADATA, edits))["memory"]["functions"]["main"][0][
            "workspace_size_bytes"
        ]
        == 0
    )
    edits, notes = metadata_edits("m.json", "{not json", {})
    assert edits == [] and "left unchanged" in notes[0]


def test_metadata_of_replanned_pools_in_the_same_place_as_arenas():
    """USMP: `main` (the pools' total) drops by what the pools saved, and a pool's size,
    under its name or in an object naming it, becomes its new size; two modules whose pools
    share a name and a size each get their own, and an arena module beside them its 0."""
    pool = {"global_workspace": {"size_bytes": 1520}}
    text = json.dumps(
        {
            "memory_pools": [{"pool_name": "global_workspace", "size_bytes": 4096}],
            "modules": {
                m: {
                    "memory": {"functions": {"main": [{"workspace_size_bytes": size}]}},
                    "memory_pools": pool,
                }
                for m, size in (("a", 1520), ("b", 1520), ("c", 640))
            },
        },
        indent=1,
    )
    moved = {
        "a": MovedWorkspace(176, True, frozenset(), {"global_workspace": (1520, 1344)}),
        "b": MovedWorkspace(520, True, frozenset(), {"global_workspace": (1520, 1000)}),
        "c": MovedWorkspace(640, True, frozenset()),
    }
    edits, notes = metadata_edits("m.json", text, moved)
    data = json.loads(apply_edits(text, edits))
    for m, size in (("a", 1344), ("b", 1000), ("c", 0)):
        assert data["modules"][m]["memory"]["functions"]["main"][0]["workspace_size_bytes"] == size
    assert data["modules"]["a"]["memory_pools"]["global_workspace"]["size_bytes"] == 1344
    assert data["modules"]["b"]["memory_pools"]["global_workspace"]["size_bytes"] == 1000
    assert data["modules"]["c"]["memory_pools"]["global_workspace"]["size_bytes"] == 1520
    assert data["memory_pools"][0]["size_bytes"] == 4096  # not the size USMP planned: kept
    said = "m.json: pool global_workspace modules.b.memory_pools.global_workspace.size_bytes"
    assert f"{said} 1520 -> 1000" in notes

    listed = '{"memory_pools": [{"pool_name": "global_workspace", "size_bytes": 1520}]}'
    edits, _ = metadata_edits("m.json", listed, {"a": moved["a"]})
    assert json.loads(apply_edits(listed, edits))["memory_pools"][0]["size_bytes"] == 1344


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#define WORKSPACE_SIZE 146960\n", "#define WORKSPACE_SIZE 47616\n"),
        (
            "#define WORKSPACE_SIZE (146960) // model + 512\n",
            "#define WORKSPACE_SIZE (47616) // model + 512\n",
        ),
        (
            "#define WORKSPACE_SIZE (TVMGEN_DEFAULT_WORKSPACE_SIZE + 512)\n",
            "#define WORKSPACE_SIZE (TVMGEN_DEFAULT_WORKSPACE_SIZE + 512)\n",
        ),
        ("#define WORKSPACE_SIZE_EXTRA 146960\n", "#define WORKSPACE_SIZE_EXTRA 146960\n"),
    ],
    ids=["plain", "parenthesised-with-comment", "derived-from-header", "other-name"],
)
def test_application_define_lowered_only_when_it_is_a_number(text, expected):
    edits, _ = build_edits("src/platform.c", text, 99344)
    assert apply_edits(text, edits) == expected
