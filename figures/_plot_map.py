"""The (n, t) plane of a width sweep: measured local slopes, theory's crossover line t* ∝ n^τ*."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from figures._style import GAMMA_LABEL, OKABE_ITO, fmt_exp, new_axes

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes


def slope_grid(summary: pd.DataFrame, config: str, quantity: str, widths: list[int]
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local slopes between neighbouring widths at every recorded step, as a grid.

    Args:
        summary: summary.csv (``local_slopes`` is a ``;``-joined list per step).
        config: which configuration.
        quantity: which quantity.
        widths: the swept widths, increasing (the slopes lie between neighbours).

    Returns:
        (x edges: the widths, shape (W,); y edges: geometric midpoints between recorded
        steps, shape (K + 1,); slopes, shape (K, W − 1), NaN where missing).
    """
    d = summary[(summary["config"] == config) & (summary["quantity"] == quantity)]
    d = d.sort_values("step")
    steps = d["step"].to_numpy(float)
    grid = np.full((len(steps), len(widths) - 1), np.nan)
    for i, text in enumerate(d["local_slopes"]):
        if not isinstance(text, str):  # empty cell: fewer than two widths had data
            continue
        vals = [float(v) for v in text.split(";") if v not in ("", "nan")]
        if len(vals) == len(widths) - 1:
            grid[i] = vals
    if len(steps) > 1:
        mids = np.sqrt(steps[1:] * steps[:-1])
        edges = np.concatenate([[steps[0] ** 2 / mids[0]], mids, [steps[-1] ** 2 / mids[-1]]])
    else:
        edges = np.array([steps[0] / 1.2, steps[0] * 1.2]) if len(steps) else np.array([])
    return np.asarray(widths, float), edges, grid


def plot_slope_map(summary: pd.DataFrame, crossovers: pd.DataFrame | None, *, config: str,
                   quantity: str, widths: list[int], ax: Axes | None = None,
                   colorbar: bool = True) -> Axes:
    """The (n, t) plane coloured by the measured local slope d log RMS / d log n.

    Each cell spans two neighbouring widths and the recorded step (log axes both ways). The
    colour scale is centred on theory's fixed-step exponent (``gamma_fixed_t``) and spans ±1
    around it. Each crossover of this quantity in crossovers.csv whose two terms differ in
    their n-exponent (the others leave no trace in a width fit) is drawn as the line
    t* = K·n^{τ*} (theory's τ*, K measured; the paper's t = step − 1); where K was not
    measured, a dotted line of slope τ* through the window's centre shows the direction only.
    Steps in the ``converged`` regime are hatched.

    Args:
        summary: summary.csv.
        crossovers: crossovers.csv, or ``None``.
        config: which configuration.
        quantity: which quantity.
        widths: the swept widths, increasing.
        ax: axes to draw on (new ones if ``None``).
        colorbar: add a colour bar.

    Returns:
        The axes.
    """
    ax = new_axes(ax)
    x, y, grid = slope_grid(summary, config, quantity, widths)
    if grid.size == 0:
        return ax
    d = summary[(summary["config"] == config) & (summary["quantity"] == quantity)]
    centre = _centre(d)
    mesh = ax.pcolormesh(x, y, np.ma.masked_invalid(grid), cmap="PuOr_r", vmin=centre - 1,
                         vmax=centre + 1, shading="flat")
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax, label=f"local slope (theory, fixed t: {fmt_exp(centre)})")
    if "regime" in d.columns:
        steps = d.sort_values("step")
        for i, regime in enumerate(steps["regime"]):
            if regime == "converged":
                ax.fill_between([x[0], x[-1]], y[i], y[i + 1], facecolor="none",
                                edgecolor="0.3", hatch="///", lw=0)
    if crossovers is not None and len(crossovers):
        rows = crossovers[(crossovers["config"] == config) & (crossovers["quantity"] == quantity)
                          & (crossovers["gamma_before"] != crossovers["gamma_after"])]
        n = np.geomspace(x[0], x[-1], 50)
        for r in rows.itertuples(index=False):
            tau = float(r.tau_pred)
            if math.isfinite(float(r.K_hat)):
                t = 1 + float(r.K_hat) * n**tau  # step k = t + 1
                label = rf"$t^* = {float(r.K_hat):.3g}\,n^{{{r.tau_pred_exact}}}$"
                ax.plot(n, t, "-", color=OKABE_ITO["black"], lw=1.5, label=label)
            else:
                mid_n, mid_t = math.sqrt(x[0] * x[-1]), math.sqrt(y[0] * y[-1])
                t = mid_t * (n / mid_n) ** tau
                ax.plot(n, t, ":", color=OKABE_ITO["black"], lw=1.2,
                        label=rf"slope $\tau^* = {r.tau_pred_exact}$ (K not measured)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlim(x[0], x[-1])
    ax.set_ylim(y[0], y[-1])
    ax.set_xlabel(r"width $n$")
    ax.set_ylabel("step")
    ax.set_title(GAMMA_LABEL[quantity])
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right", frameon=True, fontsize=7)
    return ax


def _centre(d: pd.DataFrame) -> float:
    """Theory's fixed-step exponent at the last step where it is finite, else 0."""
    col = "gamma_fixed_t" if "gamma_fixed_t" in d.columns else "gamma_pred"
    vals = d.sort_values("step")[col].to_numpy(float)
    vals = vals[np.isfinite(vals)]
    return float(vals[-1]) if vals.size else 0.0
