"""Cross-check of the exact solver against sympy's LRA decision procedure on random systems.

The reference encoding is independent of the engine: a max-plus constraint becomes a
propositional formula over linear atoms (``l ≤ r`` for each pair of forms) and one atom
"is −∞" per nullable symbol, decided by ``satisfiable(..., use_lra_theory=True)``.
"""

import itertools
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from theory import NEG_INF, GammaExpr, gmax, implies, satisfiable, solve
from theory._solver import Constraint, System

SYMS = ("x", "y", "z")
OPS = ("=", "<=", "<", ">=", ">")
CROSS = settings(max_examples=520, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow])


@st.composite
def systems(draw):
    """1–3 constraints over x, y, z; some symbols nullable (those get coefficients ≥ 0)."""
    nullable = frozenset(s for s in SYMS if draw(st.integers(0, 3)) == 0)

    def side():
        forms = []
        for _ in range(draw(st.sampled_from([1, 1, 2, 2, 3, 0]))):
            e = GammaExpr.const(Fraction(draw(st.integers(-4, 4)), draw(st.sampled_from([1, 2]))))
            for s in SYMS:
                lo = 0 if s in nullable else -2
                c = draw(st.integers(lo, 2))
                if c and draw(st.booleans()):
                    e = e + GammaExpr.symbol(s).scale(c)
            forms.append(e)
        return gmax(*forms)

    cons = tuple(Constraint(side(), draw(st.sampled_from(OPS)), side())
                 for _ in range(draw(st.integers(1, 3))))
    return System(cons, nullable)


def _reference(system: System):
    """sympy formula equivalent to the system (linear atoms guarded by liveness)."""
    import sympy

    reals = {s: sympy.Symbol(s, real=True) for s in SYMS}
    # "x is −∞" is the LRA atom d_x > 0 on a fresh real d_x (sympy's LRA takes no plain Booleans)
    dead = {s: sympy.Gt(sympy.Symbol(f"d_{s}", real=True), 0) for s in system.nullable}

    def alive(form):
        return sympy.And(*(sympy.Not(dead[k]) for k, _ in form.coeffs if k in dead))

    def lin(form):
        return sympy.Rational(form.const.numerator, form.const.denominator) + sum(
            sympy.Rational(c.numerator, c.denominator) * reals[k] for k, c in form.coeffs)

    def le(lhs, rhs, strict):
        rel = sympy.Lt if strict else sympy.Le
        parts = [sympy.Or(sympy.Not(alive(l)), *(sympy.And(alive(r), rel(lin(l), lin(r)))
                                                  for r in rhs.terms)) for l in lhs.terms]
        if strict:
            parts.append(sympy.Or(*(alive(r) for r in rhs.terms)))
        return sympy.And(*parts)

    out = []
    for c in system.constraints:
        a, op, b = c.lhs, c.op, c.rhs
        if op in (">=", ">"):
            a, b, op = b, a, {">=": "<=", ">": "<"}[op]
        out.append(sympy.And(le(a, b, False), le(b, a, False)) if op == "=" else
                   le(a, b, op == "<"))
    return sympy.And(*out)


@CROSS
@given(systems())
def test_satisfiable_agrees_with_sympy_lra(system):
    from sympy.logic.inference import satisfiable as sympy_sat

    ours = satisfiable(system)
    ref = sympy_sat(_reference(system), use_lra_theory=True) is not False
    assert ours == ref, str(system)


GRID = [NEG_INF, *(Fraction(k, 2) for k in range(-3, 4))]


@settings(max_examples=80, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(systems())
def test_cells_are_exactly_the_solution_set(system):
    """Witnesses satisfy the system, and on a grid: in some cell ⇔ satisfies the system."""
    cells = solve(system)
    assert bool(cells) == satisfiable(system)
    for cell in cells:
        assert system.holds(cell.point), (str(system), cell.strings())
    for point in itertools.product(*([v for v in GRID if v is not NEG_INF or s in
                                      system.nullable] for s in SYMS)):
        values = dict(zip(SYMS, point, strict=True))
        assert system.holds(values) == any(c.contains(values) for c in cells), values


@settings(max_examples=80, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(systems(), systems())
def test_implication_agrees_with_sympy_lra(hyp, concl):
    import sympy
    from sympy.logic.inference import satisfiable as sympy_sat

    nullable = hyp.nullable | concl.nullable
    hyp, concl = System(hyp.constraints, nullable), System(concl.constraints, nullable)
    try:
        res = implies(hyp, concl)
    except ValueError:  # a symbol nullable in one system, negative in the other
        return
    ref = sympy_sat(sympy.And(_reference(hyp), sympy.Not(_reference(concl))),
                    use_lra_theory=True) is False
    assert res.holds == ref
    if not res.holds:
        assert hyp.holds(res.counterexample.point)
        assert not concl.holds(res.counterexample.point)
