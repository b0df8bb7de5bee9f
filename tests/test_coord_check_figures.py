"""Coordinate-check figures: panel geometry, agreement map, and `python -m figures` drawing them."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from figures._plot_coord import plot_coord_agreement, plot_coord_panel
from figures._render import render_all
from sims import fit_coord_data

WIDTHS = (64, 128, 256, 512)


def synthetic(modules=("layers.0.q_proj[default]", "layers.0.v_proj[default]")) -> pd.DataFrame:
    """RMS = 2·n^{-1/2} with seed noise, two modules, steps 1 and 2."""
    rng = np.random.default_rng(1)
    rows = [{"arm": "init_A", "width": n, "seed": s, "step": k, "module": m, "quantity": q,
             "value": 2.0 * n**-0.5 * math.exp(0.02 * rng.standard_normal())}
            for n in WIDTHS for s in range(3) for k in (1, 2) for m in modules
            for q in ("dY", "Bt")]
    return pd.DataFrame(rows)


def test_panel_draws_seed_band_mean_and_theory_slope():
    coord = synthetic()
    ax = Figure().add_subplot()
    plot_coord_panel(coord, module="layers.0.q_proj[default]", step=1, gamma_pred=-0.5, ax=ax)
    mean, theory = ax.lines[0], ax.lines[1]
    x, y = mean.get_data()
    assert list(x) == [6, 7, 8, 9]  # log₂ n
    slope = np.polyfit(x, y, 1)[0] / math.log10(2)  # log₁₀ RMS per log₂ n → γ
    assert abs(slope + 0.5) < 0.02
    tx, ty = theory.get_data()
    assert (ty[-1] - ty[0]) / (tx[-1] - tx[0]) == np.float64(-0.5 * math.log10(2))
    assert len(ax.collections) == 1  # the seed band


def test_agreement_map_has_one_cell_per_module_and_quantity():
    summary = fit_coord_data(synthetic(), exponents={"eta": "-1/2", "s": 0, "A0Z": 0,
                                                     "B0": "-oo"})
    ax = Figure().add_subplot()
    plot_coord_agreement(summary, ax=ax)
    assert len(ax.patches) == 2 * 2  # 2 modules × (dY, Bt) at the last step
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["layers.0.q_proj[default]", "layers.0.v_proj[default]"]


def test_figures_cli_draws_coord_results_when_present(tmp_path):
    coord = synthetic()
    summary = fit_coord_data(coord, n_boot=20)
    (tmp_path / "coord_check").mkdir()
    coord.to_csv(tmp_path / "coord_check" / "coord.csv", index=False)
    summary.to_csv(tmp_path / "coord_check" / "coord_summary.csv", index=False)
    out = render_all(tmp_path, tmp_path / "figs", kinds=("coord",), progress=False)
    names = sorted(p.name for p in out.written)
    assert names == ["coord_agreement_init_A.png", "coord_init_A.png", "report.md"]
    assert "LoRA coordinate check" in (tmp_path / "figs" / "report.md").read_text()
