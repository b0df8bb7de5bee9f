"""Time as an exponent: t = Θ(n^τ), every γ a piecewise-affine function of τ ≥ 0, exact.

A quantity after t steps is a max of terms Θ(t^a·n^b), so at t = Θ(n^τ) its exponent is
γ(τ) = max_i (b_i + a_i·τ). A sum of t aligned per-step contributions Θ(u^a·n^b) is
Θ(t^{a+1}·n^b) (``time_sum="aligned"``, the papers' fixed-Z setting: Stable-LoRA Eq. (4),
ICML Eq. (24), (29) sum the updates with one sign); a sum with independent random signs is
Θ(t^{a+1/2}·n^b) (``"clt"``). The recursion of :mod:`theory._recursion` is unrolled
symbolically: its learned parts satisfy X = Σ_t increments(X), a monotone max-plus system
(each integration adds τ, or τ/2, to an exponent). Its Kleene iterates are maxima over
derivation trees of growing height; a tree with a state variable repeated on a path can be
pumped, which adds the weight of the pumped context: ≤ 0 changes nothing, > 0 makes the
fixed point +∞. So a finite least fixed point is reached after d + 1 iterations (d = 2
learned parts), and a learned part that still grows between iteration d + 1 and 2d + 2 has
no exponent at that τ (a feedback loop with gain ≫ 1 over t steps); everything that depends
on it has none either. At τ = 0 that is growth at fixed steps (e.g. SGD with a too-large η);
at τ* > 0 with a Θ(1) gain per step it is the relaxation time t ~ n^τ*, past which the
residual is no longer Θ(1) (the aligned sums assume it is): no exponent is claimed there.

>>> from theory import predict
>>> p = predict("-3/2", 2, 0, "-inf")           # small η with Kaiming A₀ (mixed case)
>>> p.gamma_tau(1)["AtZ"], p.breakpoints["AtZ"]
(Fraction(1, 2), (Fraction(1, 2),))
>>> [t.name for t in p.terms("AtZ")]
['A₀Z (initialisation)', 'learned part η_A·Σ g_A Z']
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from itertools import pairwise
from typing import Any

from ._maxplus import NEG_INF, Value, exact, fmt_value, vmax
from ._recursion import Config, step
from .errors import TheoryInputError

__all__ = ["KEYS", "SETTLED", "TIME_SUMS", "Crossover", "TauModel", "Term", "crossovers",
           "exact_tau"]

KEYS = ("delta1", "delta2", "delta3", "dY", "AtZ", "Bt")
TIME_SUMS = {"aligned": Fraction(1), "clt": Fraction(1, 2)}
_D = 2  # learned parts in the state: η_A·Σ g_A Z and η_B·Σ g_B
SETTLED, _PROBE = _D + 1, 2 * _D + 2  # Kleene iterations compared to find growth

_ATOM = {"A₀Z": "A₀Z (initialisation)", "B₀": "B₀ (initialisation)",
         "ΣA": "learned part η_A·Σ g_A Z", "ΣB": "learned part η_B·Σ g_B",
         "target": "the target part of dY"}
_SHORT = {"A₀Z": "A₀Z", "B₀": "B₀", "ΣA": "learned A_tZ", "ΣB": "learned B_t",
          "target": "target"}


class _PosInf:
    """+∞ as an exponent: a quantity that outgrows every power of n (no exponent)."""

    def __repr__(self) -> str:
        return "+oo"


POS_INF = _PosInf()


@dataclass(frozen=True)
class Term:
    """A contribution Θ(t^t_exp · n^n_exp) to a quantity.

    At a fixed step t a width sweep measures the slope ``n_exp`` while this term dominates;
    along t = Θ(n^τ) it contributes n_exp + t_exp·τ.
    """

    name: str  # human name, e.g. "A₀Z (initialisation)", "learned part η_A·Σ g_A Z"
    n_exp: Value  # exponent of n
    t_exp: Fraction  # exponent of t

    def at(self, tau: object) -> Value:
        """The exponent n_exp + t_exp·τ of this term at t = Θ(n^τ)."""
        if self.n_exp is NEG_INF:
            return NEG_INF
        return self.n_exp + self.t_exp * exact_tau(tau)  # type: ignore[operator]

    def theta(self) -> str:
        """``"t·n^(-1/2)"``-style text for Θ(·)."""
        parts = []
        if self.t_exp != 0:
            parts.append(_pow("t", self.t_exp))
        if self.n_exp != 0:
            parts.append(_pow("n", self.n_exp))
        return "·".join(parts) or "1"


def _pow(base: str, e: Value) -> str:
    """``n``, ``n^2``, ``n^(1/2)``, ``n^(-1)``."""
    if e == 1:
        return base
    text = fmt_value(e)
    return f"{base}^{text}" if text.isdigit() else f"{base}^({text})"


@dataclass(frozen=True)
class Crossover:
    """Where the dominant term of a quantity changes: t*(n) = Θ(n^τ*), n*(t) = Θ(t^{1/τ*})."""

    quantity: str  # one of KEYS
    tau: Fraction  # τ*
    before: Term  # dominant for τ < τ* (large widths at a fixed step)
    after: Term  # dominant for τ > τ* (small widths at a fixed step)
    reason: str  # one sentence

    def to_json(self) -> dict[str, Any]:
        """Strings for exponents, as ``predict --json``."""
        def term(t: Term) -> dict[str, str]:
            return {"name": t.name, "n_exp": fmt_value(t.n_exp), "t_exp": str(t.t_exp)}

        return {"quantity": self.quantity, "tau": str(self.tau), "before": term(self.before),
                "after": term(self.after), "reason": self.reason}


def exact_tau(tau: object) -> Fraction:
    """τ as an exact rational ≥ 0.

    Raises:
        TypeError: a float.
        TheoryInputError: not a rational, −∞, or negative.
    """
    v = exact(tau)
    if v is NEG_INF or v < 0:  # type: ignore[operator]
        raise TheoryInputError(f"tau must be a rational >= 0 (t = n^tau), got {tau!r}")
    return v  # type: ignore[return-value]


# ---- exact values with +∞, at one τ ------------------------------------------------------

def _xadd(*xs: Any) -> Any:
    total, inf = Fraction(0), False
    for x in xs:
        if x is NEG_INF:
            return NEG_INF
        if x is POS_INF:
            inf = True
        elif not inf:
            total += x
    return POS_INF if inf else total


def _xmax(*xs: Any) -> Any:
    for x in xs:
        if x is POS_INF:
            return POS_INF
    return vmax(*xs)


class ExactAlgebra:
    """Exponents at one τ; ``integ`` adds τ·(1 or 1/2): Σ of t = n^τ per-step terms."""

    def __init__(self, shift: Fraction) -> None:
        self.shift = shift

    def const(self, v: Value, atom: str = "") -> Any:
        return v

    def add(self, *xs: Any) -> Any:
        return _xadd(*xs)

    def mx(self, *xs: Any) -> Any:
        return _xmax(*xs)

    def nonzero(self, x: Any) -> Any:
        return NEG_INF if x is NEG_INF else Fraction(0)

    def integ(self, x: Any, atom: str) -> Any:
        return _xadd(x, self.shift)


# ---- sets of terms t^a·n^b -----------------------------------------------------------------

@dataclass(frozen=True, order=True)
class _Tm:
    a: Fraction  # exponent of t
    b: Fraction  # exponent of n
    atoms: tuple[str, ...]  # the factors that are not constants (sorted), for its name
    via: tuple[str, ...] = ()  # for a learned part: the atoms of its per-step increment

    def at(self, tau: Fraction) -> Fraction:
        return self.b + self.a * tau


def _envelope(terms: Any, hi: Fraction | None = None) -> tuple[list[_Tm], list[Fraction]]:
    """The terms on the upper envelope of the lines b + a·τ over τ ∈ (−∞, hi], in order of
    increasing slope, and the τ where it turns (the convex-hull trick).

    A line that only touches the envelope at one point is dropped; of equal lines the one
    with the simplest name is kept. τ < 0 (t < 1) is formal: it keeps the terms that a
    fixed step's Θ-constants can still bring into a finite width window.
    """
    best: dict[Fraction, _Tm] = {}  # per slope, the highest line
    for t in terms:
        o = best.get(t.a)
        if o is None or _rank(t) > _rank(o) or (_rank(t) == _rank(o) and t < o):
            best[t.a] = t
    hull: list[_Tm] = []
    for t in sorted(best.values(), key=lambda t: t.a):
        while len(hull) >= 2 and _cross(hull[-2], t) <= _cross(hull[-2], hull[-1]):
            hull.pop()  # hull[-1] is never strictly on top
        hull.append(t)
    turns = [_cross(p, q) for p, q in pairwise(hull)]
    if hi is not None:  # a tie exactly at hi goes to the slower line
        keep = sum(1 for x in turns if x < hi)
        hull, turns = hull[:keep + 1], turns[:keep]
    return hull, turns


def _rank(t: _Tm) -> tuple[Fraction, int]:
    return (t.b, -len(t.atoms) - len(t.via))  # higher, then simpler name


def _cross(p: _Tm, q: _Tm) -> Fraction:
    """The τ where line q (steeper) meets line p."""
    return (p.b - q.b) / (q.a - p.a)


class TermAlgebra:
    """Sets of terms (t^a, n^b) kept to their upper envelope in τ (max-plus in two variables:
    a product adds both exponents); ``integ`` adds 1 (aligned) or 1/2 (clt) to a."""

    def __init__(self, inc: Fraction) -> None:
        self.inc = inc

    def const(self, v: Value, atom: str = "") -> tuple[_Tm, ...]:
        if v is NEG_INF:
            return ()
        return (_Tm(Fraction(0), v, (atom,) if atom else ()),)  # type: ignore[arg-type]

    def add(self, *xs: tuple[_Tm, ...]) -> tuple[_Tm, ...]:
        acc: list[_Tm] = [_Tm(Fraction(0), Fraction(0), ())]
        for x in xs:
            acc = [_Tm(p.a + q.a, p.b + q.b, tuple(sorted(p.atoms + q.atoms)),
                       p.via + q.via if len(p.atoms + q.atoms) == 1 else ())
                   for p in acc for q in x]
            acc = _envelope(acc)[0]
        return tuple(acc)

    def mx(self, *xs: tuple[_Tm, ...]) -> tuple[_Tm, ...]:
        return tuple(_envelope([t for x in xs for t in x])[0])

    def nonzero(self, x: tuple[_Tm, ...]) -> tuple[_Tm, ...]:
        return (_Tm(Fraction(0), Fraction(0), ()),) if x else ()

    def integ(self, x: tuple[_Tm, ...], atom: str) -> tuple[_Tm, ...]:
        return tuple(_envelope([_Tm(t.a + self.inc, t.b, (atom,), t.atoms) for t in x])[0])


def _env_value(terms: Any, tau: Fraction) -> Value:
    return max((t.at(tau) for t in terms), default=NEG_INF)


def _first_excess(new: Any, old: Any) -> Fraction | None:
    """The least τ ≥ 0 at which the envelope of ``new`` exceeds that of ``old`` (or None).

    Both are maxima of lines, so the difference is piecewise affine with kinks only where
    two lines cross: checking each crossing and a point after it is exact.
    """
    lines = list(new) + list(old)
    cands = {Fraction(0)}
    for p in lines:
        for q in lines:
            if p.a != q.a:
                x = (q.b - p.b) / (p.a - q.a)
                if x >= 0:
                    cands.add(x)
    pts = sorted(cands)
    for i, x in enumerate(pts):
        after = (x + pts[i + 1]) / 2 if i + 1 < len(pts) else x + 1
        for y in (x, after):
            if _env_value(new, y) > _env_value(old, y):  # type: ignore[operator]
                return x
    return None


def _name(t: _Tm) -> str:
    if not t.atoms:
        return "Θ(1) factors only (no A or B)"
    if len(t.atoms) == 1:
        base = _ATOM[t.atoms[0]]
        return base + (f" (from {' · '.join(_SHORT[v] for v in t.via)})" if t.via else "")
    return " · ".join(_SHORT[a] for a in t.atoms)


# ---- the model of one configuration ---------------------------------------------------------

class TauModel:
    """γ of every quantity at t = Θ(n^τ) for one configuration (see ``Prediction``).

    Args:
        c: the configuration.
        time_sum: ``"aligned"`` or ``"clt"``.
        valid_up_to: the largest τ the model covers (AdamW decay, shrinkage); None = all.
        none_keys: quantities with no exponent at any τ (shrinkage that never stops).
        a0_name: the name of the A₀Z term (after a shrink stop: A₀'s remnant).
    """

    def __init__(self, c: Config, time_sum: str, valid_up_to: Fraction | None,
                 none_keys: frozenset[str] = frozenset(), a0_name: str | None = None) -> None:
        if time_sum not in TIME_SUMS:
            raise TheoryInputError(f"unknown time_sum {time_sum!r}: use 'aligned' or 'clt'")
        self.c, self.time_sum, self.valid_up_to = c, time_sum, valid_up_to
        self.none_keys, self._a0_name = none_keys, a0_name
        self._cache: dict[Fraction, dict[str, Any]] = {}

    @cached_property
    def _iterates(self) -> tuple[tuple[Any, Any], tuple[Fraction | None, ...]]:
        """The learned parts as term sets after d + 1 Kleene iterations, and for each the
        least τ at which iteration 2d + 2 exceeds them (None: never). Computed on first use:
        the fixed-step outputs of ``predict`` need only :meth:`gamma` at τ = 0."""
        alg = TermAlgebra(TIME_SUMS[self.time_sum])
        state: tuple[Any, Any] = ((), ())
        settled = state
        for i in range(_PROBE):
            q = step(alg, self.c, *state)
            new = (alg.integ(q["incA"], "ΣA"), alg.integ(q["incB"], "ΣB"))
            if i >= SETTLED and new == state:
                break  # a fixed point for every τ at once
            state = new
            if i + 1 == SETTLED:
                settled = state
        return settled, tuple(_first_excess(n, o) for n, o in zip(state, settled, strict=True))

    @cached_property
    def no_exponent_beyond(self) -> dict[str, Fraction | None]:
        """Per quantity, the τ past which it has none (see ``Prediction.no_exponent_beyond``)."""
        return {k: self._diverges_from(k) for k in KEYS}

    @cached_property
    def _envelopes(self) -> dict[str, tuple[list[_Tm], list[Fraction]]]:
        q = step(TermAlgebra(TIME_SUMS[self.time_sum]), self.c, *self._iterates[0])
        return {k: ([], []) if k in self.none_keys or self.gamma(0)[k] is None
                else _envelope(q[k], self._upper(k)) for k in KEYS}

    @cached_property
    def breakpoints(self) -> dict[str, tuple[Fraction, ...]]:
        """Per quantity, the τ* > 0 where the dominant term changes (sorted).

        A tie at τ = 0 is not one: equal n-exponents, invisible to a width sweep.
        """
        return {k: tuple(x for x in self._envelopes[k][1] if x > 0) for k in KEYS}

    def _upper(self, k: str) -> Fraction | None:
        lims = [x for x in (self.no_exponent_beyond[k], self.valid_up_to) if x is not None]
        return min(lims) if lims else None

    def _diverges_from(self, k: str) -> Fraction | None:
        cands = sorted({g for g in self._iterates[1] if g is not None})
        for i, x in enumerate(cands):
            nxt = (x + cands[i + 1]) / 2 if i + 1 < len(cands) else x + 1
            if self._exact(x)[k] is POS_INF or self._exact(nxt)[k] is POS_INF:
                return x
        return None

    def _exact(self, tau: Fraction) -> dict[str, Any]:
        """Kleene iteration at one τ; learned parts that grow after d + 1 steps are +∞."""
        if tau not in self._cache:
            self._cache[tau] = self._kleene(tau)
        return self._cache[tau]

    def _kleene(self, tau: Fraction) -> dict[str, Any]:
        alg = ExactAlgebra(tau * TIME_SUMS[self.time_sum])
        state: list[Any] = [NEG_INF, NEG_INF]
        hist = []
        for _ in range(_PROBE):
            q = step(alg, self.c, *state)
            state = [alg.integ(q["incA"], "ΣA"), alg.integ(q["incB"], "ΣB")]
            hist.append(list(state))
        forced = [hist[-1][j] != hist[SETTLED - 1][j] for j in range(_D)]
        for _ in range(_D + 1):
            state = [POS_INF if forced[j] else state[j] for j in range(_D)]
            q = step(alg, self.c, *state)
            state = [alg.integ(q["incA"], "ΣA"), alg.integ(q["incB"], "ΣB")]
        state = [POS_INF if forced[j] else state[j] for j in range(_D)]
        return step(alg, self.c, *state)

    def gamma(self, tau: object) -> dict[str, Value | None]:
        """γ of each of KEYS at t = Θ(n^τ); None where there is no single exponent."""
        x = exact_tau(tau)
        if self.valid_up_to is not None and x > self.valid_up_to:
            return {k: None for k in KEYS}
        q = self._exact(x)
        return {k: None if k in self.none_keys or q[k] is POS_INF else q[k] for k in KEYS}

    def terms(self, key: str) -> tuple[Term, ...]:
        """The terms of ``key`` on its envelope over τ ≤ its upper limit, in order of τ.

        The last ``len(breakpoints[key]) + 1`` of them dominate somewhere on τ ≥ 0; the
        ones before only at τ < 0 (formally t < 1, see :func:`_envelope`).
        """
        if key not in KEYS:
            raise TheoryInputError(f"unknown quantity {key!r}: use one of {', '.join(KEYS)}")
        return tuple(self._term(t) for t in self._envelopes[key][0])

    def _term(self, t: _Tm) -> Term:
        name = _name(t)
        if self._a0_name is not None:
            name = name.replace(_ATOM["A₀Z"], self._a0_name)
        return Term(name, t.b, t.a)

    def crossovers(self) -> list[Crossover]:
        """Every change of dominant term, per quantity in KEYS order, τ* > 0."""
        out = []
        for k in KEYS:
            pieces, turns = self._envelopes[k]
            for (p, q), x in zip(pairwise(pieces), turns, strict=True):
                if x > 0:
                    out.append(_crossover(k, x, self._term(p), self._term(q)))
        return out


_LABEL = {"delta1": "δ₁", "delta2": "δ₂", "delta3": "δ₃", "dY": "ΔY", "AtZ": "A_tZ",
          "Bt": "B_t"}


def _crossover(k: str, x: Fraction, before: Term, after: Term) -> Crossover:
    where = "" if k in ("AtZ", "Bt") else "the term through "
    why = (f"In {_LABEL[k]}, {where}{after.name} = Θ({after.theta()}) overtakes {where}"
           f"{before.name} = Θ({before.theta()}) at t*(n) = Θ({_pow('n', x)}) (n*(t) = "
           f"Θ({_pow('t', 1 / x)})), "
           f"so at a fixed step the width slope turns from {fmt_value(before.n_exp)} at large "
           f"n to {fmt_value(after.n_exp)} at small n.")
    return Crossover(k, x, before, after, why)


def crossovers(p: Any) -> list[Crossover]:
    """The crossover steps t*(n) = Θ(n^τ*) of a :class:`theory.Prediction`, per quantity.

    Raises:
        TheoryInputError: ``p`` is not a Prediction.
    """
    model = getattr(p, "tau_model", None)
    if not isinstance(model, TauModel):
        raise TheoryInputError("crossovers() takes the Prediction returned by predict()")
    return model.crossovers()
