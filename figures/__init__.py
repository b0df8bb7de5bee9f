"""figures/: every analysis plot and report.md from the result files of sims/ and toymodel/."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from figures._load import Results, load_results, read_result_csv
from figures._render import KINDS, Outcome, render_all
from figures.errors import FiguresError, NothingToDrawError, ResultsFormatError

if TYPE_CHECKING:  # the numpy/pandas/matplotlib-backed names below load on first use (PEP 562)
    from figures._phase import config_points, phase_grid, plot_phase
    from figures._plot_sweep import (
        plot_agreement,
        plot_exponents,
        plot_norms,
        plot_stop_steps,
        plot_verdict_steps,
        plot_width,
    )
    from figures._plot_toy import plot_improvement, plot_toy_curves, plot_toy_heatmap
    from figures._tidy_sweep import (
        agreement_table,
        config_verdicts,
        norm_curves,
        representative_steps,
        seed_band,
        shrink_families,
        stop_table,
        theory_line,
        width_bands,
    )
    from figures._tidy_toy import (
        curve_settings,
        improvement,
        stable_comparison,
        toy_curves,
        toy_grid,
    )

# Importing figures (which `python -m figures` does first) imports no numpy, pandas or
# matplotlib: --help stays fast, and a Ctrl-C during those imports happens inside the CLI's
# handler (one line, exit 130; issue 11). render_all imports what it draws with.
_LAZY = {
    "config_points": "_phase", "phase_grid": "_phase", "plot_phase": "_phase",
    "plot_agreement": "_plot_sweep", "plot_exponents": "_plot_sweep",
    "plot_norms": "_plot_sweep", "plot_stop_steps": "_plot_sweep",
    "plot_verdict_steps": "_plot_sweep", "plot_width": "_plot_sweep",
    "plot_improvement": "_plot_toy", "plot_toy_curves": "_plot_toy",
    "plot_toy_heatmap": "_plot_toy",
    "agreement_table": "_tidy_sweep", "config_verdicts": "_tidy_sweep",
    "norm_curves": "_tidy_sweep", "representative_steps": "_tidy_sweep",
    "seed_band": "_tidy_sweep", "shrink_families": "_tidy_sweep", "stop_table": "_tidy_sweep",
    "theory_line": "_tidy_sweep", "width_bands": "_tidy_sweep",
    "curve_settings": "_tidy_toy", "improvement": "_tidy_toy",
    "stable_comparison": "_tidy_toy", "toy_curves": "_tidy_toy", "toy_grid": "_tidy_toy",
}


def __getattr__(name: str) -> object:
    """Import a numpy/pandas/matplotlib-backed public name from its module on first access."""
    if name in _LAZY:
        return getattr(importlib.import_module(f"figures.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """Every name, the lazy ones included (tab completion, ``dir(figures)``)."""
    return sorted({*globals(), *_LAZY})


__all__ = [
    "KINDS",
    "FiguresError",
    "NothingToDrawError",
    "Outcome",
    "Results",
    "ResultsFormatError",
    "agreement_table",
    "config_points",
    "config_verdicts",
    "curve_settings",
    "improvement",
    "load_results",
    "norm_curves",
    "phase_grid",
    "plot_agreement",
    "plot_exponents",
    "plot_improvement",
    "plot_norms",
    "plot_phase",
    "plot_stop_steps",
    "plot_toy_curves",
    "plot_toy_heatmap",
    "plot_verdict_steps",
    "plot_width",
    "read_result_csv",
    "render_all",
    "representative_steps",
    "seed_band",
    "shrink_families",
    "stable_comparison",
    "stop_table",
    "theory_line",
    "toy_curves",
    "toy_grid",
    "width_bands",
]
