"""predict(): the configurations the papers discuss, and the contract sims/ and figures/ use."""

import itertools
import json
from fractions import Fraction

import pytest

from theory import KEYS, TheoryInputError, classify, predict

F = Fraction


def gammas(p, which="gamma"):
    """The prediction's exponents as strings (None stays None)."""
    return p.to_json()[which]


def test_theorem_3_1_configuration_is_stable_with_the_b0_zero_transient():
    p = predict("-1/2", 0, 0, "-inf")  # Init[A], γ[s] + 2γ[η] + 1 = 0
    assert p.case == "case1" and p.stable
    assert gammas(p) == {"delta1": "0", "delta2": "0", "delta3": "0", "dY": "0",
                         "AtZ": "1/2", "Bt": "-1/2"}
    # t = 0: B₀ = 0 ⇒ g_A⁰ = 0 ⇒ δ₂ = δ₃ = −∞; A₁ = A₀ so δ₁ is still small at t = 1
    assert gammas(p, "gamma_step0") == {"delta1": "-1/2", "delta2": "-oo", "delta3": "-oo",
                                        "dY": "-1/2", "AtZ": "0", "Bt": "-oo"}
    assert p.steady_from == 2 and str(p.gamma_t(1)["delta1"]) == "-1/2"
    assert str(p.gamma_t(1)["dY"]) == "0" and p.gamma_t(5) == p.gamma
    assert "g_A⁰ = 0" in p.reasons["step0"]


def test_case2_and_mixed_break_the_balance_of_delta1_and_delta2():
    p = predict(-1, 1, 1, 0)
    assert p.case == "case2" and not p.stable
    assert gammas(p)["delta1"] == "1" and gammas(p)["delta2"] == "1"
    q = predict(Fraction(-3, 2), 2, 0, "-oo")  # Init[A] with a small η: γ[A₀Z] > γ[η] + 1
    assert q.case == "mixed" and not q.stable
    assert gammas(q)["delta1"] == "1/2" and gammas(q)["delta2"] == "0"


def test_stable_lora_stop_repairs_the_mixed_case_after_the_stop():
    p = predict(Fraction(-3, 2), 2, 0, "-oo", shrink="stop")
    assert p.stable and p.steady_from is None
    assert gammas(p)["AtZ"] == "-1/2" and gammas(p)["delta1"] == "0"
    assert "Θ(log n)" in p.reasons["shrink"] and "N·γ[1−λ] = -1" in p.reasons["shrink"]
    # a fixed λ does nothing at the fixed step t = 0
    assert p.gamma_step0 == predict(Fraction(-3, 2), 2, 0, "-oo").gamma_step0
    assert predict(Fraction(-3, 2), 2, 0, "-oo", shrink="nostop").gamma == p.gamma


def test_while_shrinking_the_step_includes_minus_lambda_a():
    p = predict("-1/2", 0, 0, "-oo", shrink="stop")
    g0, g1 = p.gamma_shrinking_t(0), p.gamma_shrinking_t(1)
    assert str(g0["delta3"]) == "-1/2" and str(g0["delta2"]) == "-oo"  # ΔA = −λA₀ at t = 0
    assert p.gamma_shrinking_t(7) == p.gamma_shrinking_t(2)
    assert str(g1["delta2"]) == "0" and str(p.gamma_shrinking_t(2)["AtZ"]) == "1/2"
    assert len(p.to_json()["gamma_while_shrinking_by_t"]) == 3
    with pytest.raises(TheoryInputError):
        predict("-1/2", 0, 0, "-oo").gamma_shrinking_t(1)
    assert "gamma_while_shrinking_by_t" not in predict("-1/2", 0, 0, "-oo").to_json()


def test_shrink_that_never_stops_is_not_predicted():
    p = predict("-1/2", 0, 0, "-oo", eta_B=-1, shrink="stop")
    assert p.gamma["AtZ"] is None and p.gamma["dY"] is None and not p.stable
    assert "not predictable" in p.reasons["AtZ"]
    assert json.loads(json.dumps(p.to_json()))["gamma"]["AtZ"] is None


