"""Exact linear arithmetic over the rationals: Fourier–Motzkin feasibility, witnesses, cells.

A constraint ``LinCon`` reads ``Σ cᵢ·xᵢ + k ≤ 0`` (or ``< 0`` when strict). Everything is
``fractions.Fraction``; there is no float anywhere, so a "feasible" answer is a proof (the
witness point satisfies every constraint exactly) and "infeasible" is exact elimination.

>>> x = LinCon.make({"x": 1}, -1)            # x - 1 <= 0
>>> feasible([x, LinCon.make({"x": -1}, 0, strict=True)])   # and -x < 0
{'x': Fraction(1, 1)}
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from fractions import Fraction

from .errors import TheoryLimitError

__all__ = ["LinCon", "charge", "feasible", "implies", "metered", "project", "simplify"]


@dataclass(frozen=True, order=True)
class LinCon:
    """``Σ coeffs·x + const ≤ 0``, or ``< 0`` when ``strict``; coefficients sorted, non-zero."""

    coeffs: tuple[tuple[str, Fraction], ...]
    const: Fraction
    strict: bool = False

    @staticmethod
    def make(coeffs: Mapping[str, object], const: object, *, strict: bool = False) -> LinCon:
        """Build a constraint from a mapping of coefficients and a constant."""
        c = tuple(sorted((k, v if type(v) is Fraction else Fraction(v))
                         for k, v in coeffs.items() if v != 0))
        return LinCon(c, const if type(const) is Fraction else Fraction(const), strict)

    def coef(self, name: str) -> Fraction:
        """Coefficient of ``name`` (0 when absent)."""
        for k, v in self.coeffs:
            if k == name:
                return v
        return Fraction(0)

    @property
    def symbols(self) -> frozenset[str]:
        """The symbols with a non-zero coefficient."""
        return frozenset(k for k, _ in self.coeffs)

    def negate(self) -> LinCon:
        """The complement: not (a ≤ 0) is −a < 0; not (a < 0) is −a ≤ 0."""
        return LinCon(tuple((k, -v) for k, v in self.coeffs), -self.const, not self.strict)

    def strict_version(self) -> LinCon:
        """The same form with ``< 0``."""
        return LinCon(self.coeffs, self.const, True)

    def value(self, point: Mapping[str, Fraction]) -> Fraction:
        """``Σ coeffs·x + const`` at a point (missing symbols count as 0)."""
        return self.const + sum((v * point.get(k, Fraction(0)) for k, v in self.coeffs),
                                Fraction(0))

    def holds(self, point: Mapping[str, Fraction]) -> bool:
        """Whether the point satisfies the constraint exactly."""
        v = self.value(point)
        return v < 0 if self.strict else v <= 0

    def normalised(self) -> LinCon:
        """Scale so the first coefficient is ±1 (a canonical form for deduplication)."""
        if not self.coeffs:
            return self
        a = abs(self.coeffs[0][1])
        if a == 1:
            return self
        return LinCon(tuple((k, v / a) for k, v in self.coeffs), self.const / a, self.strict)

    def trivial(self) -> bool | None:
        """For a constraint without symbols: whether it holds; ``None`` if it has symbols."""
        if self.coeffs:
            return None
        return self.const < 0 if self.strict else self.const <= 0


def _tidy(cons: Iterable[LinCon]) -> list[LinCon] | None:
    """Normalise, drop trivially true constraints, keep the tightest of parallel ones.

    Returns ``None`` when a constraint without symbols is false.
    """
    best: dict[tuple[tuple[str, Fraction], ...], LinCon] = {}
    for c in cons:
        t = c.trivial()
        if t is True:
            continue
        if t is False:
            return None
        n = c.normalised()
        old = best.get(n.coeffs)
        if old is None or n.const > old.const or (n.const == old.const and n.strict):
            best[n.coeffs] = n
    return sorted(best.values())


def _eliminate(cons: list[LinCon], x: str) -> list[LinCon] | None:
    """One Fourier–Motzkin step: the projection of the constraints that removes ``x``."""
    pos = [c for c in cons if c.coef(x) > 0]
    neg = [c for c in cons if c.coef(x) < 0]
    out = [c for c in cons if c.coef(x) == 0]
    for p in pos:
        cp = p.coef(x)
        for q in neg:
            cq = -q.coef(x)
            d: dict[str, Fraction] = {}
            for k, v in p.coeffs:
                d[k] = d.get(k, Fraction(0)) + v * cq
            for k, v in q.coeffs:
                d[k] = d.get(k, Fraction(0)) + v * cp
            d.pop(x, None)
            out.append(LinCon.make(d, p.const * cq + q.const * cp, strict=p.strict or q.strict))
    return _tidy(out)


def _bounds(
    cons: Sequence[LinCon], x: str, point: Mapping[str, Fraction]
) -> tuple[Fraction | None, bool, Fraction | None, bool]:
    """Lower and upper bound on ``x`` (with strictness) once the other symbols are fixed."""
    lo: Fraction | None = None
    hi: Fraction | None = None
    lo_s = hi_s = False
    for c in cons:
        a = c.coef(x)
        if a == 0:
            continue
        rest = c.const + sum((v * point[k] for k, v in c.coeffs if k != x), Fraction(0))
        b = -rest / a  # a·x + rest ≤ 0  ⇔  x ≤ b (a > 0) or x ≥ b (a < 0)
        if a > 0 and (hi is None or b < hi or (b == hi and c.strict)):
            hi, hi_s = b, c.strict
        if a < 0 and (lo is None or b > lo or (b == lo and c.strict)):
            lo, lo_s = b, c.strict
    return lo, lo_s, hi, hi_s


def _inside(v: Fraction, lo: Fraction | None, lo_s: bool, hi: Fraction | None,
            hi_s: bool) -> bool:
    if lo is not None and (v < lo or (lo_s and v == lo)):
        return False
    return not (hi is not None and (v > hi or (hi_s and v == hi)))


def _pick(lo: Fraction | None, lo_s: bool, hi: Fraction | None, hi_s: bool) -> Fraction:
    """The simplest rational in the interval: 0 if allowed, else the one closest to 0 with
    the smallest denominator (Stern–Brocot, linear in the continued-fraction length)."""
    if _inside(Fraction(0), lo, lo_s, hi, hi_s):
        return Fraction(0)
    if lo is not None and hi is not None and lo == hi:
        return lo
    if hi is not None and hi <= 0:  # mirror a negative interval onto the positive side
        return -_simplest_positive(-hi, hi_s, None if lo is None else -lo, lo_s)
    assert lo is not None, "an interval without 0 is bounded on the side of 0"
    return _simplest_positive(lo, lo_s, hi, hi_s)


def _simplest_positive(lo: Fraction, lo_s: bool, hi: Fraction | None,
                       hi_s: bool) -> Fraction:
    """The fraction of smallest denominator (then numerator) in a non-empty interval
    (lo, hi) with 0 <= lo, bounds closed or open, hi ``None`` for +∞.

    Continued-fraction descent: if an integer lies in the interval, the smallest one is the
    answer; otherwise lo and hi share the integer part a and the answer is
    a + 1/x with x the simplest number in (1/(hi − a), 1/(lo − a)) (bounds swap).
    Iterative, so a 4,000-digit bound costs a few thousand cheap steps.
    """
    parts: list[int] = []
    while True:
        k = math.floor(lo) if not lo_s else math.floor(lo) + 1
        if k < lo:
            k += 1
        if hi is None or k < hi or (k == hi and not hi_s):
            break
        a = math.floor(lo)
        parts.append(a)
        lo, lo_s, hi, hi_s = (1 / (hi - a), hi_s,
                              None if lo == a else 1 / (lo - a), lo_s)
    value = Fraction(k)
    for a in reversed(parts):
        value = a + 1 / value
    return value


def _combine(c: LinCon, e: LinCon, x: str) -> LinCon:
    """``c`` with ``x`` eliminated by the equality ``e = 0`` (strictness of ``c`` kept)."""
    k = -c.coef(x) / e.coef(x)
    d = dict(c.coeffs)
    for name, v in e.coeffs:
        d[name] = d.get(name, Fraction(0)) + k * v
    d.pop(x, None)
    return LinCon.make(d, c.const + k * e.const, strict=c.strict)


def _equality(cons: Sequence[LinCon]) -> LinCon | None:
    """A constraint whose opposite is also present (so it is an equality), if any."""
    present = {(c.coeffs, c.const) for c in cons if not c.strict}
    for c in cons:
        if not c.strict and (tuple((k, -v) for k, v in c.coeffs), -c.const) in present:
            return c
    return None


class _Meter:
    """Work done by one top-level solver call, in constraints handled by Fourier–Motzkin."""

    def __init__(self, limit: int, what: str) -> None:
        self.limit, self.what, self.used = limit, what, 0

    def add(self, n: int) -> None:
        self.used += n
        if self.used > self.limit:
            raise TheoryLimitError(
                f"{self.what} needs more than {self.limit} units of exact elimination work "
                f"(each nullable symbol doubles the search, each max adds alternatives, each "
                f"dense constraint multiplies Fourier–Motzkin rows): split it into smaller "
                f"systems"
            )


_METER: ContextVar[_Meter | None] = ContextVar("theory_linear_meter", default=None)


@contextmanager
def metered(limit: int, what: str) -> Iterator[None]:
    """Count every feasibility test inside the block; past ``limit`` units raise
    :class:`TheoryLimitError` (one unit ≈ one constraint handled by one elimination)."""
    token = _METER.set(_Meter(limit, what))
    try:
        yield
    finally:
        _METER.reset(token)


def charge(n: int) -> None:
    """Add ``n`` units to the current meter (no-op outside :func:`metered`)."""
    meter = _METER.get()
    if meter is not None:
        meter.add(n)


def _components(cons: list[LinCon]) -> list[list[LinCon]]:
    """Split constraints into groups that share no symbol (each is decided on its own)."""
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for c in cons:
        names = [k for k, _ in c.coeffs]
        for other in names[1:]:
            parent[root(other)] = root(names[0])
    groups: dict[str, list[LinCon]] = {}
    for c in cons:
        groups.setdefault(root(c.coeffs[0][0]), []).append(c)
    return list(groups.values())


def _bits(cons: list[LinCon]) -> int:
    """The longest numerator or denominator among the constraints, in bits."""
    return max((max(abs(v.numerator).bit_length(), v.denominator.bit_length())
                for c in cons for v in (c.const, *(w for _, w in c.coeffs))), default=0)


def _fm_point(current: list[LinCon]) -> dict[str, Fraction] | None:
    """Fourier–Motzkin on one connected group: a point, or ``None`` if it is infeasible."""
    stages: list[tuple[str, list[LinCon]]] = []
    remaining = sorted(set().union(*(c.symbols for c in current)))
    nxt: list[LinCon] | None = current
    while remaining:
        # eliminate the symbol that creates the fewest new constraints (one counting pass)
        pos: dict[str, int] = dict.fromkeys(remaining, 0)
        neg: dict[str, int] = dict.fromkeys(remaining, 0)
        for c in current:
            for k, v in c.coeffs:
                (pos if v > 0 else neg)[k] += 1
        x = min(remaining, key=lambda s: pos[s] * neg[s])
        remaining.remove(x)
        stages.append((x, current))
        # the pass above and the new rows, times the cost of long numbers (gcd ~ digits²)
        weight = 1 + (_bits(current) // 1024) ** 2
        charge((sum(pos.values()) + sum(neg.values()) + pos[x] * neg[x]) * weight)
        nxt = _eliminate(current, x)
        if nxt is None:
            return None
        current = nxt
    point: dict[str, Fraction] = {}
    for x, system in reversed(stages):
        point[x] = _pick(*_bounds(system, x, point))
    return point


def feasible(cons: Sequence[LinCon]) -> dict[str, Fraction] | None:
    """An exact point satisfying every constraint, or ``None`` if there is none.

    Equalities are substituted away first (Gaussian elimination); the rest is split into
    groups without a common symbol, and each goes through Fourier–Motzkin elimination
    (exact over ℚ, strictness tracked); back-substitution through the stored projections
    then picks the simplest rational for each symbol.

    Raises:
        TheoryLimitError: inside :func:`metered`, when the work exceeds its limit.
    """
    charge(len(cons))
    current = _tidy(cons)
    if current is None:
        return None
    solved: list[tuple[str, LinCon]] = []
    while (e := _equality(current)) is not None:
        x = e.coeffs[0][0]
        charge(len(current))
        current = _tidy(_combine(c, e, x) for c in current)  # e and its opposite vanish
        if current is None:
            return None
        solved.append((x, e))
    point: dict[str, Fraction] = {}
    for group in _components(current):
        part = _fm_point(group)
        if part is None:
            return None
        point.update(part)
    for x, e in reversed(solved):
        for name, _ in e.coeffs:
            if name != x:
                point.setdefault(name, Fraction(0))  # free: appears in no other constraint
        point[x] = -(e.const + sum((v * point[k] for k, v in e.coeffs if k != x),
                                   Fraction(0))) / e.coef(x)
    for c in cons:
        for name in c.symbols:
            point.setdefault(name, Fraction(0))
    assert all(c.holds(point) for c in cons), "exact witness check failed"
    return dict(sorted(point.items()))


def project(cons: Sequence[LinCon], keep: frozenset[str]) -> list[LinCon]:
    """The projection of a feasible cell onto ``keep`` (Fourier–Motzkin on the other symbols)."""
    current = _tidy(cons) or []
    for x in sorted(set().union(*(c.symbols for c in cons)) - keep) if cons else []:
        current = _eliminate(current, x)
        assert current is not None, "projection of an infeasible cell"
    return current


def implies(cons: Sequence[LinCon], con: LinCon) -> bool:
    """Whether every point of ``cons`` satisfies ``con`` (``cons`` ∧ ¬``con`` is empty)."""
    return feasible([*cons, con.negate()]) is None


def simplify(cons: Sequence[LinCon]) -> tuple[list[LinCon], list[LinCon]]:
    """A feasible cell without redundancy: (independent equalities, irredundant inequalities).

    Equalities ``e = 0`` are returned as non-strict ``LinCon`` forms ``e``; they are the
    implicit equalities of the cell (non-strict constraints that can never be strict).
    """
    tidy = _tidy(cons) or []
    eqs: list[LinCon] = []
    ineqs: list[LinCon] = []
    for c in tidy:
        if not c.strict and feasible([*tidy, c.strict_version()]) is None:
            eqs.append(c)
        else:
            ineqs.append(c)
    # symbols pinned to a value are substituted everywhere else (x = -1, A0Z - x <= 1 → A0Z <= 0)
    fixed = {c.coeffs[0][0]: -c.const / c.coeffs[0][1] for c in eqs if len(c.coeffs) == 1}
    pins = [LinCon.make({k: 1}, -v) for k, v in sorted(fixed.items())]
    eqs = pins + (_tidy(_substitute(e, fixed) for e in eqs if len(e.coeffs) > 1) or [])
    ineqs = _tidy(_substitute(c, fixed) for c in ineqs) or []
    kept_eqs: list[LinCon] = []
    for e in eqs:
        both = [*kept_eqs, *(_flip(k) for k in kept_eqs)]
        if not (implies(both, e) and implies(both, _flip(e))):
            kept_eqs.append(e)
    eq_block = [*kept_eqs, *(_flip(k) for k in kept_eqs)]
    kept = list(ineqs)
    for c in list(kept):
        others = [k for k in kept if k is not c]
        if implies([*eq_block, *others], c):
            kept.remove(c)
    return kept_eqs, kept


def _substitute(c: LinCon, fixed: Mapping[str, Fraction]) -> LinCon:
    """Replace the pinned symbols of ``c`` by their values."""
    const = c.const + sum((v * fixed[k] for k, v in c.coeffs if k in fixed), Fraction(0))
    return LinCon.make({k: v for k, v in c.coeffs if k not in fixed}, const, strict=c.strict)


def _flip(c: LinCon) -> LinCon:
    """``-e ≤ 0`` for a non-strict ``e ≤ 0``: with it, ``e = 0``."""
    return LinCon(tuple((k, -v) for k, v in c.coeffs), -c.const, c.strict)
