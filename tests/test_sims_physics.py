"""sims/ measures what the papers predict at small widths: Case 1 vs small η, shrink stop."""

from fractions import Fraction

import numpy as np

from sims import (
    ProbeConfig,
    SweepSettings,
    fit_exponent,
    run_width,
    validate_config,
    validate_settings,
)

WIDTHS = (64, 128, 256, 512, 1024)


def _sweep(configs, widths=WIDTHS, **settings):
    st = validate_settings(SweepSettings(widths=widths, **settings))
    configs = [validate_config(c) for c in configs]
    return st, {n: run_width(configs, st, n) for n in st.widths}


def _fit(st, results, name, step, quantity):
    k, q = st.record.index(step), ("delta1", "delta2", "delta3", "dY", "AtZ", "Bt").index(quantity)
    values = [results[n][name].stats[:, k, q] for n in st.widths]
    return fit_exponent(list(st.widths), values, key=f"{name}{step}{quantity}")


def test_case1_and_small_eta_instability_give_different_delta1_exponents():
    # Case 1 (γ[η] = −1/2, γ[s] = 0): γ[δ₁] = γ[s] + γ[η] + γ[A₀Z] = −1/2 at step 1 and
    # small η (γ[η] = −3/2, γ[s] = 2, γ[A₀Z] = 0 > γ[η] + 1): γ[δ₁] = +1/2 (Sec. 4).
    configs = [
        ProbeConfig("case1", eta_coef=0.02),
        ProbeConfig(
            "small_eta", eta_exp=Fraction(-3, 2), eta_coef=1.0, s_exp=Fraction(2), s_coef=3e-5
        ),
    ]
    st, res = _sweep(configs, seeds=4, steps=2, record=(1, 2))
    for step in (1, 2):
        case1 = _fit(st, res, "case1", step, "delta1")
        small = _fit(st, res, "small_eta", step, "delta1")
        assert abs(case1.gamma_hat + 0.5) < 0.1
        assert abs(small.gamma_hat - 0.5) < 0.1
        assert case1.ci_high < small.ci_low  # distinguishable, not just different
    # the non-zero A₀ dominates A_tZ in both: γ[A_tZ] = γ[A₀Z] = 0 at step 1
    assert abs(_fit(st, res, "small_eta", 1, "AtZ").gamma_hat) < 0.1


def test_shrink_stop_step_grows_with_width():
    # ‖A‖_F/n ≤ ‖B‖_F/m needs (1−λ)^N ~ n^{γ[B_t]−γ[A₀]}: N = Θ(log n) (Sec. 4)
    config = ProbeConfig(
        "shrink", eta_exp=Fraction(-3, 2), eta_coef=1.0, s_exp=Fraction(2), s_coef=3e-5, shrink=0.2
    )
    st, res = _sweep([config], widths=(64, 256, 1024), seeds=3, steps=40, record=(40,))
    stops = [res[n]["shrink"].stop_step for n in st.widths]
    assert all((s > 0).all() for s in stops), "the stop condition fired everywhere"
    medians = [float(np.median(s)) for s in stops]
    assert medians[0] < medians[1] < medians[2], medians
    # …and after the stop γ[A_tZ] falls to γ[η] + 1 = −1/2 from γ[A₀Z] = 0
    assert abs(_fit(st, res, "shrink", 40, "AtZ").gamma_hat + 0.5) < 0.15
