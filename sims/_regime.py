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
  whose widths are on both sides of the stop step; before the stop, A_tZ and δ₁ while
  A₀'s remnant (1 − λ)^t·A₀Z gives way to A's learned part at t* = Θ(log n)
  (``shrink_decay``); after the stop, A_tZ and δ₁ while the
  measured stop steps N(n) = Θ(log n) shift their slope (``stop_lag``); ΔY when the δᵢ
  that dominate it at the swept widths carry other exponents (``compose_dy``). Agrees when
  the measured slope lies between the two ends.
- ``asymptotic``: one term governs the window to within TOLERANCE. Judged against that
  term's exponent: the fixed-step prediction, or the term beyond a bend (τ > τ*) when the
  whole window is past it (``gamma_fixed_t`` keeps the fixed-step value).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._crossover import Bend
from ._fit import TOLERANCE, ExponentFit, ls_slope

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
    return float(ls_slope(x, y)), float(np.exp(y.min()))


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
    slope = float(ls_slope(log_n, model_log_rms(widths, t, bends)))
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


def compose_dy(
    component_logs: np.ndarray, parts: list[CellRegime], own: CellRegime
) -> CellRegime | None:
    """ΔY's regime from the measured make-up of ΔY = δ₁ + δ₂ + δ₃ (Stable-LoRA Eq. 1).

    Theory's γ[ΔY] = max_i γ[δ_i] says the component with the largest exponent dominates
    ΔY as n → ∞. Which component dominates at a swept width is also decided by the Θ(1)
    constants, and those are measured: the seed-mean RMS of each δ_i at each width. ΔY is
    then judged against the exponents of the components that dominate it at some swept
    width, each taken from that component's own regime (its point prediction, or both
    ends of its band), together with ΔY's own regime (its placed bend, if any): the
    slope may lie anywhere both allow. Every δ_i is still judged on its own against
    theory, so this moves no exponent out of test; it stops a ratio of constants
    (δ₁'s A₀Z term against δ₂, say) from being judged as if it were an exponent.

    Args:
        component_logs: seed-mean log RMS of δ₁, δ₂, δ₃, shape (3, W).
        parts: the regimes of δ₁, δ₂, δ₃ at this step.
        own: ΔY's regime from its own terms (``asymptotic`` or ``crossover``).

    Returns:
        ``own`` when the dominating components add no other exponent to it, else a
        ``crossover`` regime spanning all of them; ``None`` when a dominating
        component has no finite prediction, or a width has no finite component.
    """
    logs = np.asarray(component_logs, dtype=float)
    finite = np.where(np.isfinite(logs), logs, -np.inf)
    if not np.isfinite(finite.max(axis=0)).all():
        return None
    winners = sorted(set(np.argmax(finite, axis=0).tolist()))
    ends = [g for g in (own.gamma_pred, own.gamma_other) if g is not None]
    for i in winners:
        if parts[i].gamma_pred is None:
            return None
        ends.extend(float(g) for g in (parts[i].gamma_pred, parts[i].gamma_other) if g is not None)
    if not ends or not all(math.isfinite(g) for g in ends):
        return None
    names = ", ".join(f"δ{i + 1}" for i in winners)
    lo, hi = min(ends), max(ends)
    if lo == hi:
        return own
    if own.regime == "crossover" and (lo, hi) == tuple(sorted((own.gamma_pred, own.gamma_other))):
        return own
    return CellRegime(
        "crossover", hi, lo,
        f"ΔY made up of {names} across the widths (measured): slope between {_fmt(lo)} "
        f"and {_fmt(hi)}",
    )


# Quantities with A_tZ as a factor (Stable-LoRA Eq. 1: δ₁ = s·η_B·g_B·A_tZ): after the
# stop their dominant term is A's learned part, which grows again only from the stop on.
RESTART_AT_STOP = ("AtZ", "delta1")


