"""Long-format result tables (docs/results-format.md) built from the finished units."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ._config import ProbeConfig, SweepSettings
from ._judge import judge_config
from ._predict import Prediction
from ._probe import QUANTITIES, TRAJ_COLUMNS, UnitResult
from ._stop_step import measure_stop_slope

if TYPE_CHECKING:
    import pandas as pd

Units = dict[tuple[str, int], UnitResult]
SUMMARY_COLUMNS = (
    "config",
    "step",
    "quantity",
    "gamma_hat",
    "ci_low",
    "ci_high",
    "gamma_pred",
    "verdict",
    "n_seeds",
    "n_diverged",
    "local_slopes",
    "regime",
    "gamma_fixed_t",
    "gamma_other",
    "reason",
)
CROSSOVER_COLUMNS = (
    "config",
    "quantity",
    "kind",
    "tau_pred",
    "tau_pred_exact",
    "term_before",
    "term_after",
    "gamma_before",
    "gamma_after",
    "tau_hat",
    "ci_low",
    "ci_high",
    "K_hat",
    "n_points",
    "t_min",
    "t_max",
    "verdict",
    "reason",
)


def _widths(config: ProbeConfig, settings: SweepSettings, units: Units) -> list[int]:
    return [w for w in settings.widths if (config.name, w) in units]


def measurements_frame(
    configs: list[ProbeConfig], settings: SweepSettings, units: Units
) -> pd.DataFrame:
    """One row per config × width × seed × recorded step × quantity (per-entry RMS)."""

    parts = []
    S, K, Q = settings.seeds, len(settings.record), len(QUANTITIES)
    seeds = settings.seed + np.arange(S)
    for config in configs:
        for w in _widths(config, settings, units):
            unit = units[config.name, w]
            parts.append(
                {
                    "config": config.name,
                    "width": w,
                    "seed": np.repeat(seeds, K * Q),
                    "step": np.tile(np.repeat(settings.record, Q), S),
                    "quantity": np.tile(QUANTITIES, S * K),
                    "value": unit.stats.reshape(-1),
                    "diverged": np.repeat(unit.diverged.reshape(-1), Q),
                }
            )
    return _stack(parts, ["config", "width", "seed", "step", "quantity", "value", "diverged"])


def trajectories_frame(
    configs: list[ProbeConfig], settings: SweepSettings, units: Units
) -> pd.DataFrame:
    """One row per config × width × seed × step: loss, ‖A‖_F/n, ‖B‖_F/m, Stable-LoRA flag."""

    parts = []
    S, T = settings.seeds, settings.steps
    seeds = settings.seed + np.arange(S)
    for config in configs:
        for w in _widths(config, settings, units):
            unit = units[config.name, w]
            frame = {
                "config": config.name,
                "width": w,
                "seed": np.repeat(seeds, T),
                "step": np.tile(np.arange(1, T + 1), S),
            }
            for j, name in enumerate(TRAJ_COLUMNS):
                frame[name] = unit.traj[:, :, j].reshape(-1)
            frame["stable"] = unit.stable.reshape(-1)
            parts.append(frame)
    columns = ["config", "width", "seed", "step", *TRAJ_COLUMNS, "stable"]
    return _stack(parts, columns)


def stops_frame(configs: list[ProbeConfig], settings: SweepSettings, units: Units) -> pd.DataFrame:
    """One row per config × width × seed: the step whose check first found ‖A‖/n ≤ ‖B‖/m."""

    parts = []
    seeds = settings.seed + np.arange(settings.seeds)
    for config in configs:
        for w in _widths(config, settings, units):
            stop = units[config.name, w].stop_step.astype(float)
            stop[stop == 0] = np.nan  # never fired, or no shrinkage: empty cell
            parts.append({"config": config.name, "width": w, "seed": seeds, "stop_step": stop})
    frame = _stack(parts, ["config", "width", "seed", "stop_step"])
    frame["stop_step"] = frame["stop_step"].astype("Int64")
    return frame


def configs_frame(configs: list[ProbeConfig], predictions: dict[str, Prediction]) -> pd.DataFrame:
    """One row per configuration with its exponents and theory's case/stability verdict."""
    import pandas as pd

    rows = []
    for c in configs:
        p = predictions[c.name]
        rows.append(
            {
                "config": c.name,
                "optimizer": c.optimizer,
                "init": c.init,
                "eta_exp": float(c.eta_exp),
                "eta_coef": c.eta_coef,
                "etaB_exp": float(c.eta_B_exp),
                "s_exp": float(c.s_exp),
                "s_coef": c.s_coef,
                "sigma_exp": float(c.sigma_exp),
                "A0Z_exp": float(c.A0Z_exp),
                "B0_exp": float(c.B0_exp),
                "shrink": np.nan if c.shrink is None else c.shrink,
                "stop_condition": c.stop_condition,
                "fresh_batches": c.fresh_batches,
                "case_pred": p.case,
                "stable_pred": p.stable,
            }
        )
    return pd.DataFrame(rows)