def test_lora_plus_rescues_init_b():
    p = predict(-1, 0, "-oo", 0, eta_B=0)  # ICML footnote 7 / Eq. (21)
    assert p.stable and gammas(p, "gamma_step0")["delta1"] == "-oo"
    assert not predict("-1/2", 0, "-oo", 0).stable  # uniform η: Init[B] is not efficient


def test_zero_init_never_learns():
    p = predict("-1/2", 0, "-oo", "-oo")
    assert not p.stable and set(gammas(p).values()) == {"-oo"}


@pytest.mark.parametrize("opt", ["adam", "adamw", "signsgd"])
def test_adam_eq3_holds_iff_case1_and_s_plus_2eta_plus_1_is_zero(opt):
    """Eq. (3) (δ₁ = δ₂ = δ₃ = 0) ⇔ Case 1 and γ[s] + 2γ[η] + 1 = 0; Definition 1 is weaker."""
    grid = [Fraction(k, 2) for k in range(-3, 2)]
    inits = ["-oo", *grid]
    weaker = 0
    for eta, s, a0z, b0 in itertools.product(grid, grid, inits, inits):
        if a0z == b0 == "-oo":
            continue
        p = predict(eta, s, a0z, b0, optimizer=opt)
        g = gammas(p)
        eq3 = g["delta1"] == g["delta2"] == g["delta3"] == "0"
        assert eq3 == (classify(eta, s, a0z, b0) == "case1" and s + 2 * eta + 1 == 0)
        assert p.stable == (g["dY"] == "0")
        weaker += p.stable and not eq3
        assert p.case == classify(eta, s, a0z, b0)
    assert weaker > 0  # e.g. Init[B] with γ[η] = −3/2: ΔY = Θ(1) from δ₂ alone


def test_sgd_reproduces_icml_eq_28_to_30_in_the_papers_model():
    # ICML App. C: f = b·aᵀx, m = 1; γ[aᵀx] = γ[a] + 1 so Eq. (30) reads
    # γ[A₀Z] ≤ 1/4, γ[B₀] ≤ −1/4, at least one equality.
    vals = ["-oo", *(Fraction(k, 4) for k in range(-3, 3))]
    for a0z, b0 in itertools.product(vals, vals):
        p = predict("-1/2", 0, a0z, b0, optimizer="sgd", m_exp=0)
        a = Fraction(-10**6) if a0z == "-oo" else a0z
        b = Fraction(-10**6) if b0 == "-oo" else b0
        expect = a <= Fraction(1, 4) and b <= Fraction(-1, 4) and (
            a == Fraction(1, 4) or b == Fraction(-1, 4))
        assert p.stable == expect, (a0z, b0)
    p = predict("-1/2", 0, Fraction(1, 4), Fraction(-1, 4), optimizer="sgd", m_exp=0)
    assert gammas(p)["AtZ"] == "1/4" and gammas(p)["Bt"] == "-1/4"  # Eq. (28)


def test_sgd_with_m_equal_n_grows_with_t_and_says_so():
    p = predict("-1/2", 0, 0, "-oo", optimizer="sgd")
    assert not p.stable and p.steady_from is None and all(v is None for v in p.gamma.values())
    assert "grows with t" in p.reasons["dY"]


def test_sgd_feedback_of_the_output_through_b0():
    """With m = n, Bᵀ·dY contains s·B₀ᵀB₀·A_tZ (an aligned sum over m): it drives growth.

    A numpy probe (n = 256…4096) of this configuration blows up with t; without the
    feedback term the recursion would wrongly reach a stable fixed point.
    """
    p = predict("-3/2", "1/2", 0, "-1/2", optimizer="sgd")
    assert not p.stable and p.gamma["dY"] is None
    assert str(p.gamma_t(0)["delta2"]) == "1/2" and str(p.gamma_t(1)["AtZ"]) == "1/2"
    q = predict("-3/2", "1/2", 0, "-1/2", optimizer="sgd", m_exp=0)  # the paper's m = 1
    assert q.steady_from is not None


