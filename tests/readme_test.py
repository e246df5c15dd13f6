"""The README's snippets are true: the `explain` output is a real run's, the picture is the
one `--svg` draws, the Python lines run as written (against a stand-in for TVM's project API,
whose `build()` checks that no workspace call is left), and the pre-commit snippet names the
hooks this repository defines (tests/pre_commit_test.py runs them from another repository)."""

from __future__ import annotations

import re
import shutil
import tarfile
from pathlib import Path
from types import SimpleNamespace

import yaml

import crewrite
from crewrite.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
FIXTURES = ROOT / "fixtures"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.DOTALL)


def test_explain_output_is_pasted_from_a_run(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    command = "crewrite explain fixtures/kws_native"
    assert f"`{command}` prints:" in README
    assert main(command.split()[1:]) == 0
    printed = capsys.readouterr().out
    assert f"```\n{printed}```" in README  # a fenced block of its own, word for word


def test_picture_is_the_one_svg_draws(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    command = re.search(r"`(crewrite explain fixtures/kws_native --svg kws.svg)`", README)
    argv = command.group(1).split()[1:]
    argv[-1] = str(tmp_path / "kws.svg")
    assert main(argv) == 0
    assert (tmp_path / "kws.svg").read_text() == (ROOT / "docs" / "kws_native.svg").read_text()
    assert "](docs/kws_native.png)" in README and (ROOT / "docs" / "kws_native.png").is_file()


class FakeProject:
    """What microTVM's GeneratedProject offers the snippet: build() and flash()."""

    def __init__(self, project_dir: Path):
        self.project_dir = project_dir
        self.built = False

    def build(self) -> None:
        for source in self.project_dir.rglob("*.c"):
            assert "TVMBackendAllocWorkspace(" not in source.read_text(), "built unrewritten"
        self.built = True

    def flash(self) -> None:
        assert self.built


def test_python_lines_after_generate_project_run_as_written(tmp_path, capsys):
    snippet = next(b for b in blocks("python") if "generate_project" in b)
    project_dir = tmp_path / "project"
    made: list[FakeProject] = []

    def generate_project(template_dir, module, project_dir, options):
        shutil.copytree(FIXTURES / "kws_native", project_dir)
        made.append(FakeProject(Path(project_dir)))
        return made[0]

    tvm = SimpleNamespace(micro=SimpleNamespace(generate_project=generate_project))
    scope = {"tvm": tvm, "crewrite": crewrite, "template_dir": None, "module": None}
    scope.update(project_dir=project_dir, options={})
    exec(snippet, scope)
    assert made[0].built
    report = scope["report"]
    assert report.written and report.saved_bytes == 24000
    assert "Why 126,432 B" in capsys.readouterr().out


def test_python_lines_after_export_model_library_format_run_as_written(tmp_path, monkeypatch):
    snippet = next(b for b in blocks("python") if "export_model_library_format" in b)
    monkeypatch.chdir(tmp_path)

    def export_model_library_format(module, path):
        with tarfile.open(path, "w") as tar:
            tar.add(FIXTURES / "kws_native" / "model", arcname=".")

    tvm = SimpleNamespace(
        micro=SimpleNamespace(export_model_library_format=export_model_library_format)
    )
    exec(snippet, {"tvm": tvm, "crewrite": crewrite, "module": None})
    with tarfile.open(tmp_path / "model.tar") as tar:
        text = tar.extractfile("./codegen/host/src/default_lib1.c").read().decode()
    assert "TVMBackendAllocWorkspace(" not in text and "crewrite_arena" in text


def test_pre_commit_snippet_names_the_hooks_defined_here():
    config = yaml.safe_load(next(b for b in blocks("yaml") if "repos:" in b))
    defined = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    (repo,) = config["repos"]
    for hook in repo["hooks"]:
        assert hook["id"] in defined
        assert defined[hook["id"]]["pass_filenames"] is False  # the folder comes from args
    assert "crewrite-check" in README and "crewrite-check" in defined
