"""Time as an exponent (t = Θ(n^τ)): breakpoints by substitution, a numeric unrolling, the CLI."""

import json
import math
import random
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from theory import KEYS, NEG_INF, Crossover, Term, TheoryInputError, crossovers, predict
from theory._cli import main

F = Fraction
QUARTERS = st.integers(-8, 4).map(lambda k: F(k, 4))
INIT = st.one_of(st.just("-oo"), st.integers(-4, 4).map(lambda k: F(k, 4)))
CONFIG = st.fixed_dictionaries({
    "eta": st.integers(-10, -2).map(lambda k: F(k, 4)),
    "eta_B": st.one_of(st.none(), st.integers(-14, -2).map(lambda k: F(k, 4))),
    "s": QUARTERS,
    "A0Z": INIT,
    "B0": INIT,
    "optimizer": st.sampled_from(["adam", "sgd"]),
    "m_exp": st.sampled_from([0, 1]),
    "time_sum": st.sampled_from(["aligned", "clt"]),
})
RANDOM = settings(max_examples=60, deadline=None, derandomize=True,
                  suppress_health_check=[HealthCheck.too_slow])


def run(capsys, *argv):
    """The CLI in-process: (exit code, stdout, stderr)."""
    try:
        code = main(list(argv))
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def make(cfg):
    """predict() for a hypothesis configuration."""
    return predict(cfg["eta"], cfg["s"], cfg["A0Z"], cfg["B0"], eta_B=cfg["eta_B"],
                   optimizer=cfg["optimizer"], m_exp=cfg["m_exp"], time_sum=cfg["time_sum"])


def envelope_at(terms, tau):
    """max_i (n_exp_i + t_exp_i·τ): what the terms say γ is at τ."""
    return max((t.at(tau) for t in terms), default=NEG_INF)


# ---- the examples ---------------------------------------------------------------------

def test_small_eta_learned_part_overtakes_the_init_at_tau_one_half():
    """γ[η] = −3/2, γ[s] = 2, Init[A]: η·Σ g_A Z = Θ(t·n^{−1/2}) overtakes A₀Z = Θ(1)."""
    p = predict("-3/2", 2, 0, "-inf")
    assert p.breakpoints["AtZ"] == (F(1, 2),) and p.breakpoints["Bt"] == ()
    g = p.gamma_tau(1)
    assert g["AtZ"] == F(1, 2) and g["Bt"] == F(-1, 2)
    assert p.gamma_tau(0)["AtZ"] == 0 and p.gamma_tau("1/4")["AtZ"] == 0
    init, learned = p.terms("AtZ")  # A₀Z wins at τ = 0 already: nothing before it
    assert (init.n_exp, init.t_exp) == (0, 0) and (learned.n_exp, learned.t_exp) == (F(-1, 2), 1)
    assert "A₀Z" in init.name and "learned" in learned.name
    # at a fixed step, δ₁'s width slope turns from 1/2 (init, large n) to 0 (learned, small n)
    (c,) = [c for c in crossovers(p) if c.quantity == "delta1"]
    assert c.tau == F(1, 2) and (c.before.n_exp, c.after.n_exp) == (F(1, 2), 0)
    assert "from 1/2 at large n to 0 at small n" in c.reason


def test_cli_tau_and_breakpoints_json(capsys):
    code, out, _ = run(capsys, "predict", "--eta", "-3/2", "--s", "2", "--A0Z", "0", "--B0",
                       "-inf", "--tau", "1", "--json")
    j = json.loads(out)
    assert code == 0 and j["tau"] == "1"
    assert j["gamma_tau"]["AtZ"] == "1/2" and j["gamma_tau"]["Bt"] == "-1/2"
    assert j["breakpoints"]["AtZ"] == ["1/2"] and set(j["breakpoints"]) == set(KEYS)
    assert j["gamma"]["AtZ"] == "0"  # the fixed-step prediction is unchanged
    code, out, _ = run(capsys, "predict", "--eta", "-3/2", "--s", "2", "--A0Z", "0", "--B0",
                       "-inf", "--tau", "1")
    assert code == 0 and "t = n^1" in out and "AtZ 1/2" in out


# ---- breakpoints by substitution ----------------------------------------------------------------

