"""Crossovers in the (n, t) plane: theory's competing terms, and their measured location.

With t = Θ(n^τ) every quantity is a sum of terms Θ(t^a·n^b) (theory's ``Prediction.terms``);
its exponent is the upper envelope max_j (b_j + a_j·τ), a piecewise-affine function of τ.
Where the envelope changes term, at τ*, the quantity bends: t*(n) = K·n^{τ*}. At a FIXED
step t the term with the larger n-exponent governs the widths n ≫ n*(t) and the other one
the widths n ≪ n*(t) (for τ* > 0 the large-n term is ``before``, theory's fixed-step
prediction). This module finds those bends exactly (Fractions) and measures n*(t), τ̂
and K from the swept widths: n*(t) from the shape of log RMS against log n at each step,
τ̂ = 1/slope of log n* on log t, the interval from a bootstrap over seeds.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

MIN_POINTS = 3  # steps with a located crossing needed to fit τ̂ (two points fit any line)


@dataclass(frozen=True)
class Bend:
    """One change of dominant term on a quantity's envelope (exact exponents).

    ``before`` and ``after`` are (n_exp, t_exp) pairs; ``tau`` is where b + a·τ is equal
    for both; ``before`` dominates for τ < τ*, i.e. for t ≪ K·n^{τ*}. ``predicted`` is
    τ* ≥ 0, a crossover theory predicts at t ≥ 1 as n → ∞; τ* < 0 is a finite-width
    bend: as n → ∞ the ``after`` term wins at every fixed step, but the Θ(1) constants
    can put t* = K·n^{τ*} inside the swept window.
    """

    quantity: str
    tau: Fraction
    before: tuple[Fraction, Fraction]  # (n_exp, t_exp), dominant for τ < tau
    after: tuple[Fraction, Fraction]  # (n_exp, t_exp), dominant for τ > tau
    before_name: str = ""
    after_name: str = ""

    @property
    def predicted(self) -> bool:
        """τ* ≥ 0: a crossover at t* = Θ(n^{τ*}) ≥ Θ(1)."""
        return self.tau >= 0

    @property
    def width_signature(self) -> bool:
        """Whether the two terms scale differently with n (else a fixed-t fit cannot see it)."""
        return self.before[0] != self.after[0]


def envelope(quantity: str, terms: list[tuple[str, object, object]]) -> list[Bend]:
    """The upper envelope of τ ↦ b_j + a_j·τ over all real τ, as its list of bends.

    Args:
        quantity: the quantity's key (``AtZ``, ``delta1``, …).
        terms: (name, n_exp, t_exp) of every term; a term with n_exp = −∞ (exactly zero)
            never dominates and is skipped. Exponents must be exact (Fraction or int).

    Returns:
        The bends in increasing τ; empty when one term dominates for every τ.

    Raises:
        TypeError: a float exponent (the bends are exact).
    """
    live = []
    for name, b, a in terms:
        if isinstance(b, float) or isinstance(a, float):
            if b == -math.inf:
                continue
            raise TypeError(f"term {name!r} of {quantity}: exponents must be exact, got floats")
        if b is None or not isinstance(b, int | Fraction):
            continue  # −∞ from theory (its NEG_INF sentinel): the term is exactly zero
        live.append((name, Fraction(b), Fraction(a)))
    if not live:
        return []
    # τ → −∞: the smallest t-exponent wins, ties by the larger n-exponent
    current = min(live, key=lambda x: (x[2], -x[1]))
    bends: list[Bend] = []
    while True:
        ahead = [
            ((current[1] - b) / (a - current[2]), -a, name, b, a)
            for name, b, a in live
            if a > current[2]
        ]
        if not ahead:
            return bends
        tau, _, name, b, a = min(ahead)
        nxt = (name, b, a)
        bends.append(
            Bend(quantity, tau, (current[1], current[2]), (b, a), current[0], name)
        )
        current = nxt


@dataclass(frozen=True)
class CrossoverFit:
    """Measured location of one bend: t*(n) = K·n^τ̂ with its seed-bootstrap interval."""

    tau_hat: float  # NaN when fewer than MIN_POINTS steps had a resolved crossing
    ci_low: float
    ci_high: float
    log_K: float  # log K with τ fixed at theory's τ* (NaN when no crossing was resolved)
    points: tuple[tuple[int, float], ...]  # (t, n*) of every resolved crossing
    side: str  # "inside" (crossings resolved), "low" / "high" (the small-n / large-n term
    #            governs every step), "mixed" (neither, and no crossing resolved)


_GRID = 241  # candidate log n* per step, evenly spaced over the swept window
_CHUNK = 8  # bootstrap resamples per block in locate (8·T·_GRID doubles)


def locate(log_n: np.ndarray, log_y: np.ndarray, b_low: float, b_high: float) -> np.ndarray:
    """log n* at which the two terms are equal, from the shape of log RMS against log n.

    Fits log y = c + ½·log(n^{2b_high} + n*^{2(b_high − b_low)}·n^{2b_low}) (two independent
    pieces adding in quadrature, equal at n*; the b_low term governs n ≪ n*) by least
    squares over every width, n* on a grid inside the window and c in closed form. All
    widths enter, so the seed noise of a single neighbouring pair (±0.1 in a local slope
    with 8 seeds) does not place the crossing.

    Args:
        log_n: log widths, increasing, shape (W,).
        log_y: seed-mean log RMS, shape (..., W).
        b_low: n-exponent of the term that governs the small widths.
        b_high: n-exponent of the term that governs the large widths (b_high > b_low).

    Returns:
        log n*, shape (...); NaN where the best fit sits on the window's edge (the
        crossing is not inside the swept widths).
    """
    grid = np.linspace(log_n[0], log_n[-1], _GRID)  # (U,)
    hi = 2 * b_high * log_n  # (W,)
    lo = 2 * (b_high - b_low) * grid[:, None] + 2 * b_low * log_n  # (U, W)
    shape = 0.5 * np.logaddexp(hi[None, :], lo)  # (U, W)
    shape = shape - shape.mean(axis=-1, keepdims=True)
    y = log_y - log_y.mean(axis=-1, keepdims=True)  # (..., W)
    # Σ_w (y − shape_u)² with c eliminated, without a (..., U, W) array
    norm = (shape * shape).sum(axis=-1)  # (U,)
    if y.ndim < 3:
        best = (norm - 2 * y @ shape.T).argmin(axis=-1)  # (...), sse up to Σ y²
    else:  # bootstrap (B, T, W): _CHUNK resamples at a time, so sse stays in cache
        best = np.empty(y.shape[:-1], dtype=np.intp)  # (B, T)
        for i in range(0, y.shape[0], _CHUNK):
            sse = 2 * y[i:i + _CHUNK] @ shape.T  # (chunk, T, U): per (T, W) slice, as unchunked
            np.subtract(norm, sse, out=sse)
            best[i:i + _CHUNK] = sse.argmin(axis=-1)
    out = grid[best]
    return np.where((best == 0) | (best == _GRID - 1), np.nan, out)


def _inv_slope(log_t: np.ndarray, log_ns: np.ndarray) -> np.ndarray:
    """1/slope of log n* on log t along the last axis (n* carries the noise, t is exact)."""
    xc = log_t - log_t.mean()
    y = log_ns - log_ns.mean(axis=-1, keepdims=True)
    slope = (y * xc).sum(axis=-1) / (xc * xc).sum()
    with np.errstate(divide="ignore"):
        return np.where(slope != 0, 1.0 / slope, np.nan)


def fit_crossover(
    widths: list[int],
    logs: list[np.ndarray],
    ts: list[int],
    bend: Bend,
    *,
    n_boot: int = 1000,
    key: str = "",
) -> CrossoverFit:
    """Locate n*(t) at every given step and fit τ̂ in t* = K·n*^τ̂ (seed bootstrap).

    A step's crossing counts as resolved when at least 95% of the bootstrap resamples of
    the seeds place it inside the swept widths: then the width window, not the seed
    noise, decides where it is. τ̂ is 1/slope of log n* on log t over the resolved steps
    (at least MIN_POINTS); its interval refits the same steps in every resample.

    Args:
        widths: swept widths, increasing.
        logs: per width, log RMS of the quantity, shape (S_w, len(ts)) — seeds × steps,
            only usable (finite, non-diverged) seeds.
        ts: the paper's steps t ≥ 1 (sims step k is t = k − 1) the fit may use.
        bend: theory's bend (its two terms' n-exponents give the shape).
        n_boot: bootstrap resamples of the seeds at every width.
        key: seeds the bootstrap so the file is reproducible.

    Returns:
        The fit. ``side`` says where the swept window sits when no crossing is resolved.
    """
    log_n = np.log(np.asarray(widths, dtype=float))
    log_t = np.log(np.asarray(ts, dtype=float))
    b_low, b_high = sorted((float(bend.before[0]), float(bend.after[0])))
    mean = np.stack([lv.mean(axis=0) for lv in logs], axis=-1)  # (T, W)
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    boot = np.stack(
        [lv[rng.integers(0, lv.shape[0], size=(n_boot, lv.shape[0]))].mean(axis=1) for lv in logs],
        axis=-1,
    )  # (B, T, W)
    point = locate(log_n, mean, b_low, b_high)  # (T,)
    resampled = locate(log_n, boot, b_low, b_high)  # (B, T)
    resolved = np.isfinite(point) & (np.isfinite(resampled).mean(axis=0) >= 0.95)
    points = tuple((int(ts[i]), float(math.exp(point[i]))) for i in np.flatnonzero(resolved))
    if not points:
        slopes = np.diff(mean, axis=-1) / np.diff(log_n)
        mid = (b_low + b_high) / 2
        side = "high" if (slopes.mean(axis=-1) >= mid).all() else (
            "low" if (slopes.mean(axis=-1) < mid).all() else "mixed")
        return CrossoverFit(math.nan, math.nan, math.nan, math.nan, (), side)
    log_K = float(np.median(log_t[resolved] - float(bend.tau) * point[resolved]))
    if resolved.sum() < MIN_POINTS or np.ptp(log_t[resolved]) == 0:
        return CrossoverFit(math.nan, math.nan, math.nan, log_K, points, "inside")
    tau_hat = float(_inv_slope(log_t[resolved], point[resolved]))
    sub = resampled[:, resolved]
    ok = np.isfinite(sub).all(axis=1)
    taus = _inv_slope(log_t[resolved], sub[ok])
    low, high = np.quantile(taus, [0.025, 0.975])
    return CrossoverFit(tau_hat, float(low), float(high), log_K, points, "inside")