def stop_lag(
    widths: list[int], step: int, stops: list[float], gamma_after: float
) -> CellRegime | None:
    """After Algorithm 1's stop: A's learned part grows from each width's own stop step.

    While A is shrunk, A_{t+1} = (1 − λ)·A_t − η_A·g_A keeps A's learned part at
    Θ(η_A·g_A/λ) (it saturates, it does not grow with t); after the stop at N(n) it grows
    as η_A·Σ g_A again, ∝ (t − N(n)). Theory's N = Θ(log n) (Sec. 4) is a width-dependent
    start, invisible to the power-law exponents (t = n^τ with τ > 0 swamps log n) but not
    at t a few times N: the width slope at step t is shifted by at most
    d log(t − N(n)) / d log n (the saturated part only shrinks the shift). With N(n)
    measured on this configuration (each width's median stop step), the cell is a
    crossover between γ_after + shift and γ_after when the shift exceeds TOLERANCE.

    Args:
        widths: the swept widths.
        step: the recorded step k (every seed at every width stopped by then).
        stops: per width, the median stop step N(n) (NaN where unknown).
        gamma_after: theory's after-stop exponent of the quantity.

    Returns:
        The regime, or ``None`` when a stop step is unknown or not before ``step``.
    """
    lag = np.asarray([step - s for s in stops], dtype=float)
    if not math.isfinite(gamma_after) or not (np.isfinite(lag) & (lag > 0)).all():
        return None
    x = np.log(np.asarray(widths, dtype=float))
    xc = x - x.mean()
    # Σ xc·log(lag) / Σ xc², not ls_slope: the same slope (Σ xc = 0), kept in this form so
    # summary.csv keeps its bytes across versions
    shift = float((xc * np.log(lag)).sum() / (xc * xc).sum())
    if abs(shift) <= TOLERANCE:
        return CellRegime("asymptotic", gamma_after)
    return CellRegime(
        "crossover", gamma_after, gamma_after + shift,
        f"A's learned part restarts at the stop N(n) = {min(stops):g}…{max(stops):g} "
        f"(Θ(log n)): (t − N(n)) shifts the slope by {shift:+.2f}",
    )


def shrink_decay(
    widths: list[int], remnant: np.ndarray, total: np.ndarray, b_remnant: float, b_learned: float
) -> CellRegime | None:
    """While Algorithm 1 still shrinks: A₀'s decaying remnant against A's learned part.

    Unrolled (Stable-LoRA Sec. 4), A_t = (1 − λ)^t·A₀ − η_A·Σ_s (1 − λ)^{t−1−s}·g_A^s, so
    A_tZ = (1 − λ)^t·A₀Z + ℓ_t: a remnant of exponent γ[A₀Z] decaying exponentially in t,
    and a learned part ℓ_t of exponent γ[η_A] + 1. They trade places at t*(n) =
    (b_remnant − b_learned)·ln n / ln(1/(1 − λ)) + O(1) = Θ(log n), which the power-law
    τ-calculus cannot hold (τ* = 0) and which the fixed-step prediction (N·γ[1 − λ] = 0)
    does not see. The remnant is known exactly at every step, (1 − λ)^t times the measured
    A₀Z; with B₀ = 0 the learned part is aligned with A₀Z (B learns from A₀Z, and g_A·Z
    carries it), so ℓ_t = A_tZ − remnant. The model is theory's two terms with their
    exponents and measured amplitudes, P₀·n^{b_remnant} + P₁·n^{b_learned}; as for a
    power-law bend (``band``) the cell is a crossover when the model's least-squares slope
    over the widths is more than TOLERANCE from the term dominating mid-window.

    Args:
        widths: the swept widths.
        remnant: per width, the seed-mean log of (1 − λ)^t·RMS(A₀Z).
        total: per width, the seed-mean log RMS(A_tZ).
        b_remnant: theory's exponent of the remnant, γ[A₀Z].
        b_learned: theory's exponent of the learned part (the after-stop γ[A_tZ]).

    Returns:
        ``asymptotic`` with the exponent of the governing term (``gamma_pred``), or
        ``crossover`` from the learned term (``gamma_pred``) to the remnant
        (``gamma_other``); ``None`` when the learned part is not positive at any width
        (nothing learned yet, or not aligned with A₀Z), or an exponent is not finite.
    """
    if not (math.isfinite(b_remnant) and math.isfinite(b_learned)):
        return None
    log_n = np.log(np.asarray(widths, dtype=float))
    rem, tot = np.asarray(remnant, dtype=float), np.asarray(total, dtype=float)
    ok = np.isfinite(rem) & np.isfinite(tot)
    if ok.sum() < 2:
        return None
    learned = np.exp(tot[ok]) - np.exp(rem[ok])
    pos = learned > 0
    if not pos.any():
        return None
    log_p0 = float((rem[ok] - b_remnant * log_n[ok]).mean())
    log_p1 = float((np.log(learned[pos]) - b_learned * log_n[ok][pos]).mean())
    parts = np.stack([log_p0 + b_remnant * log_n, log_p1 + b_learned * log_n])  # (2, W)
    top = parts.max(axis=0)
    y = top + np.log(np.exp(parts - top).sum(axis=0))  # the linear sum of aligned terms
    slope = float(ls_slope(log_n, y))
    mid = (b_remnant, b_learned)[int(parts[:, len(widths) // 2].argmax())]
    if abs(slope - mid) <= TOLERANCE:
        return CellRegime("asymptotic", mid)
    share = np.exp(parts[1] - y)  # the learned part's share of A_tZ in the model
    return CellRegime(
        "crossover", b_learned, b_remnant,
        f"Stable-LoRA shrinking: A₀Z·(1 − λ)^t against A's learned part (t* = Θ(log n)); "
        f"learned share {share[0]:.2f} (n = {widths[0]}) … {share[-1]:.2f} (n = {widths[-1]}), "
        f"model slope {slope:+.2f}",
    )
