"""Long-format result tables (docs/results-format.md) built from the finished units."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ._config import ProbeConfig, SweepSettings
from ._fit import fit_exponent, verdict
from ._predict import Prediction
from ._probe import QUANTITIES, TRAJ_COLUMNS, UnitResult

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
)


def _widths(config: ProbeConfig, settings: SweepSettings, units: Units) -> list[int]:
    return [w for w in settings.widths if (config.name, w) in units]


def measurements_frame(
    configs: list[ProbeConfig], settings: SweepSettings, units: Units
) -> pd.DataFrame:
    """One row per config × width × seed × recorded step × quantity (per-entry RMS)."""
    import pandas as pd

    parts = []
    S, K, Q = settings.seeds, len(settings.record), len(QUANTITIES)
    seeds = settings.seed + np.arange(S)
    for config in configs:
        for w in _widths(config, settings, units):
            unit = units[config.name, w]
            parts.append(
                pd.DataFrame(
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
            )
    return _concat(parts, ["config", "width", "seed", "step", "quantity", "value", "diverged"])


def trajectories_frame(
    configs: list[ProbeConfig], settings: SweepSettings, units: Units
) -> pd.DataFrame:
    """One row per config × width × seed × step: loss, ‖A‖_F/n, ‖B‖_F/m, Stable-LoRA flag."""
    import pandas as pd

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
            parts.append(pd.DataFrame(frame))
    columns = ["config", "width", "seed", "step", *TRAJ_COLUMNS, "stable"]
    return _concat(parts, columns)


def stops_frame(configs: list[ProbeConfig], settings: SweepSettings, units: Units) -> pd.DataFrame:
    """One row per config × width × seed: the step whose check first found ‖A‖/n ≤ ‖B‖/m."""
    import pandas as pd

    parts = []
    seeds = settings.seed + np.arange(settings.seeds)
    for config in configs:
        for w in _widths(config, settings, units):
            stop = units[config.name, w].stop_step.astype(float)
            stop[stop == 0] = np.nan  # never fired, or no shrinkage: empty cell
            parts.append(
                pd.DataFrame({"config": config.name, "width": w, "seed": seeds, "stop_step": stop})
            )
    frame = _concat(parts, ["config", "width", "seed", "stop_step"])
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


def shrink_phase(config: ProbeConfig, units: list[UnitResult], ki: int, step: int) -> str:
    """Where a shrinking configuration stands at ``step`` across all widths and seeds.

    Returns ``"none"`` without shrinkage, ``"after"`` when every non-diverged seed at every
    width had its stop step (first ‖A‖_F/n ≤ ‖B‖_F/m) at or before ``step``, ``"before"``
    when none had (A shrinks in the update of ``step`` everywhere), else ``"mixed"``.
    """
    if config.shrink is None:
        return "none"
    flags = []
    for unit in units:
        stopped = (unit.stop_step >= 1) & (unit.stop_step <= step)
        flags.extend(stopped[~unit.diverged[:, ki]].tolist())
    if flags and all(flags):
        return "after"
    return "before" if not any(flags) else "mixed"


def summary_frame(
    configs: list[ProbeConfig],
    settings: SweepSettings,
    units: Units,
    predictions: dict[str, Prediction],
) -> pd.DataFrame:
    """One row per config × recorded step × quantity: fitted and predicted exponents."""
    import pandas as pd

    rows = []
    for config in configs:
        widths = _widths(config, settings, units)
        unit_list = [units[config.name, w] for w in widths]
        pred = predictions[config.name]
        for ki, step in enumerate(settings.record):
            phase = shrink_phase(config, unit_list, ki, step) if unit_list else "none"
            gammas = pred.for_step(step, phase)
            n_div = int(sum(u.diverged[:, ki].sum() for u in unit_list))
            for qi, q in enumerate(QUANTITIES):
                values = [u.stats[~u.diverged[:, ki], ki, qi] for u in unit_list]
                fit = fit_exponent(
                    widths, values, n_boot=settings.bootstrap, key=f"{config.name}|{step}|{q}"
                )
                g_pred = gammas.get(q) if gammas is not None else None
                rows.append(
                    {
                        "config": config.name,
                        "step": step,
                        "quantity": q,
                        "gamma_hat": fit.gamma_hat,
                        "ci_low": fit.ci_low,
                        "ci_high": fit.ci_high,
                        "gamma_pred": np.nan if g_pred is None else g_pred,
                        "verdict": verdict(fit, g_pred),
                        "n_seeds": settings.seeds,
                        "n_diverged": n_div,
                        "local_slopes": ";".join(f"{v:.4f}" for v in fit.local_slopes),
                    }
                )
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def _concat(parts: list, columns: list[str]) -> pd.DataFrame:
    import pandas as pd

    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]
