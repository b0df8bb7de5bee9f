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


def _reference_fit(widths, values, n_boot, key):
    """fit_exponent as first written: one ``rng.integers`` draw and one mean per width."""
    import zlib

    used = [(w, np.asarray(v, dtype=np.float64)) for w, v in zip(widths, values, strict=True)]
    used = [(w, v) for w, v in used if v.size > 0]
    if len(used) < 2:
        return ExponentFit(math.nan, math.nan, math.nan, (), len(used))
    if all((v == 0).all() for _, v in used):
        return ExponentFit(-math.inf, -math.inf, -math.inf, (), len(used))
    if any((v <= 0).any() for _, v in used):
        return ExponentFit(math.nan, math.nan, math.nan, (), len(used))
    x = np.log([w for w, _ in used])
    logs = [np.log(v) for _, v in used]
    y = np.array([lv.mean() for lv in logs])
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    boot = np.stack(
        [lv[rng.integers(0, lv.size, size=(n_boot, lv.size))].mean(axis=1) for lv in logs],
        axis=1,
    )
    xc = x - x.mean()
    slopes = ((boot - boot.mean(axis=-1, keepdims=True)) * xc).sum(axis=-1) / (xc * xc).sum()
    low, high = np.quantile(slopes, [0.025, 0.975])
    local = tuple(float(d) for d in np.diff(y) / np.diff(x))
    gamma = float(((y - y.mean()) * xc).sum() / (xc * xc).sum())
    return ExponentFit(gamma, float(low), float(high), local, len(used))


def _bits(fit):
    """A fit as bytes, so NaN == NaN and 0.0 != −0.0."""
    import struct

    floats = (fit.gamma_hat, fit.ci_low, fit.ci_high, *fit.local_slopes)
    return struct.pack(f"{len(floats)}d", *floats), len(fit.local_slopes), fit.n_widths


@pytest.mark.parametrize("seeds", [1, 2, 3, 4, 5, 8, 16, 32, 64, 128, 130])
def test_fast_bootstrap_is_bit_for_bit_the_one_draw_per_width_route(seeds):
    """One draw for all widths (same seed count everywhere, n_boot·S even) and the
    width-by-width fallback give the reference's numbers exactly: same draws, same sums."""
    rng = np.random.default_rng(seeds)
    for case in range(12):
        n_widths = [2, 3, 5, 7, 9, 40][case % 6]
        widths = sorted(int(w) for w in rng.choice(np.arange(2, 10**5), n_widths, replace=False))
        if case % 4 == 3:  # ragged: some widths lost seeds
            sizes = [int(s) for s in rng.integers(0, seeds + 1, size=n_widths)]
        else:
            sizes = [seeds] * n_widths
        values = [rng.lognormal(size=s) * 10.0 ** rng.uniform(-6, 6, size=s) for s in sizes]
        if case == 5 and values[0].size:
            values[0][0] = 0.0
        n_boot = [10, 99, 1000][case % 3]
        key = f"t|{seeds}|{case}"
        assert _bits(fit_exponent(widths, values, n_boot=n_boot, key=key)) == _bits(
            _reference_fit(widths, values, n_boot, key))
