"""All or nothing, proven (issue 12): an in-place rewrite killed (SIGKILL, through the
fault-injection hook) at every step of its commit sequence leaves a project that the next
run makes wholly original or wholly rewritten, and both of those build and compute the same
(`crewrite verify`)."""

from __future__ import annotations

import os
import shutil
import signal
import tarfile
from pathlib import Path

import pytest

from crewrite import output
from crewrite.cli import main
from crewrite.verify import verify
from helpers import small_project
from helpers.projects import snapshot

BODY = """
static void tvmgen_t_scale(int8_t* a, int8_t* b) {
  for (int32_t i = 0; i < 64; ++i) { b[i] = (int8_t)(a[i] * 3 + 1); }
}
TVM_DLL int32_t tvmgen_t___tvm_main__(int8_t* x, int8_t* y) {
  void* sid_1 = TVMBackendAllocWorkspace(1, 0, (uint64_t)64, 0, 8);
  if (sid_1 == NULL) {
    return -1;
  }
  void* sid_2 = TVMBackendAllocWorkspace(1, 0, (uint64_t)64, 0, 8);
  if (sid_2 == NULL) {
    return -1;
  }
  tvmgen_t_scale(x, (int8_t*)sid_1);
  tvmgen_t_scale((int8_t*)sid_1, (int8_t*)sid_2);
  for (int32_t i = 0; i < 64; ++i) { y[i] = ((int8_t*)sid_2)[63 - i]; }
  if (TVMBackendFreeWorkspace(1, 0, sid_2) != 0) {
    return -1;
  }
  if (TVMBackendFreeWorkspace(1, 0, sid_1) != 0) {
    return -1;
  }
  return 0;
}
"""
METADATA = (
    '{"modules": {"t": {"executors": ["aot"], "memory": {"functions": {"main": '
    '[{"device": 1, "workspace_size_bytes": 128}]}}}}, "version": 7}\n'
)


def killed_at(step: int, argv: list[str]) -> bool:
    """Run crewrite in a child (forked: no import cost) that the hook kills at `step`; True
    if it was killed, False if it finished first."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 70
        try:
            os.environ[output.FAULT_ENV] = f"kill@{step}"
            output._steps_taken = 0
            os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
            os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
            code = main(argv)
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        assert os.WTERMSIG(status) == signal.SIGKILL
        return True
    assert os.WEXITSTATUS(status) == 0
    return False


def original_and_rewritten(tmp_path: Path) -> tuple[Path, Path]:
    project = small_project.runnable(tmp_path / "original", BODY)
    (project / "model" / "metadata.json").write_text(METADATA)
    return project, small_project.rewritten_copy(project, tmp_path / "reference")


@pytest.mark.e2e
def test_both_whole_states_build_and_compute_the_same(tmp_path):
    project, reference = original_and_rewritten(tmp_path)
    verdict = verify(project, reference, small_project.OPTIONS)
    assert verdict.ok, verdict.text()


@pytest.mark.e2e  # slow: 15 rewrites killed, each repaired and finished by two more runs
def test_killed_at_every_step_the_next_run_leaves_it_whole(tmp_path):
    project, reference = original_and_rewritten(tmp_path)
    original, rewritten = snapshot(project), snapshot(reference)
    changed = {rel for rel in original if original[rel] != rewritten[rel]}
    assert len(changed) == 4  # source, header, CMakeLists.txt, metadata.json

    step = 1
    while True:
        work = tmp_path / f"kill{step}"
        shutil.copytree(project, work)
        if not killed_at(step, ["rewrite", str(work)]):
            assert snapshot(work) == rewritten
            break
        # The next run that writes nothing already repairs: wholly one or the other.
        assert main(["rewrite", str(work), "--dry-run", "-q"]) in (0, 3)
        state = snapshot(work)
        assert state in (original, rewritten), f"killed at step {step}: a mixed project"
        # And the next ordinary run finishes the job.
        assert main(["rewrite", str(work), "-q", "--ok-if-rewritten"]) == 0
        assert snapshot(work) == rewritten, f"killed at step {step}"
        shutil.rmtree(work)
        step += 1
    # stage x4, back up x4, manifest, replace x4, clean-up: every step was a kill point.
    assert step == 15


@pytest.mark.e2e  # a rewrite killed, then finished
def test_killed_while_replacing_an_archive_leaves_the_old_one(tmp_path):
    project = small_project.runnable(tmp_path / "p", BODY)
    archive = tmp_path / "model.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(project / "model", arcname=".")
    before = archive.read_bytes()
    assert killed_at(1, ["rewrite", str(archive)])
    assert archive.read_bytes() == before
    assert main(["rewrite", str(archive), "-q"]) == 0
    assert not (tmp_path / ".model.tar.crewrite-tmp").exists()
    with tarfile.open(archive) as tar:
        text = tar.extractfile("./codegen/host/src/t_lib1.c").read().decode()
    assert "tvmgen_t_crewrite_arena" in text
