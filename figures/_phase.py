"""Phase diagram of Stable-LoRA's cases on the (γ[η], γ[A₀Z]) plane, with measured configs on it."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from figures._style import (
    CASE_COLOR,
    CASE_LABEL,
    CASES,
    VERDICT_MARKER,
    VERDICT_POINT_COLOR,
    new_axes,
)
from figures.errors import ResultsFormatError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes


def exact(x: float) -> Fraction | str:
    """A CSV exponent as theory wants it: ``-inf`` → ``"-oo"``, else the nearest small fraction.

    Raises:
        ResultsFormatError: ``x`` is NaN or +∞ (no exponent).
    """
    if math.isnan(x) or x == math.inf:
        raise ResultsFormatError(f"exponent {x} is not a finite number or -inf")
    if x == -math.inf:
        return "-oo"
    return Fraction(x).limit_denominator(1000)


def phase_grid(*, B0: Fraction | str = "-oo",
               eta: tuple[Fraction, Fraction] = (Fraction(-2), Fraction(1, 2)),
               A0Z: tuple[Fraction, Fraction] = (Fraction(-2), Fraction(3, 2)),
               resolution: Fraction = Fraction(1, 8)) -> pd.DataFrame:
    """Theory's case at every lattice point of the (γ[η], γ[A₀Z]) plane, γ[s] = −2γ[η] − 1.

    Each point is classified exactly by ``theory.classify`` (Stable-LoRA Section 3.2:
    Case 1 is γ[A₀Z] ≤ γ[η] + 1 and γ[B₀] ≤ γ[η]; Case 2 both reversed; otherwise mixed).
    One extra row holds γ[A₀Z] = −∞ (A₀ = 0).

    Args:
        B0: γ[B₀], exact (``"-oo"`` for B₀ = 0, i.e. Init[A]).
        eta: range of γ[η], inclusive.
        A0Z: range of γ[A₀Z], inclusive.
        resolution: lattice spacing.

    Returns:
        Columns ``eta, A0Z, case`` (floats; ``A0Z`` is ``-inf`` in the extra row).
    """
    import pandas as pd

    from theory import classify

    xs = [eta[0] + k * resolution for k in range(int((eta[1] - eta[0]) / resolution) + 1)]
    ys = [A0Z[0] + k * resolution for k in range(int((A0Z[1] - A0Z[0]) / resolution) + 1)]
    rows = []
    for x in xs:
        s = -2 * x - 1
        for y in [*ys, "-oo"]:
            case = classify(x, s, y, B0)
            rows.append({"eta": float(x), "A0Z": -math.inf if y == "-oo" else float(y),
                         "case": case})
    return pd.DataFrame(rows)


def config_points(configs: pd.DataFrame, verdicts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Where each measured configuration sits on the phase diagram, and its verdict.

    A config is on the plane when γ[s] + 2γ[η] + 1 = 0 and it has one learning rate
    (``etaB_exp`` empty or equal to ``eta_exp``).

    Args:
        configs: configs.csv.
        verdicts: ``config_verdicts(summary)`` or ``None`` (every verdict ``n/a``).

    Returns:
        Columns ``config, eta, A0Z, B0, on_plane, verdict``.
    """
    eta = configs["eta_exp"].astype(float)
    s = configs["s_exp"].astype(float)
    eta_b = configs["etaB_exp"].astype(float)
    one_lr = eta_b.isna() | np.isclose(eta_b, eta)
    out = configs[["config"]].assign(
        eta=eta, A0Z=configs["A0Z_exp"].astype(float), B0=configs["B0_exp"].astype(float),
        on_plane=np.isclose(s + 2 * eta + 1, 0) & one_lr,
    )
    if verdicts is None:
        return out.assign(verdict="n/a")
    out = out.merge(verdicts, on="config", how="left")
    out["verdict"] = out["verdict"].fillna("n/a")
    return out


