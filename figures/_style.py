"""One look for every figure: Okabe–Ito colours, mathtext labels in the papers' notation."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.axis import Axis

# Okabe & Ito (2008), the colour-blind-safe qualitative palette.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}

# quantity names of docs/results-format.md, in the order the figures show them
QUANTITIES = ("delta1", "delta2", "delta3", "dY", "AtZ", "Bt")
DELTAS = ("delta1", "delta2", "delta3", "dY")

QUANTITY_LABEL = {
    "delta1": r"$\delta_1$",
    "delta2": r"$\delta_2$",
    "delta3": r"$\delta_3$",
    "dY": r"$\Delta Y$",
    "AtZ": r"$A_tZ$",
    "Bt": r"$B_t$",
}
GAMMA_LABEL = {q: rf"$\gamma[{lab.strip('$')}]$" for q, lab in QUANTITY_LABEL.items()}
QUANTITY_COLOR = {
    "delta1": OKABE_ITO["blue"],
    "delta2": OKABE_ITO["orange"],
    "delta3": OKABE_ITO["green"],
    "dY": OKABE_ITO["black"],
    "AtZ": OKABE_ITO["purple"],
    "Bt": OKABE_ITO["sky"],
}

VERDICTS = ("agree", "disagree", "n/a")
# light tints of bluish green / vermillion / grey, so black numbers stay legible on them
VERDICT_COLOR = {"agree": "#8FD1B8", "disagree": "#F2A57A", "n/a": "#DDDDDD"}
# saturated versions for markers on plots
VERDICT_POINT_COLOR = {"agree": OKABE_ITO["green"], "disagree": OKABE_ITO["vermillion"],
                       "n/a": "0.55"}
VERDICT_MARKER = {"agree": "o", "disagree": "X", "n/a": "s"}

CASES = ("case1", "case2", "mixed")
CASE_LABEL = {"case1": "Case 1", "case2": "Case 2", "mixed": "mixed"}
CASE_COLOR = {"case1": "#A6D4F0", "case2": "#F5C66B", "mixed": "#E5E5E5"}

ARM_LABEL = {
    "init_A": "Init[A]",
    "init_AB": "Init[AB]",
    "stable_lora": "Stable-LoRA",
    "stable_lora_AB": "Stable-LoRA, Init[AB]",
}
ARM_COLOR = {
    "init_A": OKABE_ITO["vermillion"],
    "init_AB": OKABE_ITO["blue"],
    "stable_lora": OKABE_ITO["green"],
    "stable_lora_AB": OKABE_ITO["purple"],
}

SEQUENTIAL_CMAP = "cividis"  # losses
DIVERGING_CMAP = "PuOr"  # improvement ratios, centred on 0 (orange = worse, purple = better)
WIDTH_CMAP = "viridis"  # one colour per width n

RC = {
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "legend.fontsize": 7,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.5,
    "lines.linewidth": 1.4,
    "mathtext.fontset": "dejavusans",
}


def new_axes(ax: Axes | None, figsize: tuple[float, float] = (4.0, 3.0)) -> Axes:
    """Return ``ax``, or fresh axes on a new ``Figure`` (never pyplot's global state)."""
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained").add_subplot()


def plain_log_axis(axis: Axis) -> None:
    """Label a base-10 log axis with plain numbers (``0.5``, ``1``, ``1e-05``), not 5×10⁻¹.

    Which ticks get a label is left to matplotlib's ``LogFormatter`` (minor ticks only
    when the axis spans few decades).
    """
    from matplotlib.ticker import LogFormatter

    class _Plain(LogFormatter):
        def __call__(self, x: float, pos: int | None = None) -> str:
            return f"{x:g}" if super().__call__(x, pos) else ""

    axis.set_major_formatter(_Plain(labelOnlyBase=False))
    axis.set_minor_formatter(_Plain(labelOnlyBase=False, minor_thresholds=(1, 0.4)))


def fmt_exp(x: float) -> str:
    """An exponent as the papers write it: ``-1/2``, ``1``, ``−∞``; other floats to 2 places."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if math.isinf(x):
        return "−∞" if x < 0 else "∞"
    frac = Fraction(x).limit_denominator(12)
    if abs(float(frac) - x) < 1e-9:
        return str(frac).replace("-", "−")
    return f"{x:.2f}".replace("-", "−")


def fmt_num(x: float) -> str:
    """Compact axis label for a grid value such as a learning rate: ``3e-4``, ``0.01``, ``2``."""
    if x == 0:
        return "0"
    if 1e-2 <= abs(x) < 1e3:
        return f"{x:.3g}"
    mant, ex = f"{x:.1e}".split("e")
    return f"{mant.rstrip('0').rstrip('.')}e{int(ex)}"
