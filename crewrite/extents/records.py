"""Records the extent analysis hands forward (see the package docstring)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from crewrite.extents.values import Runs, Span


@dataclass(frozen=True)
class Base:
    """A pointer whose bytes are tracked. `kind` is "param", "workspace", "slice" or
    "inline"; a slice is `root + offset` (USMP's `void* sid_7_let =
    (&(global_workspace_1_var[9216]));`), an inline slice the same written where it is used
    (`op((&(global_workspace_1_var[9216])))`, named `global_workspace_1_var[9216]`), and what
    either touches is also reported on its root, shifted by the offset."""

    name: str
    kind: str
    line: int
    size: int | None = None  # workspace: the allocated bytes
    root: str | None = None
    offset: int = 0


@dataclass(frozen=True)
class Extent:
    """What a statement (or a whole function) does to one base."""

    reads: Span | None = None
    writes: Span | None = None
    must_write: Runs = ()

    @property
    def bounded(self) -> bool:
        return all(s is None or s.bounded for s in (self.reads, self.writes))

    @property
    def touched(self) -> Span | None:
        """Every byte read or written."""
        if self.reads is None:
            return self.writes
        return self.reads if self.writes is None else self.reads.join(self.writes)


@dataclass(frozen=True)
class Unbounded:
    """Why a base has no bound in a statement (line: of the access or call that lost it)."""

    base: str
    statement: int
    line: int
    reason: str


@dataclass(frozen=True)
class StatementExtents:
    index: int  # position in the function body's top-level statements
    line: int
    bases: Mapping[str, Extent]  # only the bases the statement touches


@dataclass(frozen=True)
class FunctionExtents:
    name: str  # identity as crewrite.extract names functions (`name@file` for a shadowed static)
    file: str
    line: int
    bases: Mapping[str, Base]
    statements: tuple[StatementExtents, ...]
    # Per pointer parameter: what a call does to the memory it hands over (must-write only
    # from statements that run on every normal completion).
    summary: Mapping[str, Extent]
    unbounded: tuple[Unbounded, ...]
    escapes: Mapping[str, str] = field(default_factory=dict)  # base -> why it escaped
    error_exits: bool = False  # has `return <nonzero constant>` paths

    def touched(self, base: str, statements: Iterable[int] | None = None) -> Span | None:
        """The hull of every byte of `base` the statements (indices; default: all) touch
        (None: none)."""
        out: Span | None = None
        chosen = self.statements if statements is None else [self.statements[i] for i in statements]
        for statement in chosen:
            extent = statement.bases.get(base)
            span = extent.touched if extent is not None else None
            if span is not None:
                out = span if out is None else out.join(span)
        return out

    def max_touched(self, base: str) -> int | None:
        """One past the highest byte of `base` touched: 0 if none, None if unbounded."""
        span = self.touched(base)
        return 0 if span is None else span.hi
