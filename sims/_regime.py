"""The regime of every summary cell, and the prediction its verdict is judged against.

Regimes (checked in this order; docs/sims.md, "Regimes", gives the reasoning):

- ``outside``: fresh batches, outside Stable-LoRA's Assumption 1. Judged against the
  Assumption-1 prediction on purpose.
- ``transient``: a step before theory's fixed point (``steady_from``), e.g. step 1 where
  B₀ = 0 makes g_A⁰ = 0. Judged against theory's prediction for that very step.
- ``converged``: the Θ(1) residual that every prediction assumes (the loss gradient dY
  is Θ(1) per entry at every width) no longer holds across the swept widths: the residual
  has fallen (its ratio to step 1 is below 1 at some width) and the width exponent of that
  ratio differs from 0 by more than TOLERANCE, the resolution at which verdicts judge any
  exponent. Judged against the fixed-step prediction, but not counted as a test of it.
- ``crossover``: theory's two-term model of the quantity, placed with the measured scale K
  of each bend (t* = K·n^{τ*}), bends the least-squares slope over the swept widths by more
  than TOLERANCE away from the term that dominates mid-window; or a Stable-LoRA config
  whose widths are on both sides of the stop step. Agrees when the measured slope lies
  between the two terms' exponents.
- ``asymptotic``: one term governs the window to within TOLERANCE. Judged against that
  term's exponent: the fixed-step prediction, or the term beyond a bend (τ > τ*) when the
  whole window is past it (``gamma_fixed_t`` keeps the fixed-step value).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._crossover import Bend
from ._fit import TOLERANCE, ExponentFit

REGIMES = ("asymptotic", "crossover", "converged", "transient", "outside")
_BIG = 700.0  # |log K| standing in for ±∞ (a bend entirely outside the window)


@dataclass(frozen=True)
class CellRegime:
    """The regime of one (config, step, quantity) and what its verdict is judged against."""

    regime: str
    gamma_pred: float | None  # asymptotic/transient/converged: the exponent; crossover: one end
    gamma_other: float | None = None  # crossover: the other end of the band
    why: str = ""


def residual_exponent(widths: list[int], ratios: list[np.ndarray]) -> tuple[float, float]:
    """Width exponent of the residual's ratio to step 1, and its smallest seed-mean value.

    Args:
        widths: swept widths.
        ratios: per width, √(L_k/L_1) of each usable seed (the per-entry residual RMS at
            step k over that at step 1; L is the loss, a sum over the m·b residual entries).

    Returns:
        (least-squares slope of the seed-mean log ratio on log n, min over widths of the
        geometric-mean ratio); (NaN, NaN) with fewer than two widths.
    """
    used = [(w, np.log(r)) for w, r in zip(widths, ratios, strict=True) if r.size]
    used = [(w, lr[np.isfinite(lr)]) for w, lr in used]
    used = [(w, lr) for w, lr in used if lr.size]
    if len(used) < 2:
        return math.nan, math.nan
    x = np.log([w for w, _ in used])
    y = np.array([lr.mean() for _, lr in used])
    xc = x - x.mean()
    return float((xc * (y - y.mean())).sum() / (xc * xc).sum()), float(np.exp(y.min()))


def is_converged(slope: float, smallest: float) -> bool:
    """The residual fell somewhere and is no longer Θ(1) alike across the widths."""
    return math.isfinite(slope) and smallest < 1.0 and abs(slope) > TOLERANCE


def _chain(bends: list[tuple[Bend, float]]) -> list[tuple[float, float, float]]:
    """(log P_j, b_j, a_j) of the envelope's terms, amplitudes fixed by each bend's K.

    At a bend between terms j and j+1 the two are equal on t = K·n^{τ*}, which gives
    log P_{j+1} = log P_j − (a_{j+1} − a_j)·log K.
    """
    first = bends[0][0].before
    out = [(0.0, float(first[0]), float(first[1]))]
    for bend, log_k in bends:
        b, a = float(bend.after[0]), float(bend.after[1])
        lk = min(max(log_k, -_BIG), _BIG)
        out.append((out[-1][0] - (a - out[-1][2]) * lk, b, a))
    return out


def model_log_rms(widths: list[int], t: int, bends: list[tuple[Bend, float]]) -> np.ndarray:
    """log RMS (up to a constant) of the quadrature sum of the envelope's terms.

    The terms are independent pieces of one matrix (A₀Z and the learned part, say), so
    their RMS adds in quadrature: y² = Σ_j (P_j·t^{a_j}·n^{b_j})².

    Args:
        widths: the widths n.
        t: the paper's step t ≥ 1.
        bends: the quantity's bends in increasing τ*, each with its log K.

    Returns:
        log y at every width, shape (W,).
    """
    log_n = np.log(np.asarray(widths, dtype=float))
    parts = np.stack([lp + b * log_n + a * math.log(t) for lp, b, a in _chain(bends)])
    top = parts.max(axis=0)
    return top + 0.5 * np.log(np.exp(2 * (parts - top)).sum(axis=0))


def band(widths: list[int], t: int, bends: list[tuple[Bend, float]]) -> CellRegime | None:
    """Whether step t sits in a bend's band at the swept widths, from the placed model.

    Returns:
        ``None`` when the model cannot be placed (no bend with a width signature, or one
        whose K was not measured); else a ``crossover`` regime (slope between the terms
        dominating at the smallest and largest width) or an ``asymptotic`` one whose
        ``gamma_pred`` is the exponent of the term dominating mid-window.
    """
    if not bends or any(math.isnan(k) for b, k in bends if b.width_signature):
        return None
    log_n = np.log(np.asarray(widths, dtype=float))
    chain = _chain(bends)
    parts = np.stack([lp + b * log_n + a * math.log(t) for lp, b, a in chain])  # (J, W)
    dominant = parts.argmax(axis=0)
    y = model_log_rms(widths, t, bends)
    xc = log_n - log_n.mean()
    slope = float((xc * (y - y.mean())).sum() / (xc * xc).sum())
    mid = chain[int(dominant[len(widths) // 2])][1]
    if abs(slope - mid) <= TOLERANCE:
        return CellRegime("asymptotic", mid)
    lo, hi = chain[int(dominant[0])][1], chain[int(dominant[-1])][1]
    if lo == hi:  # a bend with no width signature inside: the slope is the shared exponent
        return CellRegime("asymptotic", mid)
    return CellRegime(
        "crossover",
        hi,
        lo,
        f"model slope {slope:+.2f} between the small-n term ({_fmt(lo)}) and the large-n "
        f"term ({_fmt(hi)})",
    )


def band_verdict(fit: ExponentFit, a: float, b: float) -> str:
    """A crossover cell agrees when γ̂ lies between the two terms' exponents.

    "Between" allows the same TOLERANCE as a point prediction, or the 95% interval
    reaching into the band.
    """
    if math.isnan(fit.gamma_hat) or not (math.isfinite(a) and math.isfinite(b)):
        return "n/a"
    lo, hi = min(a, b), max(a, b)
    if lo - TOLERANCE <= fit.gamma_hat <= hi + TOLERANCE:
        return "agree"
    return "agree" if fit.ci_low <= hi and fit.ci_high >= lo else "disagree"


def _fmt(x: float) -> str:
    from fractions import Fraction

    return str(Fraction(x).limit_denominator(24)) if math.isfinite(x) else "-oo"
