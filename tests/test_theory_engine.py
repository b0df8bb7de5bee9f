"""Engine tests: exact values, max-plus laws, Fourier–Motzkin, the solver, the parser."""

import doctest
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import theory
from theory import (
    NEG_INF,
    GammaExpr,
    NullableConflictError,
    TheoryInputError,
    TheoryParseError,
    _linear,
    _maxplus,
    _parse,
    _solver,
    _sympy,
    contract,
    exact,
    gamma_of_sum,
    gmax,
    implies,
    parse_expr,
    parse_system,
    satisfiable,
    solve,
)
from theory._linear import LinCon

SYMS = ("x", "y", "z")
rationals = st.builds(Fraction, st.integers(-6, 6), st.integers(1, 3))
values = st.one_of(st.just(NEG_INF), rationals)


@st.composite
def exprs(draw):
    """Random max of 0–3 affine forms with non-negative coefficients (so −∞ is allowed)."""
    forms = []
    for _ in range(draw(st.integers(0, 3))):
        e = GammaExpr.const(draw(rationals))
        for s in SYMS:
            c = draw(st.sampled_from([0, 0, 1, 2, Fraction(1, 2)]))
            if c:
                e = e + GammaExpr.symbol(s).scale(c)
        forms.append(e)
    return gmax(*forms)


points = st.fixed_dictionaries({s: values for s in SYMS})
LAWS = settings(max_examples=60, deadline=None, derandomize=True)


@LAWS
@given(exprs(), exprs(), exprs(), points)
def test_max_plus_laws_hold_syntactically_and_by_value(a, b, c, p):
    assert a + b == b + a and gmax(a, b) == gmax(b, a)
    assert (a + b) + c == a + (b + c) and gmax(gmax(a, b), c) == gmax(a, gmax(b, c))
    assert a + gmax(b, c) == gmax(a + b, a + c)  # + distributes over max
    neg = GammaExpr.const("-oo")
    assert (a + neg).is_neg_inf and gmax(a, neg) == a  # −∞ absorbs +, is neutral for max
    va, vb = a.evaluate(p), b.evaluate(p)
    assert (a + b).evaluate(p) == _maxplus.vadd(va, vb)
    assert gmax(a, b).evaluate(p) == _maxplus.vmax(va, vb)


def test_exact_accepts_exact_values_and_refuses_floats():
    sympy = pytest.importorskip("sympy")
    assert exact("-1/2") == Fraction(-1, 2) and exact(3) == 3
    assert exact(sympy.Rational(-3, 4)) == Fraction(-3, 4)
    assert exact("-inf") is NEG_INF and exact(-sympy.oo) is NEG_INF and exact("-oo") is NEG_INF
    with pytest.raises(TypeError):
        exact(0.5)
    with pytest.raises(TypeError):
        exact(sympy.Float(0.5))
    for bad in ("0.5", "pi", "1/0", "inf", "sqrt(2)"):
        with pytest.raises(TheoryInputError):
            exact(bad)
    with pytest.raises(TheoryInputError):
        exact(sympy.sqrt(2))


def test_sum_and_contraction_rules():
    eta = GammaExpr.symbol("eta")
    assert gamma_of_sum(eta, 0, no_cancellation=True) == ("=", gmax(eta, 0))
    assert gamma_of_sum(eta, 0, no_cancellation=False)[0] == "<="
    assert contract(eta, over="n", kind="aligned") == eta + 1
    assert contract(eta, over="n", kind="independent") == eta + Fraction(1, 2)
    assert contract(eta, over="r") == eta
    with pytest.raises(TheoryInputError):
        contract(eta, over="m")
    with pytest.raises(TheoryInputError):
        contract(eta, over="n", kind="random")


def test_fourier_motzkin_strictness_and_witness():
    x_le_1 = LinCon.make({"x": 1}, -1)
    assert _linear.feasible([x_le_1, LinCon.make({"x": -1}, 1)]) == {"x": Fraction(1)}
    assert _linear.feasible([x_le_1, LinCon.make({"x": -1}, 1, strict=True)]) is None
    box = [LinCon.make({"x": -1}, 0, strict=True), LinCon.make({"x": 3}, -1, strict=True),
           LinCon.make({"x": 1, "y": -1}, 0), LinCon.make({"y": 1}, Fraction(-1, 4))]
    p = _linear.feasible(box)
    assert p is not None and all(c.holds(p) for c in box)
    eqs, ineqs = _linear.simplify([*box, LinCon.make({"y": 1}, -5)])
    assert eqs == [] and LinCon.make({"y": 1}, -5) not in ineqs and len(ineqs) == 3


