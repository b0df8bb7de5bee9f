"""sympy front end: γ-expressions, constraints and cells to and from sympy, and LaTeX.

sympy is what users see (symbols, pretty printing, LaTeX); the deciding is done by the
exact engine, never by sympy's ``solve``/``reduce_inequalities`` (they drop max branches).
sympy is imported lazily so ``python -m theory --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from typing import Any

from ._maxplus import GammaExpr, gmax
from ._solver import Cell, Constraint, System, check_nullable
from .errors import TheoryInputError

__all__ = [
    "cell_to_sympy",
    "constraint_to_sympy",
    "from_sympy",
    "system_from_sympy",
    "to_latex",
    "to_sympy",
]


def _sym(name: str) -> Any:
    import sympy

    return sympy.Symbol(name, real=True)


def to_sympy(expr: GammaExpr) -> Any:
    """A sympy expression: ``Max`` of affine forms in real symbols, ``-oo`` for −∞."""
    import sympy

    if expr.is_neg_inf:
        return sympy.S.NegativeInfinity
    forms = [
        sympy.Rational(t.const.numerator, t.const.denominator)
        + sum(sympy.Rational(c.numerator, c.denominator) * _sym(k) for k, c in t.coeffs)
        for t in expr.sorted_terms()
    ]
    return forms[0] if len(forms) == 1 else sympy.Max(*forms, evaluate=False)


def from_sympy(expr: Any) -> GammaExpr:
    """Convert a sympy expression built from Rational, Symbol, +, rational·x, Max, −oo.

    Raises:
        TypeError: a sympy Float (not exact).
        TheoryInputError: anything outside max-plus over ℚ (a product of symbols, Min, √2…).
    """
    import sympy

    if expr.is_Float:
        raise TypeError(f"sympy Float {expr} is not exact: use sympy.Rational")
    if expr is sympy.S.NegativeInfinity:
        return GammaExpr.const("-oo")
    if expr.is_Rational:
        return GammaExpr.const(Fraction(int(expr.p), int(expr.q)))
    if expr.is_Symbol:
        return GammaExpr.symbol(expr.name)
    if isinstance(expr, sympy.Max):
        return gmax(*(from_sympy(a) for a in expr.args))
    if expr.is_Add:
        out = GammaExpr.const(0)
        for a in expr.args:
            out = out + from_sympy(a)
        return out
    if expr.is_Mul:
        consts = [a for a in expr.args if a.is_Rational]
        rest = [a for a in expr.args if not a.is_Rational]
        if len(rest) == 1 and consts:
            c = sympy.Mul(*consts)
            return from_sympy(rest[0]).scale(Fraction(int(c.p), int(c.q)))
    raise TheoryInputError(f"{expr} is not a max-plus expression over the rationals")


def constraint_to_sympy(c: Constraint) -> Any:
    """The constraint as a sympy relational (``Le``, ``Lt``, ``Eq``, …), unevaluated."""
    import sympy

    rel = {"=": sympy.Eq, "<=": sympy.Le, "<": sympy.Lt, ">=": sympy.Ge, ">": sympy.Gt}[c.op]
    return rel(to_sympy(c.lhs), to_sympy(c.rhs), evaluate=False)


def system_from_sympy(relations: Iterable[Any], nullable: Iterable[str] = ()) -> System:
    """A :class:`System` from sympy relationals (``Eq``, ``Le``, ``Lt``, ``Ge``, ``Gt``).

    >>> import sympy
    >>> eta, a0z = sympy.symbols("eta A0Z", real=True)
    >>> str(system_from_sympy([sympy.Le(sympy.Max(a0z, eta + 1), 0)], nullable=["A0Z"]))
    'max(A0Z, eta + 1) <= 0'

    Raises:
        TheoryInputError: a relation that is not one of the five, or a side outside max-plus.
        NullableConflictError: a nullable symbol with a negative coefficient.
    """
    import sympy

    ops = {sympy.Eq: "=", sympy.Le: "<=", sympy.Lt: "<", sympy.Ge: ">=", sympy.Gt: ">"}
    cons = []
    for rel in relations:
        op = ops.get(type(rel))
        if op is None:
            raise TheoryInputError(f"{rel} is not a relation = <= < >= >")
        cons.append(Constraint(from_sympy(rel.lhs), op, from_sympy(rel.rhs)))
    system = System(tuple(cons), frozenset(nullable))
    check_nullable(system)
    return system


def cell_to_sympy(cell: Cell) -> Any:
    """A cell as a sympy ``And`` of relationals (−∞ symbols as ``Eq(x, -oo)``)."""
    import sympy

    from ._parse import parse_constraint

    parts = []
    for s in cell.strings():
        if s.endswith("= -oo"):
            parts.append(sympy.Eq(_sym(s.split()[0]), sympy.S.NegativeInfinity, evaluate=False))
        elif s.endswith("> -oo"):
            parts.append(sympy.Gt(_sym(s.split()[0]), sympy.S.NegativeInfinity, evaluate=False))
        else:
            parts.append(constraint_to_sympy(parse_constraint(s)))
    return sympy.And(*parts, evaluate=False) if len(parts) != 1 else parts[0]


def to_latex(obj: GammaExpr | Constraint | Cell) -> str:
    """LaTeX of an expression, a constraint or a cell (via sympy's printer)."""
    import sympy

    if isinstance(obj, GammaExpr):
        return sympy.latex(to_sympy(obj))
    if isinstance(obj, Constraint):
        return sympy.latex(constraint_to_sympy(obj))
    return sympy.latex(cell_to_sympy(obj))
