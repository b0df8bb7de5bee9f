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


def _boot_means(logs: list[np.ndarray], rng: np.random.Generator, n_boot: int) -> np.ndarray:
    """Seed-bootstrap means of log RMS, shape (n_boot, W): at each width in turn, ``n_boot``
    resamples (with replacement) of its S_w seeds, each averaged.

    When every width has the same seed count S (the default) and n_boot·S is even, one draw
    of (W, n_boot, S) indices replaces W draws of (n_boot, S): the generator hands out the
    same numbers (a bounded draw ends on a whole 64-bit output when its count of 32-bit
    words is even) and each row's mean is summed the same way, so the fits are the same bit
    for bit as width by width (tests/test_sims_fit.py holds both routes equal).
    """
    s = logs[0].size
    if any(lv.size != s for lv in logs) or (n_boot * s) % 2:
        return np.stack(
            [lv[rng.integers(0, lv.size, size=(n_boot, lv.size))].mean(axis=1) for lv in logs],
            axis=1,
        )
    idx = rng.integers(0, s, size=(len(logs), n_boot, s))  # (W, n_boot, S)
    rows = np.arange(len(logs))[:, None, None]
    # (n_boot, W) in row order: the slopes then sum each row as the stacked route does
    return np.ascontiguousarray(np.stack(logs)[rows, idx].mean(axis=2).T)


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
    flat = np.concatenate([v for _, v in used])  # every seed of every width, width-major
    if (flat == 0).all():
        return ExponentFit(NEG_INF, NEG_INF, NEG_INF, (), len(used))
    if (flat <= 0).any():
        return ExponentFit(NAN, NAN, NAN, (), len(used))
    x = np.log([w for w, _ in used])
    sizes = [v.size for _, v in used]
    log_flat = np.log(flat)
    logs = np.split(log_flat, np.cumsum(sizes[:-1]))  # per width, log RMS of its seeds
    if len(set(sizes)) == 1:  # one (W, S) mean: the same sums as width by width
        y = log_flat.reshape(len(sizes), sizes[0]).mean(axis=1)  # (W,)
    else:
        y = np.array([lv.mean() for lv in logs])
    boot = _boot_means(logs, np.random.default_rng(zlib.crc32(key.encode())), n_boot)
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