def test_json_contract_shape():
    j = predict("-1/2", "0", "0", "-oo").to_json()
    assert set(j) >= {"case", "stable", "gamma", "gamma_step0", "reasons"}
    assert set(j["gamma"]) == set(KEYS) == set(j["gamma_step0"])
    assert all(set(j["reasons"]) >= {k} for k in KEYS)
    json.dumps(j)


def test_bad_inputs_raise_named_errors():
    with pytest.raises(TypeError):
        predict(-0.5, 0, 0, "-oo")
    with pytest.raises(TheoryInputError, match="adam"):
        predict("-1/2", 0, 0, "-oo", optimizer="rmsprop")
    with pytest.raises(TheoryInputError):
        predict("-1/2", 0, 0, "-oo", shrink="always")
    with pytest.raises(TheoryInputError):
        predict("0.5", 0, 0, "-oo")
    with pytest.raises(TheoryInputError):
        predict("-1/2", 0, 0, "-oo").gamma_t(-1)
    with pytest.raises(TypeError):
        classify("-1/2", 0.0, 0, "-oo")


def test_sgd_b_is_not_one_exponent_when_its_learned_part_overtakes_at_t9():
    """ICML App. C model (m = 1) with η_A = n^{−3/4}, η_B = n^{−7/2}, a₀ = 0, b₀ = Θ(1).

    By hand (Eq. 24: γ[g_a] = γ[b] + γ[U], γ[g_b] = γ[aᵀx] + γ[U], U = b·aᵀx − y):
    t = 0: aᵀx = 0, U = Θ(1), g_a ∝ b₀ ⇒ γ[a₁ᵀx] = −3/4 + 0 + 1 = 1/4.
    t ≥ 1: γ[U_t] = γ[a_tᵀx], γ[a_{t+1}ᵀx] = −3/4 + γ[U_t] + 1 = γ[a_tᵀx] + 1/4, so
    γ[a_tᵀx] = t/4 and γ[g_b^t] = t/2: the learned part in B_t is −7/2 + (t − 1)/2 for
    t ≥ 1, equal to b₀'s 0 at t = 8 and above it from t = 9 on.
    """
    p = predict("-3/4", 0, "-inf", 0, eta_B="-7/2", optimizer="sgd", m_exp=0)
    assert p.gamma["Bt"] is None and p.gamma["AtZ"] is None and not p.stable
    assert [str(p.gamma_t(t)["AtZ"]) for t in (1, 2, 8)] == ["1/4", "1/2", "2"]
    assert all(str(p.gamma_t(t)["Bt"]) == "0" for t in range(9))
    assert p.overtaken_at == {"AtZ": None, "Bt": 9}
    assert p.gamma_tau(0)["Bt"] is None and p.no_exponent_beyond["Bt"] == 0
    j = p.to_json()
    assert j["gamma"]["Bt"] is None and j["overtaken_at_step"]["Bt"] == 9
    assert j["no_exponent_beyond"]["Bt"] == "0" and j["breakpoints"]["Bt"] == []
    assert "overtakes it at t = 9" in p.reasons["Bt"]


def test_adamw_with_a_large_learning_rate_has_no_fixed_step_exponent():
    adam = predict("1/2", -2, 0, "-inf")
    adamw = predict("1/2", -2, 0, "-inf", optimizer="adamw")
    assert adam.gamma["AtZ"] is not None and adam.stable
    assert adamw.gamma["AtZ"] is None and not adamw.stable and "1 − ηw" in adamw.reasons["AtZ"]
    # γ[η] < 0: the decay is Θ(1) per step, but (1 − ηw)^t is Θ(1) only up to τ = −γ[η]
    p = predict("-1/2", 0, 0, "-inf", optimizer="adamw")
    assert p.gamma == predict("-1/2", 0, 0, "-inf").gamma
    assert p.gamma_tau("1/2")["AtZ"] == 1 and set(p.gamma_tau("3/4").values()) == {None}
    assert p.to_json()["tau_valid_up_to"] == "1/2"


