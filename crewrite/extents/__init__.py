"""Which bytes of a buffer can each statement touch, and which does it always write.

For every function defined in the sources and every top-level statement of its body, and for
every *base* (a pointer parameter, a workspace buffer from `TVMBackendAllocWorkspace`, or a
slice `void* s = &pool[C];` of a pointer parameter, as USMP writes them), three
byte ranges relative to the base:

- MAY-READ and MAY-WRITE: a `Span` holding every byte an execution of the statement can read
  or write through a pointer derived from the base (callees included). `None`: not touched;
  an end `None`: no bound could be proven (with a reason in `FunctionExtents.unbounded`).
- MUST-WRITE: byte runs that every execution of the statement writes when it completes
  normally. A `return` of a nonzero constant (TVM's `return -1` after a failed allocation or
  a failed operator) is an error exit, not a normal completion: the inference has failed,
  and no later reader runs.

Lattice and soundness, in brief. Integers are affine forms over one counter per loop plus an
interval (`values.Affine`); every operation over-approximates the set of C values, and loses
the form (not the bound) where it cannot keep it: a quotient or remainder that is no affine
form becomes a variable of its own, with its interval as range. Pointers map bases to such
byte offsets; a pointer the analysis cannot follow (loaded from memory, a global) points at no
base, which is sound because a base can only be reached that way after it *escaped* (stored in
memory or a global, returned, handed to an unknown function): from then on every statement
that reaches memory through untracked pointers or calls is unbounded for that base. A
may-range is the hull of every access's offset interval widened by its element size, so it
contains every byte touched. A must-write is proven only for a store (or a callee's or a
library's must-write) on a path that always runs: no branch the counter ranges leave
undecided, loops whose trip count is an exact constant with no `break`, `continue`, `goto` or
normal `return` in them, a callee whose failure the caller checks; its offset must be exact,
and the bytes written over all iterations count only as far as they stay contiguous
(`values.covered`). Anything else gives an empty must-write, which is always sound.
Interprocedurally, a callee is analysed with the constant (or interval) values of its integer
arguments, and its per-parameter extents are shifted by the argument's offset over every value
that offset takes in the caller's loops. README.md in this folder says more, with the shapes
handled, where the analysis gives up, and how liveness is to use it.

Use `analyse(units)`; `FunctionExtents` carries per-statement extents, the per-parameter
summary a caller needs, and `touched(base)` (the hull of every byte the function touches,
used to size USMP slices).
"""

from __future__ import annotations

from crewrite.extents.interp import analyse
from crewrite.extents.records import (
    Base,
    Extent,
    FunctionExtents,
    StatementExtents,
    Unbounded,
)
from crewrite.extents.values import Runs, Span

__all__ = [
    "Base",
    "Extent",
    "FunctionExtents",
    "Runs",
    "Span",
    "StatementExtents",
    "Unbounded",
    "analyse",
]
