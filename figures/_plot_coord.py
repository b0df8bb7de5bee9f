"""Coordinate-check figures of ``python -m sims.coord_check``: per-module panels, agreement map."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from figures._style import (
    ARM_LABEL,
    OKABE_ITO,
    QUANTITY_COLOR,
    VERDICT_COLOR,
    new_axes,
)

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

COORD_QUANTITIES = ("delta1", "delta2", "delta3", "dY", "AtZ", "Bt", "Z")
_TEXT = {"delta1": "δ₁", "delta2": "δ₂", "delta3": "δ₃", "dY": "ΔY", "AtZ": "A_tZ",
         "Bt": "B_t", "Z": "Z"}
_COLOR = {**QUANTITY_COLOR, "Z": OKABE_ITO["yellow"]}
COORD_COMMAND = "python -m sims.coord_check --out {dir}"


def short_module(name: str) -> str:
    """A PEFT module name without its wrapper prefix: ``layers.0.self_attn.q_proj[default]``."""
    for prefix in ("base_model.model.model.", "base_model.model."):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def plot_coord_panel(coord: pd.DataFrame, *, module: str, step: int, quantity: str = "dY",
                     gamma_pred: float | None = None, ax: Axes | None = None) -> Axes:
    """mup-style coordinate check of one LoRA module at one step: log₂ n against log₁₀ RMS.

    Seeds are a band (min to max over seeds), the line their geometric mean; theory's slope
    γ_pred (Stable-LoRA Eq. (6) via ``theory.predict``) is dashed through the mean at the
    smallest width.

    Args:
        coord: ``coord.csv`` of one arm (``width, seed, step, module, quantity, value``).
        module: the LoRA pair.
        step: recorded step k.
        quantity: one of δ₁ … Z (``delta1`` … ``Z``).
        gamma_pred: theory's exponent, or None/NaN for none.
        ax: axes to draw on (new ones if ``None``).

    Returns:
        The axes.
    """
    ax = new_axes(ax)
    sel = coord[(coord["module"] == module) & (coord["step"] == step)
                & (coord["quantity"] == quantity) & (coord["value"] > 0)]
    logs = sel.assign(lv=np.log10(sel["value"].astype(float))).groupby("width")["lv"]
    stats = logs.agg(["mean", "min", "max"]).sort_index()
    if stats.empty:
        ax.text(0.5, 0.5, "no positive values", transform=ax.transAxes, ha="center")
        return ax
    x = np.log2(stats.index.to_numpy(float))
    c = _COLOR.get(quantity, "0.2")
    ax.fill_between(x, stats["min"], stats["max"], color=c, alpha=0.25, lw=0)
    ax.plot(x, stats["mean"], "o-", color=c, ms=3, label=_TEXT.get(quantity, quantity))
    if gamma_pred is not None and math.isfinite(gamma_pred):
        ax.plot(x, stats["mean"].iloc[0] + gamma_pred * math.log10(2) * (x - x[0]), "--",
                color="0.3", lw=1, label=f"theory γ = {gamma_pred:+.2g}")
    ax.set_xlabel(r"$\log_2 n$")
    ax.set_ylabel(r"$\log_{10}$ RMS")
    ax.set_title(f"step {step}")
    return ax


def plot_coord_agreement(summary: pd.DataFrame, *, step: int | None = None,
                         ax: Axes | None = None) -> Axes:
    """Module × quantity map of one arm: cell colour = verdict, text γ̂ (γ_pred).

    With several modules the rows are the modules at one step (default: the last); with a
    single module (the toy model) the rows are its recorded steps.

    Args:
        summary: ``coord_summary.csv`` of one arm.
        step: the recorded step of a several-module map (default: the last one).
        ax: axes to draw on.

    Returns:
        The axes.
    """
    ax = new_axes(ax, figsize=(6.0, 3.0))
    modules = list(dict.fromkeys(summary["module"]))
    if len(modules) == 1:
        rows = [(modules[0], int(k)) for k in sorted(summary["step"].unique())]
        labels = [f"step {k}" for _, k in rows]
        title = short_module(modules[0])
    else:
        step = int(summary["step"].max()) if step is None else step
        rows = [(m, step) for m in modules]
        labels = [short_module(m) for m in modules]
        title = f"step {step}"
    quantities = [q for q in COORD_QUANTITIES if q in set(summary["quantity"])]
    for i, (module, k) in enumerate(rows):
        for j, q in enumerate(quantities):
            hit = summary[(summary["module"] == module) & (summary["step"] == k)
                          & (summary["quantity"] == q)]
            if hit.empty:
                continue
            r = hit.iloc[0]
            ax.add_patch(_cell(j, i, VERDICT_COLOR.get(str(r["verdict"]), "#FFFFFF")))
            g = float(r["gamma_pred"])
            pred = f" ({_fmt(g)})" if not math.isnan(g) else ""
            ax.text(j, i, f"{_fmt(float(r['gamma_hat']))}{pred}", ha="center", va="center",
                    fontsize=6)
    ax.set_xlim(-0.5, len(quantities) - 0.5)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xticks(range(len(quantities)), [_TEXT[q] for q in quantities])
    ax.set_yticks(range(len(rows)), labels, fontsize=6)
    ax.set_title(f"{title}: γ̂ (γ predicted); green agree, orange disagree, grey n/a")
    return ax


def _cell(x: float, y: float, color: str):
    from matplotlib.patches import Rectangle

    return Rectangle((x - 0.5, y - 0.5), 1, 1, facecolor=color, edgecolor="white")


def _fmt(x: float) -> str:
    if math.isnan(x):
        return "nan"
    return "−∞" if x == -math.inf else f"{x:+.2f}"


def load_coord(directory: Path) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """``coord.csv`` and ``coord_summary.csv`` of a coord-check directory, or None if absent."""
    import pandas as pd

    files = (directory / "coord.csv", directory / "coord_summary.csv")
    if not all(f.is_file() for f in files):
        return None
    summary = pd.read_csv(files[1])
    verdicts = summary["verdict"].astype(object)  # read_csv turns the literal "n/a" into NaN
    summary["verdict"] = verdicts.where(verdicts.notna(), "n/a").astype(str)
    return pd.read_csv(files[0]), summary


def coord_figures(coord: pd.DataFrame, summary: pd.DataFrame, *, quantity: str = "dY",
                  max_modules: int = 8) -> list[tuple[str, Figure, str]]:
    """Per arm: one figure of coordinate-check panels (rows: modules, columns: recorded
    steps) and one agreement map. Returns (stem, figure, caption) triples."""
    from matplotlib.figure import Figure

    out = []
    for arm in dict.fromkeys(coord["arm"]):
        c, s = coord[coord["arm"] == arm], summary[summary["arm"] == arm]
        modules = [m for m in dict.fromkeys(c["module"]) if m != "(model)"][:max_modules]
        steps = sorted(int(k) for k in c["step"].unique())
        fig = Figure(figsize=(2.2 * len(steps), 1.9 * len(modules)), layout="constrained")
        axes = fig.subplots(len(modules), len(steps), squeeze=False)
        for i, module in enumerate(modules):
            for j, k in enumerate(steps):
                pred = s[(s["module"] == module) & (s["step"] == k) & (s["quantity"] == quantity)]
                g = float(pred["gamma_pred"].iloc[0]) if len(pred) else None
                ax = plot_coord_panel(c, module=module, step=k, quantity=quantity,
                                      gamma_pred=g, ax=axes[i][j])
                if j == 0:
                    ax.set_ylabel(f"{short_module(module)}\n" + r"$\log_{10}$ RMS", fontsize=6)
                if i:
                    ax.set_title("")
        label = ARM_LABEL.get(arm, arm)
        fig.suptitle(f"{label}: coordinate check of {_TEXT[quantity]} per LoRA module")
        out.append((f"coord_{arm}", fig, f"{label}: {_TEXT[quantity]} against n per module "
                    "and step; band = seeds, dashed = theory"))
        n_rows = max(len(set(s["module"])), len(set(s["step"])))
        fig = Figure(figsize=(7.5, 0.9 + 0.3 * n_rows), layout="constrained")
        plot_coord_agreement(s, ax=fig.add_subplot())
        fig.suptitle(f"{label}: module × quantity agreement with theory")
        out.append((f"coord_agreement_{arm}", fig, f"{label}: γ̂ (γ predicted) and verdicts"))
    return out
