"""Console report: per configuration, measured exponents beside theory's, with verdicts."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING

from ._config import ProbeConfig, format_exponent
from ._predict import Prediction
from ._probe import QUANTITIES

if TYPE_CHECKING:
    import pandas as pd

_MARK = {"agree": "ok", "disagree": "NO", "n/a": "--"}
_HEAD = {"delta1": "δ₁", "delta2": "δ₂", "delta3": "δ₃", "dY": "ΔY", "AtZ": "A_tZ", "Bt": "B_t"}
_CELL = 17


def _short(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "?"
    if value == float("-inf"):
        return "-oo"
    frac = Fraction(value).limit_denominator(24)
    return f"{'+' if frac > 0 else ''}{frac}"


def _measured(value: float) -> str:
    if math.isnan(value):
        return "  nan"
    if value == float("-inf"):
        return "  -oo"
    return f"{value:+.2f}"


def describe(config: ProbeConfig) -> str:
    """One line with a configuration's exponents, e.g. ``η_A = 0.02·n^(-1/2)``."""
    parts = [
        config.optimizer,
        f"Init[{config.init}]" if config.init != "zero" else "A₀=B₀=0",
        f"η_A={config.eta_coef:g}·n^({config.eta_exp})",
    ]
    if config.eta_B_exp != config.eta_exp or config.eta_B_coef != config.eta_coef:
        parts.append(f"η_B={config.eta_B_coef:g}·n^({config.eta_B_exp})")
    parts += [
        f"s={config.s_coef:g}·n^({config.s_exp})",
        f"γ[A₀Z]={format_exponent(config.A0Z_exp)}",
        f"γ[B₀]={format_exponent(config.B0_exp)}",
    ]
    if config.shrink is not None:
        parts.append(f"λ={config.shrink:g} " + ("stop" if config.stop_condition else "no stop"))
    if config.fresh_batches:
        parts.append("FRESH BATCHES: outside Assumption 1")
    return "  ".join(parts)


def format_report(
    configs: list[ProbeConfig],
    predictions: dict[str, Prediction],
    summary: pd.DataFrame,
    stops: pd.DataFrame,
) -> str:
    """The predicted-vs-measured tables, one block per configuration.

    Each cell reads ``γ̂ (γ_pred) verdict`` with ok = agree, NO = disagree, -- = n/a.
    """
    lines = [
        "measured width exponent γ̂ (theory's γ) verdict: ok agree, NO disagree, -- n/a",
        "",
    ]
    for config in configs:
        p = predictions[config.name]
        rows = summary[summary["config"] == config.name]
        stable = {True: "stable", False: "unstable", None: "?"}[p.stable]
        lines.append(f"== {config.name}: {describe(config)}")
        lines.append(f"   theory: {p.case}, {stable}")
        stop = stops[stops["config"] == config.name]
        if config.shrink is not None and config.stop_condition and len(stop):
            med = stop.groupby("width")["stop_step"].median()
            text = ", ".join(f"n={w}: {'never' if _isna(v) else int(v)}" for w, v in med.items())
            lines.append(f"   stop step (median over seeds): {text}")
        lines.append("  step " + "".join(f"{_HEAD[q]:>{_CELL}}" for q in QUANTITIES))
        counts = {"agree": 0, "disagree": 0, "n/a": 0}
        for step, group in rows.groupby("step", sort=True):
            cells = []
            for q in QUANTITIES:
                row = group[group["quantity"] == q].iloc[0]
                counts[row["verdict"]] += 1
                pred = _short(row["gamma_pred"])
                cell = f"{_measured(row['gamma_hat'])} ({pred}) {_MARK[row['verdict']]}"
                cells.append(f"{cell:>{_CELL}}")
            lines.append(f"  {step:>4} " + "".join(cells))
        n_div = int(rows.groupby("step")["n_diverged"].first().max()) if len(rows) else 0
        lines.append(
            f"   agree {counts['agree']}, disagree {counts['disagree']}, n/a {counts['n/a']}"
            + (f"; diverged (width, seed) pairs left out: up to {n_div}" if n_div else "")
        )
        lines.append("")
    return "\n".join(lines)


def _isna(value: object) -> bool:
    try:
        return bool(math.isnan(float(value)))
    except (TypeError, ValueError):
        return True
