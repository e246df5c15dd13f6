"""The command line: inputs of every shape, in place or copied, and every refusal with one
message, a non-zero exit code and untouched inputs. Tests marked e2e run the whole bundled
example through the CLI, on disk (the golden test checks its output in the quick loop)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path
from xml.etree import ElementTree

import pytest

from crewrite.cli import main
from helpers.cases import STATIC
from helpers.projects import snapshot

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def test_python_dash_m_runs_the_command(tmp_path):
    """`python -m crewrite` is the `crewrite` command (exit codes included)."""
    done = subprocess.run(
        [sys.executable, "-m", "crewrite", "rewrite", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and done.stderr.startswith("crewrite: ")
    assert "no such file or directory" in done.stderr


def test_help_explains_inputs_changes_and_exit_codes(capsys):
    with pytest.raises(SystemExit) as done:
        main(["rewrite", "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    for phrase in (
        "Model Library Format",
        "WORKSPACE_SIZE",
        "exit codes",
        "already rewritten",
        "--out",
        "--report-json",
        "--liveness",
    ):
        assert phrase in text


@pytest.mark.e2e
def test_in_place_rewrite_then_second_run_changes_nothing(kws, capsys):
    before = snapshot(kws)
    assert main(["rewrite", str(kws), "-q"]) == 0
    after = snapshot(kws)
    changed = {rel for rel in before if before[rel] != after[rel]}
    assert changed == {
        "CMakeLists.txt",
        "model/codegen/host/include/tvmgen_default.h",
        "model/codegen/host/src/default_lib1.c",
        "model/metadata.json",
    }
    assert set(after) == set(before)  # no file added, no backup or temp left behind
    capsys.readouterr()
    assert main(["rewrite", str(kws)]) == 0  # nothing to do: one line, as build scripts expect
    out, err = capsys.readouterr()
    assert out == "" and err == (
        f"crewrite: {kws}/model/codegen/host/src/default_lib1.c: already rewritten by "
        "crewrite: no workspace call left, nothing to do\n"
    )
    assert main(["rewrite", str(kws), "--ok-if-rewritten", "-q"]) == 0  # a no-op, kept
    assert main(["rewrite", str(kws), "--check", "--diff"]) == 0
    assert capsys.readouterr().out == ""
    assert snapshot(kws) == after


@pytest.mark.e2e
def test_out_writes_a_complete_copy_and_leaves_input_alone(kws, tmp_path):
    before = snapshot(kws)
    out = tmp_path / "out"
    assert main(["rewrite", str(kws), "--out", str(out), "-q"]) == 0
    assert snapshot(kws) == before
    copied = snapshot(out)
    assert set(copied) == set(before)
    lib1 = copied["model/codegen/host/src/default_lib1.c"].decode()
    assert "tvmgen_default_crewrite_arena[" in lib1 and "TVMBackendAllocWorkspace(" not in lib1
    assert copied["src/main.c"] == before["src/main.c"]
    assert main(["rewrite", str(kws), "--out", str(out), "-q"]) == 1  # not empty


@pytest.mark.e2e
def test_dry_run_writes_only_the_report(kws, tmp_path):
    before = snapshot(kws)
    report = tmp_path / "r.json"
    assert main(["rewrite", str(kws), "--dry-run", "--report-json", str(report), "-q"]) == 0
    assert snapshot(kws) == before
    data = json.loads(report.read_text())
    assert data["status"] == "rewritten" and data["written"] is False
    assert data["saved_bytes"] == data["original_workspace_bytes"] - data["arena_bytes"] > 0
    (module,) = data["modules"]
    for key in ("module", "original_workspace_bytes", "arena_bytes", "lower_bound_bytes"):
        assert key in module
    assert {"function", "variable", "file", "line", "size", "offset", "live"} <= set(
        module["buffers"][0]
    )


@pytest.mark.e2e
def test_model_library_format_tar_in_place_and_to_a_folder(kws, tmp_path):
    archive = tmp_path / "model.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(kws / "model", arcname=".")
    out = tmp_path / "mlf"
    assert main(["rewrite", str(archive), "--out", str(out), "-q"]) == 0
    lib1 = (out / "codegen" / "host" / "src" / "default_lib1.c").read_text()
    assert "TVMBackendAllocWorkspace(" not in lib1 and "crewrite_arena" in lib1
    original = archive.read_bytes()
    assert main(["rewrite", str(archive), "-q"]) == 0
    assert archive.read_bytes() != original
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        text = tar.extractfile("./codegen/host/src/default_lib1.c").read().decode()
    assert "crewrite_arena" in text and "./codegen/host/include/tvmgen_default.h" in names
    assert main(["rewrite", str(archive), "-q"]) == 0


@pytest.mark.e2e
def test_c_files_one_by_one_with_header(kws, tmp_path):
    src = kws / "model" / "codegen" / "host" / "src"
    header = kws / "model" / "codegen" / "host" / "include" / "tvmgen_default.h"
    out = tmp_path / "out"
    code = main(
        [
            "rewrite",
            str(src / "default_lib0.c"),
            str(src / "default_lib1.c"),
            "--header",
            str(header),
            "--out",
            str(out),
            "-q",
        ]
    )
    assert code == 0
    assert "TVMGEN_DEFAULT_WORKSPACE_SIZE 0" in next(out.rglob("tvmgen_default.h")).read_text()
    lib1 = next(out.rglob("default_lib1.c")).read_text()
    assert "tvmgen_default_crewrite_arena[" in lib1 and "TVMBackendAllocWorkspace(" not in lib1


def test_static_project_is_reported_and_left_unchanged(project, capsys):
    root = project(STATIC)
    before = snapshot(root)
    assert main(["rewrite", str(root)]) == 0
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(f"crewrite: {root}: no TVMBackendAllocWorkspace call")
    assert len(err.splitlines()) == 1 and "already static; nothing to rewrite" in err
    assert snapshot(root) == before


BAD_SIZE = """
int32_t tvmgen_t___tvm_main__(int8_t* x, int32_t n) {
  void* sid_1 = TVMBackendAllocWorkspace(1, 0, (uint64_t)n, 0, 8);
  if (sid_1 == NULL) {
    return -1;
  }
  return 0;
}
"""


@pytest.mark.parametrize(
    ("body", "where", "reason"),
    [
        (BAD_SIZE, "t_lib1.c:8:", "is not a constant"),
        (
            "int32_t f(void) {\n  void* p = TVMBackendAllocWorkspace(1, 0, (uint64_t)8, 0, 8);\n"
            "  return 1 +;\n}\n",
            "t_lib1.c:8:",
            "cannot parse C",
        ),
    ],
    ids=["size-not-constant", "unparsable"],
)
def test_bad_input_one_message_exit_1_nothing_touched(project, capsys, body, where, reason):
    root = project(body)
    before = snapshot(root)
    assert main(["rewrite", str(root)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and where in err[0] and reason in err[0]
    assert snapshot(root) == before


def test_missing_input(tmp_path, capsys):
    assert main(["rewrite", str(tmp_path / "nope")]) == 1
    assert "no such file or directory" in capsys.readouterr().err


def test_interrupted_write_is_repaired_and_said(kws, capsys):
    (kws / ".crewrite-backup").mkdir()
    assert main(["rewrite", str(kws)]) == 0
    assert "interrupted" in capsys.readouterr().out
    assert not (kws / ".crewrite-backup").exists()


def test_partly_rewritten_project_is_refused(kws, capsys):
    lib0 = kws / "model" / "codegen" / "host" / "src" / "default_lib0.c"
    lib0.write_text("/* crewrite: rewritten */\n" + lib0.read_text())
    before = snapshot(kws)
    assert main(["rewrite", str(kws)]) == 1
    assert "partly rewritten" in capsys.readouterr().err
    assert snapshot(kws) == before


@pytest.mark.e2e
def test_verbose_lists_every_live_range_with_offset_and_windows(kws, capsys):
    assert main(["rewrite", str(kws), "--dry-run", "-v"]) == 0
    out = capsys.readouterr().out
    assert "peak at " in out
    table = [line for line in out.splitlines() if "[model/codegen/host/src/" in line]
    assert len(table) == 34  # every live range of the bundled example
    assert any("sid_2#1" in line for line in table)


@pytest.mark.e2e
def test_pre_commit_hook_entry_is_idempotent(kws):
    hook = (Path(__file__).resolve().parent.parent / ".pre-commit-hooks.yaml").read_text()
    entry = re.search(r"entry: crewrite (.*)", hook).group(1).split()
    assert main([*entry, str(kws)]) == 0
    after = snapshot(kws)
    assert main([*entry, str(kws)]) == 0
    assert snapshot(kws) == after


def test_unwritable_report_path_is_refused_before_anything_is_written(kws, tmp_path, capsys):
    before = snapshot(kws)
    (tmp_path / "plain").write_text("a file, not a folder")
    for bad in (tmp_path / "plain" / "r.json", tmp_path):
        assert main(["rewrite", str(kws), "--report-json", str(bad)]) == 1
        assert "cannot write the report" in capsys.readouterr().err
    assert snapshot(kws) == before


@pytest.mark.e2e
def test_readme_first_command_works_from_a_fresh_checkout(tmp_path, monkeypatch):
    """The README's main command, run where `out/` does not exist yet."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    command = re.search(
        r"&& (\.venv/bin/crewrite rewrite fixtures/kws_native [^\n]*)", readme
    ).group(1)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fixtures").symlink_to(FIXTURES)
    assert main(command.split()[1:]) == 0
    report = json.loads((tmp_path / "out" / "kws_native.json").read_text())
    assert report["saved_bytes"] > 0
    assert (tmp_path / "out" / "kws_native" / "CMakeLists.txt").is_file()