def test_solver_finds_implicit_equalities_and_absorbs_cells():
    cells = solve(parse_system("x <= y; y <= x; max(x, 0) <= 1"))
    assert [c.strings() for c in cells] == [["x <= 1", "x = y"]]
    # max(x, 1) >= 0 holds everywhere: one unconstrained cell, no duplicates
    (cell,) = solve(parse_system("max(x, 1) >= 0; y <= 2"))
    assert cell.strings() == ["y <= 2"]
    (cell,) = solve(parse_system("max(x, y) = max(y, x); z <= 1"))  # an identity: one cell
    assert cell.strings() == ["z <= 1"]
    assert not satisfiable(parse_system("max(x, y) < max(y, x)"))


def test_solver_splits_nullable_symbols():
    sys = parse_system("max(B0, eta) = eta; eta = -1/2", nullable="B0")
    got = sorted(tuple(c.strings()) for c in solve(sys))
    assert got == [("B0 = -oo", "eta = -1/2"), ("B0 > -oo", "B0 <= -1/2", "eta = -1/2")]
    assert not satisfiable(parse_system("x < -inf"))
    assert satisfiable(parse_system("B0 <= -inf", nullable="B0"))
    assert not satisfiable(parse_system("B0 <= -inf"))


def test_implication_proves_or_returns_a_checked_counterexample():
    hyp = parse_system("A0Z <= eta + 1", nullable="A0Z")
    assert implies(hyp, parse_system("max(A0Z, eta + 1) = eta + 1")).holds
    res = implies(parse_system("A0Z <= eta + 2", nullable="A0Z"),
                  parse_system("max(A0Z, eta + 1) = eta + 1"))
    assert not res.holds
    point = res.counterexample.point
    assert parse_system("A0Z <= eta + 2").holds(point)
    assert not parse_system("max(A0Z, eta + 1) = eta + 1").holds(point)
    assert res.to_json()["counterexample"]["cell"] == ["A0Z > -oo", "A0Z <= eta + 2",
                                                      "A0Z > eta + 1"]


def test_nullable_with_negative_coefficient_is_a_conflict():
    with pytest.raises(NullableConflictError):
        parse_system("eta - B0 <= 0", nullable="B0")
    with pytest.raises(NullableConflictError):
        parse_system("-B0 <= 1", nullable="B0")


@pytest.mark.parametrize("text", [
    "x <=", "x <= 1 <= 2", "1/0 <= x", "x*y <= 1", "0.5 <= x", "max(x, y <= 1", "x ? 1",
    "1 - max(x, y) <= 0", "inf <= x", "x - -inf <= 0", "x <= y)", "", "x / y <= 1",
])
def test_malformed_systems_raise_parse_errors(text):
    with pytest.raises(TheoryParseError):
        parse_system(text)


def test_parser_reads_the_documented_syntax():
    e = parse_expr("max(2*eta, eta/2 + 1, -3) + 1/2 - s")
    assert e.evaluate({"eta": 1, "s": 0}) == Fraction(5, 2)
    assert str(parse_expr("-inf")) == "-oo" and str(parse_expr("x + -inf")) == "-oo"
    assert parse_system("a == b").constraints[0].op == "="
    assert str(parse_system("eta >= -1/2; x < 2*y")) == "eta >= -1/2; x < 2*y"


def test_sympy_front_end_round_trips_and_prints_latex():
    sympy = pytest.importorskip("sympy")
    e = parse_expr("max(A0Z, eta + 1) + s")
    assert theory.from_sympy(theory.to_sympy(e)) == e
    assert "\\max" in theory.to_latex(e)
    x = sympy.Symbol("x", real=True)
    assert theory.from_sympy(sympy.Max(x, sympy.Rational(1, 2)) + 2 * x) == \
        parse_expr("max(3*x, 2*x + 1/2)")
    with pytest.raises(TypeError):
        theory.from_sympy(x + sympy.Float(0.5))
    with pytest.raises(TheoryInputError):
        theory.from_sympy(x * x)
    cell = solve(parse_system("x <= 1; x >= 1"))[0]
    assert theory.to_latex(cell) == "x = 1"


def test_sympy_relations_are_a_front_end_to_the_solver():
    sympy = pytest.importorskip("sympy")
    eta, a0z, s = sympy.symbols("eta A0Z s", real=True)
    sys = theory.system_from_sympy(
        [sympy.Le(a0z, eta + 1), sympy.Eq(s + 2 * eta + 1, 0),
         sympy.Eq(eta, sympy.Rational(-1, 2))], nullable=["A0Z"])
    assert sorted(tuple(c.strings()) for c in solve(sys)) == [
        ("A0Z = -oo", "eta = -1/2", "s = 0"), ("A0Z > -oo", "A0Z <= 1/2", "eta = -1/2", "s = 0")]
    with pytest.raises(TheoryInputError):
        theory.system_from_sympy([sympy.Ne(eta, 0)])


