"""The results cache (crewrite.cache): a run over inputs seen before is answered without
running the pipeline, and anything the result depends on makes it run again; an entry that
cannot be read is ignored and replaced."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from crewrite import api, cache
from crewrite.pipeline import Options, Result

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "vww_kernels"


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The cache on, in a fresh folder; the list of projects the pipeline really ran on."""
    monkeypatch.delenv(cache.NO_CACHE_ENV, raising=False)
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(tmp_path / "cache"))
    ran: list[str] = []
    real = api.rewrite_project

    def counted(project, options=None):  # type: ignore[no-untyped-def]
        ran.append(str(project.root))
        return real(project, options or Options())

    monkeypatch.setattr(api, "rewrite_project", counted)
    return ran


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "project"
    shutil.copytree(FIXTURE, target)
    return target


def _same(a: Result, b: Result) -> None:
    assert a.new_texts == b.new_texts
    assert a.notes == b.notes
    assert [m.plan.offsets for m in a.modules] == [m.plan.offsets for m in b.modules]
    assert [m.arena_bytes for m in a.modules] == [m.arena_bytes for m in b.modules]


def test_second_run_is_answered_from_the_cache(tmp_path: Path, runs: list[str]) -> None:
    project = _copy(tmp_path)
    first = api.run(project, write=False, cache=True)
    second = api.run(project, write=False, cache=True)
    assert len(runs) == 1
    _same(first, second)
    assert second.project.root == first.project.root


def test_what_the_result_depends_on_runs_again(tmp_path: Path, runs: list[str]) -> None:
    project = _copy(tmp_path)
    api.run(project, write=False, cache=True)
    api.run(project, write=False, cache=True, options=Options(planner="greedy-size"))
    assert len(runs) == 2
    source = next((project / "model").rglob("*_lib1.c"))
    source.write_text(source.read_text() + "\n/* one more line */\n")
    changed = api.run(project, write=False, cache=True)
    assert len(runs) == 3
    (rel,) = [rel for rel in changed.new_texts if rel.endswith(source.name)]
    assert "/* one more line */" in changed.new_texts[rel]


def test_an_unreadable_entry_is_ignored_and_replaced(tmp_path: Path, runs: list[str]) -> None:
    project = _copy(tmp_path)
    first = api.run(project, write=False, cache=True)
    entries = list((tmp_path / "cache" / "results").rglob("*.pickle"))
    assert len(entries) == 1
    entries[0].write_bytes(b"\x80\x05truncated")
    again = api.run(project, write=False, cache=True)
    assert len(runs) == 2
    _same(first, again)
    api.run(project, write=False, cache=True)
    assert len(runs) == 2  # the entry was written anew
    shutil.rmtree(tmp_path / "cache")  # safe to delete
    _same(first, api.run(project, write=False, cache=True))
    assert len(runs) == 3


def test_off_without_asking_or_when_told(tmp_path: Path, runs: list[str], monkeypatch) -> None:
    project = _copy(tmp_path)
    api.run(project, write=False)
    api.run(project, write=False)
    monkeypatch.setenv(cache.NO_CACHE_ENV, "1")
    api.run(project, write=False, cache=True)
    api.run(project, write=False, cache=True)
    assert len(runs) == 4
    assert not (tmp_path / "cache").exists()


def test_a_second_check_from_the_command_line_is_answered_from_the_cache(
    tmp_path: Path, runs: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from crewrite.cli import main

    project = _copy(tmp_path)
    assert main(["rewrite", str(project), "--check"]) == 1
    first = capsys.readouterr()
    assert main(["rewrite", str(project), "--check"]) == 1
    assert capsys.readouterr() == first
    assert len(runs) == 1


def test_a_header_beside_the_source_is_part_of_the_key(tmp_path: Path, runs: list[str]) -> None:
    """pcpp finds `#include "x.h"` in the including source's own folder, which need not be an
    include folder: a change there must not be answered by the result of the old header."""
    project = _copy(tmp_path)
    source = next((project / "model").rglob("*_lib1.c"))
    (source.parent / "sizes.h").write_text("#define EXTRA 1\n")
    source.write_text('#include "sizes.h"\n' + source.read_text())
    api.run(project, write=False, cache=True)
    (source.parent / "sizes.h").write_text("#define EXTRA 2\n")
    api.run(project, write=False, cache=True)
    assert len(runs) == 2


def test_a_header_read_from_outside_every_hashed_folder_is_checked(
    tmp_path: Path, runs: list[str]
) -> None:
    """`#include "../../../../common/sizes.h"` reaches a header in no include folder and in no
    source's folder: the entry keeps what the run read, and a change there is no hit; the
    unchanged header still is."""
    project = _copy(tmp_path)
    source = next((project / "model").rglob("*_lib1.c"))
    common = tmp_path / "common"
    common.mkdir()
    (common / "sizes.h").write_text("#define EXTRA 1\n")
    outside = os.path.relpath(common / "sizes.h", source.parent)
    source.write_text(f'#include "{outside}"\n' + source.read_text())
    api.run(project, write=False, cache=True)
    api.run(project, write=False, cache=True)
    assert len(runs) == 1
    (common / "sizes.h").write_text("#define EXTRA 2\n")
    api.run(project, write=False, cache=True)
    assert len(runs) == 2
    (common / "sizes.h").unlink()  # a header gone is a change too
    api.run(project, write=False, cache=True)
    assert len(runs) == 3


def test_the_projects_alloc_alignment_is_part_of_the_key(tmp_path: Path, runs: list[str]) -> None:
    """crt_config.h's alignment shapes the plan, and it need not lie in an include folder."""
    project = _copy(tmp_path)
    config = project / "app" / "crt_config.h"
    config.parent.mkdir()
    config.write_text("#define TVM_RUNTIME_ALLOC_ALIGNMENT_BYTES 16\n")
    api.run(project, write=False, cache=True)
    config.write_text("#define TVM_RUNTIME_ALLOC_ALIGNMENT_BYTES 64\n")
    assert api.run(project, write=False, cache=True).project.alloc_alignment == 64
    assert len(runs) == 2


def test_an_archive_is_not_cached(tmp_path: Path, runs: list[str]) -> None:
    """An archive is read in a fresh temporary folder each run, named in the result's
    coordinates: an entry for it could never be found again, only pile up."""
    import tarfile

    archive = tmp_path / "model.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(FIXTURE / "model", arcname=".")
    first = api.run(archive, write=False, cache=True)
    _same(first, api.run(archive, write=False, cache=True))
    assert len(runs) == 2
    assert not list((tmp_path / "cache").rglob("*.pickle"))
