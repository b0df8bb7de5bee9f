"""Exact max-plus values and γ-expressions: rationals with a −∞ sentinel, max of affine forms.

The γ-calculus of both papers is tropical algebra over the rationals with −∞ (Stable-LoRA
Sec. 2.3, ICML Lemmas 1–2): γ[v·v'] = γ[v] + γ[v'], γ[v + v'] = max(γ[v], γ[v']) when the
terms do not cancel (otherwise only ≤), γ[0] = −∞, and a contraction over the width n adds
1 (aligned terms, Lemma 2 / Assumption 1) or 1/2 (independent terms, CLT), over r adds 0.

>>> eta, a0z = GammaExpr.symbol("eta"), GammaExpr.symbol("A0Z")
>>> str(gmax(a0z, eta + 1))
'max(A0Z, eta + 1)'
>>> gmax(a0z, eta + 1).evaluate({"A0Z": NEG_INF, "eta": exact("-1/2")})
Fraction(1, 2)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from .errors import NullableConflictError, TheoryInputError, TheoryLimitError

__all__ = [
    "NEG_INF",
    "Affine",
    "GammaExpr",
    "Value",
    "contract",
    "exact",
    "fmt_value",
    "gamma_of_sum",
    "gmax",
    "vadd",
    "vmax",
]


class _NegInf:
    """The exponent of an exact zero, γ[0] = −∞: absorbing for +, neutral for max."""

    _instance: _NegInf | None = None

    def __new__(cls) -> _NegInf:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "-oo"

    def __lt__(self, other: object) -> bool:
        return other is not self

    def __le__(self, other: object) -> bool:
        return True

    def __gt__(self, other: object) -> bool:
        return False

    def __ge__(self, other: object) -> bool:
        return other is self

    def __hash__(self) -> int:
        return hash("-oo")


NEG_INF = _NegInf()
Value = Fraction | _NegInf

_RATIONAL = re.compile(r"^\s*([+-]?\d+)\s*(?:/\s*(\d+))?\s*$")
_NEG_INF_WORDS = {"-oo", "-inf", "-infinity", "−∞", "-∞"}


def exact(x: object) -> Value:
    """Convert an exponent to an exact value: int, Fraction, sympy Rational/−oo, or a string.

    Strings are ``"1/2"``, ``"-3"``, ``"-oo"``, ``"-inf"``; the minus may be U+2212 (−).

    Raises:
        TypeError: on a float (or a sympy Float): an exact value is needed.
        TheoryInputError: on anything else that is not a rational or −∞ (``"0.5"``, ``"pi"``,
            ``"1/0"``, +∞).
        TheoryLimitError: a numerator or denominator over :data:`MAX_DIGITS` digits.
    """
    if isinstance(x, bool):
        raise TypeError(f"an exponent must be an exact rational, got the bool {x!r}")
    if isinstance(x, float):
        raise TypeError(f"floats are not exact: write the exponent {x!r} as a Fraction or '1/2'")
    if isinstance(x, (int, Fraction)):
        return Fraction(x)
    if x is NEG_INF:
        return NEG_INF
    if type(x).__module__.startswith("sympy"):
        return _from_sympy_number(x)
    if isinstance(x, str):
        return _from_string(x)
    raise TypeError(f"cannot use {type(x).__name__} {x!r} as an exact exponent")


def _from_sympy_number(x: object) -> Value:
    if getattr(x, "is_Float", False):
        raise TypeError(f"sympy Float {x} is not exact: use sympy.Rational")
    if getattr(x, "is_Rational", False):
        return Fraction(int(x.p), int(x.q))  # type: ignore[attr-defined]
    if getattr(x, "is_infinite", False) and getattr(x, "is_extended_negative", False):
        return NEG_INF
    raise TheoryInputError(f"exponent {x} is not a rational number or -oo")


MAX_DIGITS = 1000  #: longest integer (digits) an exponent string may have


def _from_string(text: str) -> Value:
    s = text.strip().replace("\u2212", "-")  # U+2212 MINUS SIGN, as typeset systems write it
    if s.lower() in _NEG_INF_WORDS:
        return NEG_INF
    m = _RATIONAL.match(s)
    if m is None:
        raise TheoryInputError(
            f"exponent {text!r} is not an exact rational: write e.g. 1/2, -3 or -inf"
        )
    if any(len(g.lstrip("+-")) > MAX_DIGITS for g in m.groups() if g is not None):
        raise TheoryLimitError(f"exponent {s[:20]}... has a number over {MAX_DIGITS} digits")
    den = int(m.group(2)) if m.group(2) is not None else 1
    if den == 0:
        raise TheoryInputError(f"exponent {text!r} divides by zero")
    return Fraction(int(m.group(1)), den)


def vadd(*vals: Value) -> Value:
    """Max-plus product of exact values: the sum, with −∞ absorbing."""
    total = Fraction(0)
    for v in vals:
        if v is NEG_INF:
            return NEG_INF
        total += v  # type: ignore[operator]
    return total


def vmax(*vals: Value) -> Value:
    """Max-plus sum of exact values: the max, with −∞ neutral (−∞ for no values)."""
    best: Value = NEG_INF
    for v in vals:
        if v is not NEG_INF and (best is NEG_INF or v > best):  # type: ignore[operator]
            best = v
    return best


def fmt_value(v: Value) -> str:
    """Format an exact value as the result-file strings ``"1/2"``, ``"0"``, ``"-oo"``."""
    return "-oo" if v is NEG_INF else str(v)


def _fmt_coef_symbol(c: Fraction, name: str) -> str:
    a = abs(c)
    if a == 1:
        return name
    if a.denominator == 1:
        return f"{a.numerator}*{name}"
    if a.numerator == 1:
        return f"{name}/{a.denominator}"
    return f"{a.numerator}*{name}/{a.denominator}"


@dataclass(frozen=True, order=True)
class Affine:
    """One finite affine form ``const + Σ coef·symbol`` (coefficients non-zero, sorted)."""

    coeffs: tuple[tuple[str, Fraction], ...]
    const: Fraction

    @staticmethod
    def make(coeffs: Mapping[str, Fraction], const: Fraction) -> Affine:
        """Build a normalised form (zero coefficients dropped, symbols sorted)."""
        return Affine(tuple(sorted((k, v) for k, v in coeffs.items() if v != 0)), const)

    @property
    def symbols(self) -> frozenset[str]:
        """The symbols with a non-zero coefficient."""
        return frozenset(k for k, _ in self.coeffs)

    def __add__(self, other: Affine) -> Affine:
        d = dict(self.coeffs)
        for k, v in other.coeffs:
            d[k] = d.get(k, Fraction(0)) + v
        return Affine.make(d, self.const + other.const)

    def scale(self, c: Fraction) -> Affine:
        """Multiply every coefficient and the constant by the rational ``c``."""
        return Affine.make({k: v * c for k, v in self.coeffs}, self.const * c)

    def evaluate(self, values: Mapping[str, Value]) -> Value:
        """The value at an assignment; −∞ when a symbol with a positive coefficient is −∞.

        Raises:
            NullableConflictError: a symbol at −∞ with a negative coefficient (+∞ appears).
            KeyError: a symbol without a value.
        """
        total = self.const
        for k, c in self.coeffs:
            v = values[k]
            if v is NEG_INF:
                if c < 0:
                    raise NullableConflictError(f"{k} = -oo enters with a negative coefficient")
                return NEG_INF
            total += c * v
        return total

    def __str__(self) -> str:
        parts: list[str] = []
        for k, c in self.coeffs:
            sign = "-" if c < 0 else "+"
            parts.append((sign, _fmt_coef_symbol(c, k)))
        if self.const != 0 or not parts:
            parts.append(("-" if self.const < 0 else "+", str(abs(self.const))))
        out = ("-" if parts[0][0] == "-" else "") + parts[0][1]
        for sign, body in parts[1:]:
            out += f" {sign} {body}"
        return out


def _normalise(terms: object) -> frozenset[Affine]:
    """Keep, among forms with the same symbolic part, only the one with the largest constant."""
    best: dict[tuple[tuple[str, Fraction], ...], Fraction] = {}
    for t in terms:  # type: ignore[attr-defined]
        if t.coeffs not in best or t.const > best[t.coeffs]:
            best[t.coeffs] = t.const
    return frozenset(Affine(k, v) for k, v in best.items())


@dataclass(frozen=True)
class GammaExpr:
    """A γ-expression: the max of finitely many affine forms; no forms at all is −∞."""

    terms: frozenset[Affine]

    @staticmethod
    def const(v: object) -> GammaExpr:
        """The constant exponent ``v`` (anything :func:`exact` accepts)."""
        x = exact(v)
        if x is NEG_INF:
            return GammaExpr(frozenset())
        return GammaExpr(frozenset({Affine((), x)}))  # type: ignore[arg-type]

    @staticmethod
    def symbol(name: str) -> GammaExpr:
        """The exponent named ``name``."""
        return GammaExpr(frozenset({Affine(((name, Fraction(1)),), Fraction(0))}))

    @property
    def is_neg_inf(self) -> bool:
        """True for −∞ (the empty max)."""
        return not self.terms

    @property
    def symbols(self) -> frozenset[str]:
        """Every symbol that appears."""
        out: frozenset[str] = frozenset()
        for t in self.terms:
            out |= t.symbols
        return out

    def __add__(self, other: object) -> GammaExpr:
        o = other if isinstance(other, GammaExpr) else GammaExpr.const(other)
        return GammaExpr(_normalise(a + b for a in self.terms for b in o.terms))

    __radd__ = __add__

    def __neg__(self) -> GammaExpr:
        return self.scale(Fraction(-1))

    def __sub__(self, other: object) -> GammaExpr:
        o = other if isinstance(other, GammaExpr) else GammaExpr.const(other)
        return self + (-o)

    def scale(self, c: object) -> GammaExpr:
        """Multiply by a rational: c > 0 distributes over max; c ≤ 0 only for one affine form.

        Raises:
            TheoryInputError: c ≤ 0 times a max of several forms (a min, not max-plus) or
                times −∞ (0·(−∞) and −(−∞) are undefined here).
        """
        k = exact(c)
        if k is NEG_INF:
            raise TheoryInputError("cannot multiply an exponent by -oo")
        if k > 0:
            return GammaExpr(_normalise(t.scale(k) for t in self.terms))  # type: ignore[arg-type]
        if len(self.terms) != 1:
            what = "-oo" if self.is_neg_inf else f"max({self})"
            raise TheoryInputError(
                f"cannot multiply {what} by {k}: a negated max is a min, outside max-plus"
            )
        (t,) = self.terms
        return GammaExpr(frozenset({t.scale(k)}))  # type: ignore[arg-type]

    def evaluate(self, values: Mapping[str, object]) -> Value:
        """The exact value at an assignment of every symbol (values as :func:`exact` takes)."""
        vals = {k: exact(v) for k, v in values.items()}
        best: Value = NEG_INF
        for t in self.terms:
            v = t.evaluate(vals)
            if v is not NEG_INF and (best is NEG_INF or v > best):
                best = v
        return best

    def substitute_neg_inf(self, names: frozenset[str]) -> GammaExpr:
        """Set the symbols in ``names`` to −∞: forms containing them disappear.

        Raises:
            NullableConflictError: one of them has a negative coefficient somewhere.
        """
        kept = []
        for t in self.terms:
            hit = [(k, c) for k, c in t.coeffs if k in names]
            if any(c < 0 for _, c in hit):
                bad = next(k for k, c in hit if c < 0)
                raise NullableConflictError(
                    f"symbol {bad} is nullable (may be -oo) but appears with a negative "
                    f"coefficient in {t}"
                )
            if not hit:
                kept.append(t)
        return GammaExpr(frozenset(kept))

    def sorted_terms(self) -> list[Affine]:
        """The forms in a deterministic order (for printing)."""
        return sorted(self.terms, key=lambda t: (t.coeffs, t.const))

    def __str__(self) -> str:
        if self.is_neg_inf:
            return "-oo"
        ts = [str(t) for t in self.sorted_terms()]
        return ts[0] if len(ts) == 1 else f"max({', '.join(ts)})"


def gmax(*exprs: object) -> GammaExpr:
    """γ of a sum without cancellation: the max of the arguments (−∞ for none)."""
    terms: list[Affine] = []
    for e in exprs:
        g = e if isinstance(e, GammaExpr) else GammaExpr.const(e)
        terms.extend(g.terms)
    return GammaExpr(_normalise(terms))


def gamma_of_sum(*exprs: object, no_cancellation: bool) -> tuple[str, GammaExpr]:
    """γ[v₁ + … + v_k] as a relation to max γ[v_i] (Stable-LoRA Sec. 2.3, addition property).

    Returns:
        ``("=", max)`` under the explicit no-cancellation assumption, else ``("<=", max)``:
        without it the sum can only be bounded above.
    """
    return ("=" if no_cancellation else "<=", gmax(*exprs))


def contract(expr: GammaExpr, *, over: str, kind: str = "aligned") -> GammaExpr:
    """γ of a contraction (a sum of products) over an inner dimension (ICML Lemmas 1–2).

    Args:
        expr: γ of one product term.
        over: ``"n"`` (the width) or ``"r"`` (the rank, Θ(1)).
        kind: over n, ``"aligned"`` (terms of one sign: +1, Lemma 2 / Assumption 1) or
            ``"independent"`` (zero-mean independent terms: +1/2, central limit theorem).

    Raises:
        TheoryInputError: an unknown ``over`` or ``kind``.
    """
    if over == "r":
        return expr
    if over != "n":
        raise TheoryInputError(f"contraction over {over!r}: use 'n' (width) or 'r' (rank)")
    steps = {"aligned": Fraction(1), "independent": Fraction(1, 2)}
    if kind not in steps:
        raise TheoryInputError(f"contraction kind {kind!r}: use one of {sorted(steps)}")
    return expr + steps[kind]