def plot_phase(grid: pd.DataFrame, *, points: pd.DataFrame | None = None,
               ax: Axes | None = None, title: str = "", legend: bool = True) -> Axes:
    """Colour the (γ[η], γ[A₀Z]) plane by case and mark the measured configs by verdict.

    The γ[A₀Z] = −∞ row is drawn as a strip below the plane. Filled markers lie on the plane
    γ[s] + 2γ[η] + 1 = 0 (Theorem 3.1's tuning); hollow ones do not.

    Args:
        grid: ``phase_grid(...)`` for one γ[B₀].
        points: ``config_points(...)`` of the configs with that γ[B₀], or ``None``.
        ax: axes to draw on (new ones if ``None``).
        title: panel title.
        legend: draw a legend (cases and verdicts) right of the axes.

    Returns:
        The axes.
    """
    from matplotlib.colors import ListedColormap

    ax = new_axes(ax, figsize=(4.5, 4.0))
    xs = np.sort(grid["eta"].unique())
    ys = np.sort(grid.loc[np.isfinite(grid["A0Z"]), "A0Z"].unique())
    res = float(xs[1] - xs[0]) if len(xs) > 1 else 1.0
    span = float(ys[-1] - ys[0]) + res
    x_ext = (xs[0] - res / 2, xs[-1] + res / 2)
    y_lo = ys[0] - res / 2  # bottom of the finite plane
    strip = (y_lo - 0.14 * span, y_lo - 0.05 * span)  # where γ[A₀Z] = −∞ is drawn
    y_strip = sum(strip) / 2
    codes = grid.assign(code=grid["case"].map({c: i for i, c in enumerate(CASES)}))
    field = codes.pivot_table(index="A0Z", columns="eta", values="code", dropna=False)
    cmap = ListedColormap([CASE_COLOR[c] for c in CASES]).with_extremes(bad="white")
    kw = dict(origin="lower", cmap=cmap, vmin=-0.5, vmax=len(CASES) - 0.5, aspect="auto",
              interpolation="nearest")
    ax.imshow(np.ma.masked_invalid(field.loc[ys].to_numpy(float)),  # (γ[A₀Z], γ[η])
              extent=(*x_ext, y_lo, ys[-1] + res / 2), **kw)
    if -math.inf in field.index:
        ax.imshow(np.ma.masked_invalid(field.loc[[-math.inf]].to_numpy(float)),  # (1, γ[η])
                  extent=(*x_ext, *strip), **kw)
    ax.set_ylim(strip[0], ys[-1] + res / 2)
    for c in CASES:
        ax.fill_between([], [], color=CASE_COLOR[c], label=CASE_LABEL[c])
    if points is not None and not points.empty:
        py = np.where(np.isfinite(points["A0Z"]), points["A0Z"], y_strip)
        for v in ("n/a", "agree", "disagree"):
            for on in (True, False):
                m = ((points["verdict"] == v) & (points["on_plane"] == on)).to_numpy()
                if m.any():
                    c = VERDICT_POINT_COLOR[v]
                    ax.scatter(points["eta"][m], py[m], marker=VERDICT_MARKER[v], s=45, zorder=3,
                               facecolor=c if on else "none", edgecolor="k" if on else c, lw=1,
                               label=f"measured: {v}" + ("" if on else ", off the plane"))
        labels: dict[tuple[float, float], list[str]] = {}
        for name, x, y in zip(points["config"], points["eta"], py, strict=True):
            labels.setdefault((float(x), float(y)), []).append(str(name))
        for (x, y), names in labels.items():
            ax.annotate(", ".join(names), (x, y), xytext=(5, 4), textcoords="offset points",
                        fontsize=6)
    ticks = [t for t in ax.get_yticks() if ys[0] <= t <= ys[-1]]
    ax.set_yticks([y_strip, *ticks], [r"$-\infty$", *[f"{t:g}" for t in ticks]])
    ax.set_xlabel(r"$\gamma[\eta]$   (with $\gamma[s] = -2\gamma[\eta]-1$)")
    ax.set_ylabel(r"$\gamma[A_0Z]$")
    ax.set_title(title)
    ax.grid(False)
    if legend:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return ax