@RANDOM
@given(CONFIG)
def test_breakpoints_by_substitution(cfg):
    """At τ* the two terms are equal; just below the one before wins, just above the other."""
    p = make(cfg)
    for k in KEYS:
        terms, bps, div = p.terms(k), p.breakpoints[k], p.no_exponent_beyond[k]
        assert list(bps) == sorted(set(bps)) and all(x > 0 for x in bps)
        if div is not None:
            assert all(x < div for x in bps)
        assert len(terms) >= len(bps) + 1 or (not terms and not bps)
        ahead = terms[len(terms) - len(bps) - 1:]  # the ones before only win at τ < 0
        for x, before, after in zip(bps, ahead, ahead[1:], strict=False):
            eps = min(F(1, 1000), x / 2)
            assert before.at(x) == after.at(x) == p.gamma_tau(x)[k]
            assert before.at(x - eps) > after.at(x - eps)
            assert after.at(x + eps) > before.at(x + eps)
            assert p.gamma_tau(x - eps)[k] == before.at(x - eps)
            assert p.gamma_tau(x + eps)[k] == after.at(x + eps)
        top = div if div is not None else (bps[-1] + 2 if bps else F(3))
        for i in range(9):  # the terms' envelope is γ(τ) on the whole finite range
            tau = top * i / 8
            g = p.gamma_tau(tau)[k]
            if div is not None and tau > div:
                assert g is None
            elif terms:
                assert g == envelope_at(terms, tau)
            elif g is not None:
                assert g is NEG_INF


@RANDOM
@given(CONFIG)
def test_tau_zero_is_the_fixed_step_steady_prediction(cfg):
    p = make(cfg)
    g0 = p.gamma_tau(0)
    assert {k: None if v is None else str(v) for k, v in p.gamma.items()} == {
        k: None if v is None else "-oo" if v is NEG_INF else str(v) for k, v in g0.items()}
    if p.steady_from is not None:
        assert all(v is not None for v in g0.values())


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(CONFIG, st.sampled_from(["stop", "nostop"]))
def test_tau_zero_is_the_after_the_stop_prediction_with_shrinkage(cfg, shrink):
    p = predict(cfg["eta"], cfg["s"], cfg["A0Z"], cfg["B0"], eta_B=cfg["eta_B"],
                optimizer=cfg["optimizer"], m_exp=cfg["m_exp"], shrink=shrink)
    g0 = p.gamma_tau(0)
    assert {k: None if v is None else str(v) for k, v in p.gamma.items()} == {
        k: None if v is None else "-oo" if v is NEG_INF else str(v) for k, v in g0.items()}


@pytest.mark.parametrize("shrink", ["stop", "nostop"])
def test_tau_with_shrinkage_continues_after_the_stop(shrink):
    p = predict("-3/2", 2, 0, "-oo", shrink=shrink)
    g0 = p.gamma_tau(0)
    assert {k: str(v) for k, v in g0.items()} == {k: str(v) for k, v in p.gamma.items()}
    if shrink == "stop":  # A₀'s remnant is Θ(n^{−1}) after the stop (γ[B_t] = −3/2 per entry)
        remnant, learned = p.terms("AtZ")  # below the learned Θ(t·n^{−1/2}) for every τ ≥ 0
        assert (remnant.n_exp, remnant.t_exp, learned.n_exp, learned.t_exp) == (-1, 0, F(-1, 2), 1)
        assert "remnant" in remnant.name and p.gamma_tau(1)["AtZ"] == F(1, 2)
    else:  # later shrinks depend on B's growth with t: only τ = 0 is modelled
        assert set(p.gamma_tau("1/4").values()) == {None}


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(CONFIG)
def test_three_kleene_iterations_settle_what_forty_settle(cfg):
    """The d + 1 / 2d + 2 bound against a plain Kleene iteration run 40 times, at many τ:
    where the learned parts are unchanged from iteration 20 to 40, γ(τ) is their value;
    where one still grows, A_tZ or B_t has no exponent."""
    from theory._recursion import Config, step
    from theory._time import TIME_SUMS, ExactAlgebra

    p = make(cfg)
    eta = F(cfg["eta"])
    c = Config(eta, eta if cfg["eta_B"] is None else F(cfg["eta_B"]), F(cfg["s"]),
               NEG_INF if cfg["A0Z"] == "-oo" else F(cfg["A0Z"]),
               NEG_INF if cfg["B0"] == "-oo" else F(cfg["B0"]), cfg["optimizer"] == "sgd",
               F(cfg["m_exp"]), F(0))
    for tau in (F(0), F(1, 8), F(1, 3), F(1, 2), F(1), F(2)):
        alg = ExactAlgebra(tau * TIME_SUMS[cfg["time_sum"]])
        state, hist = (NEG_INF, NEG_INF), []
        for _ in range(40):
            q = step(alg, c, *state)
            state = (alg.integ(q["incA"], "ΣA"), alg.integ(q["incB"], "ΣB"))
            hist.append(state)
        g = p.gamma_tau(tau)
        grows = [hist[39][j] != hist[19][j] for j in range(2)]
        if not any(grows):
            assert g == {k: step(alg, c, *state)[k] for k in KEYS}, (cfg, tau)
        assert (g["AtZ"] is None) == grows[0] and (g["Bt"] is None) == grows[1], (cfg, tau)


