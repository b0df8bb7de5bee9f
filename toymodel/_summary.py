"""Per-learning-rate summary: best test loss of each arm and its improvement over Init[A]."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["format_summary", "summarize"]

SUMMARY_COLUMNS = ["lr", "arm", "sigma", "shrink", "n_seeds", "n_diverged", "test_loss_mean",
                   "test_loss_std", "test_acc_mean", "improvement_mean", "improvement_std",
                   "wins"]


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """For each lr and arm, the best (σ, λ) by mean test loss over seeds, and its statistics.

    The improvement ratio over Init[A] (ICML paper Figure 2) is (L_A − L_X) / L_A per seed,
    with L_A Init[A]'s loss at its own best σ for that lr and seed pairing by seed (runs of
    a seed share batches and the noise of A₀); ``wins`` counts the seeds where X < Init[A].
    Diverged runs count as loss +∞.

    Args:
        runs: the rows of ``runs.csv``.

    Returns:
        One row per (lr, arm) with the columns of ``SUMMARY_COLUMNS`` (improvement columns
        NaN for Init[A] itself or when Init[A] is absent).
    """
    if runs.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    key = ["arm", "lr", "sigma", "shrink", "seed"]
    df = runs.sort_values(key, kind="stable").reset_index(drop=True)  # order-free sums
    df["loss"] = df["test_loss"].where(np.isfinite(df["test_loss"]), np.inf)
    rows, per_seed = [], {}
    for (lr, arm), group in df.groupby(["lr", "arm"], sort=True):
        stats = group.groupby(["sigma", "shrink"], dropna=False)["loss"].mean()
        sigma, shrink = stats.idxmin()
        best = group[(group["sigma"] == sigma)
                     & ((group["shrink"] == shrink) | (group["shrink"].isna() & pd.isna(shrink)))]
        per_seed[(lr, arm)] = best.set_index("seed")["loss"]
        finite = best["loss"][np.isfinite(best["loss"])]
        rows.append({"lr": lr, "arm": arm, "sigma": sigma, "shrink": shrink,
                     "n_seeds": len(best), "n_diverged": int(best["diverged"].sum()),
                     "test_loss_mean": float(best["loss"].mean()),
                     "test_loss_std": float(finite.std(ddof=1)) if len(finite) > 1 else np.nan,
                     "test_acc_mean": float(best["test_acc"].mean())})
    for row in rows:
        base = per_seed.get((row["lr"], "init_A"))
        row["improvement_mean"] = row["improvement_std"] = np.nan
        row["wins"] = pd.NA
        if base is None or row["arm"] == "init_A":
            continue
        mine = per_seed[(row["lr"], row["arm"])]
        common = base.index.intersection(mine.index)
        ratio = ((base[common] - mine[common]) / base[common]).to_numpy(float)
        ratio = ratio[np.isfinite(ratio)]
        if len(ratio):
            row["improvement_mean"] = float(ratio.mean())
            row["improvement_std"] = float(ratio.std(ddof=1)) if len(ratio) > 1 else np.nan
        row["wins"] = f"{int((mine[common] < base[common]).sum())}/{len(common)}"
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def format_summary(summary: pd.DataFrame) -> str:
    """The summary as a console table, one block per learning rate."""
    if summary.empty:
        return "no finished runs"
    lines = [f"{'lr':>8}  {'arm':<15}{'best σ':>9}{'λ':>8}  {'test loss (mean ± sd)':<23}"
             f"{'acc':>6}  {'vs Init[A] (mean ± sd)':<24}{'wins':>6}"]
    for lr, block in summary.groupby("lr", sort=True):
        for _, row in block.iterrows():
            lam = "-" if pd.isna(row["shrink"]) else f"{row['shrink']:g}"
            loss = f"{row['test_loss_mean']:.4f} ± {row['test_loss_std']:.4f}"
            imp = ("" if pd.isna(row["improvement_mean"]) else
                   f"{100 * row['improvement_mean']:+.2f}% ± {100 * row['improvement_std']:.2f}%")
            wins = "" if pd.isna(row["wins"]) else str(row["wins"])
            lines.append(f"{lr:>8g}  {row['arm']:<15}{row['sigma']:>9.2g}{lam:>8}  {loss:<23}"
                         f"{row['test_acc_mean']:>6.3f}  {imp:<24}{wins:>6}")
    return "\n".join(lines)