def judged_frames(
    configs: list[ProbeConfig],
    settings: SweepSettings,
    units: Units,
    predictions: dict[str, Prediction],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """summary.csv (one row per config × recorded step × quantity: fit, regime, verdict)
    and crossovers.csv (one row per bend of theory's envelope: τ*, τ̂ and its interval)."""
    import pandas as pd

    rows, bend_rows = [], []
    for config in configs:
        widths = _widths(config, settings, units)
        cells, bends = judge_config(
            config, settings, widths, [units[config.name, w] for w in widths],
            predictions[config.name],
        )
        for c in cells:
            other = c.regime.gamma_other
            rows.append(
                {
                    "config": config.name,
                    "step": c.step,
                    "quantity": c.quantity,
                    "gamma_hat": c.fit.gamma_hat,
                    "ci_low": c.fit.ci_low,
                    "ci_high": c.fit.ci_high,
                    "gamma_pred": _num(c.regime.gamma_pred),
                    "verdict": c.verdict,
                    "n_seeds": settings.seeds,
                    "n_diverged": c.n_diverged,
                    "local_slopes": ";".join(f"{v:.4f}" for v in c.fit.local_slopes),
                    "regime": c.regime.regime,
                    "gamma_fixed_t": _num(c.gamma_fixed_t),
                    "gamma_other": _num(other),
                    "reason": c.reason,
                }
            )
        for m in bends:
            fit, b = m.fit, m.bend
            located = fit is not None and math.isfinite(fit.tau_hat)
            bend_rows.append(
                {
                    "config": config.name,
                    "quantity": b.quantity,
                    "kind": "predicted" if b.predicted else "finite_n",
                    "tau_pred": float(b.tau),
                    "tau_pred_exact": str(b.tau),
                    "term_before": b.before_name,
                    "term_after": b.after_name,
                    "gamma_before": float(b.before[0]),
                    "gamma_after": float(b.after[0]),
                    "tau_hat": fit.tau_hat if fit is not None else np.nan,
                    "ci_low": fit.ci_low if fit is not None else np.nan,
                    "ci_high": fit.ci_high if fit is not None else np.nan,
                    "K_hat": math.exp(fit.log_K)
                    if fit is not None and math.isfinite(fit.log_K)
                    else np.nan,
                    "n_points": len(fit.points) if fit is not None else 0,
                    "t_min": fit.points[0][0] if located else np.nan,
                    "t_max": fit.points[-1][0] if located else np.nan,
                    "verdict": m.verdict,
                    "reason": m.reason,
                }
            )
        stop_row = _stop_row(config, settings, widths, units, predictions[config.name])
        if stop_row is not None:
            bend_rows.append(stop_row)
    summary = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    crossovers = pd.DataFrame(bend_rows, columns=list(CROSSOVER_COLUMNS))
    for col in ("t_min", "t_max"):
        crossovers[col] = crossovers[col].astype("Int64")
    return summary, crossovers


def _stop_row(
    config: ProbeConfig,
    settings: SweepSettings,
    widths: list[int],
    units: Units,
    pred: Prediction,
) -> dict | None:
    """The crossovers.csv row of Algorithm 1's stop step (kind ``log_n``, t* = Θ(log n)).

    τ* = 0 and the τ̂ columns stay empty: the measured quantity is the slope dN/d ln n,
    given with its interval and theory's value in ``reason`` (``_stop_step``).
    """
    law = getattr(pred.after_stop, "stop_law", None)
    if config.shrink is None or law is None or config.fresh_batches:
        return None
    mine = [units[config.name, w] for w in widths]
    usable = [~u.diverged.any(axis=1) for u in mine]
    measured = measure_stop_slope(
        widths, [u.stop_step[ok] for u, ok in zip(mine, usable, strict=True)], law,
        config.shrink, n_boot=settings.bootstrap, key=f"{config.name}|stop",
        b_rms=[u.stats[ok][:, :, QUANTITIES.index("Bt")] for u, ok in zip(mine, usable,
                                                                            strict=True)],
        record=settings.record,
    )
    gamma_a0 = float(config.A0Z_exp) - 0.5  # per entry: A₀Z's CLT contraction adds ½
    return {
        "config": config.name,
        "quantity": "stop",
        "kind": "log_n",
        "tau_pred": 0.0,
        "tau_pred_exact": "0",
        "term_before": "A₀'s remnant (1−λ)^t·A₀ (per entry)",
        "term_after": f"B_t ∝ t^{law.b_growth} (per entry)",
        "gamma_before": gamma_a0,
        "gamma_after": gamma_a0 - float(law.drop),
        "tau_hat": np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "K_hat": np.nan,
        "n_points": len(widths) if measured is not None else 0,
        # steps are integers; a median over an even number of seeds may fall half-way
        "t_min": math.floor(min(measured.medians)) if measured is not None else np.nan,
        "t_max": math.ceil(max(measured.medians)) if measured is not None else np.nan,
        "verdict": measured.verdict if measured is not None else "not located",
        "reason": measured.reason(widths) if measured is not None
        else "fewer than three widths where a seed stopped",
    }


def _num(value: float | None) -> float:
    return np.nan if value is None else float(value)


def _stack(parts: list[dict[str, object]], columns: list[str]) -> pd.DataFrame:
    """``pd.concat([pd.DataFrame(p) for p in parts], ignore_index=True)[columns]``, built
    column by column: a scalar (the config name, the width) is repeated over its part's
    rows, arrays are concatenated. One frame instead of one per unit (and no concat)."""
    import pandas as pd

    if not parts:
        return pd.DataFrame(columns=columns)
    rows = [next(len(v) for v in p.values() if isinstance(v, np.ndarray)) for p in parts]
    data = {}
    for name in columns:
        values = [p[name] for p in parts]
        if all(np.ndim(v) == 0 for v in values):
            data[name] = np.repeat(np.array(values, dtype=object if isinstance(values[0], str)
                                            else None), rows)
        else:
            data[name] = np.concatenate(
                [np.broadcast_to(v, n) for v, n in zip(values, rows, strict=True)])
    return pd.DataFrame(data)
