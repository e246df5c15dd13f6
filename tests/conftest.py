"""Fixtures shared by the test modules (the helpers behind them live in tests/helpers/), and
every fixture built once per session for the host."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from helpers.projects import make_project

# Tests see every run happen (some break a stage on purpose): no results kept across runs,
# here or in the CLI processes they start; cache_test.py turns it on where it is the subject.
os.environ["CREWRITE_NO_CACHE"] = "1"


@pytest.fixture
def project(tmp_path: Path) -> Callable[..., Path]:
    """Build a one-module generated project from a lib1 body: `project(body, **options)`."""

    def build(body: str, **kwargs: Any) -> Path:
        return make_project(tmp_path / "proj", body, **kwargs)

    return build


FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture
def kws(tmp_path: Path) -> Path:
    """A copy of the bundled example, to rewrite in place."""
    copy = tmp_path / "kws"
    shutil.copytree(FIXTURES / "kws_native", copy)
    return copy


class _Builds(dict):
    """Fixture name -> its `Original`, built on first use (a session builds only what its
    tests ask for)."""

    def __init__(self, out: Path):
        super().__init__()
        self.out = out

    def __missing__(self, name: str) -> Any:
        from crewrite.verify import VerifyOptions, build_original

        self[name] = build_original(FIXTURES / name, VerifyOptions(), self.out / name)
        return self[name]


@pytest.fixture(scope="session")
def original_builds(tmp_path_factory):
    """Every fixture as generated, built once per session with `crewrite verify`'s host
    build, for every test that runs or verifies against it."""
    return _Builds(tmp_path_factory.mktemp("original_builds"))
