"""The one exception every stage raises for bad input: it always names a place and a reason."""

from __future__ import annotations

from pathlib import Path


class CrewriteError(Exception):
    """Bad input or an unsafe situation; the CLI prints `file:line: reason` and exits 1."""

    def __init__(self, reason: str, file: str | Path | None = None, line: int | None = None):
        self.reason = reason
        self.file = str(file) if file is not None else None
        self.line = line
        super().__init__(self.format())

    def format(self) -> str:
        if self.file is None:
            return self.reason
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.reason}"


class InternalError(CrewriteError):
    """A check of crewrite's own work failed: a bug to report, not bad input (exit 123)."""


class UsageError(CrewriteError):
    """A bad command line: an option value that cannot work (exit 2, like argparse)."""
