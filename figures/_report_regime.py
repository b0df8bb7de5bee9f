"""report.md sections for issue 9: agreement per regime, the crossovers, every disagreement."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from figures._style import fmt_exp

if TYPE_CHECKING:
    import pandas as pd

REGIMES = ("asymptotic", "crossover", "converged", "transient", "outside")
_QUANTITY_TEXT = {"delta1": "δ₁", "delta2": "δ₂", "delta3": "δ₃", "dY": "ΔY", "AtZ": "A_tZ",
                  "Bt": "B_t"}


def _num(x: float) -> str:
    return f"{x:+.2f}".replace("-", "−") if math.isfinite(x) else fmt_exp(x)


def regime_rows(summary: pd.DataFrame, crossovers: pd.DataFrame | None
                ) -> tuple[list[str], list[list[str]]]:
    """Per config: agree k of m per regime (n/a cells not counted), and the crossovers of
    τ* ≥ 0 resolved against those predicted."""
    header = ["config", *REGIMES, "crossovers τ* ≥ 0 located / predicted (interval covers τ*)"]
    rows = []
    for config, g in summary.groupby("config", sort=False):
        cells = []
        for regime in REGIMES:
            judged = g[(g["regime"] == regime) & (g["verdict"] != "n/a")]
            k = int((judged["verdict"] == "agree").sum())
            cells.append(f"{k} / {len(judged)}" if len(judged) else "–")
        bends = "–"
        if crossovers is not None:
            mine = crossovers[(crossovers["config"] == config)
                              & (crossovers["kind"] == "predicted")
                              & (crossovers["verdict"] != "n/a")]
            if len(mine):
                located = mine[mine["verdict"].isin(["agree", "disagree"])]
                covered = int((located["verdict"] == "agree").sum())
                bends = f"{len(located)} / {len(mine)} ({covered})"
        rows.append([config, *cells, bends])
    return header, rows


def totals_line(summary: pd.DataFrame) -> str:
    """One sentence: agreement in the asymptotic regime over every config but fresh batches."""
    asym = summary[(summary["regime"] == "asymptotic") & (summary["verdict"] != "n/a")]
    if not len(asym):
        return "No cell is in the asymptotic regime."
    k = int((asym["verdict"] == "agree").sum())
    return (f"In the asymptotic regime {k} of {len(asym)} cells agree "
            f"({100 * k / len(asym):.1f}%).")


def crossover_rows(crossovers: pd.DataFrame) -> list[list[str]]:
    """One row per bend: τ*, the competing terms, τ̂ with its interval, K, verdict, note.

    Algorithm 1's stop step (kind ``log_n``) has t* = Θ(log n): no τ̂; the note gives its
    measured slope in ln n against theory's."""
    rows = []
    for r in crossovers.itertuples(index=False):
        located = math.isfinite(float(r.tau_hat))
        rows.append([
            r.config, _QUANTITY_TEXT.get(r.quantity, r.quantity),
            "Θ(log n)" if r.kind == "log_n" else str(r.tau_pred_exact),
            f"{r.term_before} ({fmt_exp(r.gamma_before)}) → {r.term_after} "
            f"({fmt_exp(r.gamma_after)})",
            _num(float(r.tau_hat)) if located else "–",
            f"[{_num(float(r.ci_low))}, {_num(float(r.ci_high))}]" if located else "–",
            f"{float(r.K_hat):.3g}" if math.isfinite(float(r.K_hat)) else "–",
            r.verdict, r.reason,
        ])
    return rows


CROSSOVER_HEADER = ["config", "quantity", "τ*", "terms (n-exponent)", "τ̂", "95% CI",
                    "K (t* = K·n^τ*)", "verdict", "note"]


def disagree_rows(summary: pd.DataFrame) -> list[list[str]]:
    """Every disagreeing cell: config, step, quantity, regime, γ̂ [CI], prediction, reason."""
    rows = []
    for r in summary[summary["verdict"] == "disagree"].itertuples(index=False):
        pred = fmt_exp(r.gamma_pred)
        if r.regime == "crossover":
            pred = f"{fmt_exp(r.gamma_other)} … {pred}"
        rows.append([r.config, str(r.step), _QUANTITY_TEXT.get(r.quantity, r.quantity),
                     r.regime, f"{_num(r.gamma_hat)} [{_num(r.ci_low)}, {_num(r.ci_high)}]",
                     pred, r.reason or "–"])
    return rows


DISAGREE_HEADER = ["config", "step", "quantity", "regime", "γ̂ [95% CI]", "predicted",
                   "reason"]
