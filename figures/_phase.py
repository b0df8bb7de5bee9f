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
        Columns ``config, key, eta, A0Z, B0, on_plane, verdict``; ``key`` numbers the configs
        1, 2, … in the order of configs.csv (the phase diagram writes it beside each marker).

    Raises:
        ResultsFormatError: γ[η] is not finite, or γ[A₀Z] / γ[B₀] is NaN or +∞.
    """
    eta = configs["eta_exp"].astype(float)
    for col, ok in (("eta_exp", np.isfinite(eta)),
                    ("A0Z_exp", configs["A0Z_exp"].astype(float) < math.inf),
                    ("B0_exp", configs["B0_exp"].astype(float) < math.inf)):
        if not ok.all():
            bad = ", ".join(configs.loc[~ok, "config"])
            raise ResultsFormatError(f"configs.csv: {col} of {bad} is not an exponent")
    s = configs["s_exp"].astype(float)
    eta_b = configs["etaB_exp"].astype(float)
    one_lr = eta_b.isna() | np.isclose(eta_b, eta)
    out = configs[["config"]].assign(
        key=np.arange(1, len(configs) + 1),
        eta=eta, A0Z=configs["A0Z_exp"].astype(float), B0=configs["B0_exp"].astype(float),
        on_plane=np.isclose(s + 2 * eta + 1, 0) & one_lr,
    )
    if verdicts is None:
        return out.assign(verdict="n/a")
    out = out.merge(verdicts, on="config", how="left")
    out["verdict"] = out["verdict"].fillna("n/a")
    return out


def _place_points(ax: Axes, points: pd.DataFrame, x_ext: tuple[float, float]) -> None:
    """Mark configs at (eta, y) by verdict, numbered by ``key``; configs sharing a spot sit
    side by side. Invisible artists labelled "key config" let a legend carry the key."""
    dx = 0.03 * (x_ext[1] - x_ext[0])
    labelled: set[str] = set()
    for (x, y), group in points.sort_values("key").groupby(["eta", "y"], sort=True):
        g = len(group)
        for k, r in enumerate(group.itertuples(index=False)):
            c = VERDICT_POINT_COLOR[r.verdict]
            label = f"measured: {r.verdict}" + ("" if r.on_plane else ", off the plane")
            px = x + (k - (g - 1) / 2) * dx
            ax.scatter([px], [y], marker=VERDICT_MARKER[r.verdict], s=40, zorder=3,
                       facecolor=c if r.on_plane else "none", edgecolor="k" if r.on_plane else c,
                       lw=1, label=None if label in labelled else label)
            labelled.add(label)
            ax.annotate(str(r.key), (px, y), xytext=(0, 6), textcoords="offset points",
                        ha="center", va="bottom", fontsize=6)
    for r in points.sort_values("key").itertuples(index=False):
        ax.plot([], [], ls="none", label=f"{r.key}  {r.config}")


def plot_phase(grid: pd.DataFrame, *, points: pd.DataFrame | None = None,
               ax: Axes | None = None, title: str = "", legend: bool = True) -> Axes:
    """Colour the (γ[η], γ[A₀Z]) plane by case and mark the measured configs by verdict.

    The γ[A₀Z] = −∞ row is drawn as a strip below the plane. Filled markers lie on the plane
    γ[s] + 2γ[η] + 1 = 0 (Theorem 3.1's tuning); hollow ones do not. Each marker carries
    its config's ``key``; the legend lists key and name.

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
        _place_points(ax, points.assign(y=np.where(np.isfinite(points["A0Z"]), points["A0Z"],
                                                   y_strip)), x_ext)
    ticks = [t for t in ax.get_yticks() if ys[0] <= t <= ys[-1]]
    ax.set_yticks([y_strip, *ticks], [r"$-\infty$", *[f"{t:g}".replace("-", "−") for t in ticks]])
    ax.set_xlabel(r"$\gamma[\eta]$   (with $\gamma[s] = -2\gamma[\eta]-1$)")
    ax.set_ylabel(r"$\gamma[A_0Z]$")
    ax.set_title(title)
    ax.grid(False)
    if legend:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return ax
