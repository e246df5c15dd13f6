"""The exact text crewrite writes for the bundled example (fixtures/kws_native): every
rewritten file as a unified diff against the fixture, kept in tests/golden/, so that every
change to the output shows in review.

After a deliberate change to the output, regenerate and read what changed:

    CREWRITE_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/golden_test.py
    git diff tests/golden/
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from crewrite.pipeline import rewrite_project
from crewrite.project import load_project

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("CREWRITE_UPDATE_GOLDEN") == "1"


def rewrite_diff(name: str) -> str:
    """`diff -u` of every file the rewrite changes, original first, in path order."""
    project = load_project([FIXTURES / name])
    try:
        result = rewrite_project(project)
        lines: list[str] = []
        for rel in sorted(result.new_texts):
            lines += difflib.unified_diff(
                project.texts[rel].splitlines(keepends=True),
                result.new_texts[rel].splitlines(keepends=True),
                f"a/{rel}",
                f"b/{rel}",
            )
    finally:
        project.close()
    # A last line without a newline gets diff's marker, so the diff stays a valid patch.
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


def test_bundled_example_output_is_the_golden_one():
    golden = GOLDEN / "kws_native.diff"
    diff = rewrite_diff("kws_native")
    if UPDATE:
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(diff)
    assert diff == golden.read_text(), (
        "the rewritten C changed; if that is meant, regenerate with CREWRITE_UPDATE_GOLDEN=1 "
        "(see this module's docstring) and review the diff of tests/golden/"
    )
