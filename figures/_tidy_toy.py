"""Turn toy-model result frames into the grids and curves the toy-model figures draw."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from figures._style import ARM_LABEL, fmt_num
from figures._tidy_sweep import seed_band

if TYPE_CHECKING:
    import pandas as pd

_SETTING = ["arm", "lr", "sigma", "shrink"]


def toy_grid(runs: pd.DataFrame, metric: str = "test_loss") -> pd.DataFrame:
    """Mean of ``metric`` over seeds per arm × η × σ × λ, diverged runs left out and counted.

    Args:
        runs: runs.csv.
        metric: ``test_loss``, ``test_acc`` or ``final_train_loss``.

    Returns:
        One row per arm × lr × sigma × shrink (``shrink`` NaN for arms without shrinkage)
        with ``mean, std, n_seeds, n_diverged``; ``mean`` is NaN where every seed diverged.

    Raises:
        ValueError: ``metric`` is not a runs.csv metric.
    """
    if metric not in ("test_loss", "test_acc", "final_train_loss"):
        raise ValueError(f"metric must be test_loss, test_acc or final_train_loss, got {metric!r}")
    ok = ~runs["diverged"].astype(bool) & np.isfinite(runs[metric])
    df = runs.assign(_v=runs[metric].where(ok), _div=~ok)
    g = df.groupby(_SETTING, dropna=False, sort=True)
    out = g.agg(mean=("_v", "mean"), std=("_v", "std"), n_seeds=("seed", "count"),
                n_diverged=("_div", "sum")).reset_index()
    return out


def improvement(grid: pd.DataFrame, arm: str, baseline: str = "init_A") -> pd.DataFrame:
    """Relative improvement of ``arm`` over ``baseline`` at the same η and σ.

    ratio = (L_baseline − L_arm) / L_baseline, the "improvement ratio of Init[AB] relative
    to Init[A]" of the ICML paper's Figure 2 (positive: ``arm`` reaches a lower test loss).

    Args:
        grid: ``toy_grid(runs)`` of the loss.
        arm: the arm to compare, e.g. ``init_AB`` or ``stable_lora``.
        baseline: the arm compared against.

    Returns:
        One row per (lr, sigma, shrink) of ``arm`` that has a baseline at its (lr, sigma),
        with ``value, baseline_value, ratio``.
    """
    base = grid[grid["arm"] == baseline][["lr", "sigma", "mean"]].rename(
        columns={"mean": "baseline_value"}
    )
    mine = grid[grid["arm"] == arm][["lr", "sigma", "shrink", "mean"]].rename(
        columns={"mean": "value"}
    )
    out = mine.merge(base, on=["lr", "sigma"], how="inner")
    out["ratio"] = (out["baseline_value"] - out["value"]) / out["baseline_value"]
    return out.reset_index(drop=True)


def stable_comparison(grid: pd.DataFrame, arm: str = "stable_lora",
                      baseline: str = "init_A") -> pd.DataFrame:
    """Improvement of a shrinkage arm over the baseline at the baseline's best σ for each η.

    ratio = (L_baseline − L_arm) / L_baseline as in ``improvement``, but L_baseline is the
    baseline's lowest mean test loss over σ at that η (the fair comparison: Stable-LoRA
    against well-tuned Init[A]). toymodel runs Stable-LoRA at σ_k and at Init[A]'s best σ,
    so each row is labelled by which σ it used (``sigma_label``), one heat map per label.

    Args:
        grid: ``toy_grid(runs)`` of the loss.
        arm: the shrinkage arm (``stable_lora`` or ``stable_lora_AB``).
        baseline: the arm compared against.

    Returns:
        One row per (lr, sigma, shrink) of ``arm`` with ``value, baseline_value,
        baseline_sigma, ratio, sigma_label``.
    """
    base = grid[(grid["arm"] == baseline)].dropna(subset=["mean"])
    best = base.loc[base.groupby("lr")["mean"].idxmin(), ["lr", "sigma", "mean"]].rename(
        columns={"sigma": "baseline_sigma", "mean": "baseline_value"}
    )
    mine = grid[grid["arm"] == arm][["lr", "sigma", "shrink", "mean"]].rename(
        columns={"mean": "value"}
    )
    out = mine.merge(best, on="lr", how="inner")
    out["ratio"] = (out["baseline_value"] - out["value"]) / out["baseline_value"]
    label = ARM_LABEL.get(baseline, baseline)
    out["sigma_label"] = [
        rf"at {label}'s best $\sigma$" if np.isclose(s, b) else rf"at $\sigma$ = {fmt_num(s)}"
        for s, b in zip(out["sigma"], out["baseline_sigma"], strict=True)
    ]
    return out.reset_index(drop=True)


def toy_curves(curves: pd.DataFrame, value: str = "train_loss") -> pd.DataFrame:
    """Median and interquartile range (``seed_band``) over seeds of ``value`` per
    arm × η × σ × λ × step.

    Args:
        curves: curves.csv.
        value: ``train_loss``, ``normA_over_n`` or ``normB_over_m``.

    Returns:
        One row per arm × lr × sigma × shrink × step with ``median, lo, hi``.
    """
    ok = curves[np.isfinite(curves[value])]
    return seed_band(ok.groupby([*_SETTING, "step"], dropna=False, sort=True)[value])


def curve_settings(grid: pd.DataFrame) -> list[dict]:
    """The settings whose convergence curves the toy figure shows, chosen from the data.

    η and σ are where Init[AB] improves most on Init[A] (the ICML paper's "specific
    settings" of Figure 2); Stable-LoRA is added at that η, its σ nearest in log σ, and
    its best λ there.

    Args:
        grid: ``toy_grid(runs)`` of the loss.

    Returns:
        A list of ``{"arm", "lr", "sigma", "shrink"}`` dicts, one per arm drawn.
    """
    imp = improvement(grid, "init_AB").dropna(subset=["ratio"])
    arms = set(grid["arm"])
    if not imp.empty:
        best = imp.loc[imp["ratio"].idxmax()]
        lr, sigma = float(best["lr"]), float(best["sigma"])
    else:
        first = grid.dropna(subset=["mean"]).sort_values(["lr", "sigma"])
        if first.empty:
            return []
        lr, sigma = float(first["lr"].iloc[0]), float(first["sigma"].iloc[0])
    out = [{"arm": a, "lr": lr, "sigma": sigma, "shrink": math.nan}
           for a in ("init_A", "init_AB") if a in arms]
    for arm in ("stable_lora", "stable_lora_AB"):
        cand = grid[(grid["arm"] == arm) & np.isclose(grid["lr"], lr)].dropna(subset=["mean"])
        if cand.empty:
            continue
        dist = (np.log(cand["sigma"]) - math.log(sigma)).abs()
        near = cand[np.isclose(dist, dist.min())]
        pick = near.loc[near["mean"].idxmin()]
        out.append({"arm": arm, "lr": lr, "sigma": float(pick["sigma"]),
                    "shrink": float(pick["shrink"])})
    return out


def select_setting(df: pd.DataFrame, setting: dict) -> pd.DataFrame:
    """Rows of a toy frame matching one ``{"arm", "lr", "sigma", "shrink"}`` setting.

    A NaN ``shrink`` (arms without shrinkage) matches NaN.
    """
    sel = (df["arm"] == setting["arm"]) & np.isclose(df["lr"], setting["lr"]) & np.isclose(
        df["sigma"], setting["sigma"]
    )
    if math.isnan(setting["shrink"]):
        sel &= df["shrink"].isna()
    else:
        sel &= np.isclose(df["shrink"], setting["shrink"])
    return df[sel]
