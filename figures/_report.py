"""Write report.md: every figure drawn, the exponent tables and the toy-model summary."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING

import numpy as np

from figures._io import write_text_atomic
from figures._style import ARM_LABEL, QUANTITIES, fmt_exp, fmt_num

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

    from figures._load import Results
    from figures._render import Outcome

_MARK = {"agree": "✓", "disagree": "✗", "n/a": "–"}
_QUANTITY_TEXT = {"delta1": "δ₁", "delta2": "δ₂", "delta3": "δ₃", "dY": "ΔY", "AtZ": "A_tZ",
                  "Bt": "B_t"}


def markdown_table(rows: list[list[str]], header: list[str]) -> str:
    """A GitHub-flavoured markdown table (no dependency on ``tabulate``)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _num(x: float, digits: int = 2) -> str:
    """A measured number with a true minus sign; ±∞ and NaN as the papers write them."""
    if not math.isfinite(x):
        return fmt_exp(x)
    return f"{x:.{digits}f}".replace("-", "−")


def exponent_grid(summary: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Configs × quantities at each config's last recorded step: ``γ̂ (γ) ✓/✗/–``."""
    from figures._tidy_sweep import agreement_table

    tab = agreement_table(summary)
    qs = [q for q in QUANTITIES if q in set(tab["quantity"])]
    rows = []
    for config, g in tab.groupby("config", sort=False):
        by_q = {r.quantity: r for r in g.itertuples(index=False)}
        cells = [f"{_num(by_q[q].gamma_hat)} ({fmt_exp(by_q[q].gamma_pred)}) "
                 f"{_MARK[by_q[q].verdict]}{_regime(by_q[q])}" if q in by_q else "" for q in qs]
        rows.append([config, str(int(g["step"].iloc[0])), *cells])
    return ["config", "step", *(f"γ[{_QUANTITY_TEXT.get(q, q)}]" for q in qs)], rows


def _regime(row: object) -> str:
    """`` asymptotic`` etc. after a verdict mark, when summary.csv has regimes."""
    regime = getattr(row, "regime", "")
    return f" {regime}" if isinstance(regime, str) and regime else ""


def exponent_rows(summary: pd.DataFrame) -> list[list[str]]:
    """Predicted against measured exponent, with the interval, per config × quantity at the
    last recorded step."""
    from figures._tidy_sweep import agreement_table

    rows = []
    for r in agreement_table(summary).itertuples(index=False):
        rows.append([r.config, _QUANTITY_TEXT.get(r.quantity, r.quantity), str(r.step),
                     _num(r.gamma_hat, 3), f"[{_num(r.ci_low)}, {_num(r.ci_high)}]",
                     fmt_exp(r.gamma_pred), r.verdict + _regime(r)])
    return rows


def verdict_count_rows(summary: pd.DataFrame) -> list[list[str]]:
    """Verdicts counted over every recorded step and quantity, per config."""
    rows = []
    for config, g in summary.groupby("config", sort=False):
        counts = g["verdict"].value_counts()
        rows.append([config, *(str(int(counts.get(v, 0))) for v in ("agree", "disagree", "n/a"))])
    return rows


def config_rows(configs: pd.DataFrame) -> list[list[str]]:
    """The exponents that define each config, in the papers' notation."""
    rows = []
    for r in configs.itertuples(index=False):
        lam = fmt_num(float(r.shrink)) if r.shrink == r.shrink and r.shrink else "–"
        rows.append([r.config, r.optimizer, r.init, fmt_exp(r.eta_exp), fmt_exp(r.s_exp),
                     fmt_exp(r.A0Z_exp), fmt_exp(r.B0_exp), lam, str(r.case_pred)])
    return rows


def _scored(grid: pd.DataFrame) -> pd.DataFrame:
    """The loss grid with ``score``: the mean, or +∞ where any seed diverged (as toymodel's
    own summary counts a diverged run), so a setting that diverged is never "best"."""
    return grid.assign(score=grid["mean"].where(grid["n_diverged"] == 0, math.inf))


def toy_rows(runs: pd.DataFrame) -> list[list[str]]:
    """Per arm: the best mean test loss, where it was reached, the accuracy there, divergences."""
    from figures._tidy_toy import select_setting, toy_grid

    loss = _scored(toy_grid(runs, "test_loss"))
    acc = toy_grid(runs, "test_acc")
    rows = []
    for arm, g in loss.groupby("arm", sort=True):
        n_runs, n_div = int(g["n_seeds"].sum()), int(g["n_diverged"].sum())
        g = g[np.isfinite(g["score"])]
        if g.empty:
            rows.append([ARM_LABEL.get(arm, arm), "every setting diverged", "–", "–", "–", "–",
                         f"{n_div}/{n_runs}"])
            continue
        best = g.loc[g["score"].idxmin()]
        setting = {"arm": arm, "lr": best["lr"], "sigma": best["sigma"],
                   "shrink": float(best["shrink"])}
        a = select_setting(acc, setting)["mean"]
        lam = fmt_num(best["shrink"]) if math.isfinite(best["shrink"]) else "–"
        rows.append([ARM_LABEL.get(arm, arm), f"{best['mean']:.4f}", fmt_num(best["lr"]),
                     fmt_num(best["sigma"]), lam, f"{a.iloc[0]:.4f}" if not a.empty else "–",
                     f"{n_div}/{n_runs}"])
    return rows


def toy_lr_rows(runs: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Best mean test loss over σ (and λ) at each learning rate, one column per arm; "div"
    where every setting at that η had a diverged seed."""
    from figures._tidy_toy import toy_grid

    grid = _scored(toy_grid(runs, "test_loss"))
    best = grid.pivot_table(index="lr", columns="arm", values="score", aggfunc="min")
    header = ["η", *[ARM_LABEL.get(a, a) for a in best.columns]]
    rows = [[fmt_num(lr), *(f"{v:.4f}" if math.isfinite(v) else "div" if v == math.inf else "–"
                            for v in row)]
            for lr, row in zip(best.index, best.to_numpy(float), strict=True)]
    return header, rows


def _figures(outcome: Outcome, section: str) -> list[str]:
    """Markdown for every figure of one section: the image, then its caption in italics."""
    out = []
    for p, d in outcome.drawn:
        if d.section == section:
            out += [f"![{d.caption}]({p.name})", "", f"*{d.caption}*", ""]
    return out


def incomplete_notes(sweep: Results, toy: Results) -> list[str]:
    """One line per producer whose run.json says the run did not finish.

    The width sweep writes ``complete`` (every configuration × width unit done), the toy
    model ``finished``; a report drawn from such a run shows only part of it.
    """
    notes = []
    for res, key, command in ((sweep, "complete", "python -m sims.width_sweep"),
                              (toy, "finished", "python -m toymodel run")):
        try:
            meta = json.loads((res.directory / "run.json").read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            continue
        if isinstance(meta, dict) and meta.get(key) is False:
            done = meta.get("finished_units", meta.get("runs_done"))
            count = f" ({len(done)} units finished)" if isinstance(done, list) else (
                f" ({done} runs finished)" if isinstance(done, int) else "")
            notes.append(f"**Incomplete:** {res.directory}/run.json says the run did not "
                         f"finish{count}; what follows shows only the finished part. Rerun "
                         f"`{command} --out {res.directory}` with the same settings to finish "
                         "it (it resumes).")
    return notes


def regime_sections(summary: pd.DataFrame, crossovers: pd.DataFrame | None) -> list[str]:
    """Agreement per regime, the crossovers table and every disagreeing cell (issue 9)."""
    from figures import _report_regime as rr

    header, rows = rr.regime_rows(summary, crossovers)
    parts = ["## Regimes and crossovers", "",
             "Each cell is judged in its regime (docs/sims.md, \"Regimes\"): agree / judged "
             "cells per regime; " + rr.totals_line(summary), "", markdown_table(rows, header),
             ""]
    if crossovers is not None and len(crossovers):
        parts += ["Crossovers t*(n) = K·n^τ* of theory's terms, located from the width "
                  "dependence at each step; τ̂ with its 95% seed-bootstrap interval:", "",
                  markdown_table(rr.crossover_rows(crossovers), rr.CROSSOVER_HEADER), ""]
    bad = rr.disagree_rows(summary)
    parts += [f"Every disagreeing cell ({len(bad)}), with its regime and the reason "
              "(automatic: regime, and the local slopes' trend across widths):", ""]
    if bad:
        parts += [markdown_table(bad, rr.DISAGREE_HEADER), ""]
    return parts


def write_report(path: Path, outcome: Outcome, sweep: Results, toy: Results) -> None:
    """Write ``report.md`` beside the figures (atomically).

    Overview first (configurations, agreement map and exponent table, phase diagram), then
    the per-config figures, norm dynamics, and the toy model with its summary tables.

    Args:
        path: where ``report.md`` goes; figure links are relative to its directory.
        outcome: the figures drawn and the notes on missing inputs.
        sweep: the width-sweep results.
        toy: the toy-model results.
    """
    parts = ["# lora-width: results report", "",
             f"Generated by `python -m figures --results {sweep.directory.parent} --out "
             f"{path.parent}` from the result files of `python -m sims.width_sweep` and "
             "`python -m toymodel run`; every figure and table below is recomputed from them.",
             ""]
    for note in incomplete_notes(sweep, toy):
        parts += [note, ""]
    summary, configs = sweep.get("summary.csv"), sweep.get("configs.csv")
    if configs is not None:
        parts += ["## Configurations", "", markdown_table(
            config_rows(configs),
            ["config", "optimizer", "init", "γ[η]", "γ[s]", "γ[A₀Z]", "γ[B₀]", "λ", "case"]), ""]
    if summary is not None or any(d.section == "Agreement map" for _, d in outcome.drawn):
        parts += ["## Predicted vs measured exponents", ""]
        parts += _figures(outcome, "Agreement map")
    if summary is not None:
        header, rows = exponent_grid(summary)
        parts += ["Fitted γ̂ (predicted γ) at each config's last recorded step; ✓ agree, "
                  "✗ disagree, – n/a. γ̂ is the least-squares slope of log RMS on log n.", "",
                  markdown_table(rows, header), "",
                  "<details><summary>With the 95% bootstrap intervals</summary>", "",
                  markdown_table(exponent_rows(summary),
                                 ["config", "quantity", "step", "γ̂", "95% CI", "γ predicted",
                                  "verdict"]), "", "</details>", "",
                  "Verdicts over every recorded step and quantity:", "",
                  markdown_table(verdict_count_rows(summary),
                                 ["config", "agree", "disagree", "n/a"]), ""]
        if "regime" in summary.columns:
            parts += regime_sections(summary, sweep.get("crossovers.csv"))
    for section, title in (("Phase diagram", "Phase diagram"),
                           ("Exponents over steps", "Exponents over steps"),
                           ("Crossover maps", "Crossover maps: local slopes over (n, t)"),
                           ("Width plots", "Width plots (coordinate checks)"),
                           ("Norm dynamics", "Norm dynamics and the stop step"),
                           ("Coordinate check", "LoRA coordinate check of a real model "
                            "(python -m sims.coord_check)")):
        figs = _figures(outcome, section)
        if figs:
            parts += [f"## {title}", "", *figs]
    runs = toy.get("runs.csv")
    figs = _figures(outcome, "Toy model")
    if figs or runs is not None:
        parts += ["## Toy model", "", *figs]
    if runs is not None:
        header, rows = toy_lr_rows(runs)
        parts += ["Summary per arm: mean over seeds at the best setting, where a setting with a "
                  "diverged seed never counts as best:", "",
                  markdown_table(toy_rows(runs), ["arm", "best test loss", "η", "σ", "λ",
                                                  "test acc there", "diverged runs"]), "",
                  "Best mean test loss over σ (and λ) at each learning rate:", "",
                  markdown_table(rows, header), ""]
    if outcome.notes:
        parts += ["## Missing inputs", "", *[f"- {n}" for n in outcome.notes], ""]
    write_text_atomic(path, "\n".join(parts))
