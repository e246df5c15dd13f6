"""The user's flow: `crewrite explain`, the modes CI and hooks expect (--check, --diff, exit
0 when there is nothing to do), compressed archives, the Python API, --help examples that
run, and the progress line. The README's snippets are checked in readme_test.py."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import tarfile
from pathlib import Path

import pytest

import crewrite
from crewrite import progress
from crewrite.cli import EXPLAIN_EPILOG, build_parser, main
from crewrite.packing import Buffer, Problem
from helpers.cases import STATIC
from helpers.projects import snapshot

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
INSTANCE = ROOT / "docs" / "kws_native_instance.json"


# explain


def test_explain_answers_why_with_both_peaks_and_the_top_operators(capsys):
    assert main(["explain", str(FIXTURES / "kws_native"), "--ram", "320K"]) == 0
    out = capsys.readouterr().out
    assert "workspace as written    126,432 B  (TVMGEN_DEFAULT_WORKSPACE_SIZE)" in out
    assert "saved                    24,000 B  (19.0 %; 7.3 % of 327,680 B of RAM)" in out
    # The stack allocator's peak: the three sids held throughout, an operator's scratch on top.
    why = out.split("Why 126,432 B")[1].split("crewrite's arena peaks")[0]
    assert "holding 6 buffers" in why
    assert "48,000 B  conv (int32): scratch of nn_conv2d_add_cast..cast_clip_1" in why
    assert "stacked on the 78,432 B held below it" in why
    assert why.count("across all 14 operator calls") == 3
    assert "sid_3 (int8)" in why and "are used in 3 of them" in why
    # crewrite's peak, and what would have to shrink.
    arena = out.split("crewrite's arena peaks at 102,432 B")[1]
    assert "with 4 buffers live" in arena and "sid_2#1 (int8)" in arena
    assert "4.0x the 12,000 B tensor the operator writes, `sid_3`" in " ".join(arena.split())
    assert "66,144 B  nn_conv2d_add_cast..cast_clip (4 calls): DepthwiseConv2d 48,000" in arena


def test_explain_json_keys_are_the_documented_ones(capsys):
    assert main(["explain", str(FIXTURES / "two_modules"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    documented = EXPLAIN_EPILOG.split("--json keys (stable):")[1].split("exit codes")[0]
    keys = set(re.findall(r"\b([a-z][a-z_]+)\b", documented))
    assert set(data) <= keys and set(data["modules"][0]) <= keys
    module = data["modules"][0]
    for part in (module["original_peak"], module["arena_peak"], module["top_operators"][0]):
        assert set(part) <= keys
    assert set(module["original_peak"]["buffers"][0]) <= keys
    assert set(module["top_operators"][0]["buffers"][0]) <= keys
    assert data["saved_bytes"] == sum(m["saved_bytes"] for m in data["modules"]) > 0
    assert [m["module"] for m in data["modules"]] == ["ad", "kws"]
    # The Python API returns the same fields.
    api = crewrite.explain(FIXTURES / "two_modules").to_json()
    assert json.loads(json.dumps(api)) == data


def test_explain_graph_executor_usmp_and_nothing_to_explain(capsys, tmp_path, project):
    assert main(["explain", str(FIXTURES / "graph_tvm08")]) == 0
    out = capsys.readouterr().out
    assert "peak as written (no module header)" in out and "Operators with the most" in out
    picture = tmp_path / "usmp.svg"
    assert main(["explain", str(FIXTURES / "usmp_static"), "--svg", str(picture)]) == 0
    out = capsys.readouterr().out
    assert "USMP pool global_workspace: 20 slices" in out and "planned statically by USMP" in out
    assert "packing USMP's own lifetimes saves" in out
    assert "in the pool as USMP planned it" in picture.read_text()
    root = project(STATIC)
    assert main(["explain", str(root), "--svg", str(picture)]) == 0
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("crewrite: ") and "nothing to rewrite" in err
    assert "nothing to draw: no TVMBackendAllocWorkspace call" in picture.read_text()


def test_original_peak_is_the_stack_allocators_and_arena_peak_the_bound():
    e = crewrite.explain(FIXTURES / "vww_big")
    (m,) = e.modules
    assert m.original_peak.bytes == m.as_written_peak_bytes
    rounded = sum(-(-b.bytes // 16) * 16 for b in m.original_peak.buffers)
    assert rounded == m.original_peak.bytes  # what it lists is exactly what is held there
    assert sum(-(-b.bytes // 16) * 16 for b in m.arena_peak.buffers) == m.lower_bound_bytes
    tops = [o.scratch_bytes for o in m.top_operators]
    assert tops == sorted(tops, reverse=True) and len(tops) == 5


# modes and exit codes


@pytest.mark.e2e
def test_check_names_each_file_and_writes_nothing_then_passes(kws, capsys):
    before = snapshot(kws)
    assert main(["rewrite", str(kws), "--check"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.splitlines() == [
        f"crewrite: would rewrite {kws}/{rel}"
        for rel in (
            "CMakeLists.txt",
            "model/codegen/host/include/tvmgen_default.h",
            "model/codegen/host/src/default_lib1.c",
            "model/metadata.json",
        )
    ]
    assert snapshot(kws) == before
    assert main(["rewrite", str(kws), "--check", "-q"]) == 1
    assert capsys.readouterr() == ("", "")
    assert main(["rewrite", str(kws), "-q"]) == 0
    assert main(["rewrite", str(kws), "--check"]) == 0


@pytest.mark.e2e
def test_diff_is_a_patch_that_makes_the_rewrite(kws, tmp_path, capsys):
    before = snapshot(kws)
    assert main(["rewrite", str(kws), "--diff"]) == 0
    diff = capsys.readouterr().out
    assert snapshot(kws) == before
    assert main(["rewrite", str(kws), "--diff", "--check", "-q"]) == 1
    assert capsys.readouterr().out == diff
    out = tmp_path / "out"
    assert main(["rewrite", str(kws), "--out", str(out), "-q"]) == 0
    # Applied from / (the diff names the files as given: absolute here), it makes the rewrite.
    patched = subprocess.run(
        ["patch", "-p0", "-s", "-d", "/"], input=diff, text=True, capture_output=True
    )
    assert patched.returncode == 0, patched.stderr
    assert snapshot(kws) == snapshot(out)


@pytest.mark.e2e
@pytest.mark.parametrize("name", ["model.tar.gz", "model.tgz"])
def test_compressed_archive_in_place_stays_compressed(kws, tmp_path, capsys, name):
    archive = tmp_path / name
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(kws / "model", arcname=".")
    out = tmp_path / "mlf"
    assert main(["rewrite", str(archive), "--out", str(out), "-q"]) == 0
    assert "crewrite_arena" in (out / "codegen/host/src/default_lib1.c").read_text()
    assert main(["rewrite", str(archive), "--check"]) == 1
    assert f"crewrite: would rewrite {archive}:codegen/host/src/default_lib1.c" in (
        capsys.readouterr().err
    )
    assert main(["rewrite", str(archive), "-q"]) == 0
    assert archive.read_bytes()[:2] == b"\x1f\x8b"  # still gzip
    with tarfile.open(archive, "r:gz") as tar:
        text = tar.extractfile("./codegen/host/src/default_lib1.c").read().decode()
    assert text == (out / "codegen/host/src/default_lib1.c").read_text()
    assert main(["rewrite", str(archive)]) == 0
    assert "already rewritten" in capsys.readouterr().err


def test_bad_command_lines_are_one_crewrite_line_and_exit_2(kws, capsys):
    for argv in (
        ["rewrite", str(kws), "-q", "-v"],
        ["rewrite", str(kws), "--planner", "nope"],
        ["explain", str(kws), "--ram", "lots"],
        ["frobnicate"],
    ):
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert done.value.code == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("crewrite: ") and len(err.splitlines()) == 1, err
    assert main(["explain", str(kws), "--time-limit", "0"]) == 2  # checked by crewrite
    assert capsys.readouterr().err.startswith("crewrite: --time-limit must be a positive")


# the Python API


def test_python_api_check_then_rewrite_then_nothing_to_do(kws):
    before = snapshot(kws)
    report = crewrite.rewrite(kws, check=True)
    assert isinstance(report, crewrite.Report) and report.status == "rewritten"
    assert not report.written and len(report.changed_files) == 4
    assert snapshot(kws) == before
    report = crewrite.rewrite(str(kws))
    assert report.written and report.saved_bytes == 24000
    assert report.modules[0].arena_bytes == report.modules[0].lower_bound_bytes == 102432
    again = crewrite.rewrite(kws)
    assert again.status == "already-rewritten" and not again.written
    assert again.changed_files == () and "already rewritten" in again.notes[0]
    copy = kws.parent / "copy"
    again = crewrite.rewrite(kws, copy)  # nothing to do, but the copy asked for is made
    assert again.status == "already-rewritten" and again.written
    assert snapshot(copy) == snapshot(kws)


def test_python_api_report_has_the_fields_of_report_json(kws, tmp_path):
    report = tmp_path / "r.json"
    assert main(["rewrite", str(kws), "--dry-run", "--report-json", str(report), "-q"]) == 0
    data = json.loads(report.read_text())
    api = crewrite.rewrite(kws, check=True).to_json()
    api = json.loads(json.dumps(api))  # tuples as lists
    assert list(api) == list(data)
    assert dict(api, seconds=0) == dict(data, seconds=0)


def test_python_api_bad_input_raises_with_file_line_reason(kws):
    lib1 = kws / "model/codegen/host/src/default_lib1.c"
    text = lib1.read_text()
    lib1.write_text(text.replace("(uint64_t)48000", "(uint64_t)n_elems", 1))
    with pytest.raises(crewrite.CrewriteError) as error:
        crewrite.rewrite(kws)
    assert error.value.file == f"{kws}/model/codegen/host/src/default_lib1.c"
    assert error.value.line == 3324 and "constant" in error.value.reason
    assert lib1.read_text() != text  # untouched: still our edit, not a rewrite
    with pytest.raises(crewrite.CrewriteError):
        crewrite.explain(kws)


# help and progress


def help_text(*argv: str) -> str:
    parser = build_parser()
    if not argv:
        return parser.format_help()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sub.choices[argv[0]].format_help()


@pytest.mark.parametrize("command", ["", "rewrite", "explain", "verify", "pack"])
def test_every_help_ends_with_real_examples(command):
    text = help_text(*([command] if command else []))
    tail = text.rstrip().split("examples")[-1].splitlines()[1:]
    assert 2 <= len(tail) <= 3
    assert all(line.strip().startswith("crewrite ") for line in tail)


def pack_instance() -> dict:
    """The bundled example's live ranges as a `crewrite pack` instance."""
    from crewrite.pipeline import rewrite_project
    from crewrite.project import load_project

    project = load_project([FIXTURES / "kws_native"])
    try:
        (m,) = rewrite_project(project).modules
    finally:
        project.close()
    problem = Problem(
        tuple(Buffer(b.id, b.site.size, b.windows) for b in m.liveness.buffers), 16, "kws_native"
    )
    return {
        "name": problem.name,
        "alignment": problem.alignment,
        "buffers": [
            {"id": b.id, "size": b.size, "windows": [list(w) for w in b.windows]}
            for b in problem.buffers
        ],
    }


