"""Toy-model figures (ICML paper Figure 2): loss heat maps, improvement ratios, curves."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from figures._style import (
    ARM_COLOR,
    ARM_LABEL,
    DIVERGING_CMAP,
    SEQUENTIAL_CMAP,
    fmt_num,
    new_axes,
)
from figures._tidy_toy import select_setting

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

_AXIS_LABEL = {
    "lr": r"learning rate $\eta$",
    "sigma": r"init. std $\sigma$",
    "shrink": r"shrink ratio $\lambda$",
}
_ANNOTATE_MAX_CELLS = 48  # write the numbers into the cells only when they stay legible


def _heatmap(ax: Axes, pivot: pd.DataFrame, *, cmap: str, vmin: float | None,
             vmax: float | None, cbar_label: str, fmt: str,
             marked: np.ndarray | None = None) -> None:
    """Draw ``pivot`` (rows η, columns σ or λ) as a heat map with a colour bar; NaN in grey.

    Cells where ``marked`` (same shape) is true get a small × in their upper-right corner.
    """
    from matplotlib import colormaps

    data = pivot.to_numpy(float)  # (rows, cols)
    im = ax.imshow(np.ma.masked_invalid(data), origin="lower", aspect="auto",
                   cmap=colormaps[cmap].with_extremes(bad="0.8"), vmin=vmin, vmax=vmax)
    ax.set_xticks(range(data.shape[1]), [fmt_num(v) for v in pivot.columns],
                  rotation=45, ha="right")
    ax.set_yticks(range(data.shape[0]), [fmt_num(v) for v in pivot.index])
    ax.set_xlabel(_AXIS_LABEL[pivot.columns.name])
    ax.set_ylabel(_AXIS_LABEL[pivot.index.name])
    ax.grid(False)
    if data.size <= _ANNOTATE_MAX_CELLS:
        for (i, j), v in np.ndenumerate(data):
            if math.isfinite(v):
                r, g, b, _ = im.cmap(im.norm(v))
                dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5  # perceived luminance
                text = format(v, fmt)
                if float(text) == 0:
                    text = format(0.0, fmt.lstrip("+"))  # no "+0" or "-0"
                ax.text(j, i, text.replace("-", "−"), ha="center", va="center", fontsize=6,
                        color="white" if dark else "black")
    if marked is not None and marked.any():
        i, j = np.nonzero(marked)
        ax.scatter(j + 0.33, i + 0.3, marker="x", s=10, color="k", lw=0.8,
                   label="some seeds diverged")
    ax.figure.colorbar(im, ax=ax, label=cbar_label, shrink=0.9)


def plot_toy_heatmap(grid: pd.DataFrame, *, arm: str, ax: Axes | None = None,
                     vmin: float | None = None, vmax: float | None = None,
                     metric_label: str = "test loss") -> Axes:
    """Mean test loss over η × σ for one arm (ICML paper Figure 2, upper panels).

    Arms with several λ show the best λ in each cell. Grey cells: every seed diverged;
    ×: some seeds diverged (their mean leaves those seeds out).

    Args:
        grid: ``toy_grid(runs)``.
        arm: ``init_A``, ``init_AB``, ``stable_lora`` or ``stable_lora_AB``.
        ax: axes to draw on (new ones if ``None``).
        vmin: lower end of the colour scale (share it between arms to compare them).
        vmax: upper end of the colour scale.
        metric_label: colour-bar label.

    Returns:
        The axes.
    """
    ax = new_axes(ax)
    d = grid[grid["arm"] == arm]
    pivot = d.pivot_table(index="lr", columns="sigma", values="mean", aggfunc="min",
                          dropna=False)
    diverged = d.pivot_table(index="lr", columns="sigma", values="n_diverged", aggfunc="sum",
                             dropna=False).reindex_like(pivot)
    _heatmap(ax, pivot, cmap=SEQUENTIAL_CMAP, vmin=vmin, vmax=vmax, cbar_label=metric_label,
             fmt=".2f", marked=diverged.fillna(0).to_numpy() > 0)
    ax.set_title(ARM_LABEL.get(arm, arm))
    return ax


def plot_improvement(imp: pd.DataFrame, *, x: str = "sigma", ax: Axes | None = None,
                     title: str = "Init[AB] vs Init[A]", lim: float | None = None) -> Axes:
    """Improvement ratio (L_base − L_arm)/L_base over η × ``x``, diverging colours centred on 0.

    ICML paper Figure 2, lower left, for ``x="sigma"``; Stable-LoRA against Init[A] over
    η × λ for ``x="shrink"`` (averaged over σ when several were run).

    Args:
        imp: ``improvement(grid, arm)``.
        x: ``sigma`` or ``shrink``.
        ax: axes to draw on (new ones if ``None``).
        title: panel title.
        lim: colour scale ±lim in percent (default: the largest |ratio|); share it
            between panels to compare them.

    Returns:
        The axes.

    Raises:
        ValueError: ``x`` is neither ``sigma`` nor ``shrink``.
    """
    if x not in ("sigma", "shrink"):
        raise ValueError(f"x must be 'sigma' or 'shrink', got {x!r}")
    ax = new_axes(ax)
    pivot = imp.pivot_table(index="lr", columns=x, values="ratio", aggfunc="mean",
                            dropna=False) * 100
    if lim is None:
        finite = pivot.to_numpy(float)
        finite = finite[np.isfinite(finite)]
        lim = float(np.abs(finite).max()) if finite.size else 1.0
    _heatmap(ax, pivot, cmap=DIVERGING_CMAP, vmin=-lim, vmax=lim,
             cbar_label="improvement in test loss (%)", fmt="+.0f")
    ax.set_title(title)
    return ax


def plot_toy_curves(curves: pd.DataFrame, *, settings: list[dict], ax: Axes | None = None,
                    ylabel: str = "train loss") -> Axes:
    """Convergence curves (median over seeds, interquartile band) of the given settings.

    ICML paper Figure 2, lower right: Init[A] against Init[AB] at one η and σ, here with
    Stable-LoRA beside them.

    Args:
        curves: ``toy_curves(curves)``.
        settings: ``curve_settings(grid)``, dicts with ``arm, lr, sigma, shrink``.
        ax: axes to draw on (new ones if ``None``).
        ylabel: y-axis label.

    Returns:
        The axes.
    """
    ax = new_axes(ax)
    for s in settings:
        d = select_setting(curves, s).sort_values("step")
        if d.empty:
            continue
        c = ARM_COLOR.get(s["arm"], "0.3")
        label = rf"{ARM_LABEL.get(s['arm'], s['arm'])}, $\sigma$={fmt_num(s['sigma'])}"
        if not math.isnan(s["shrink"]):
            label += rf", $\lambda$={fmt_num(s['shrink'])}"
        ax.fill_between(d["step"], d["lo"], d["hi"], color=c, alpha=0.2, lw=0)
        ax.plot(d["step"], d["median"], color=c, label=label)
    if settings:
        ax.set_title(rf"convergence at $\eta$={fmt_num(settings[0]['lr'])}")
    if ax.lines:
        ax.legend(loc="best", frameon=False)
    ax.set_xlabel(r"step $t$")
    ax.set_ylabel(ylabel)
    return ax
