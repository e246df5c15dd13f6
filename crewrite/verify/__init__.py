"""`crewrite verify`: every user proves a rewrite on their own machine before flashing it.

The layout proof re-reads the rewritten C (layout.py); the byte comparison builds both
projects with the host compiler and crewrite's host runtime (`crewrite/hostrt/`) and runs
them on seeded inputs (host.py, interface.py); `--sanitize` names out-of-bounds accesses
(sanitize.py); compare.py puts them together into a verdict.
"""

from crewrite.verify.compare import (
    Original,
    Verdict,
    VerifyOptions,
    build_original,
    build_project,
    verify,
    verify_rewrite,
)
from crewrite.verify.layout import LayoutProof, prove_layout

__all__ = [
    "LayoutProof",
    "Original",
    "Verdict",
    "VerifyOptions",
    "build_original",
    "build_project",
    "prove_layout",
    "verify",
    "verify_rewrite",
]