# ---- a direct numeric unrolling of the recursions --------------------------------------------

def _add(*xs):
    """ln of a product of magnitudes; an exact zero (−inf) wins over an overflow (+inf)."""
    total = sum(xs)
    return np.where(np.any([np.isneginf(x) for x in xs], axis=0), -np.inf, total)


def _lse(*xs):
    """ln of a sum of positive magnitudes held as logarithms."""
    out = xs[0]
    for x in xs[1:]:
        out = np.logaddexp(out, x)
    return out


def _unroll(cfgs, ln, steps):
    """ln|quantity| at each t in ``steps``, iterating the real scalar recursion step by step.

    Vectorised over the configurations; ``ln`` = ln n. Every Θ-constant is 1, every sum is
    of positive magnitudes (aligned) or, for ``clt``, the root of a sum of squares (the RMS
    of a random-sign sum). Independent of theory/: the recursion is written out again here,
    on real numbers, with + where the γ-calculus has max.
    """
    def col(f):
        return np.array([f(c) for c in cfgs], dtype=float)

    def lg(x):
        return -np.inf if x == "-oo" else float(x) * ln

    eta_a = col(lambda c: lg(c["eta"]))
    eta_b = col(lambda c: lg(c["eta"] if c["eta_B"] is None else c["eta_B"]))
    s, a0, b0 = col(lambda c: lg(c["s"])), col(lambda c: lg(c["A0Z"])), col(lambda c: lg(c["B0"]))
    m = col(lambda c: float(c["m_exp"]) * ln)
    sgd = col(lambda c: c["optimizer"] == "sgd").astype(bool)
    clt = col(lambda c: c["time_sum"] == "clt").astype(bool)
    al = np.full(len(cfgs), -np.inf)  # ln of the learned parts
    bl = al.copy()
    zero = np.zeros(len(cfgs))
    out = {}
    with np.errstate(invalid="ignore", over="ignore"):
        for t in range(max(steps) + 1):
            az, b = _lse(a0, al), _lse(b0, bl)
            dy = _lse(zero, _add(s, b, az))  # dY_exp = 0: the target is Θ(1)
            bdy = _lse(_add(b0, m / 2, dy), _add(bl, m, dy), _add(s, b0, b0, m, az))
            gaz = np.where(sgd, _add(s, bdy, zero + ln),
                           np.where(np.isneginf(_add(s, b)), -np.inf, ln))
            gb = np.where(sgd, _add(s, dy, az), np.where(np.isneginf(_add(s, az)), -np.inf, 0))
            d1, d2 = _add(s, eta_b, gb, az), _add(s, eta_a, b, gaz)
            d3 = _add(s, eta_a, eta_b, gb, gaz)
            if t in steps:
                out[t] = {"delta1": d1, "delta2": d2, "delta3": d3, "dY": _lse(d1, d2, d3),
                          "AtZ": az, "Bt": b}
            ia, ib = _add(eta_a, gaz), _add(eta_b, gb)
            al = np.where(clt, _lse(2 * al, 2 * ia) / 2, _lse(al, ia))
            bl = np.where(clt, _lse(2 * bl, 2 * ib) / 2, _lse(bl, ib))
    return out


LN1, LN2 = 24 * math.log(2), 40 * math.log(2)  # n = 2^24 and 2^40, in logs
TAUS = (F(1, 8), F(1, 4))


