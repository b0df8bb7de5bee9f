"""figures/: tidy steps, plot functions and the CLI, on small synthetic result files."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

import figures  # noqa: E402
from figures.__main__ import main  # noqa: E402

WIDTHS = (64, 128, 256, 512)
SEEDS = (0, 1, 2)
STEPS = (1, 2, 5, 10, 20)
# the exponent each synthetic quantity is generated with
GAMMA = {"delta1": 0.0, "delta2": 0.0, "delta3": 0.0, "dY": 0.0, "AtZ": 0.5, "Bt": -0.5}
CONFIG_COLUMNS = figures._load.WIDTH_SWEEP_COLUMNS["configs.csv"]


def _configs() -> pd.DataFrame:
    base = dict(optimizer="adam", init="A", eta_exp=-1.0, eta_coef=1.0, etaB_exp=float("nan"),
                s_exp=1.0, s_coef=1.0, sigma_exp=-0.5, A0Z_exp=0.0, B0_exp=-math.inf,
                shrink=float("nan"), stop_condition=False, fresh_batches=False,
                case_pred="case1", stable_pred=True)
    rows = [
        {**base, "config": "adam_A"},
        {**base, "config": "adam_A_shrink", "shrink": 0.1, "stop_condition": True},
        {**base, "config": "sgd_AB", "optimizer": "sgd", "init": "AB", "eta_exp": -0.5,
         "s_exp": -1.0, "A0Z_exp": 0.5, "B0_exp": 0.0, "case_pred": "case2",
         "stable_pred": False},
    ]
    return pd.DataFrame(rows)[list(CONFIG_COLUMNS)]


def write_width_sweep(d: Path, rng: np.random.Generator) -> None:
    """Synthetic width-sweep files following docs/results-format.md."""
    d.mkdir(parents=True, exist_ok=True)
    configs = _configs()
    meas, traj, stops, summ = [], [], [], []
    for c in configs["config"]:
        drift = 0.3 if c == "sgd_AB" else 0.0  # sgd_AB's δs grow: theory says 0, data 0.3
        for n in WIDTHS:
            for s in SEEDS:
                for k in STEPS:
                    for q, g in GAMMA.items():
                        g_true = g + (drift if q.startswith("d") else 0.0)
                        v = 0.1 * n ** g_true * math.exp(rng.normal(0, 0.05))
                        meas.append((c, n, s, k, q, v, False))
                for k in range(1, 21):
                    shrink = 0.9 ** k if c == "adam_A_shrink" else 1.0
                    traj.append((c, n, s, k, 1.0 / k, shrink / math.sqrt(n), 1e-3 * k / n,
                                 c == "adam_A_shrink" and k > 8))
                stops.append((c, n, s, 6 + int(math.log2(n)) if c == "adam_A_shrink" else None))
    meas.append(("adam_A", 64, 3, 1, "dY", float("inf"), True))  # a diverged seed
    m = pd.DataFrame(meas, columns=figures._load.WIDTH_SWEEP_COLUMNS["measurements.csv"])
    ok = m[~m["diverged"]]
    for (c, k, q), g in ok.groupby(["config", "step", "quantity"]):
        med = g.groupby("width")["value"].median()
        slope = float(np.polyfit(np.log(med.index), np.log(med.to_numpy()), 1)[0])
        pred = -math.inf if (q == "delta1" and k == 1) else GAMMA[q]
        verdict = "n/a" if not math.isfinite(pred) else (
            "agree" if abs(slope - pred) < 0.1 else "disagree")
        regime = "transient" if k == 1 else "converged" if k == STEPS[-1] else "asymptotic"
        summ.append((c, k, q, slope, slope - 0.05, slope + 0.05, pred, verdict, len(SEEDS), 0,
                     ";".join(f"{slope:.3f}" for _ in WIDTHS[1:]), regime, pred, math.nan,
                     "local slopes drift" if verdict == "disagree" else ""))
    m.to_csv(d / "measurements.csv", index=False)
    pd.DataFrame(traj, columns=figures._load.WIDTH_SWEEP_COLUMNS["trajectories.csv"]).to_csv(
        d / "trajectories.csv", index=False)
    pd.DataFrame(stops, columns=figures._load.WIDTH_SWEEP_COLUMNS["stops.csv"]).to_csv(
        d / "stops.csv", index=False)
    pd.DataFrame(summ, columns=[*figures._load.WIDTH_SWEEP_COLUMNS["summary.csv"],
                                *figures._load.SUMMARY_REGIME_COLUMNS]).to_csv(
        d / "summary.csv", index=False)
    # one measured bend (adam_A's A_tZ, t* = 0.5·n^{1/2}) and one not located
    bends = [("adam_A", "AtZ", "predicted", 0.5, "1/2", "A0Z", "learned", 0.0, -0.5, 0.52, 0.45,
              0.6, 0.5, 4, "agree", "4 steps"),
             ("sgd_AB", "Bt", "predicted", 1.0, "1", "B0", "learned", -0.5, -1.5, math.nan,
              math.nan, math.nan, math.nan, 0, "not located", "n* below the widths")]
    pd.DataFrame(bends, columns=figures._load.WIDTH_SWEEP_COLUMNS["crossovers.csv"]).to_csv(
        d / "crossovers.csv", index=False)
    configs.to_csv(d / "configs.csv", index=False)


def write_toymodel(d: Path, rng: np.random.Generator) -> None:
    """Synthetic toy-model files: Init[AB] beats Init[A] at small η, Stable-LoRA in between."""
    d.mkdir(parents=True, exist_ok=True)
    runs, curves = [], []
    lrs, sigmas = (3e-4, 1e-3, 3e-3), (1e-4, 1e-3, 1e-2)
    arms = [("init_A", s, float("nan")) for s in sigmas]
    arms += [("init_AB", s, float("nan")) for s in sigmas]
    # like toymodel: Stable-LoRA at σ_k = 1/√4096 and at Init[A]'s best σ (1e-3 here)
    arms += [("stable_lora", s, lam) for s in (1 / 64, 1e-3) for lam in (0.05, 0.2)]
    for arm, sigma, lam in arms:
        for lr in lrs:
            for seed in (0, 1):
                gain = {"init_A": 0.0, "init_AB": 0.3, "stable_lora": 0.1 + lam}[arm]
                loss = (0.4 + 3e-4 / lr * (1 - gain) + 0.05 * abs(math.log10(sigma) + 3)
                        + rng.normal(0, 0.01))
                diverged = arm == "init_A" and lr == 3e-3 and sigma == 1e-2 and seed == 1
                runs.append((arm, lr, sigma, lam, seed, float("nan") if diverged else loss,
                             0.8 - loss / 4, loss, 7.0 if arm == "stable_lora" else None,
                             diverged))
                for k in range(1, 11):
                    curves.append((arm, lr, sigma, lam, seed, k, loss + 2.0 / k, 1e-3, 1e-4 * k))
    pd.DataFrame(runs, columns=figures._load.TOYMODEL_COLUMNS["runs.csv"]).to_csv(
        d / "runs.csv", index=False)
    pd.DataFrame(curves, columns=figures._load.TOYMODEL_COLUMNS["curves.csv"]).to_csv(
        d / "curves.csv", index=False)


@pytest.fixture
def sweep(results: Path) -> figures.Results:
    return figures.load_results(results / "width_sweep", "width_sweep")


@pytest.fixture
def toy(results: Path) -> figures.Results:
    return figures.load_results(results / "toymodel", "toymodel")


def assert_labelled(fig: Figure) -> None:
    """Every axes of ``fig`` carries an x and a y label (colour bars: their one label)."""
    for ax in fig.axes:
        if hasattr(ax, "_colorbar"):
            assert ax.get_ylabel() or ax.get_xlabel(), "colour bar without a label"
            continue
        assert ax.get_xlabel(), f"axes {ax.get_title()!r} has no x label"
        assert ax.get_ylabel(), f"axes {ax.get_title()!r} has no y label"


# ---- reading -------------------------------------------------------------------------------


def test_load_keeps_na_verdict_and_types(sweep: figures.Results) -> None:
    summary = sweep.get("summary.csv")
    assert set(summary["verdict"]) == {"agree", "disagree", "n/a"}
    assert sweep.get("measurements.csv")["diverged"].dtype == bool
    assert not sweep.missing and not sweep.problems


def test_missing_column_is_a_named_error(tmp_path: Path) -> None:
    p = tmp_path / "summary.csv"
    pd.DataFrame({"config": ["a"], "step": [1]}).to_csv(p, index=False)
    with pytest.raises(figures.ResultsFormatError, match="gamma_hat"):
        figures.read_result_csv(p, figures._load.WIDTH_SWEEP_COLUMNS["summary.csv"])


def test_non_number_is_a_named_error(tmp_path: Path) -> None:
    p = tmp_path / "runs.csv"
    cols = figures._load.TOYMODEL_COLUMNS["runs.csv"]
    pd.DataFrame([["init_A", "fast", 1e-3, None, 0, 0.5, 0.8, 0.4, None, False]],
                 columns=cols).to_csv(p, index=False)
    with pytest.raises(figures.ResultsFormatError, match="column lr holds a non-number"):
        figures.read_result_csv(p, cols)


def test_unknown_verdict_is_a_named_error(sweep: figures.Results, tmp_path: Path) -> None:
    p = tmp_path / "summary.csv"
    sweep.get("summary.csv").assign(verdict="maybe").to_csv(p, index=False)
    with pytest.raises(figures.ResultsFormatError, match="maybe"):
        figures.read_result_csv(p, figures._load.WIDTH_SWEEP_COLUMNS["summary.csv"])


def test_numbers_are_written_in_the_papers_notation() -> None:
    from figures._style import fmt_exp, fmt_num

    assert [fmt_exp(x) for x in (-0.5, 1.0, -math.inf, 2 / 3, 0.123, float("nan"))] == [
        "−1/2", "1", "−∞", "2/3", "0.12", "–"]
    assert [fmt_num(x) for x in (3e-4, 2e-5, 0.015625, 0.02, 5.0)] == [
        "3e-4", "2e-5", "0.0156", "0.02", "5"]


# ---- tidy steps ----------------------------------------------------------------------------


def test_width_bands_reduce_seeds_and_drop_diverged() -> None:
    m = pd.DataFrame({"config": "c", "width": [8, 8, 8, 8], "seed": [0, 1, 2, 3], "step": 1,
                      "quantity": "dY", "value": [1.0, 3.0, 2.0, np.inf],
                      "diverged": [False, False, False, True]})
    b = figures.width_bands(m)
    assert b[["median", "lo", "hi", "n_seeds"]].iloc[0].tolist() == [2.0, 1.5, 2.5, 3]
    assert b["gamma_pred"].isna().all()


def test_theory_line_has_the_predicted_slope_through_the_data() -> None:
    n = np.array([64.0, 256.0, 1024.0])
    y = np.array([0.3, 0.5, 2.0])
    line = figures.theory_line(n, y, 0.5)
    assert np.polyfit(np.log(n), np.log(line), 1)[0] == pytest.approx(0.5)
    assert np.mean(np.log(line)) == pytest.approx(np.mean(np.log(y)))


def test_stop_law_curve_solves_theorys_law_through_the_data() -> None:
    from figures._tidy_sweep import stop_law_curve, stop_laws

    configs = pd.DataFrame([
        {"config": "shrink", "optimizer": "adam", "eta_exp": -1.5, "etaB_exp": -1.5,
         "s_exp": 2.0, "A0Z_exp": 0.0, "B0_exp": -math.inf, "shrink": 0.2,
         "stop_condition": True, "fresh_batches": False},
        {"config": "plain", "optimizer": "adam", "eta_exp": -1.5, "etaB_exp": -1.5,
         "s_exp": 2.0, "A0Z_exp": 0.0, "B0_exp": -math.inf, "shrink": np.nan,
         "stop_condition": True, "fresh_batches": False},
    ])
    laws = stop_laws(configs)
    assert laws == {"shrink": (1.0, 1.0, 0.2)}  # drop 1, B_t ∝ t, λ = 0.2; no law unshrunk
    n = np.array([256.0, 1024.0, 4096.0, 16384.0])
    exact = np.array([16.0, 21.0, 27.0, 32.0])
    curve = stop_law_curve(n, exact, laws["shrink"])
    rate = -math.log1p(-0.2)
    lhs = rate * curve + np.log(curve) - np.log(n)  # the law: constant across widths
    assert np.ptp(lhs) == pytest.approx(0.0, abs=1e-9)
    assert np.mean(rate * exact + np.log(exact) - np.log(n)) == pytest.approx(lhs[0])


def test_representative_steps_keep_ends_and_spread_in_log() -> None:
    assert figures.representative_steps(range(1, 1001), k=4) == [1, 10, 100, 1000]
    assert figures.representative_steps([5, 1, 5], k=4) == [1, 5]


def test_agreement_at_last_step_and_config_verdicts(sweep: figures.Results) -> None:
    summary = sweep.get("summary.csv")
    tab = figures.agreement_table(summary)
    assert set(tab["step"]) == {STEPS[-2]}  # the last step before the converged regime
    assert set(figures.agreement_table(summary.drop(columns="regime"))["step"]) == {max(STEPS)}
    assert len(tab) == 3 * len(GAMMA)
    v = figures.config_verdicts(summary).set_index("config")["verdict"]
    assert v["adam_A"] == "agree" and v["sgd_AB"] == "disagree"
    assert figures.config_verdicts(summary, step=1).set_index("config")["verdict"][
        "adam_A"] == "agree"  # delta1 is n/a at step 1, the others agree


def test_stop_table_counts_seeds_that_never_fired(sweep: figures.Results) -> None:
    t = figures.stop_table(sweep.get("stops.csv")).set_index(["config", "width"])
    assert t.loc[("adam_A_shrink", 256), "median"] == 6 + 8
    assert t.loc[("adam_A", 64), "n_fired"] == 0 and math.isnan(t.loc[("adam_A", 64), "median"])


def test_shrink_families_pair_with_and_without_shrinkage(sweep: figures.Results) -> None:
    assert figures.shrink_families(sweep.get("configs.csv")) == ["adam_A", "adam_A_shrink"]


def test_toy_grid_leaves_diverged_out_and_counts_them(toy: figures.Results) -> None:
    g = figures.toy_grid(toy.get("runs.csv")).set_index(["arm", "lr", "sigma"])
    row = g.loc[("init_A", 3e-3, 1e-2)]
    assert row["n_diverged"] == 1 and row["n_seeds"] == 2 and math.isfinite(row["mean"])
    with pytest.raises(ValueError, match="metric"):
        figures.toy_grid(toy.get("runs.csv"), "accuracy")


def test_improvement_ratio_sign_and_curve_choice(toy: figures.Results) -> None:
    grid = figures.toy_grid(toy.get("runs.csv"))
    imp = figures.improvement(grid, "init_AB")
    assert (imp["ratio"] > 0).all()  # Init[AB] is better everywhere in the synthetic data
    r = imp.iloc[0]
    assert r["ratio"] == pytest.approx((r["baseline_value"] - r["value"]) / r["baseline_value"])
    settings = figures.curve_settings(grid)
    assert [s["arm"] for s in settings] == ["init_A", "init_AB", "stable_lora"]
    assert settings[0]["lr"] == 3e-4  # where Init[AB] helps most
    assert settings[2]["shrink"] == 0.2  # Stable-LoRA's best λ there


def test_stable_lora_is_compared_with_the_best_init_a(toy: figures.Results) -> None:
    grid = figures.toy_grid(toy.get("runs.csv"))
    cmp = figures.stable_comparison(grid)
    assert set(cmp["baseline_sigma"]) == {1e-3}  # Init[A]'s best σ at every η
    labels = dict(zip(cmp["sigma"], cmp["sigma_label"], strict=True))
    assert labels[1e-3] == r"at Init[A]'s best $\sigma$"
    assert labels[1 / 64] == r"at $\sigma$ = 0.0156"
    best_a = grid[grid["arm"] == "init_A"].groupby("lr")["mean"].min()
    r = cmp.iloc[-1]
    assert r["baseline_value"] == best_a[r["lr"]]
    assert r["ratio"] == pytest.approx((r["baseline_value"] - r["value"]) / r["baseline_value"])


def test_report_never_calls_a_diverged_setting_best() -> None:
    from figures._report import toy_lr_rows, toy_rows

    runs = pd.DataFrame({
        "arm": "init_A", "lr": [1e-3, 1e-3, 1e-3, 1e-3, 3e-3, 3e-3], "shrink": float("nan"),
        "sigma": [1e-3, 1e-3, 1e-2, 1e-2, 1e-3, 1e-3], "seed": [0, 1, 0, 1, 0, 1],
        "test_loss": [0.1, float("nan"), 0.5, 0.6, 0.3, float("inf")],
        "test_acc": [0.9, 0.0, 0.7, 0.6, 0.8, 0.0], "final_train_loss": 0.0,
        "stop_step": float("nan"), "diverged": [False, True, False, False, False, True]})
    (row,) = toy_rows(runs)
    assert row == ["Init[A]", "0.5500", "1e-3", "0.01", "–", "0.6500", "2/6"]
    assert toy_lr_rows(runs) == (["η", "Init[A]"], [["1e-3", "0.5500"], ["3e-3", "div"]])


# ---- plot functions ------------------------------------------------------------------------


def test_plot_width_draws_theory_slope(sweep: figures.Results) -> None:
    bands = figures.width_bands(sweep.get("measurements.csv"), sweep.get("summary.csv"))
    ax = Figure().add_subplot()
    assert figures.plot_width(bands, config="sgd_AB", step=10, ax=ax) is ax
    dashed = [ln for ln in ax.lines if ln.get_linestyle() == "--" and len(ln.get_xdata()) > 1]
    assert len(dashed) == 4  # one theory line per δ and ΔY
    for ln in dashed:
        slope = np.polyfit(np.log(ln.get_xdata()), np.log(ln.get_ydata()), 1)[0]
        assert slope == pytest.approx(0.0, abs=1e-9)  # theory says γ = 0 ...
    solid = [ln for ln in ax.lines if ln.get_linestyle() == "-" and len(ln.get_xdata()) > 1]
    data_slope = np.polyfit(np.log(solid[0].get_xdata()), np.log(solid[0].get_ydata()), 1)[0]
    assert data_slope == pytest.approx(0.3, abs=0.1)  # ... and the data says 0.3
    assert ax.get_xscale() == "log" and ax.get_xlabel() and ax.get_ylabel()


def test_plot_functions_make_their_own_axes(sweep: figures.Results) -> None:
    ax = figures.plot_exponents(sweep.get("summary.csv"), config="adam_A", quantity="delta1")
    assert isinstance(ax.figure, Figure) and ax.get_title() == r"$\gamma[\delta_1]$"
    assert_labelled(ax.figure)


def test_plot_agreement_writes_fitted_and_predicted(sweep: figures.Results) -> None:
    tab = figures.agreement_table(sweep.get("summary.csv"))
    ax = figures.plot_agreement(tab, ax=Figure().add_subplot())
    texts = [t.get_text().split("\n") for t in ax.texts]
    assert len(texts) == len(tab)
    first = [t[0] for t in texts]
    assert any(t.endswith("(1/2)") for t in first) and any(t.endswith("(−1/2)") for t in first)
    r = tab.iloc[0]  # adam_A, δ₁: the interval under "γ̂ (γ)", then the cell's regime
    assert texts[0] == [f"{r.gamma_hat:.2f}  (0)".replace("-", "−"),
                        f"[{r.ci_low:.2f}, {r.ci_high:.2f}]".replace("-", "−"), "asymptotic"]


def test_toy_heatmap_marks_diverged_cells_and_shares_the_scale(toy: figures.Results) -> None:
    grid = figures.toy_grid(toy.get("runs.csv"))
    ax = figures.plot_toy_heatmap(grid, arm="init_A", ax=Figure().add_subplot(), vmin=0.0,
                                  vmax=2.0)
    (marks,) = [c for c in ax.collections if len(c.get_offsets())]
    # η = 3e-3 is row 2, σ = 1e-2 column 2: the one cell where a seed diverged
    assert np.round(marks.get_offsets()).tolist() == [[2.0, 2.0]]
    assert ax.images[0].get_clim() == (0.0, 2.0)
    assert len(ax.texts) == 9 and all(t.get_text().count(".") == 1 for t in ax.texts)
    with pytest.raises(ValueError, match="sigma"):
        figures.plot_improvement(figures.improvement(grid, "init_AB"), x="lr")


def test_norm_panel_marks_the_median_stop_step(sweep: figures.Results) -> None:
    curves = figures.norm_curves(sweep.get("trajectories.csv"))
    stops = figures.stop_table(sweep.get("stops.csv"))
    ax = figures.plot_norms(curves, config="adam_A_shrink", stops=stops,
                            ax=Figure().add_subplot(), title="t")
    vlines = sorted(ln.get_xdata()[0] for ln in ax.lines if ln.get_linestyle() == ":"
                    and len(ln.get_xdata()) == 2)
    assert vlines == [6 + 6, 6 + 7, 6 + 8, 6 + 9]  # one per width n = 2^6 … 2^9
    a = curves[(curves["config"] == "adam_A_shrink") & (curves["quantity"] == "normA")]
    assert a.groupby("width")["median"].apply(lambda s: s.is_monotonic_decreasing).all()


def test_slope_map_draws_the_measured_crossover_line(sweep: figures.Results) -> None:
    from figures._plot_map import plot_slope_map

    ax = plot_slope_map(sweep.get("summary.csv"), sweep.get("crossovers.csv"), config="adam_A",
                        quantity="AtZ", widths=list(WIDTHS), ax=Figure().add_subplot())
    assert ax.collections[0].get_array().shape == (len(STEPS), len(WIDTHS) - 1)
    (line,) = [ln for ln in ax.lines if ln.get_linestyle() == "-"]
    n, t = line.get_data()
    assert np.allclose(t, 1 + 0.5 * n**0.5)  # t* = K·n^{τ*}, the step k = t* + 1
    ax = plot_slope_map(sweep.get("summary.csv"), sweep.get("crossovers.csv"), config="sgd_AB",
                        quantity="Bt", widths=list(WIDTHS), ax=Figure().add_subplot())
    assert [ln.get_linestyle() for ln in ax.lines] == [":"]  # K not measured: direction only


def test_verdict_steps_map_has_one_cell_per_config_quantity_step(sweep: figures.Results
                                                                 ) -> None:
    summary = sweep.get("summary.csv")
    ax = figures.plot_verdict_steps(summary, ax=Figure().add_subplot())
    img = ax.images[0].get_array()  # (configs, quantities × (steps + 1) − 1)
    assert img.shape == (3, len(GAMMA) * (len(STEPS) + 1) - 1)
    assert img.mask[:, len(STEPS)].all()  # the blank column between blocks
    codes = {v: i for i, v in enumerate(figures._style.VERDICTS)}
    sgd_delta1 = img[2, :len(STEPS)].tolist()  # sgd_AB is the third config
    assert sgd_delta1 == [codes["n/a"]] + [codes["disagree"]] * (len(STEPS) - 1)
    assert (img[0].compressed() == codes["agree"]).sum() == len(GAMMA) * len(STEPS) - 1
    (dots,) = ax.lines  # cells outside the asymptotic regime: steps 1 and 20 here
    assert len(dots.get_xdata()) == 3 * len(GAMMA) * 2


# ---- the command ---------------------------------------------------------------------------


def test_every_kind_is_drawn_labelled_and_reported(results: Path, tmp_path: Path) -> None:
    out = tmp_path / "figs"
    # the coordinate-check kind has its own fixture and test (tests/test_coord_check_figures.py)
    kinds = tuple(k for k in figures._render.KINDS if k != "coord")
    outcome = figures.render_all(results, out, dpi=20, progress=False, kinds=kinds)
    assert outcome.notes == []
    for _, drawn in outcome.drawn:
        assert_labelled(drawn.figure)
    names = {p.name for p in out.iterdir()}
    expected = {f"{kind}_{c}.png" for kind in ("width", "exponents")
                for c in ("adam_A", "adam_A_shrink", "sgd_AB")}
    expected |= {f"map_{c}.png" for c in ("adam_A", "adam_A_shrink", "sgd_AB")}
    expected |= {"agreement.png", "agreement_steps.png", "norms.png", "stop_steps.png",
                 "toymodel.png", "toymodel_stable.png", "phase.png", "report.md"}
    assert names == expected  # all six kinds, and no temporary files left behind
    mask = os.umask(0)
    os.umask(mask)
    assert {(out / n).stat().st_mode & 0o777 for n in names} == {0o666 & ~mask}
    assert [p.name for p in outcome.written] == [p.name for p, _ in outcome.drawn] + ["report.md"]
    report = (out / "report.md").read_text()
    for name in expected - {"report.md"}:
        assert f"]({name})" in report
    # the grid shows the last step before the converged regime (step 20 here)
    grid_row = next(ln for ln in report.splitlines() if ln.startswith("| sgd_AB | 10 |"))
    assert grid_row.count("(0) ✗ asymptotic") == 4 and grid_row.count("✓") == 2  # δs off by 0.3
    assert "| sgd_AB | ΔY | 10 |" in report
    assert "## Regimes and crossovers" in report
    assert "| sgd_AB | 5 | ΔY | asymptotic |" in report  # every disagreement, with its regime
    assert "| adam_A | A_tZ | 1/2 |" in report  # the crossovers table
    assert "| Init[AB] |" in report and "| Stable-LoRA |" in report


def test_cli_writes_files_and_says_so(results: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "figs"
    assert main(["--results", str(results), "--out", str(out), "--format", "svg",
                 "--no-progress", "--only", "agreement"]) == 0
    assert sorted(p.name for p in out.iterdir() if p.name != ".lock") == [
        "agreement.svg", "agreement_steps.svg", "report.md"]  # .lock: the directory lock
    assert capsys.readouterr().out.strip() == f"wrote 3 files to {out}"


def test_partial_results_draw_what_they_can(results: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    (results / "width_sweep" / "summary.csv").unlink()
    (results / "toymodel" / "runs.csv").unlink()
    assert main(["--results", str(results), "--out", str(tmp_path / "f"), "--dpi", "20",
                 "--no-progress", "--only", "width", "agreement", "toymodel"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert any("summary.csv" in e and "python -m sims.width_sweep" in e for e in err)
    assert any("runs.csv" in e and "python -m toymodel run" in e for e in err)
    assert (tmp_path / "f" / "width_adam_A.png").is_file()
    assert not (tmp_path / "f" / "agreement.png").exists()


def test_malformed_file_is_one_line_and_the_rest_is_drawn(results: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    (results / "width_sweep" / "stops.csv").write_text("config,width\nx,1\n")
    assert main(["--results", str(results), "--out", str(tmp_path / "f"), "--dpi", "20",
                 "--no-progress", "--only", "norms"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "stops.csv: missing column(s) seed, stop_step" in err[0]
    assert (tmp_path / "f" / "norms.png").is_file()


def test_header_only_file_counts_as_missing(results: Path) -> None:
    p = results / "width_sweep" / "summary.csv"
    p.write_text(p.read_text().splitlines()[0] + "\n")
    sweep = figures.load_results(results / "width_sweep", "width_sweep")
    assert sweep.get("summary.csv") is None
    assert "no rows yet" in sweep.why_absent("summary.csv")
    assert "python -m sims.width_sweep --out" in sweep.why_absent("summary.csv")


def test_bad_exponent_skips_only_the_phase_diagram(results: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    p = results / "width_sweep" / "configs.csv"
    pd.read_csv(p).assign(A0Z_exp=float("nan")).to_csv(p, index=False)
    assert main(["--results", str(results), "--out", str(tmp_path / "f"), "--dpi", "20",
                 "--no-progress", "--only", "phase", "agreement"]) == 0
    (err,) = capsys.readouterr().err.strip().splitlines()
    assert err.startswith("phase figures skipped: configs.csv: A0Z_exp of adam_A, ")
    assert (tmp_path / "f" / "agreement.png").is_file()


def test_nothing_to_draw_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["--results", str(tmp_path / "none"), "--out", str(tmp_path / "f"),
                 "--no-progress", "--only", "width", "toymodel"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("python -m figures: error: nothing to draw")
    assert "`python -m sims.width_sweep --out" in err[0] and not (tmp_path / "f").exists()


@pytest.mark.parametrize("argv", [["--format", "gif"], ["--dpi", "0"], ["--only", "pie"],
                                  ["--bogus"], ["--out", __file__]])
def test_bad_flags_are_one_line_and_exit_2(argv: list[str], capsys: pytest.CaptureFixture
                                           ) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("python -m figures: error:")


def test_file_stems_never_collide() -> None:
    from figures._render import file_stems

    assert file_stems("width", ["case1+fresh", "case1_fresh", "a/b"]) == {
        "case1+fresh": "width_case1_fresh", "case1_fresh": "width_case1_fresh_2",
        "a/b": "width_a_b"}


def test_failed_save_keeps_the_old_file(tmp_path: Path) -> None:
    from figures._io import save_atomic

    target = tmp_path / "x.png"
    target.write_bytes(b"old")
    fig = Figure()
    fig.add_subplot().plot([1, 2])

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    fig.savefig = boom  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        save_atomic(fig, target, "png", 20)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["x.png"]


def test_help_is_fast_and_imports_nothing_heavy() -> None:
    code = ("import sys, contextlib, io\n"
            "from figures.__main__ import main\n"
            "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
            "    main(['--help'])\n"
            "print(sorted(m for m in ('matplotlib', 'pandas', 'torch', 'sympy', 'theory')"
            " if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30,
                       cwd=Path(__file__).resolve().parents[1], check=True)
    assert r.stdout.strip() == "[]"


# ---- phase diagram (plot 6, needs theory/) --------------------------------------------------


def test_exact_exponents_for_theory() -> None:
    from fractions import Fraction

    from figures._phase import exact

    assert exact(-math.inf) == "-oo" and exact(-0.5) == Fraction(-1, 2)
    assert exact(1 / 3) == Fraction(1, 3)
    with pytest.raises(figures.ResultsFormatError):
        exact(float("nan"))


def test_config_points_on_the_plane_and_verdicts(sweep: figures.Results) -> None:
    verdicts = figures.config_verdicts(sweep.get("summary.csv"))
    p = figures.config_points(sweep.get("configs.csv"), verdicts).set_index("config")
    assert p.loc["adam_A", "on_plane"] and not p.loc["sgd_AB", "on_plane"]  # γ[s]+2γ[η]+1 = -1
    assert p.loc["sgd_AB", "verdict"] == "disagree" and p.loc["adam_A", "B0"] == -math.inf


@pytest.mark.parametrize("b0", [-math.inf, 0.0, -1.0])
def test_phase_grid_matches_the_cases_of_section_3_2(b0: float) -> None:
    from fractions import Fraction

    from figures._phase import exact

    grid = figures.phase_grid(B0=exact(b0), eta=(Fraction(-2), Fraction(1)),
                              A0Z=(Fraction(-1), Fraction(2)), resolution=Fraction(1, 4))
    assert len(grid) == 13 * (13 + 1)  # 13 × 13 lattice and the γ[A₀Z] = −∞ row
    # second route: Stable-LoRA §3.2 written out, Case 1 / Case 2 / mixed
    a_ok = grid["A0Z"] <= grid["eta"] + 1
    b_ok = b0 <= grid["eta"]
    expected = np.where(a_ok & b_ok, "case1", np.where(~a_ok & ~b_ok, "case2", "mixed"))
    assert (grid["case"] == expected).all()
    seen = {"case1", "mixed"} if b0 == -math.inf else {"case1", "case2", "mixed"}
    assert set(grid["case"]) == seen


def test_phase_figure_places_configs_and_is_drawn(results: Path, tmp_path: Path) -> None:
    outcome = figures.render_all(results, tmp_path / "f", dpi=20, kinds=("phase",),
                                 progress=False)
    (path, drawn), = outcome.drawn
    assert path.name == "phase.png" and path.is_file()
    assert_labelled(drawn.figure)
    panels = [ax for ax in drawn.figure.axes if ax.collections]
    assert [ax.get_title() for ax in panels] == [r"$\gamma[B_0]$ = −∞", r"$\gamma[B_0]$ = 0"]
    from matplotlib.collections import PathCollection

    offsets = np.vstack([c.get_offsets() for c in panels[1].collections
                         if isinstance(c, PathCollection)])
    assert offsets.tolist() == [[-0.5, 0.5]]  # sgd_AB at (γ[η], γ[A₀Z]) = (−1/2, 1/2)
