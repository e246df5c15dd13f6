"""The pre-commit hooks from another repository, as a user gets them: `pre-commit try-repo`
against this checkout (pre-commit builds its own environment with pip, from PyPI)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def try_repo(repo: Path, hook: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PRE_COMMIT_HOME=str(home), GIT_AUTHOR_NAME="t", GIT_COMMITTER_NAME="t")
    env.update(GIT_AUTHOR_EMAIL="t@example.org", GIT_COMMITTER_EMAIL="t@example.org")
    command = [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), hook, "--all-files"]
    return subprocess.run(command, cwd=repo, env=env, text=True, capture_output=True)


@pytest.mark.e2e  # pre-commit installs crewrite into a new environment: about a minute
def test_hook_rewrites_and_fails_once_then_passes(tmp_path):
    repo = tmp_path / "app"
    shutil.copytree(FIXTURES / "kws_native", repo / "kws_project")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    lib1 = repo / "kws_project/model/codegen/host/src/default_lib1.c"
    original = lib1.read_text()
    home = tmp_path / "pre-commit-home"

    check = try_repo(repo, "crewrite-check", home)
    assert check.returncode == 1, check.stdout + check.stderr
    assert "+#define TVMGEN_DEFAULT_WORKSPACE_SIZE 0" in check.stdout  # the diff, shown
    assert lib1.read_text() == original

    first = try_repo(repo, "crewrite", home)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "files were modified by this hook" in first.stdout
    assert "TVMBackendAllocWorkspace(" not in lib1.read_text()
    git(repo, "add", ".")

    second = try_repo(repo, "crewrite", home)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Passed" in second.stdout
    assert try_repo(repo, "crewrite-check", home).returncode == 0