@pytest.mark.e2e
def test_out_onto_a_file_and_bad_flags_are_one_line_errors(kws, tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["rewrite", str(kws), "--out", str(target)]) == 1
    assert main(["rewrite", str(kws), "--time-limit", "-1"]) == 2
    assert main(["rewrite", str(kws), "--section", 'a"b']) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("crewrite: ") for line in err)
    with pytest.raises(SystemExit) as done:
        main(["rewrite", str(kws), "--planner", "nope"])
    assert done.value.code == 2


def test_errors_name_files_as_the_user_gave_them(project, capsys, tmp_path):
    root = project(BAD_SIZE)
    assert main(["rewrite", str(root)]) == 1
    assert f"{root}/model/codegen/host/src/t_lib1.c:8:" in capsys.readouterr().err
    archive = tmp_path / "m.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(root / "model", arcname=".")
    assert main(["rewrite", str(archive)]) == 1
    assert f"{archive}:codegen/host/src/t_lib1.c:8:" in capsys.readouterr().err


@pytest.mark.e2e
def test_section_coarse_liveness_and_poison_build_through_the_cli(kws, tmp_path):
    out = tmp_path / "out"
    assert (
        main(
            [
                "rewrite",
                str(kws),
                "--out",
                str(out),
                "--section",
                ".sram2.crewrite",
                "--liveness",
                "coarse",
                "--poison-dead",
                "-q",
            ]
        )
        == 0
    )
    lib1 = (out / "model/codegen/host/src/default_lib1.c").read_text()
    assert 'section(".sram2.crewrite")' in lib1 and "crewrite_step_" in lib1


