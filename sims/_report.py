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
_REGIME = {"asymptotic": "a", "crossover": "x", "converged": "c", "transient": "t", "outside": "o"}
_HEAD = {"delta1": "δ₁", "delta2": "δ₂", "delta3": "δ₃", "dY": "ΔY", "AtZ": "A_tZ", "Bt": "B_t"}
_CELL = 19


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
    crossovers: pd.DataFrame | None = None,
) -> str:
    """The predicted-vs-measured tables, one block per configuration.

    Each cell reads ``γ̂ (γ_pred) verdict regime`` with ok = agree, NO = disagree, -- = n/a
    and the regime's letter (a asymptotic, x crossover, c converged, t transient, o outside;
    in a crossover cell γ_pred is the large-n end of the band). Each block ends with the
    agreement in the asymptotic regime and the crossovers located against those predicted.
    """
    lines = [
        "measured width exponent γ̂ (theory's γ) verdict regime: ok agree, NO disagree, "
        "-- n/a; a asymptotic, x crossover, c converged, t transient, o outside",
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
        by_step: dict[int, dict[str, dict]] = {}
        for row in rows.to_dict("records"):  # one pass, no per-cell DataFrame lookups
            by_step.setdefault(row["step"], {}).setdefault(row["quantity"], row)
        for step, group in sorted(by_step.items()):
            cells = []
            for q in QUANTITIES:
                row = group[q]
                counts[row["verdict"]] += 1
                pred = _short(row["gamma_pred"])
                mark = f"{_MARK[row['verdict']]} {_REGIME.get(row['regime'], '?')}"
                cell = f"{_measured(row['gamma_hat'])} ({pred}) {mark}"
                cells.append(f"{cell:>{_CELL}}")
            lines.append(f"  {step:>4} " + "".join(cells))
        n_div = int(rows.groupby("step")["n_diverged"].first().max()) if len(rows) else 0
        lines.append(
            f"   agree {counts['agree']}, disagree {counts['disagree']}, n/a {counts['n/a']}"
            + (f"; diverged (width, seed) pairs left out: up to {n_div}" if n_div else "")
        )
        lines.append("   " + config_line(rows, _rows_of(crossovers, config.name)))
        lines.append("")
    return "\n".join(lines)


def config_line(rows: pd.DataFrame, bends: pd.DataFrame | None) -> str:
    """``asymptotic: agree k of m; crossovers: located j of p predicted (i covering τ*)``."""
    asym = rows[rows["regime"] == "asymptotic"]
    judged = asym[asym["verdict"] != "n/a"]
    k = int((judged["verdict"] == "agree").sum())
    text = f"asymptotic regime: agree {k} of {len(judged)}"
    regimes = rows["regime"].value_counts()
    others = [f"{r} {int(regimes[r])}" for r in _REGIME if r != "asymptotic" and r in regimes]
    if others:
        text += f" (other cells: {', '.join(others)})"
    if bends is not None and len(bends):
        measurable = bends[bends["verdict"] != "n/a"]
        pred = measurable[measurable["kind"] == "predicted"]
        located = pred[pred["verdict"].isin(["agree", "disagree"])]
        covered = int((located["verdict"] == "agree").sum())
        text += (
            f"; crossovers τ* ≥ 0: located {len(located)} of {len(pred)} predicted, "
            f"interval covers τ* in {covered}"
        )
        fin = measurable[measurable["kind"] == "finite_n"]
        if len(fin):
            fl = fin[fin["verdict"].isin(["agree", "disagree"])]
            text += f"; finite-n bends: located {len(fl)} of {len(fin)}"
        for verdict in measurable[measurable["kind"] == "log_n"]["verdict"]:
            text += f"; stop step Θ(log n): slope in ln n {verdict}s with theory's"
    return text


def format_crossovers(crossovers: pd.DataFrame) -> str:
    """One line per bend with a width signature: τ* against τ̂ [95% interval], verdict."""
    lines = ["crossovers t*(n) = K·n^τ (τ* theory's, τ̂ measured [95% seed bootstrap]), and "
             "Algorithm 1's stop step t* = Θ(log n):"]
    for _, r in crossovers[crossovers["verdict"] != "n/a"].iterrows():
        if r["kind"] == "log_n":  # Algorithm 1's stop step: its slope in ln n is measured
            lines.append(f"  {r['config']:<24} {r['quantity']:<7} t* = Θ(log n) "
                         f"({r['term_before']} → {r['term_after']}): {r['verdict']}; "
                         f"{r['reason']}")
            continue
        got = "not located" if _isna(r["tau_hat"]) else (
            f"τ̂ = {r['tau_hat']:+.2f} [{r['ci_low']:+.2f}, {r['ci_high']:+.2f}]"
        )
        lines.append(
            f"  {r['config']:<24} {r['quantity']:<7} τ* = {r['tau_pred_exact']:>5} "
            f"({r['term_before']} → {r['term_after']}): {got}  {r['verdict']}; {r['reason']}"
        )
    return "\n".join(lines)


def _rows_of(frame: pd.DataFrame | None, config: str) -> pd.DataFrame | None:
    return None if frame is None else frame[frame["config"] == config]


def _isna(value: object) -> bool:
    try:
        return bool(math.isnan(float(value)))
    except (TypeError, ValueError):
        return True
