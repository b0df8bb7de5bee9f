"""Judge one configuration: fit every cell, measure its crossovers, give each cell a regime.

A cell is one (config, recorded step, quantity). Its width exponent is fitted as before
(``fit_exponent``); its regime (``_regime``) says which prediction it is judged against;
the crossovers (``_crossover``) are measured first because their scale K places the
crossover bands.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._config import ProbeConfig, SweepSettings
from ._crossover import MIN_POINTS, Bend, CrossoverFit, fit_crossover
from ._fit import ExponentFit, fit_exponent, verdict
from ._predict import Prediction
from ._probe import QUANTITIES, TRAJ_COLUMNS, UnitResult
from ._regime import (
    RESTART_AT_STOP,
    CellRegime,
    band,
    band_verdict,
    compose_dy,
    is_converged,
    residual_exponent,
    shrink_decay,
    stop_lag,
)

_LOSS = TRAJ_COLUMNS.index("loss")
_ATZ = QUANTITIES.index("AtZ")
_DELTAS = ("delta1", "delta2", "delta3")  # ΔY = δ₁ + δ₂ + δ₃ (Stable-LoRA Eq. 1)


@dataclass(frozen=True)
class Cell:
    """One judged cell: the fit, its regime and the verdict against that regime's prediction."""

    step: int
    quantity: str
    fit: ExponentFit
    gamma_fixed_t: float | None  # theory's fixed-step exponent (n → ∞ at this step)
    regime: CellRegime
    verdict: str
    reason: str
    n_diverged: int


@dataclass(frozen=True)
class MeasuredBend:
    """One bend of theory's envelope with its measurement (a row of crossovers.csv)."""

    bend: Bend
    fit: CrossoverFit | None  # None: no width signature, or the config is not measurable
    verdict: str
    reason: str


def _ratios(units: list[UnitResult], ki: int, step: int) -> list[np.ndarray]:
    """√(L_k/L_1) per usable seed at every width: the residual RMS relative to step 1."""
    out = []
    for u in units:
        ok = ~u.diverged[:, ki]
        with np.errstate(divide="ignore", invalid="ignore"):
            out.append(np.sqrt(u.traj[ok, step - 1, _LOSS] / u.traj[ok, 0, _LOSS]))
    return out


def _phase(config: ProbeConfig, units: list[UnitResult], ki: int, step: int) -> str:
    """Stable-LoRA phase at ``step`` over all widths and seeds (see ``for_step``)."""
    if config.shrink is None:
        return "none"
    flags = []
    for unit in units:
        stopped = (unit.stop_step >= 1) & (unit.stop_step <= step)
        flags.extend(stopped[~unit.diverged[:, ki]].tolist())
    if flags and all(flags):
        return "after"
    return "before" if not any(flags) else "mixed"


def _bend_logs(units: list[UnitResult], kis: list[int], qi: int) -> list[np.ndarray]:
    """Per width, log RMS of quantity qi at steps ``kis`` for seeds usable at all of them."""
    out = []
    for u in units:
        vals = u.stats[:, kis, qi]  # (S, T)
        ok = ~u.diverged[:, kis].any(axis=1) & np.isfinite(vals).all(axis=1) & (vals > 0).all(
            axis=1
        )
        out.append(np.log(vals[ok]))
    return out


def _measure_bend(
    config: ProbeConfig,
    bend: Bend,
    widths: list[int],
    units: list[UnitResult],
    record: tuple[int, ...],
    usable: list[int],
    qi: int,
    n_boot: int,
) -> MeasuredBend:
    if config.fresh_batches:
        return MeasuredBend(bend, None, "n/a", "fresh batches: outside Assumption 1")
    if config.shrink is not None:
        return MeasuredBend(
            bend, None, "n/a", "Stable-LoRA shrinkage: A is shrunk until a stop step Θ(log n)"
        )
    if not bend.width_signature:
        return MeasuredBend(
            bend, None, "n/a", "both terms have the same width exponent: a width fit cannot see it"
        )
    logs = _bend_logs(units, usable, qi)
    if sum(lv.shape[0] > 0 for lv in logs) < len(widths):
        return MeasuredBend(bend, None, "not located", "some width has no usable seed")
    ts = [record[ki] - 1 for ki in usable]
    fit = fit_crossover(
        widths, logs, ts, bend, n_boot=n_boot, key=f"{config.name}|{bend.quantity}|{bend.tau}"
    )
    if math.isnan(fit.tau_hat):
        where = {
            "high": "the large-n term governs every usable step: n* below the widths",
            "low": "the small-n term governs every usable step: n* above the widths",
            "mixed": "no step's crossing is resolved inside the widths",
            "inside": f"resolved at {len(fit.points)} step(s), fewer than {MIN_POINTS}",
        }[fit.side]
        return MeasuredBend(bend, fit, "not located", where)
    inside = fit.ci_low <= float(bend.tau) <= fit.ci_high
    return MeasuredBend(
        bend,
        fit,
        "agree" if inside else "disagree",
        f"{len(fit.points)} steps, t = {fit.points[0][0]}…{fit.points[-1][0]}",
    )