@pytest.mark.e2e
def test_c_files_out_copies_only_those_files(kws, tmp_path):
    src = kws / "model" / "codegen" / "host" / "src"
    out = tmp_path / "only"
    assert (
        main(
            [
                "rewrite",
                str(src / "default_lib0.c"),
                str(src / "default_lib1.c"),
                "--out",
                str(out),
                "-q",
            ]
        )
        == 0
    )
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == [
        "default_lib0.c",
        "default_lib1.c",
    ]
    assert "crewrite_arena" in (out / "default_lib1.c").read_text()


@pytest.mark.e2e
def test_svg_on_rewrite_and_explain_and_the_old_flag_name(kws, tmp_path):
    pictures = [tmp_path / "rewrite.svg", tmp_path / "explain.svg", tmp_path / "old.svg"]
    assert main(["rewrite", str(kws), "--dry-run", "--svg", str(pictures[0]), "-q"]) == 0
    assert main(["explain", str(kws), "--svg", str(pictures[1])]) == 0
    assert main(["rewrite", str(kws), "--dry-run", "--report-svg", str(pictures[2]), "-q"]) == 0
    texts = [p.read_text() for p in pictures]
    assert texts[0] == texts[1] == texts[2]
    root = ElementTree.fromstring(texts[0])
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "arena 102.4 KB = lower bound" in texts[0]


ALIGNED = """
static const int8_t __attribute__((section(".rodata.tvm"), aligned(64))) w[4] = {1, 2, 3, 4};
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x, int8_t* y) {
  void* a = TVMBackendAllocWorkspace(1, 0, (uint64_t)20, 0, 8);
  void* b = TVMBackendAllocWorkspace(1, 0, (uint64_t)20, 0, 8);
  for (int32_t i = 0; i < 20; ++i) { ((int8_t*)a)[i] = x[i] + w[i & 3]; }
  for (int32_t i = 0; i < 20; ++i) { ((int8_t*)b)[i] = ((int8_t*)a)[i]; }
  for (int32_t i = 0; i < 20; ++i) { y[i] = ((int8_t*)b)[i] + ((int8_t*)a)[i]; }
  return 0;
}
"""


def test_arena_takes_the_largest_alignment_offsets_the_allocators(project, tmp_path):
    root = project(ALIGNED)
    report = tmp_path / "r.json"
    assert main(["rewrite", str(root), "--dry-run", "--report-json", str(report), "-q"]) == 0
    (data,) = json.loads(report.read_text())["modules"]
    assert data["alignment"] == 16 and data["arena_bytes"] == 64  # two 20 B buffers -> 2 x 32
    assert sorted(b["offset"] for b in data["buffers"]) == [0, 32]
    out = tmp_path / "out"
    assert main(["rewrite", str(root), "--out", str(out), "-q"]) == 0
    assert "aligned(64)" in (out / "model/codegen/host/src/t_lib1.c").read_text()
    (root / "crt_config").mkdir()
    (root / "crt_config" / "crt_config.h").write_text(
        "#define TVM_RUNTIME_ALLOC_ALIGNMENT_BYTES 64\n"
    )
    assert main(["rewrite", str(root), "--dry-run", "--report-json", str(report), "-q"]) == 0
    (data,) = json.loads(report.read_text())["modules"]
    assert data["alignment"] == 64 and sorted(b["offset"] for b in data["buffers"]) == [0, 64]