def test_stable_is_for_t_at_least_1_and_stable_from_gives_the_first_stable_step():
    p = predict("-1/2", 0, 0, "-inf")  # Theorem 3.1 with B₀ = 0: ΔY₀ = Θ(n^{−1/2})
    assert p.stable and p.stable_from == 1 and str(p.gamma_step0["dY"]) == "-1/2"
    assert "not at t = 0" in p.reasons["stable"]
    q = predict(-1, 0, "-oo", 0, eta_B=0)  # LoRA+ Init[B]: Θ(1) from the first update on
    assert q.stable and q.stable_from == 0
    assert predict(-1, 1, 1, 0).stable_from is None  # case 2: never


FRACTION_CASES = [
    (("-1/2", 0, 0, "-inf"), {}),
    ((-1, 1, 1, 0), {}),
    ((F(-3, 2), 2, 0, "-oo"), {"shrink": "stop"}),
    ((F(-3, 2), 2, 0, "-oo"), {"shrink": "nostop"}),
    (("-1/2", 0, 0, "-oo"), {"shrink": "stop", "optimizer": "adamw"}),
    ((-1, 0, "-oo", 0), {"eta_B": 0}),
    (("-1/2", 0, 0, "-inf"), {"optimizer": "sgd"}),
    (("-1/2", 0, 0, "-inf"), {"optimizer": "sgd", "shrink": "stop"}),
    (("1/2", -2, 0, "-inf"), {"optimizer": "adamw"}),
    (("-1/2", 0, 0, "-inf"), {"optimizer": "signsgd"}),
]


def _same_exponents(exact_d, sympy_d):
    """Fraction/NEG_INF values against sympy ones: the same numbers, the right types."""
    import sympy

    from theory import NEG_INF

    assert exact_d.keys() == sympy_d.keys()
    for k, v in exact_d.items():
        w = sympy_d[k]
        if w is None:
            assert v is None
        elif w == sympy.S.NegativeInfinity:
            assert v is NEG_INF
        else:
            assert type(v) is Fraction and isinstance(w, sympy.Rational) and v == w


@pytest.mark.parametrize(("args", "kw"), FRACTION_CASES)
def test_fraction_values_are_the_sympy_values_without_sympy(args, kw):
    """values="fraction" hands out the same exact exponents as the sympy default (twice in a
    row, so nothing is left over from one call to the next)."""
    for _ in range(2):
        p, q = predict(*args, **kw), predict(*args, **kw, values="fraction")
        assert q.to_json() == p.to_json()
        assert (q.case, q.stable, q.steady_from, q.stable_from) == (
            p.case, p.stable, p.steady_from, p.stable_from)
        assert (q.reasons, q.overtaken_at, q.stop_law) == (p.reasons, p.overtaken_at, p.stop_law)
        _same_exponents(q.gamma, p.gamma)
        _same_exponents(q.gamma_step0, p.gamma_step0)
        for t in range(10):
            _same_exponents(q.gamma_t(t), p.gamma_t(t))
            if "shrink" in kw:
                _same_exponents(q.gamma_shrinking_t(t), p.gamma_shrinking_t(t))
        assert q.breakpoints == p.breakpoints
        assert all(q.terms(k) == p.terms(k) for k in KEYS)


def test_fraction_values_do_not_import_sympy_and_bad_values_raise():
    import subprocess
    import sys

    code = ("import sys; from theory import predict; "
            "p = predict('-1/2', 0, 0, '-inf', shrink='stop', values='fraction'); "
            "p.to_json(); print('sympy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
    with pytest.raises(TheoryInputError, match="'sympy' or 'fraction'"):
        predict("-1/2", 0, 0, "-inf", values="float")