def _with_residual(measured: MeasuredBend, fallen: dict[int, float]) -> MeasuredBend:
    """A located bend's reason gains how far the residual had fallen at its steps.

    τ* assumes the Θ(1) residual of the feature-learning regime (docs/theory.md); a
    crossing located only where the residual has fallen far tests that premise as much
    as τ*. ``fallen`` maps the paper's t to the smallest √(L_t/L_1) over the widths.
    """
    fit = measured.fit
    if fit is None or not fit.points:
        return measured
    low = min(fallen.get(t, math.nan) for t, _ in fit.points)
    if not math.isfinite(low):
        return measured
    reason = f"{measured.reason}; residual down to {low:.2g} of its start at those steps"
    return MeasuredBend(measured.bend, fit, measured.verdict, reason)


def _log_k(measured: MeasuredBend) -> float:
    """log K placing the bend: measured, or ±∞ when the window is on one side throughout."""
    fit = measured.fit
    if fit is None:
        return math.nan
    if math.isfinite(fit.log_K):
        return fit.log_K
    if fit.side not in ("high", "low"):
        return math.nan
    b = measured.bend
    high_is_before = b.before[0] > b.after[0]
    # the whole window on the ``before`` side: t ≪ t* everywhere, K → ∞ (and vice versa)
    return math.inf if (fit.side == "high") == high_is_before else -math.inf


def _context(
    config: ProbeConfig,
    phase: str,
    step: int,
    last_stop: int,
    placed: list[tuple[Bend, float]] | None,
    off: MeasuredBend | None,
    q: str,
) -> str:
    """What the configuration is doing at this step that the prediction does not hold."""
    if off is not None and off.fit is not None:
        return (f"theory's bend at τ* = {off.bend.tau} was located at τ̂ = {off.fit.tau_hat:.2f} "
                f"[{off.fit.ci_low:.2f}, {off.fit.ci_high:.2f}], so the band placed with τ* "
                "misses here")
    if phase == "before":
        return (f"Stable-LoRA still shrinking (A₀Z decays as {1 - config.shrink:g}^t); the "
                "two-term model of A_tZ places no crossover at this step")
    if phase == "after" and last_stop and q in RESTART_AT_STOP:
        return (f"{step - last_stop} steps after the last stop (step {last_stop}; the stop "
                "step grows like log n), A's learned part still catching up")
    if phase == "after" and last_stop:
        return (f"{step - last_stop} steps after the last stop (step {last_stop}): B is never "
                "shrunk, but its growth slowed while A was (Adam's v̂ remembers the larger "
                "g_B; B_t's measured t-exponent before the stop is in crossovers.csv), for "
                "N(n) = Θ(log n) steps: a width-dependent lag no theory term holds")
    if placed and any(math.isnan(k) for b, k in placed if b.width_signature):
        return "theory's bend of this quantity was not located: no band placed"
    return ""


def _diagnosis(fit: ExponentFit, gamma: float | None) -> str:
    """Why a point prediction disagrees, from the local slopes (a finite-width hint)."""
    if gamma is None or not fit.local_slopes:
        return ""
    first, last = fit.local_slopes[0], fit.local_slopes[-1]
    text = f"local slopes {first:+.2f} (small n) … {last:+.2f} (large n)"
    if math.isfinite(gamma) and abs(last - gamma) < abs(first - gamma) - 0.05:
        text += ", moving toward the prediction with n"
    elif math.isfinite(gamma) and abs(last - gamma) > abs(first - gamma) + 0.05:
        text += ", moving away from the prediction with n"
    return text


