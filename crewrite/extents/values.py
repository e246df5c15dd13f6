"""The abstract values of the extent analysis: intervals, affine forms, pointers, byte runs.

An integer is an `Affine` form `sum(coef * var) + [lo, hi]` over symbolic variables (one per
loop: its iteration counter, with a range kept in the flow context). The form is exact when
its constant part is one number, and only then can it prove that a store covers bytes; any
operation the form cannot express (a product of two variables, a division that does not
divide every coefficient, a bitwise or) falls back to an interval of the whole value under
the current variable ranges. Every operation over-approximates the C result (wrapping
arithmetic aside: TVM index arithmetic does not overflow, and a cast that could wrap gives
the target type's whole range).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

Bound = int | None  # None: unbounded (below for `lo`, above for `hi`)


@dataclass(frozen=True)
class Interval:
    """Inclusive integer interval; `None` ends are infinite. Empty when lo > hi."""

    lo: Bound
    hi: Bound

    @staticmethod
    def exact(value: int) -> Interval:
        return Interval(value, value)

    @property
    def is_exact(self) -> bool:
        return self.lo is not None and self.lo == self.hi

    @property
    def bounded(self) -> bool:
        return self.lo is not None and self.hi is not None

    @property
    def empty(self) -> bool:
        return self.lo is not None and self.hi is not None and self.lo > self.hi

    def __add__(self, other: Interval) -> Interval:
        lo = None if self.lo is None or other.lo is None else self.lo + other.lo
        hi = None if self.hi is None or other.hi is None else self.hi + other.hi
        return Interval(lo, hi)

    def __neg__(self) -> Interval:
        return Interval(
            None if self.hi is None else -self.hi, None if self.lo is None else -self.lo
        )

    def scale(self, c: int) -> Interval:
        if c == 0:
            return Interval(0, 0)
        lo = None if self.lo is None else self.lo * c
        hi = None if self.hi is None else self.hi * c
        return Interval(lo, hi) if c > 0 else Interval(hi, lo)

    def __mul__(self, other: Interval) -> Interval:
        if self.lo is not None and self.lo == self.hi:
            return other.scale(self.lo)
        if other.lo is not None and other.lo == other.hi:
            return self.scale(other.lo)
        if self.lo is None or self.hi is None or other.lo is None or other.hi is None:
            return TOP_INTERVAL
        corners = [a * b for a in (self.lo, self.hi) for b in (other.lo, other.hi)]
        return Interval(min(corners), max(corners))

    def join(self, other: Interval) -> Interval:
        if self.empty:
            return other
        if other.empty:
            return self
        lo = None if self.lo is None or other.lo is None else min(self.lo, other.lo)
        hi = None if self.hi is None or other.hi is None else max(self.hi, other.hi)
        return Interval(lo, hi)

    def meet(self, other: Interval) -> Interval:
        lo = (
            self.lo if other.lo is None else other.lo if self.lo is None else max(self.lo, other.lo)
        )
        hi = (
            self.hi if other.hi is None else other.hi if self.hi is None else min(self.hi, other.hi)
        )
        return Interval(lo, hi)

    def nonneg(self) -> bool:
        return self.lo is not None and self.lo >= 0

    def within(self, lo: int, hi: int) -> bool:
        return self.lo is not None and self.hi is not None and lo <= self.lo and self.hi <= hi


TOP_INTERVAL = Interval(None, None)


def _floordiv_bound(b: Bound, d: int) -> Bound:
    return None if b is None else b // d


def _truncdiv(a: int, d: int) -> int:
    q = abs(a) // abs(d)
    return q if (a >= 0) == (d > 0) else -q


def truncdiv_interval(value: Interval, divisor: Interval) -> Interval:
    """C division (truncating) of an interval by an interval that excludes zero."""
    if divisor.lo is None or divisor.hi is None or divisor.lo <= 0 <= divisor.hi:
        return TOP_INTERVAL
    low, high = value.lo, value.hi
    if low is None or high is None:
        if divisor.lo == divisor.hi and divisor.lo > 0:  # monotone: ends map to ends
            d = divisor.lo
            return Interval(
                None if low is None else _truncdiv(low, d),
                None if high is None else _truncdiv(high, d),
            )
        return TOP_INTERVAL
    quotients = [_truncdiv(a, d) for a in (low, high) for d in (divisor.lo, divisor.hi)]
    return Interval(min(quotients), max(quotients))


Ranges = Mapping[int, Interval]  # loop counter id -> its range on the current path


@dataclass(frozen=True)
class Affine:
    """`sum(coef * var) + const`: `terms` sorted by variable, coefficients never zero."""

    terms: tuple[tuple[int, int], ...]
    const: Interval

    @staticmethod
    def exact(value: int) -> Affine:
        return Affine((), Interval(value, value))

    @staticmethod
    def of(interval: Interval) -> Affine:
        return Affine((), interval)

    @staticmethod
    def var(var: int, coef: int = 1, offset: int = 0) -> Affine:
        return Affine(((var, coef),) if coef else (), Interval(offset, offset))

    @property
    def is_exact(self) -> bool:
        """Equal to its linear part plus one known number."""
        return self.const.is_exact

    @property
    def constant(self) -> int | None:
        """The value when it is one known number."""
        return self.const.lo if not self.terms and self.const.is_exact else None

    def interval(self, ranges: Ranges) -> Interval:
        total = self.const
        for var, coef in self.terms:
            total = total + ranges.get(var, TOP_INTERVAL).scale(coef)
        return total

    def __add__(self, other: Affine) -> Affine:
        terms = dict(self.terms)
        for var, coef in other.terms:
            terms[var] = terms.get(var, 0) + coef
        return Affine(_norm(terms), self.const + other.const)

    def __neg__(self) -> Affine:
        return Affine(tuple((v, -c) for v, c in self.terms), -self.const)

    def __sub__(self, other: Affine) -> Affine:
        return self + (-other)

    def scale(self, c: int) -> Affine:
        if c == 0:
            return Affine.exact(0)
        return Affine(tuple((v, k * c) for v, k in self.terms), self.const.scale(c))

    def add_const(self, c: int) -> Affine:
        return Affine(self.terms, self.const + Interval(c, c))

    def widen(self, noise: Interval) -> Affine:
        """The same form with its constant part enlarged by `noise`."""
        return Affine(self.terms, self.const + noise)

    def mul(self, other: Affine, ranges: Ranges) -> Affine:
        if other.constant is not None:
            return self.scale(other.constant)
        if self.constant is not None:
            return other.scale(self.constant)
        if not self.terms and not other.terms:
            return Affine.of(self.const * other.const)
        return Affine.of(self.interval(ranges) * other.interval(ranges))

    def divide(self, d: int, ranges: Ranges, floor: bool) -> Affine:
        """`self / d` (C truncation) or `self >> log2(d)` (floor) for a positive constant d."""
        whole = self.interval(ranges)
        if d == 1:
            return self
        if all(c % d == 0 for _, c in self.terms) and (floor or whole.nonneg()):
            const = Interval(_floordiv_bound(self.const.lo, d), _floordiv_bound(self.const.hi, d))
            return Affine(tuple((v, c // d) for v, c in self.terms), const)
        if floor:
            return Affine.of(Interval(_floordiv_bound(whole.lo, d), _floordiv_bound(whole.hi, d)))
        return Affine.of(truncdiv_interval(whole, Interval(d, d)))

    def modulo(self, d: int, ranges: Ranges) -> Affine:
        """`self % d` (C remainder, sign of the dividend) for a positive constant d."""
        whole = self.interval(ranges)
        if whole.within(0, d - 1):
            return self
        if whole.nonneg() and all(c % d == 0 for _, c in self.terms):
            r = self.const
            if r.bounded and r.lo is not None and r.hi is not None:
                q = r.lo // d
                if r.hi < (q + 1) * d:
                    return Affine.of(Interval(r.lo - q * d, r.hi - q * d))
        if whole.nonneg():
            return Affine.of(Interval(0, d - 1))
        if whole.hi is not None and whole.hi <= 0:
            return Affine.of(Interval(-(d - 1), 0))
        return Affine.of(Interval(-(d - 1), d - 1))

    def join(self, other: Affine, ranges: Ranges) -> Affine:
        if self.terms == other.terms:
            return Affine(self.terms, self.const.join(other.const))
        return Affine.of(self.interval(ranges).join(other.interval(ranges)))

    def uses(self) -> frozenset[int]:
        return frozenset(v for v, _ in self.terms)


TOP = Affine.of(TOP_INTERVAL)


def _norm(terms: Mapping[int, int]) -> tuple[tuple[int, int], ...]:
    return tuple(sorted((v, c) for v, c in terms.items() if c))


# --------------------------------------------------------------------------- byte runs


@dataclass(frozen=True)
class Span:
    """Half-open byte range `[lo, hi)` relative to a base; `None` ends are unbounded."""

    lo: Bound
    hi: Bound

    @property
    def bounded(self) -> bool:
        return self.lo is not None and self.hi is not None

    def join(self, other: Span) -> Span:
        lo = None if self.lo is None or other.lo is None else min(self.lo, other.lo)
        hi = None if self.hi is None or other.hi is None else max(self.hi, other.hi)
        return Span(lo, hi)

    def shift(self, offset: Interval) -> Span:
        """Every position the span can take when moved by any amount in `offset`."""
        lo = None if self.lo is None or offset.lo is None else self.lo + offset.lo
        hi = None if self.hi is None or offset.hi is None else self.hi + offset.hi
        return Span(lo, hi)

    def __str__(self) -> str:
        lo = "-inf" if self.lo is None else str(self.lo)
        hi = "+inf" if self.hi is None else str(self.hi)
        return f"[{lo}, {hi})"


UNBOUNDED = Span(None, None)


Runs = tuple[tuple[int, int], ...]  # sorted, disjoint, non-adjacent half-open byte ranges


def merge_runs(pieces: Iterable[tuple[int, int]]) -> Runs:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(p for p in pieces if p[0] < p[1]):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return tuple(out)


def runs_cover(runs: Runs, span: Span) -> bool:
    """Whether the runs hold every byte of `span` (an unbounded span: never)."""
    if span.lo is None or span.hi is None:
        return False
    return span.lo >= span.hi or any(a <= span.lo and span.hi <= b for a, b in runs)


@dataclass(frozen=True)
class Block:
    """A store that certainly writes `width` bytes at `offset` for every value of the loop
    counters in `offset` (each runs over its whole range `[0, count - 1]`), or, under a tail
    guard on its own index (`if (ax0_outer * 16 + ax0_inner < 100)`), for those values whose
    offset lies `within` the bounds the guard leaves."""

    base: str
    terms: tuple[tuple[int, int], ...]
    start: int
    width: int
    within: tuple[Bound, Bound] = (None, None)


def covered(blocks: Iterable[Block], counts: Mapping[int, int]) -> dict[str, Runs]:
    """Bytes of each base that a set of certain stores writes, as runs.

    Stores with the same loop counters and coefficients are first merged on their constant
    offsets (unrolled stores side by side); each merged run then grows over the counters in
    order of increasing stride while the stride does not exceed the length covered so far (a
    dense affine map such as `((i*W + j)*C + c)` grows to the whole tensor). A counter whose
    stride leaves a gap stops the growth: the run written at counter 0 is kept, which is
    certainly written, only smaller than it could be. A guarded store is grown alone and then
    cut to the offsets its guard allows (`_within`).
    """
    groups: dict[tuple, list[tuple[int, int]]] = {}
    for b in blocks:
        groups.setdefault((b.base, b.terms, b.within), []).append((b.start, b.start + b.width))
    out: dict[str, list[tuple[int, int]]] = {}
    for (base, terms, within), pieces in groups.items():
        if within != (None, None):
            if len(pieces) == 1:
                run = _within(pieces[0], terms, counts, within)
                if run is not None:
                    out.setdefault(base, []).append(run)
            continue
        for lo, hi in merge_runs(pieces):
            start, length = _grow(lo, hi - lo, terms, counts)
            out.setdefault(base, []).append((start, start + length))
    return {base: merge_runs(pieces) for base, pieces in out.items()}


def _grow(
    start: int, length: int, terms: tuple[tuple[int, int], ...], counts: Mapping[int, int]
) -> tuple[int, int]:
    """A run grown over the counters of its offset while they leave no gap."""
    for var, coef in sorted(terms, key=lambda t: abs(t[1])):
        steps = counts[var] - 1
        if steps <= 0:
            continue
        if abs(coef) > length:
            break
        if coef < 0:
            start += coef * steps
        length += abs(coef) * steps
    return start, length


def _within(
    piece: tuple[int, int],
    terms: tuple[tuple[int, int], ...],
    counts: Mapping[int, int],
    bounds: tuple[Bound, Bound],
) -> tuple[int, int] | None:
    """What a guarded store of one element (`piece`) certainly writes: its elements, grown
    as a run, start at every multiple of the element width from the run's start when every
    stride is such a multiple; the guard keeps those whose start lies within `bounds`, a
    contiguous stretch of them."""
    width = piece[1] - piece[0]
    if any(coef % width for _, coef in terms):
        return None
    start, length = _grow(piece[0], width, terms, counts)
    first, last = start, start + length - width
    lo, hi = bounds
    if lo is not None:
        first = max(first, start + width * -(-(lo - start) // width))
    if hi is not None:
        last = min(last, start + width * ((hi - start) // width))
    return (first, last + width) if first <= last else None


# --------------------------------------------------------------------------- C arithmetic
# C operators on abstract integers, and what a comparison says about the loop counters in it.

BOOL = Affine.of(Interval(0, 1))  # a truth value nobody could decide


def arith(op: str, a: Affine, b: Affine, ranges: Mapping[int, Interval]) -> Affine:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a.mul(b, ranges)
    d = b.constant
    if op in ("/", "%"):
        if d is not None and d > 0:
            return a.divide(d, ranges, floor=False) if op == "/" else a.modulo(d, ranges)
        if d is not None and d < 0:
            return -a.divide(-d, ranges, floor=False) if op == "/" else a.modulo(-d, ranges)
        if op == "/":
            return Affine.of(truncdiv_interval(a.interval(ranges), b.interval(ranges)))
        return _remainder_bound(a, b, ranges)
    if op == ">>":
        if d is not None and 0 <= d < 64:
            return a.divide(1 << d, ranges, floor=True)
        return _shift_bound(a, ranges)
    if op == "<<":
        if d is not None and 0 <= d < 64:
            return a.scale(1 << d)
        return TOP
    if op == "&":
        return _and(a, b, ranges)
    if op in ("|", "^"):
        x, y = a.interval(ranges), b.interval(ranges)
        if x.nonneg() and y.nonneg() and x.hi is not None and y.hi is not None:
            return Affine.of(Interval(0, (1 << max(x.hi, y.hi).bit_length()) - 1))
        return TOP
    return TOP


def _remainder_bound(a: Affine, b: Affine, ranges) -> Affine:
    divisor = b.interval(ranges)
    if divisor.lo is None or divisor.hi is None:
        return TOP
    m = max(abs(divisor.lo), abs(divisor.hi)) - 1
    value = a.interval(ranges)
    if value.nonneg():
        return Affine.of(Interval(0, m))
    return Affine.of(Interval(-m, m))


def _shift_bound(a: Affine, ranges) -> Affine:
    value = a.interval(ranges)
    if value.nonneg():
        return Affine.of(Interval(0, value.hi))
    if value.hi is not None and value.hi < 0:
        return Affine.of(Interval(value.lo, -1))
    return Affine.of(value)


def _and(a: Affine, b: Affine, ranges) -> Affine:
    for x, y in ((a, b), (b, a)):
        mask = y.constant
        if mask is None:
            continue
        if mask >= 0 and mask & (mask + 1) == 0:
            return (
                x.modulo(mask + 1, ranges)
                if x.interval(ranges).nonneg()
                else Affine.of(Interval(0, mask))
            )
        if mask >= 0:
            return Affine.of(Interval(0, mask))
        if (-mask) & (-mask - 1) == 0:  # x & -2^k: x rounded down
            return x.widen(Interval(mask + 1, 0))
    left, right = a.interval(ranges), b.interval(ranges)
    highs = [iv.hi for iv in (left, right) if iv.nonneg() and iv.hi is not None]
    return Affine.of(Interval(0, min(highs))) if highs else TOP  # x & y <= either, if >= 0


def compare(diff: Affine, op: str, ranges) -> Affine:
    iv = diff.interval(ranges)
    lo, hi = iv.lo, iv.hi
    truth: bool | None = None
    if op == "<":
        truth = True if hi is not None and hi < 0 else False if lo is not None and lo >= 0 else None
    elif op == "<=":
        truth = True if hi is not None and hi <= 0 else False if lo is not None and lo > 0 else None
    elif op == ">":
        truth = True if lo is not None and lo > 0 else False if hi is not None and hi <= 0 else None
    elif op == ">=":
        truth = True if lo is not None and lo >= 0 else False if hi is not None and hi < 0 else None
    elif op == "==":
        truth = (
            True
            if iv.is_exact and lo == 0
            else (False if (lo is not None and lo > 0) or (hi is not None and hi < 0) else None)
        )
    elif op == "!=":
        truth = (
            False
            if iv.is_exact and lo == 0
            else (True if (lo is not None and lo > 0) or (hi is not None and hi < 0) else None)
        )
    return BOOL if truth is None else Affine.exact(int(truth))


def solve(diff: Affine, op: str, ranges: Mapping[int, Interval]) -> dict[int, Interval] | None:
    """Narrow each counter of `diff op 0` by the others' ranges; None if it cannot hold."""
    out = dict(ranges)
    if compare(diff, op, out).constant == 0:
        return None
    for var, coef in diff.terms:
        rest = Affine(tuple((v, c) for v, c in diff.terms if v != var), diff.const)
        r = rest.interval(out)
        bound: Interval | None = None
        # coef*var + r op 0, for some r in [r.lo, r.hi]
        if op in ("<", "<="):
            limit = None if r.lo is None else -r.lo - (1 if op == "<" else 0)  # coef*var <= limit
            if limit is not None:
                bound = _le(coef, limit)
        elif op in (">", ">="):
            limit = None if r.hi is None else -r.hi + (1 if op == ">" else 0)  # coef*var >= limit
            if limit is not None:
                bound = _ge(coef, limit)
        elif op == "==":
            up = None if r.lo is None else _le(coef, -r.lo)
            down = None if r.hi is None else _ge(coef, -r.hi)
            bound = (up or TOP_INTERVAL).meet(down or TOP_INTERVAL)
        if bound is not None:
            current = out.get(var, TOP_INTERVAL).meet(bound)
            if current.empty:
                return None
            out[var] = current
    return out


