"""Width-sweep figures: coordinate checks, exponents over steps, agreement map, norm dynamics."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from figures._style import (
    DELTAS,
    GAMMA_LABEL,
    OKABE_ITO,
    QUANTITIES,
    QUANTITY_COLOR,
    QUANTITY_LABEL,
    VERDICT_COLOR,
    VERDICT_MARKER,
    VERDICT_POINT_COLOR,
    VERDICTS,
    WIDTH_CMAP,
    fmt_exp,
    new_axes,
    plain_log_axis,
)
from figures._tidy_sweep import stop_law_curve, theory_line

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes


def plot_width(bands: pd.DataFrame, *, config: str, step: int, ax: Axes | None = None,
               quantities: tuple[str, ...] = DELTAS, legend: bool = True) -> Axes:
    """μP-style coordinate check: per-entry RMS of δ₁, δ₂, δ₃, ΔY against n at one step.

    Seeds are a band (interquartile range), the line their median; theory's slope n^γ (dashed) is
    drawn through each quantity's points when ``gamma_pred`` is finite (Stable-LoRA Eq. (6):
    γ[δ₁] = γ[δ₂] = γ[δ₃] = γ[s] + 2γ[η] + 1 in Case 1).

    Args:
        bands: ``width_bands(measurements, summary)``.
        config: which config.
        step: which recorded step k (the paper's update t = k − 1 → k).
        ax: axes to draw on (new ones if ``None``).
        quantities: which quantities.
        legend: draw a legend.

    Returns:
        The axes.
    """
    ax = new_axes(ax)
    sel = bands[(bands["config"] == config) & (bands["step"] == step)]
    for q in quantities:
        d = sel[sel["quantity"] == q].sort_values("width")
        if d.empty:
            continue
        c = QUANTITY_COLOR[q]
        ax.fill_between(d["width"], d["lo"], d["hi"], color=c, alpha=0.2, lw=0)
        ax.plot(d["width"], d["median"], "o-", color=c, ms=3, label=QUANTITY_LABEL[q])
        gamma = float(d["gamma_pred"].iloc[0])
        if math.isfinite(gamma):
            n = d["width"].to_numpy(float)
            ax.plot(n, theory_line(n, d["median"].to_numpy(float), gamma), "--", color=c, lw=1)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    plain_log_axis(ax.yaxis)
    ax.set_xlabel(r"width $n$")
    ax.set_ylabel("RMS per entry")
    ax.set_title(f"step {step}")
    if ax.lines:
        ax.plot([], [], "--", color="0.4", lw=1, label=r"theory $\propto n^{\gamma}$")
        if legend:
            ax.legend(loc="best", frameon=False)
    return ax


def plot_exponents(summary: pd.DataFrame, *, config: str, quantity: str,
                   ax: Axes | None = None, legend: bool = True) -> Axes:
    """Fitted exponent γ̂ over recorded steps, with its 95% bootstrap interval, against γ_pred.

    Points are coloured by verdict, so the early transient (step 1 has B₀ = 0, g_A = 0)
    and the late convergence are visible.

    Args:
        summary: summary.csv.
        config: which config.
        quantity: ``delta1``, ``delta2``, ``delta3``, ``dY``, ``AtZ`` or ``Bt``.
        ax: axes to draw on (new ones if ``None``).
        legend: draw a legend.

    Returns:
        The axes.
    """
    ax = new_axes(ax)
    d = summary[(summary["config"] == config) & (summary["quantity"] == quantity)]
    d = d.sort_values("step")
    if not d.empty:
        steps = d["step"].to_numpy(float)
        c = QUANTITY_COLOR[quantity]
        ax.fill_between(steps, d["ci_low"], d["ci_high"], color=c, alpha=0.2, lw=0,
                        label="95% interval")
        ax.plot(steps, d["gamma_hat"], "-", color=c, label=r"fitted $\hat\gamma$")
        pred = d["gamma_pred"].to_numpy(float)
        ax.plot(steps, np.where(np.isfinite(pred), pred, np.nan), "--", color="k", lw=1,
                label=r"predicted $\gamma$")
        hat = d["gamma_hat"].to_numpy(float)
        for v in VERDICTS:
            m = (d["verdict"] == v).to_numpy() & np.isfinite(hat)
            if m.any():
                ax.scatter(steps[m], hat[m], s=16, zorder=3, marker=VERDICT_MARKER[v],
                           color=VERDICT_POINT_COLOR[v], edgecolor="k", lw=0.5,
                           label=f"verdict: {v}")
        zero = hat == -np.inf  # RMS exactly 0 at every width (e.g. δ₂ at step 1 when B₀ = 0)
        if zero.any():
            ax.scatter(steps[zero], np.zeros(zero.sum()), marker="v", s=18, color="0.3",
                       transform=ax.get_xaxis_transform(), clip_on=False, zorder=3,
                       label=r"$\hat\gamma = -\infty$ (RMS = 0)")
        if steps.max() >= 10 * max(steps.min(), 1):
            from matplotlib.ticker import NullLocator

            ax.set_xscale("log")
            ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticks(steps, [f"{s:g}" for s in steps])  # the recorded steps
    ax.set_xlabel(r"step $t$")
    ax.set_ylabel(r"exponent $\gamma$")
    ax.set_title(GAMMA_LABEL[quantity])
    if legend and ax.lines:
        ax.legend(loc="best", frameon=False)
    return ax


def _num(x: float) -> str:
    """A fitted number to 2 places with a true minus sign; ±∞ as the papers write it."""
    return f"{x:.2f}".replace("-", "−") if math.isfinite(x) else fmt_exp(x)



def _verdict_image(ax: Axes, code: np.ndarray, colors: dict[str, str]) -> None:
    """Draw a (rows, columns) array of verdict indices (NaN: blank) as coloured cells."""
    from matplotlib.colors import ListedColormap

    cmap = ListedColormap([colors[v] for v in VERDICTS]).with_extremes(bad="white")
    ax.imshow(np.ma.masked_invalid(code), cmap=cmap, vmin=-0.5, vmax=len(VERDICTS) - 0.5,
              aspect="auto", interpolation="nearest")


def _bare_frame(ax: Axes) -> None:
    """No grid, tick marks or spines: a table of coloured cells needs none."""
    ax.grid(False)
    ax.tick_params(length=0)
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)


def plot_agreement(table: pd.DataFrame, *, ax: Axes | None = None,
                   quantities: tuple[str, ...] = QUANTITIES) -> Axes:
    """Configs × quantities coloured by verdict, with "γ̂ (γ)", the 95% interval of γ̂ and
    the cell's regime written in (sims' verdict: agree when the interval holds γ or
    |γ̂ − γ| ≤ 0.1, so a wide interval shows why a far-off γ̂ still agrees; in a crossover
    cell γ is the band "small-n term…large-n term" and γ̂ must lie in it).

    Args:
        table: ``agreement_table(summary)``.
        ax: axes to draw on (new ones if ``None``).
        quantities: columns, in order; those absent from ``table`` are dropped.

    Returns:
        The axes.
    """
    from matplotlib.patches import Patch

    cols = [q for q in quantities if q in set(table["quantity"])]
    rows = list(dict.fromkeys(table["config"]))
    ax = new_axes(ax, figsize=(1.1 * len(cols) + 2, 0.45 * len(rows) + 1.2))
    code = np.full((len(rows), len(cols)), np.nan)  # (configs, quantities)
    for rec in table.itertuples(index=False):
        if rec.quantity not in cols:
            continue
        i, j = rows.index(rec.config), cols.index(rec.quantity)
        code[i, j] = VERDICTS.index(rec.verdict)
        ci = f"[{_num(rec.ci_low)}, {_num(rec.ci_high)}]"
        regime = str(getattr(rec, "regime", "") or "")
        pred = fmt_exp(rec.gamma_pred)
        if regime == "crossover":
            pred = f"{fmt_exp(rec.gamma_other)}…{pred}"
        text = f"{_num(rec.gamma_hat)}  ({pred})\n{ci}" + (f"\n{regime}" if regime else "")
        ax.text(j, i, text, ha="center", va="center", fontsize=7 if regime else 8,
                linespacing=1.3)
    _verdict_image(ax, code, VERDICT_COLOR)
    ax.set_xticks(range(len(cols)), [GAMMA_LABEL[q] for q in cols])
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel(r"fitted $\hat\gamma$ (predicted $\gamma$) and the 95% interval of $\hat\gamma$")
    ax.set_ylabel("config")
    _bare_frame(ax)
    handles = [Patch(color=VERDICT_COLOR[v], label=v) for v in VERDICTS]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return ax


def plot_verdict_steps(summary: pd.DataFrame, *, ax: Axes | None = None,
                       quantities: tuple[str, ...] = QUANTITIES) -> Axes:
    """Verdict of every config × quantity × recorded step: one block of columns per quantity,
    steps increasing within it, so the early transient and the late steps read at a glance;
    a white dot marks a cell outside the asymptotic regime (summary.csv's ``regime``).

    Args:
        summary: summary.csv.
        ax: axes to draw on (new ones if ``None``).
        quantities: column blocks, in order; those absent from ``summary`` are dropped.

    Returns:
        The axes.
    """
    qs = [q for q in quantities if q in set(summary["quantity"])]
    rows = list(dict.fromkeys(summary["config"]))
    steps = sorted(set(summary["step"]))
    ax = new_axes(ax, figsize=(0.12 * len(qs) * len(steps) + 2.5, 0.3 * len(rows) + 1.2))
    width = len(steps) + 1  # one blank column between blocks
    code = np.full((len(rows), width * len(qs) - 1), np.nan)  # (configs, quantities × steps)
    other = []  # (column, row) of cells outside the asymptotic regime
    for rec in summary[summary["quantity"].isin(qs)].itertuples(index=False):
        j = qs.index(rec.quantity) * width + steps.index(rec.step)
        code[rows.index(rec.config), j] = VERDICTS.index(rec.verdict)
        if getattr(rec, "regime", "asymptotic") not in ("asymptotic", ""):
            other.append((j, rows.index(rec.config)))
    _verdict_image(ax, code, VERDICT_POINT_COLOR)
    if other:
        xs, ys = zip(*other, strict=True)
        ax.plot(xs, ys, ".", color="white", ms=2.5, ls="none",
                label="regime not asymptotic (transient, crossover, converged, outside)")
    ax.set_yticks(range(len(rows)), rows)
    ticks = [b * width + k for b in range(len(qs)) for k in (0, len(steps) - 1)]
    ax.set_xticks(ticks, [f"{steps[0]:g}", f"{steps[-1]:g}"] * len(qs), fontsize=6)
    for b, q in enumerate(qs):
        ax.text(b * width + (len(steps) - 1) / 2, -0.8, GAMMA_LABEL[q], ha="center", va="bottom")
    ax.set_xlabel(f"recorded step t ({', '.join(f'{s:g}' for s in steps)}) within each block")
    ax.set_ylabel("config")
    _bare_frame(ax)
    for v in VERDICTS:
        ax.fill_between([], [], color=VERDICT_POINT_COLOR[v], label=v)
    return ax


def plot_norms(curves: pd.DataFrame, *, config: str, stops: pd.DataFrame | None = None,
               ax: Axes | None = None, legend: bool = True, title: str | None = None) -> Axes:
    """‖A‖_F/n (solid) and ‖B‖_F/m (dashed) over steps, one colour per width, like
    Stable-LoRA's Figure 2; the median stop step of Algorithm 1 dotted.

    Args:
        curves: ``norm_curves(trajectories)``.
        config: which config.
        stops: ``stop_table(stops)`` or ``None``.
        ax: axes to draw on (new ones if ``None``).
        legend: draw a legend.
        title: panel title (default: the config name).

    Returns:
        The axes.
    """
    from matplotlib import colormaps

    ax = new_axes(ax)
    sel = curves[curves["config"] == config]
    widths = sorted(set(sel["width"]))
    cmap = colormaps[WIDTH_CMAP]
    for i, n in enumerate(widths):
        c = cmap(i / max(len(widths) - 1, 1) * 0.9)
        for q, ls in (("normA", "-"), ("normB", "--")):
            d = sel[(sel["width"] == n) & (sel["quantity"] == q)].sort_values("step")
            ax.fill_between(d["step"], d["lo"], d["hi"], color=c, alpha=0.15, lw=0)
            ax.plot(d["step"], d["median"], ls, color=c)
        if stops is not None:
            s = stops[(stops["config"] == config) & (stops["width"] == n)]["median"].dropna()
            if not s.empty:
                ax.axvline(float(s.iloc[0]), color=c, ls=":", lw=1)
        ax.plot([], [], color=c, label=rf"$n={int(n)}$")
    ax.set_yscale("log")
    plain_log_axis(ax.yaxis)
    ax.set_xlabel(r"step $t$")
    ax.set_ylabel(r"$\|A\|_F/n$, $\|B\|_F/m$")
    ax.set_title(config if title is None else title)
    if widths:
        ax.plot([], [], color="0.3", ls="-", label=r"$\|A\|_F/n$")
        ax.plot([], [], color="0.3", ls="--", label=r"$\|B\|_F/m$")
        ax.plot([], [], color="0.3", ls=":", label="stop step")
        if legend:
            ax.legend(loc="best", frameon=False, ncols=2)
    return ax


def plot_stop_steps(
    table: pd.DataFrame,
    *,
    laws: dict[str, tuple[float, float, float]] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """The step N where ‖A‖_F/n ≤ ‖B‖_F/m first held (Algorithm 1), against width n.

    Stable-LoRA Section 4 needs N·γ[1−λ] to drop, i.e. N = Θ(log n) at fixed λ; the legend
    gives each config's least-squares slope of N on log₂ n (steps per doubling of n).
    theory's stop law (``stop_law_curve``) is drawn thin and grey through each config's
    points. Configs are told apart by colour, line style and marker, so identical curves
    show.

    Args:
        table: ``stop_table(stops)``.
        laws: ``stop_laws(configs)``: theory's (drop, a, λ) per config, or ``None``.
        ax: axes to draw on (new ones if ``None``).

    Returns:
        The axes.
    """
    ax = new_axes(ax)
    palette = [OKABE_ITO[k] for k in ("blue", "orange", "green", "purple", "sky", "vermillion")]
    fired = table.dropna(subset=["median"])
    styles = [("-", "o"), ("--", "s"), (":", "^")]
    for i, (config, d) in enumerate(fired.groupby("config", sort=False)):
        d = d.sort_values("width")
        c = palette[i % len(palette)]
        ls, marker = styles[i % len(styles)]
        label = config
        if len(d) >= 2:
            log2n = np.log2(d["width"].to_numpy(float))
            slope = np.polyfit(log2n, d["median"].to_numpy(float), 1)[0]
            label += f" ({slope:+.1f} steps per doubling)".replace("-", "−")
        ax.fill_between(d["width"], d["lo"], d["hi"], color=c, alpha=0.2, lw=0)
        ax.plot(d["width"], d["median"], ls=ls, marker=marker, color=c, ms=4, mfc="none",
                label=label)
        if laws and config in laws and len(d) >= 2:
            law = stop_law_curve(d["width"].to_numpy(float), d["median"].to_numpy(float),
                                 laws[config])
            drawn = "theory's stop law" in ax.get_legend_handles_labels()[1]
            ax.plot(d["width"], law, color="0.45", lw=0.9, zorder=1,
                    label=None if drawn else "theory's stop law")
    if fired.empty:
        ax.text(0.5, 0.5, "stop condition never fired", transform=ax.transAxes,
                ha="center", va="center")
    else:
        ax.set_xscale("log", base=2)
        ax.legend(loc="best", frameon=False)
    ax.set_xlabel(r"width $n$")
    ax.set_ylabel(r"stop step $N$")
    ax.set_title(r"first step with $\|A\|_F/n \leq \|B\|_F/m$")
    return ax
