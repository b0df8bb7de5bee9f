"""figures/: every analysis plot and report.md from the result files of sims/ and toymodel/."""

from figures._load import Results, load_results, read_result_csv
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
from figures._render import KINDS, Outcome, render_all
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
from figures.errors import FiguresError, NothingToDrawError, ResultsFormatError

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