Terms = tuple[tuple[int, int], ...]


def normalised(terms: Terms) -> tuple[Terms, int]:
    """A linear form as `scale * base`, `base` with coprime coefficients and a positive first
    one: two forms that differ by a factor (an index and its byte offset) share a base."""
    scale = math.gcd(*(c for _, c in terms))
    if terms[0][1] < 0:
        scale = -scale
    return tuple((v, c // scale) for v, c in terms), scale


def linear_part(terms: Terms) -> tuple[Terms, int] | None:
    """The key under which a guard's bound on a form of two or more counters
    (`if (ax0_outer * 16 + ax0_inner < 100)`) is kept for the accesses it guards. None for
    fewer than two counters (their own ranges say it all)."""
    return normalised(terms) if len(terms) >= 2 else None


def linear_bound(diff: Affine, op: str) -> Interval | None:
    """What `diff op 0` says of the linear part of `diff` (its constant part aside)."""
    lo, hi = diff.const.lo, diff.const.hi
    if op == "<":
        return None if lo is None else Interval(None, -lo - 1)
    if op == "<=":
        return None if lo is None else Interval(None, -lo)
    if op == ">":
        return None if hi is None else Interval(-hi + 1, None)
    if op == ">=":
        return None if hi is None else Interval(-hi, None)
    if op == "==":
        return Interval(None if hi is None else -hi, None if lo is None else -lo)
    return None


def divide_bound(bound: Interval, scale: int) -> Interval:
    """The values of `x` with `scale * x` in `bound` (scale nonzero)."""
    if scale < 0:
        return divide_bound(-bound, -scale)
    lo = None if bound.lo is None else -(-bound.lo // scale)
    hi = None if bound.hi is None else bound.hi // scale
    return Interval(lo, hi)


def _le(coef: int, limit: int) -> Interval:
    """Values v with coef*v <= limit."""
    if coef > 0:
        return Interval(None, limit // coef)
    return Interval(-(limit // -coef), None)


def _ge(coef: int, limit: int) -> Interval:
    """Values v with coef*v >= limit."""
    if coef > 0:
        return Interval(-(-limit // coef), None)
    return Interval(None, limit // coef)


def exact_trips(diff: Affine, op: str, counter: int) -> int | None:
    """Iterations of `while (diff op 0)` when `diff` is `c*k + d` with d exact: the counter
    runs from 0 while the condition holds, and holds on a prefix of the counter's values."""
    if len(diff.terms) != 1 or diff.terms[0][0] != counter or not diff.const.is_exact:
        return None
    c, d = diff.terms[0][1], diff.const.lo
    assert d is not None
    if op in (">", ">="):
        c, d, op = -c, -d, "<" if op == ">" else "<="
    if op == "<=":
        d, op = d - 1, "<"
    if op == "<":
        if c <= 0:
            return None if d < 0 else 0  # true forever (overflow) or never
        return max(0, -(d // c))  # number of k >= 0 with c*k + d < 0
    if op == "!=" and abs(c) == 1:
        root = -d * c
        return root if root >= 0 else None
    return None