def test_gamma_tau_matches_a_numeric_unrolling():
    """The slope of ln|Q(n, t = n^τ)| between n = 2^24 and 2^40 is γ(τ), away from kinks.

    120 seeded random configurations from the grids of CONFIG. Where γ(τ) does not exist
    the finite widths can only show that the quantity is not below its finite terms.
    """
    rng = random.Random(9)
    cfgs = [{"eta": F(rng.randint(-10, -2), 4),
             "eta_B": rng.choice([None, F(rng.randint(-14, -2), 4)]),
             "s": F(rng.randint(-8, 4), 4),
             "A0Z": rng.choice(["-oo", F(rng.randint(-4, 4), 4)]),
             "B0": rng.choice(["-oo", F(rng.randint(-4, 4), 4)]),
             "optimizer": rng.choice(["adam", "sgd"]), "m_exp": rng.choice([0, 1]),
             "time_sum": rng.choice(["aligned", "clt"])} for _ in range(120)]
    preds = [make(c) for c in cfgs]
    t1 = {tau: round(math.exp(LN1 * tau)) for tau in TAUS}
    t2 = {tau: round(math.exp(LN2 * tau)) for tau in TAUS}
    q1, q2 = _unroll(cfgs, LN1, set(t1.values())), _unroll(cfgs, LN2, set(t2.values()))
    checked = 0
    for i, (cfg, p) in enumerate(zip(cfgs, preds, strict=True)):
        for tau in TAUS:
            g = p.gamma_tau(tau)
            for k in KEYS:
                beyond = p.no_exponent_beyond[k]
                kinks = [*p.breakpoints[k], *([beyond] if beyond is not None else [])]
                if any(abs(tau - x) < F(1, 8) for x in kinks):
                    continue
                a, b = q1[t1[tau]][k][i], q2[t2[tau]][k][i]
                if g[k] is NEG_INF:
                    assert a == b == -math.inf, (cfg, tau, k)
                    continue
                slope = (b - a) / (LN2 - LN1)
                if g[k] is None:  # no exponent: at least the terms it has (it outgrows them
                    bound = envelope_at(p.terms(k), tau) if p.terms(k) else -math.inf
                    assert not slope < float(bound) - 0.1, (cfg, tau, k, slope)  # as n → ∞)
                else:
                    assert abs(slope - float(g[k])) < 0.1, (cfg, tau, k, slope, g[k])
                checked += 1
    assert checked > 1000


def test_numeric_b_grows_past_b0_after_step_9_in_the_sgd_example():
    """test_theory_predict.py's hand derivation on real numbers: the width slope of B_t is 0
    up to t = 8, then positive and growing with t (the fixed-step recursion gives 1/2, 3/2,
    5, 15, 91/2 at t = 9 … 13: b feeds back into a, a faster-than-geometric blow-up)."""
    cfg = {"eta": F(-3, 4), "eta_B": F(-7, 2), "s": F(0), "A0Z": "-oo", "B0": F(0),
           "optimizer": "sgd", "m_exp": 0, "time_sum": "aligned"}
    steps = set(range(1, 14))
    q1, q2 = _unroll([cfg], LN1, steps), _unroll([cfg], LN2, steps)
    slopes = {t: (q2[t]["Bt"][0] - q1[t]["Bt"][0]) / (LN2 - LN1) for t in steps}
    assert all(abs(slopes[t]) < 0.05 for t in range(1, 9))
    assert 0.25 < slopes[9] < slopes[10] < slopes[11] < slopes[12] < slopes[13]
    assert slopes[13] > 30


# ---- API and bad input -------------------------------------------------------------------------

def test_module_doctest():
    import doctest

    import theory._time

    assert doctest.testmod(theory._time).failed == 0


def test_terms_and_crossovers_are_the_documented_dataclasses():
    p = predict("-3/2", 2, 0, "-inf")
    cs = crossovers(p)
    assert cs == p.crossovers() and all(isinstance(c, Crossover) for c in cs)
    assert all(isinstance(t, Term) for t in p.terms("delta1"))
    assert [c.quantity for c in cs] == ["delta1", "dY", "AtZ"]
    assert cs[0].to_json()["after"] == {"name": "learned part η_A·Σ g_A Z", "n_exp": "0",
                                        "t_exp": "1"}


def test_terms_that_win_only_below_tau_zero_are_kept_for_finite_windows():
    """Theorem 3.1's Init[A]: A₀Z = Θ(1) is below the learned Θ(t·n^{1/2}) at every fixed step,
    but their lines cross at τ = −1/2; the term stays listed, with no breakpoint."""
    p = predict("-1/2", 0, 0, "-inf")
    assert [(t.n_exp, t.t_exp) for t in p.terms("AtZ")] == [(0, 0), (F(1, 2), 1)]
    assert p.breakpoints["AtZ"] == () and not [c for c in crossovers(p) if c.quantity == "AtZ"]


def test_clt_sums_halve_the_time_exponent():
    p = predict("-3/2", 2, 0, "-inf", time_sum="clt")
    assert p.breakpoints["AtZ"] == (F(1),) and p.terms("AtZ")[1].t_exp == F(1, 2)
    assert p.gamma == predict("-3/2", 2, 0, "-inf").gamma


def test_bad_tau_and_options_raise_named_errors():
    p = predict("-3/2", 2, 0, "-inf")
    for bad in (-1, "-1/2", "x", "-oo"):
        with pytest.raises(TheoryInputError):
            p.gamma_tau(bad)
    with pytest.raises(TypeError):
        p.gamma_tau(0.5)
    with pytest.raises(TheoryInputError, match="delta1"):
        p.terms("delta4")
    with pytest.raises(TheoryInputError, match="aligned"):
        predict("-3/2", 2, 0, "-inf", time_sum="random")
    with pytest.raises(TheoryInputError):
        crossovers({"not": "a prediction"})


