"""Exponent fits of sims/: known growth laws are recovered; verdicts follow the rule."""

import math

import numpy as np
import pytest

from sims import ExponentFit, fit_exponent, verdict

WIDTHS = [64, 128, 256, 512, 1024]


def _rms(x):
    return float(np.sqrt(np.mean(np.square(x))))


def _per_width(draw, seeds=8):
    rng = np.random.default_rng(0)
    return [np.array([draw(rng, n) for _ in range(seeds)]) for n in WIDTHS]


def test_iid_matrix_times_vector_grows_as_sqrt_n():
    # (r × n) i.i.d. N(0, 1) times an independent Θ(1) vector: a CLT sum, γ = 1/2
    values = _per_width(lambda rng, n: _rms(rng.standard_normal((4, n)) @ rng.standard_normal(n)))
    fit = fit_exponent(WIDTHS, values, key="iid")
    assert fit.gamma_hat == pytest.approx(0.5, abs=0.1)
    assert fit.ci_low < 0.5 < fit.ci_high
    assert verdict(fit, 0.5) == "agree"
    assert verdict(fit, 1.0) == "disagree"


def test_aligned_matrix_times_vector_grows_as_n():
    # rows aligned with the vector (sign(z)ᵀ z = Θ(n), Stable-LoRA Sec. 3.1): γ = 1
    def draw(rng, n):
        z = rng.standard_normal(n)
        return _rms(np.sign(z)[None, :].repeat(4, axis=0) @ z)

    fit = fit_exponent(WIDTHS, _per_width(draw), key="aligned")
    assert fit.gamma_hat == pytest.approx(1.0, abs=0.05)
    assert verdict(fit, 1.0) == "agree"
    assert verdict(fit, 0.5) == "disagree"
    assert len(fit.local_slopes) == len(WIDTHS) - 1
    assert all(s == pytest.approx(1.0, abs=0.15) for s in fit.local_slopes)


def test_bootstrap_is_reproducible_and_keyed():
    values = _per_width(lambda rng, n: _rms(rng.standard_normal(n)) * n**0.25)
    a = fit_exponent(WIDTHS, values, key="k")
    b = fit_exponent(WIDTHS, values, key="k")
    assert a == b
    assert a.ci_low <= a.gamma_hat <= a.ci_high


def test_identically_zero_measurement_fits_minus_infinity():
    fit = fit_exponent(WIDTHS, [np.zeros(4) for _ in WIDTHS])
    assert fit.gamma_hat == -math.inf
    assert verdict(fit, -math.inf) == "agree"
    assert verdict(fit, 0.0) == "disagree"


def test_nonzero_measurement_disagrees_with_minus_infinity():
    fit = fit_exponent(WIDTHS, [np.full(4, 1e-3) for _ in WIDTHS])
    assert fit.gamma_hat == pytest.approx(0.0, abs=1e-12)
    assert verdict(fit, -math.inf) == "disagree"


def test_too_few_widths_and_missing_prediction_give_na():
    fit = fit_exponent(WIDTHS, [np.ones(3)] + [np.array([])] * (len(WIDTHS) - 1))
    assert math.isnan(fit.gamma_hat) and fit.n_widths == 1
    assert verdict(fit, 0.0) == "n/a"
    good = ExponentFit(0.5, 0.4, 0.6, (), 5)
    assert verdict(good, None) == "n/a"
    assert verdict(good, float("nan")) == "n/a"


def test_verdict_tolerance_is_point_one_outside_the_interval():
    fit = ExponentFit(0.45, 0.44, 0.46, (), 5)
    assert verdict(fit, 0.5) == "agree"  # |0.45 − 0.5| ≤ 0.1
    assert verdict(fit, 0.56) == "disagree"
    wide = ExponentFit(0.0, -0.5, 0.5, (), 5)
    assert verdict(wide, 0.4) == "agree"  # inside the interval
