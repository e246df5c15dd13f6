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
    header_edits,
    metadata_edits,
)
from crewrite.errors import CrewriteError


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


def test_header_define_becomes_zero_with_the_old_value_kept():
    text = "#define TVMGEN_KWS_WORKSPACE_SIZE 99344\n#define TVMGEN_KWS2_WORKSPACE_SIZE 7\n"
    out = apply_edits(text, header_edits("kws", "h", text, 4096))
    assert out.startswith("#define TVMGEN_KWS_WORKSPACE_SIZE 0 /* crewrite: rewritten: was 99344")
    assert out.endswith("#define TVMGEN_KWS2_WORKSPACE_SIZE 7\n")


def test_build_workspace_lowered_by_what_moved_and_kept_if_too_small():
    text = "target_compile_definitions(app PUBLIC -DWORKSPACE_SIZE=146960)\n"
    edits, notes = build_edits("CMakeLists.txt", text, 99344)
    assert apply_edits(text, edits) == (
        "target_compile_definitions(app PUBLIC -DWORKSPACE_SIZE=47616)\n"
    )
    assert notes == ["CMakeLists.txt: WORKSPACE_SIZE 146960 -> 47616"]
    edits, notes = build_edits("CMakeLists.txt", text, 200000)
    assert edits == [] and "left unchanged" in notes[0]


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