def judge_config(
    config: ProbeConfig,
    settings: SweepSettings,
    widths: list[int],
    units: list[UnitResult],
    pred: Prediction,
) -> tuple[list[Cell], list[MeasuredBend]]:
    """Every cell of one configuration, judged in its regime, and its measured bends.

    Args:
        config: the configuration.
        settings: the sweep settings (recorded steps, bootstrap size).
        widths: the widths with a finished unit, increasing.
        units: those units.
        pred: theory's prediction for the configuration.

    Returns:
        The cells (step-major, quantities in ``QUANTITIES`` order) and the bends.
    """
    record = settings.record
    converged, phases, why_conv, fallen = [], [], [], {}
    for ki, step in enumerate(record):
        slope, smallest = residual_exponent(widths, _ratios(units, ki, step)) if units else (
            math.nan, math.nan)
        converged.append(is_converged(slope, smallest))
        fallen[step - 1] = smallest
        why_conv.append(
            f"residual/step-1 residual: width exponent {slope:+.2f}, smallest {smallest:.2g}"
        )
        phases.append(_phase(config, units, ki, step) if units else "none")
    decays = [
        _decay(config, pred, widths, units, record, ki) if phases[ki] == "before" else None
        for ki in range(len(record))
    ]
    transient = [step <= pred.steady_from for step in record]
    usable = [
        ki
        for ki, step in enumerate(record)
        if step >= 2 and not transient[ki] and not converged[ki] and phases[ki] != "mixed"
    ]
    bends: list[MeasuredBend] = []
    placed: dict[str, list[tuple[Bend, float]]] = {}
    for qi, q in enumerate(QUANTITIES):
        mine = [
            _measure_bend(config, b, widths, units, record, usable, qi, settings.bootstrap)
            for b in pred.bends.get(q, ())
        ]
        bends.extend(_with_residual(m, fallen) for m in mine)
        if mine and config.shrink is None and not config.fresh_batches:
            placed[q] = [(m.bend, _log_k(m)) for m in mine]
    off = {m.bend.quantity: m for m in bends if m.verdict == "disagree"}

    ever = [int(u.stop_step.max()) for u in units if (u.stop_step > 0).any()]
    last_stop = max(ever) if ever else 0
    stops = [_median_stop(u) for u in units]
    cells = []
    for ki, step in enumerate(record):
        fixed = pred.for_step(step, phases[ki])
        n_div = int(sum(u.diverged[:, ki].sum() for u in units))
        parts: dict[str, CellRegime] = {}
        for qi, q in enumerate(QUANTITIES):
            values = [u.stats[~u.diverged[:, ki], ki, qi] for u in units]
            fit = fit_exponent(
                widths, values, n_boot=settings.bootstrap, key=f"{config.name}|{step}|{q}"
            )
            g_fixed = fixed.get(q) if fixed is not None else None
            regime = _regime(config, pred, q, step, phases[ki], transient[ki], converged[ki],
                             why_conv[ki], widths, g_fixed, placed.get(q), decays[ki])
            if phase_after(phases[ki], q, regime):
                regime = stop_lag(widths, step, stops, regime.gamma_pred) or regime
            parts[q] = regime
            if q == "dY" and regime.regime in ("asymptotic", "crossover"):
                regime = _dy_regime(units, ki, [parts[d] for d in _DELTAS], regime) or regime
            if regime.regime == "crossover":
                result = band_verdict(fit, regime.gamma_pred, regime.gamma_other)
            else:
                result = verdict(fit, regime.gamma_pred)
            reason = regime.why
            if result == "disagree" and regime.regime != "crossover":
                context = _context(
                    config, phases[ki], step, last_stop, placed.get(q), off.get(q), q
                )
                hint = _diagnosis(fit, regime.gamma_pred)
                reason = "; ".join(r for r in (reason, context, hint) if r)
            cells.append(Cell(step, q, fit, g_fixed, regime, result, reason, n_div))
    return cells, bends


def _median_stop(unit: UnitResult) -> float:
    """N(n): the median stop step over the seeds that stopped (NaN if none did)."""
    stopped = unit.stop_step[unit.stop_step > 0]
    return float(np.median(stopped)) if stopped.size else math.nan


def phase_after(phase: str, q: str, regime: CellRegime) -> bool:
    """An after-stop cell of a quantity whose dominant term restarts at the stop."""
    return (phase == "after" and q in RESTART_AT_STOP and regime.regime == "asymptotic"
            and regime.gamma_pred is not None)


def _dy_regime(
    units: list[UnitResult], ki: int, parts: list[CellRegime], own: CellRegime
) -> CellRegime | None:
    """ΔY judged by the components that make it up at the swept widths (``compose_dy``)."""
    if any(p.regime not in ("asymptotic", "crossover") for p in parts):
        return None
    logs = np.full((len(_DELTAS), len(units)), -np.inf)
    for w, u in enumerate(units):
        ok = ~u.diverged[:, ki]
        for j, d in enumerate(_DELTAS):
            vals = u.stats[ok, ki, QUANTITIES.index(d)]
            vals = vals[np.isfinite(vals) & (vals > 0)]
            if vals.size:
                logs[j, w] = np.log(vals).mean()
    return compose_dy(logs, parts, own)


