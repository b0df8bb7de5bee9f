"""Width-exponent fits: least squares of log RMS on log n, a seed bootstrap, and verdicts."""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np

TOLERANCE = 0.1  # |γ̂ − γ_pred| below this counts as agreement (issue 4)
NAN = float("nan")
NEG_INF = float("-inf")


@dataclass(frozen=True)
class ExponentFit:
    """Fitted width exponent of one (config, step, quantity)."""

    gamma_hat: float  # least-squares slope of mean log RMS on log n; −inf: identically 0
    ci_low: float  # 2.5% bootstrap quantile over seeds
    ci_high: float  # 97.5% bootstrap quantile over seeds
    local_slopes: tuple[float, ...]  # slopes between neighbouring widths
    n_widths: int  # widths that had at least one usable seed


def ls_slope(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares slope of y on x along the last axis; y may carry leading dims."""
    xc = x - x.mean()
    return ((y - y.mean(axis=-1, keepdims=True)) * xc).sum(axis=-1) / (xc * xc).sum()


def fit_exponent(
    widths: list[int], values: list[np.ndarray], *, n_boot: int = 1000, key: str = ""
) -> ExponentFit:
    """Fit γ in RMS = Θ(n^γ) from per-seed RMS values at each width.

    The estimate is the least-squares slope of the seed mean of log RMS on log n; the 95%
    interval resamples the seeds at every width (with replacement, ``n_boot`` times) and
    refits. Local slopes are the finite differences between neighbouring widths.

    Args:
        widths: the widths n, increasing.
        values: for each width, the RMS values of the usable (non-diverged) seeds.
        n_boot: bootstrap resamples.
        key: names the fit; it seeds the bootstrap so that files are reproducible.

    Returns:
        The fit; ``gamma_hat`` is −inf when every value is exactly 0, NaN when fewer than
        two widths have data or when only some values are 0.
    """
    used = [(w, np.asarray(v, dtype=np.float64)) for w, v in zip(widths, values, strict=True)]
    used = [(w, v) for w, v in used if v.size > 0]
    if len(used) < 2:
        return ExponentFit(NAN, NAN, NAN, (), len(used))
    if all((v == 0).all() for _, v in used):
        return ExponentFit(NEG_INF, NEG_INF, NEG_INF, (), len(used))
    if any((v <= 0).any() for _, v in used):
        return ExponentFit(NAN, NAN, NAN, (), len(used))
    x = np.log([w for w, _ in used])
    logs = [np.log(v) for _, v in used]
    y = np.array([lv.mean() for lv in logs])
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    boot = np.stack(
        [lv[rng.integers(0, lv.size, size=(n_boot, lv.size))].mean(axis=1) for lv in logs],
        axis=1,
    )  # (n_boot, W)
    slopes = ls_slope(x, boot)
    low, high = np.quantile(slopes, [0.025, 0.975])
    local = tuple(float(d) for d in np.diff(y) / np.diff(x))
    return ExponentFit(float(ls_slope(x, y)), float(low), float(high), local, len(used))


def verdict(fit: ExponentFit, gamma_pred: float | None) -> str:
    """``agree`` if the prediction is inside the 95% interval or within 0.1 of γ̂.

    Returns ``n/a`` when theory predicts nothing (``None``/NaN) or the fit has no value;
    a prediction of −∞ agrees only with an identically-zero measurement.
    """
    if gamma_pred is None or math.isnan(gamma_pred) or math.isnan(fit.gamma_hat):
        return "n/a"
    if gamma_pred == NEG_INF or fit.gamma_hat == NEG_INF:
        return "agree" if gamma_pred == fit.gamma_hat else "disagree"
    inside = fit.ci_low <= gamma_pred <= fit.ci_high
    return "agree" if inside or abs(fit.gamma_hat - gamma_pred) <= TOLERANCE else "disagree"