@pytest.mark.parametrize("module", [_maxplus, _linear, _solver, _parse, _sympy])
def test_module_doctests(module):
    assert doctest.testmod(module).failed == 0


def _simplest_by_search(lo, lo_s, hi, hi_s):
    """Reference witness: 0 if allowed, else smallest denominator, then |numerator|."""
    if _linear._inside(Fraction(0), lo, lo_s, hi, hi_s):
        return Fraction(0)
    for d in range(1, 100):
        inside = [Fraction(k, d) for k in range(-300, 301)
                  if _linear._inside(Fraction(k, d), lo, lo_s, hi, hi_s)]
        if inside:
            return min(inside, key=lambda v: abs(v.numerator))
    raise AssertionError("no rational with a small denominator")


@settings(max_examples=300, deadline=None, derandomize=True)
@given(rationals, rationals, st.booleans(), st.booleans(), st.sampled_from(["both", "lo", "hi"]))
def test_witness_is_the_simplest_rational_of_the_interval(a, b, lo_s, hi_s, sides):
    lo, hi = min(a, b), max(a, b)
    if lo == hi:
        lo_s = hi_s = False
    lo = None if sides == "hi" else lo
    hi = None if sides == "lo" else hi
    assert _linear._pick(lo, lo_s, hi, hi_s) == _simplest_by_search(lo, lo_s, hi, hi_s)


def test_witness_in_a_tiny_interval_is_found_directly():
    tiny = Fraction(1, 10**50)
    assert _linear._pick(Fraction(0), True, tiny, False) == tiny
    assert _linear._pick(Fraction(0), True, tiny, True) == Fraction(1, 10**50 + 1)
    x = solve(parse_system(f"x > 0; x < 1/{10**999}"))[0].point["x"]
    assert 0 < x < Fraction(1, 10**999)
    res = implies(parse_system("x > 0"), parse_system(f"x >= 1/{10**50}"))
    assert not res.holds and 0 < res.counterexample.point["x"] < tiny


def test_equal_maxima_give_one_cell_per_pair_of_dominant_terms():
    cells = solve(parse_system("max(x0, x1, x2) = max(y0, y1, y2)"))
    assert len(cells) == 9
    assert ["x0 >= x1", "x0 >= x2", "x0 = y0", "y0 >= y1", "y0 >= y2"] in \
        [c.strings() for c in cells]
    for c in cells:  # each witness and each interior point solves the system
        assert parse_system("max(x0, x1, x2) = max(y0, y1, y2)").holds(
            {**{k: Fraction(0) for k in ("x0", "x1", "x2", "y0", "y1", "y2")}, **c.interior})


@pytest.mark.parametrize("text", [
    "max(" * 150 + "x" + ", 1)" * 150 + " <= 0",
    "(" * 150 + "x" + ")" * 150 + " <= 0",
    "x <= " + "9" * 4301,
])
def test_parser_limits_are_named_errors(text):
    with pytest.raises(theory.errors.TheoryLimitError):
        parse_system(text)


def test_unary_signs_are_read_without_recursion():
    assert parse_expr("-" * 990 + "x") == GammaExpr.symbol("x")
    assert parse_expr("-" * 991 + "x") == -GammaExpr.symbol("x")
    assert parse_expr("+-+-x") == GammaExpr.symbol("x")


@pytest.mark.parametrize("text", ["2*x - x <= 1", "x - x <= 1", "0*x <= 1", "x/(-2) <= y",
                                  "-(-x) <= 1", "y <= 1 + -x + x"])
def test_a_nullable_symbol_under_a_minus_is_refused_even_if_it_cancels(text):
    with pytest.raises(NullableConflictError, match="minus sign"):
        parse_system(text, nullable="x")
    parse_system(text)  # the same text is fine when x is finite


def test_search_work_is_bounded():
    many = "; ".join(f"max(a{i}, b{i}) >= 0" for i in range(15))  # 2^15 cells
    with pytest.raises(theory.errors.TheoryLimitError, match="split it"):
        solve(parse_system(many))
    assert not implies(parse_system(many), parse_system("a0 >= 0")).holds  # first leaf suffices
    names = ",".join(f"x{i}" for i in range(20))  # 2^20 nullable splits
    with pytest.raises(theory.errors.TheoryLimitError):
        solve(parse_system(" + ".join(names.split(",")) + " >= 0", nullable=names))
