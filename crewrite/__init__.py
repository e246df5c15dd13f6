"""crewrite: rewrite microTVM generated C so every workspace buffer lives in one static arena.

The pure entry point is `crewrite.pipeline.rewrite_project`; the CLI (`crewrite.cli`) and the
hook wrap it.
"""

__version__ = "0.1.0"