@pytest.mark.parametrize("argv", [["--tau", "-1"], ["--tau", "0.5"], ["--tau", "half"],
                                  ["--time-sum", "random"]])
def test_cli_bad_tau_is_one_line_exit_2(capsys, argv):
    code, out, err = run(capsys, "predict", "--eta", "-3/2", "--s", "2", "--A0Z", "0",
                         "--B0", "-inf", *argv)
    assert code == 2 and out == "" and err.count("\n") == 1 and "Traceback" not in err


def test_cli_crossovers(capsys):
    code, out, _ = run(capsys, "crossovers", "--eta", "-3/2", "--s", "2", "--A0Z", "0",
                       "--B0", "-inf")
    assert code == 0 and ("AtZ, τ* = 1/2: In A_tZ, learned part η_A·Σ g_A Z = Θ(t·n^(-1/2)) "
                          "overtakes A₀Z (initialisation) = Θ(1) at t*(n) = Θ(n^(1/2))") in out
    code, out, _ = run(capsys, "crossovers", "--eta", "-3/2", "--s", "2", "--A0Z", "0",
                       "--B0", "-inf", "--json")
    j = json.loads(out)
    assert [c["tau"] for c in j["crossovers"] if c["quantity"] == "AtZ"] == ["1/2"]
    code, out, _ = run(capsys, "crossovers", "--eta", "-1/2", "--s", "0", "--A0Z", "-inf",
                       "--B0", "-inf")
    assert code == 0 and out.startswith("no crossovers")
    code, out, _ = run(capsys, "crossovers", "--eta", "-3/4", "--eta-B", "-7/2", "--s", "0",
                       "--A0Z", "-inf", "--B0", "0", "--optimizer", "sgd", "--m-exp", "0")
    assert "Bt: no single exponent already at fixed t" in out and "t = 9" in out
    code, out, _ = run(capsys, "crossovers", "--eta", "-1/2", "--s", "0", "--A0Z", "1/4",
                       "--B0", "-1/4", "--optimizer", "sgd", "--m-exp", "0")  # ICML Eq. (30)
    assert "Bt: no single exponent for τ > 0 (t ≫ 1)" in out and "residual" in out


def test_stop_law_gives_the_log_n_growth_of_algorithm_1s_stop_step():
    """small_eta with Algorithm 1: A₀'s remnant must drop from n^{-1/2} to B_t's n^{-3/2}
    per entry while B_t grows ∝ t; the slope dN/d ln n matches a direct numeric solution of
    (1−λ)^N·n^{-1/2} = N·n^{-3/2} at every width."""
    law = predict("-3/2", "2", "0", "-oo", shrink="stop").stop_law
    assert (law.drop, law.b_growth) == (F(1), F(1))
    assert predict("-3/2", "2", "0", "-oo", shrink="nostop").stop_law == law
    assert predict("-3/2", "2", "0", "-oo").stop_law is None  # no shrinkage
    assert predict("-1/2", "0", "0", "-oo", shrink="stop").stop_law is None  # nothing to drop
    js = predict("-3/2", "2", "0", "-oo", shrink="stop").to_json()
    assert js["stop_law"] == {"drop": "1", "b_growth": "1"}

    lam = 0.2

    def stop_step(log_n: float) -> float:  # root of N·ln(1/(1−λ)) + ln N − ln n = 0
        lo, hi = 1e-9, 1e4
        for _ in range(200):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if mid * -math.log1p(-lam) + math.log(mid) < log_n else (lo, mid)
        return lo

    for n in (256, 4096, 65536):
        x, h = math.log(n), 1e-4
        numeric = (stop_step(x + h) - stop_step(x - h)) / (2 * h)
        assert law.slope(lam, stop_step(x)) == pytest.approx(numeric, rel=1e-6)


def test_predict_prints_the_stop_law_with_a_shrink_mode(capsys):
    assert main(["predict", "--eta", "-3/2", "--s", "2", "--A0Z", "0", "--B0", "-inf",
                 "--shrink", "stop"]) == 0
    assert "dN/d ln n = 1/(ln(1/(1−λ)) + 1/N)" in capsys.readouterr().out
    assert main(["predict", "--eta", "-3/2", "--s", "2", "--A0Z", "0", "--B0", "-inf"]) == 0
    assert "stop step" not in capsys.readouterr().out
