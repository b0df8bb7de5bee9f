"""Algorithm 1's stop step N(n) = Θ(log n): its measured slope in ln n against theory's.

Theory (``theory.StopLaw``, Stable-LoRA Sec. 4): the stop condition ‖A_N‖_F/n ≤ ‖B_N‖_F/m
is met when N·ln(1/(1−λ)) + a·ln N = drop·ln n + O(1), so dN/d ln n = drop/(ln(1/(1−λ)) +
a/N). This crossover sits at τ* = 0, outside what a power law t* = K·n^τ resolves, and its
O(1) offset is a Θ-constant; its slope in ln n is theory's to give and is what is measured:
the least-squares slope of each width's median stop step on ln n, with a 95% interval from
resampling the seeds of every width (as the exponent fits do) and, since the condition is
checked once per step, the crossing within its step (N − 1, N], against the predicted
slope at the measured mean stop step.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np

from ._fit import ls_slope


@dataclass(frozen=True)
class StopSlope:
    """The measured and predicted slope dN/d ln n of Algorithm 1's stop step."""

    predicted: float  # drop/(ln(1/(1−λ)) + a/N̄) at the measured mean stop step N̄
    limit: float  # drop/ln(1/(1−λ)), its n → ∞ value
    slope: float  # measured least-squares slope of median N on ln n
    ci_low: float
    ci_high: float
    medians: tuple[float, ...]  # per width, the median stop step over stopped seeds
    growth: tuple[float, ...] = ()  # per width, B_t's measured t-exponent up to its stop
    with_growth: float = math.nan  # the law's slope with the mean measured growth for a

    @property
    def verdict(self) -> str:
        """``agree`` when the seed-bootstrap interval covers the predicted slope."""
        return "agree" if self.ci_low <= self.predicted <= self.ci_high else "disagree"

    def reason(self, widths: list[int]) -> str:
        """The stop steps, the measured slope and theory's; with B_t's measured growth
        exponent â over the stop steps, the slope theory's law gives with â for a."""
        text = (
            f"stop step N = {self.medians[0]:g} (n = {widths[0]}) … {self.medians[-1]:g} "
            f"(n = {widths[-1]}), median over seeds; dN/d ln n = {self.slope:.2f} "
            f"[{self.ci_low:.2f}, {self.ci_high:.2f}] against theory's {self.predicted:.2f} "
            f"at N̄ = {np.mean(self.medians):.1f} (→ {self.limit:.2f} as n → ∞)"
        )
        if self.growth:
            text += (
                f"; B_t grew as t^{self.growth[0]:.2f} (n = {widths[0]}) … "
                f"t^{self.growth[-1]:.2f} (n = {widths[-1]}) from N/2 to N, not t^1: "
                f"with a = {np.mean(self.growth):.2f} the law gives {self.with_growth:.2f}"
            )
        return text


def measure_stop_slope(
    widths: list[int],
    stop_steps: list[np.ndarray],
    law: object,
    shrink: float,
    *,
    n_boot: int,
    key: str,
    b_rms: list[np.ndarray] | None = None,
    record: tuple[int, ...] = (),
) -> StopSlope | None:
    """Fit dN/d ln n from the recorded stop steps and put theory's slope beside it.

    The law takes B_t ∝ t^a with theory's a (``law.b_growth``); B_t's measured growth
    before the stop is given too (``growth``): per width, the least-squares slope of the
    seed-mean log RMS(B_t) on log t over the recorded steps k with N(n)/2 ≤ k ≤ N(n).

    Args:
        widths: the swept widths, increasing.
        stop_steps: per width, every usable seed's stop step (≤ 0: never stopped).
        b_rms: per width, RMS(B_t) of the usable seeds at the recorded steps, (S, K).
        record: the recorded steps k (the paper's t = k − 1).
        law: theory's ``StopLaw`` (``drop``, ``b_growth``, ``slope(λ, N)``).
        shrink: λ ∈ (0, 1).
        n_boot: bootstrap resamples.
        key: seeds the resampling (the same key gives the same interval).

    Returns:
        The slopes, or ``None`` with fewer than three widths at which some seed stopped.
    """
    stopped = [s[s > 0].astype(float) for s in stop_steps]
    if len(widths) < 3 or any(s.size == 0 for s in stopped):
        return None
    x = np.log(np.asarray(widths, dtype=float))
    medians = np.array([np.median(s) for s in stopped])
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    # (n_boot, W) resampled medians; the crossing lies in (N − 1, N]: resampled there too
    resampled = np.stack([
        np.median(rng.choice(s, (n_boot, s.size)) - rng.random((n_boot, s.size)), axis=1)
        for s in stopped
    ], axis=1)
    boot = ls_slope(x, resampled)
    low, high = np.percentile(boot, [2.5, 97.5])
    growth: list[float] = []
    for b, stop in zip(b_rms or [], medians, strict=False):
        window = [i for i, k in enumerate(record) if stop / 2 <= k <= stop and k > 1]
        with np.errstate(divide="ignore"):
            log_b = np.log(b[:, window]).mean(axis=0)
        if len(window) >= 2 and np.isfinite(log_b).all():
            growth.append(float(ls_slope(np.log([record[i] - 1.0 for i in window]), log_b)))
    n_bar = float(medians.mean())
    growth_all = tuple(growth) if len(growth) == len(widths) else ()
    return StopSlope(
        predicted=law.slope(shrink, n_bar),  # type: ignore[attr-defined]
        limit=float(law.drop) / -math.log1p(-shrink),  # type: ignore[attr-defined]
        slope=float(ls_slope(x, medians)),
        ci_low=float(low),
        ci_high=float(high),
        medians=tuple(float(m) for m in medians),
        growth=growth_all,
        with_growth=law.slope(shrink, n_bar, float(np.mean(growth_all)))  # type: ignore[attr-defined]
        if growth_all else math.nan,
    )