def test_pack_examples_run_on_the_bundled_instance(capsys, monkeypatch):
    if os.environ.get("CREWRITE_UPDATE_DOCS") == "1":
        INSTANCE.write_text(json.dumps(pack_instance(), indent=1) + "\n")
    assert json.loads(INSTANCE.read_text()) == pack_instance()
    monkeypatch.chdir(ROOT)
    examples = help_text("pack").rstrip().split("examples")[-1].splitlines()[1:]
    for line in examples:
        argv = line.split("#")[0].split()[1:]
        assert main(argv) == 0, line
    assert "102,432" in capsys.readouterr().out


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_only_on_a_terminal_after_the_delay():
    screen = _Terminal()
    with progress.shown_on(screen, delay=0.0, every=0.01):
        progress.stage("parsing", "default_lib1.c")
        import time

        time.sleep(0.1)
    assert "\r\x1b[Kcrewrite: parsing default_lib1.c" in screen.getvalue()
    assert screen.getvalue().endswith("\r\x1b[K")  # erased at the end
    quick = _Terminal()
    with progress.shown_on(quick, delay=5.0):
        progress.stage("parsing", "x.c")
    assert quick.getvalue() == ""  # done before the delay: nothing shown
    piped = io.StringIO()
    with progress.shown_on(piped, delay=0.0):
        progress.stage("parsing", "x.c")
    assert piped.getvalue() == ""
