"""Width-exponent fits: least squares of log RMS on log n, a seed bootstrap, and verdicts."""

from __future__ import annotations

import math
import sys
import zlib
from dataclasses import dataclass

import numpy as np

TOLERANCE = 0.1  # |γ̂ − γ_pred| below this counts as agreement (issue 4)
NAN = float("nan")
NEG_INF = float("-inf")
_PAIRWISE_BLOCK = 128  # numpy sums up to this many numbers with 8 accumulators, no split


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

    Reference route: ``lv[rng.integers(0, S_w, size=(n_boot, S_w))].mean(axis=1)`` width
    after width. When every width has the same power-of-two seed count 2 ≤ S ≤ 128 (the
    default 8 seeds) the same numbers come out bit for bit, about twice as fast: the draws
    from the generator's raw output (``_pow2_draws``) and the means summed as numpy sums
    them (``_pairwise_mean``). Both follow numpy's algorithms (2.x); tests/test_sims_fit.py
    pins them against the reference route, so a numpy that changes either fails there.
    """
    s, w = logs[0].size, len(logs)
    if (s < 2 or s > _PAIRWISE_BLOCK or s & (s - 1) or sys.byteorder != "little"
            or any(lv.size != s for lv in logs)):
        return np.stack(
            [lv[rng.integers(0, lv.size, size=(n_boot, lv.size))].mean(axis=1) for lv in logs],
            axis=1,
        )
    small = w * s <= 256  # the flat indices fit in uint8: small arrays, fast gathers
    idx = _pow2_draws(rng, s, w * n_boot * s).reshape(w, n_boot, s)  # (W, n_boot, S)
    idx = idx if small else idx.astype(np.intp)
    idx += (np.arange(w, dtype=idx.dtype) * s)[:, None, None]  # into the flat seed list
    flat = np.concatenate(logs)  # (W·S,)
    return _pairwise_mean(flat[np.ascontiguousarray(idx.transpose(2, 1, 0))])  # (n_boot, W)


def _pow2_draws(rng: np.random.Generator, s: int, count: int) -> np.ndarray:
    """``rng.integers(0, s, size=count)`` for s = 2^b ≤ 128 and an even count, bit for bit
    and in the same order, as uint8 (little-endian machines), from a generator that holds
    no half-used output (a fresh one, as every fit's).

    numpy draws a bounded integer from one 32-bit word x (Lemire's method, Generator's
    default): ⌊x·s / 2³²⌋, for s = 2^b the top b bits of x, never rejected. PCG64 hands out
    each 64-bit output as two words, low half first: in memory, word after word.
    """
    raw = rng.bit_generator.random_raw(count // 2)  # (count/2,) uint64
    top = raw.view(np.uint8)[3::4]  # the most significant byte of every 32-bit word
    return top >> np.uint8(8 - (s.bit_length() - 1))


def _pairwise_mean(cols: np.ndarray) -> np.ndarray:
    """``np.moveaxis(cols, 0, -1).mean(axis=-1)`` bit for bit, summing whole columns.

    numpy adds the n ≤ 128 numbers of a row pairwise: n < 8 one by one from −0.0; else
    8 accumulators over blocks of 8, combined as ((r₀+r₁)+(r₂+r₃))+((r₄+r₅)+(r₆+r₇)), then
    the rest one by one; the sum goes onto 0.0 (the identity) and is divided by n. Here
    each step adds whole (n_boot, W) columns instead of calling numpy per row.
    """
    n = cols.shape[0]
    if n < 8:
        total = np.full(cols.shape[1:], -0.0)
        for c in cols:
            total = total + c
    else:
        acc = [cols[j] for j in range(8)]
        i = 8
        while i < n - n % 8:
            acc = [acc[j] + cols[i + j] for j in range(8)]
            i += 8
        total = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
        for c in cols[i:]:
            total = total + c
    return (0.0 + total) / n


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