def _decay(
    config: ProbeConfig,
    pred: Prediction,
    widths: list[int],
    units: list[UnitResult],
    record: tuple[int, ...],
    ki: int,
) -> CellRegime | None:
    """A_tZ's make-up while every seed at every width still shrinks (``shrink_decay``).

    The remnant (1 − λ)^t·A₀Z is exact per seed: A₀Z is recorded at step 1 (t = 0), and
    before any stop every step shrinks A by (1 − λ) (Algorithm 1).
    """
    if config.shrink is None or 1 not in record or not units:
        return None
    k1, t = record.index(1), record[ki] - 1
    before = pred.for_step(record[ki], "before") or {}
    after = pred.for_step(record[ki], "after") or {}
    b_rem, b_learned = before.get("AtZ"), after.get("AtZ")
    if b_rem is None or b_learned is None or t < 1:
        return None
    remnant, total = [], []
    for u in units:
        ok = ~u.diverged[:, ki] & ~u.diverged[:, k1]
        a0, at = u.stats[ok, k1, _ATZ], u.stats[ok, ki, _ATZ]
        good = np.isfinite(a0) & np.isfinite(at) & (a0 > 0) & (at > 0)
        if not good.any():
            return None
        remnant.append(float(np.log(a0[good]).mean()) + t * math.log1p(-config.shrink))
        total.append(float(np.log(at[good]).mean()))
    return shrink_decay(widths, np.array(remnant), np.array(total), b_rem, b_learned)


def _while_shrinking(
    pred: Prediction, q: str, step: int, g_fixed: float | None, decay: CellRegime
) -> CellRegime:
    """Quantity q's regime from A_tZ's make-up while shrinking (Stable-LoRA Eq. 1).

    A_tZ and δ₁ = s·ΔB·A_tZ (``RESTART_AT_STOP``) carry A_tZ as a factor: each moves
    from its while-shrinking exponent (remnant dominant) to its after-stop exponent
    (learned part dominant) where A_tZ does. δ₂ and δ₃ carry ΔA·Z instead, whose learned
    piece η_A·g_A·Z − λ·ℓ_t vanishes as ℓ_t saturates at Θ(η_A·g_A/λ), so −λ·(1 − λ)^t·A₀Z
    keeps governing it: they keep the fixed-step prediction, and ΔY follows its components
    (``compose_dy``).
    """
    after_all = pred.for_step(step, "after") or {}
    before_all = pred.for_step(step, "before") or {}
    after = after_all.get(q)
    if q not in RESTART_AT_STOP or g_fixed is None or after is None or after == g_fixed:
        return CellRegime("asymptotic", g_fixed)
    if decay.regime == "crossover":
        return CellRegime("crossover", after, g_fixed, decay.why)
    b_learned, b_remnant = after_all.get("AtZ"), before_all.get("AtZ")
    if b_learned == b_remnant or decay.gamma_pred != b_learned:
        return CellRegime("asymptotic", g_fixed)  # the remnant governs every width
    return CellRegime(
        "asymptotic", after, None,
        "Stable-LoRA shrinking: A₀Z·(1 − λ)^t below A's learned part at every swept width",
    )


def _regime(
    config: ProbeConfig,
    pred: Prediction,
    q: str,
    step: int,
    phase: str,
    transient: bool,
    converged: bool,
    why_conv: str,
    widths: list[int],
    g_fixed: float | None,
    placed: list[tuple[Bend, float]] | None,
    decay: CellRegime | None = None,
) -> CellRegime:
    if config.fresh_batches:
        return CellRegime("outside", g_fixed, None, "fresh batches: outside Assumption 1")
    if transient:
        return CellRegime(
            "transient", g_fixed, None, f"step {step} ≤ theory's first steady step"
        )
    if converged:
        return CellRegime("converged", g_fixed, None, why_conv)
    if phase == "mixed":
        before = pred.for_step(step, "before").get(q)
        after = pred.for_step(step, "after").get(q)
        if before is None or after is None:
            return CellRegime("crossover", None, None, "widths on both sides of the stop step")
        return CellRegime(
            "crossover", after, before, "widths on both sides of the stop step (Θ(log n))"
        )
    if decay is not None:
        return _while_shrinking(pred, q, step, g_fixed, decay)
    if placed and step >= 2:
        placed_regime = band(widths, step - 1, placed)
        if placed_regime is not None:
            if placed_regime.regime == "crossover":
                return placed_regime
            g = placed_regime.gamma_pred
            if g_fixed is None or g != g_fixed:
                return CellRegime(
                    "asymptotic", g, None, "past the bend at every swept width (τ > τ*)"
                )
    return CellRegime("asymptotic", g_fixed)
