"""Fixtures shared by the test modules; the helpers behind them live in tests/helpers/."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from helpers.projects import make_project


@pytest.fixture
def project(tmp_path: Path) -> Callable[..., Path]:
    """Build a one-module generated project from a lib1 body: `project(body, **options)`."""

    def build(body: str, **kwargs: Any) -> Path:
        return make_project(tmp_path / "proj", body, **kwargs)

    return build
