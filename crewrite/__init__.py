"""crewrite: rewrite microTVM generated C so every workspace buffer lives in one static arena.

From Python, after the project is generated (before it is built):

    import crewrite
    report = crewrite.rewrite(project_dir)          # in place; check=True writes nothing
    print(crewrite.explain(project_dir).text())     # why the workspace is this large

The pure core is `crewrite.pipeline.rewrite_project` (texts in, texts out); `crewrite.api`
adds reading and writing, and the CLI (`crewrite.cli`) and the pre-commit hook wrap that.
The names below load on first use, so `import crewrite` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["CrewriteError", "Explanation", "Report", "explain", "rewrite"]

if TYPE_CHECKING:
    from crewrite.api import explain, rewrite
    from crewrite.errors import CrewriteError
    from crewrite.explanation import Explanation
    from crewrite.report import Report

_HOMES = {
    "rewrite": "crewrite.api",
    "explain": "crewrite.api",
    "CrewriteError": "crewrite.errors",
    "Explanation": "crewrite.explanation",
    "Report": "crewrite.report",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'crewrite' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_HOMES[name]), name)
