"""crewrite: rewrite microTVM generated C so every workspace buffer lives in one static arena.

The pure core is `crewrite.pipeline.rewrite_project` (texts in, texts out); `crewrite.api.rewrite`
adds reading and writing, and the CLI (`crewrite.cli`) and the pre-commit hook wrap that.
"""

__version__ = "0.1.0"
