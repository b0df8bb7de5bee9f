"""Turn width-sweep result frames into the tidy frames the sweep figures draw."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from figures._style import QUANTITIES

if TYPE_CHECKING:
    import pandas as pd
    from pandas.core.groupby import SeriesGroupBy

# configs.csv columns that describe the run apart from shrinkage (used to pair configs)
_SETTING_COLUMNS = (
    "optimizer", "init", "eta_exp", "eta_coef", "etaB_exp", "s_exp", "s_coef", "sigma_exp",
    "A0Z_exp", "B0_exp", "fresh_batches",
)


def seed_band(grouped: SeriesGroupBy) -> pd.DataFrame:
    """Median and interquartile range over seeds: ``median, lo`` (25%), ``hi`` (75%).

    The band is the interquartile range, not min–max: one converged or stuck seed
    (an RMS of 1e-14 at step 200) would otherwise stretch a log axis over ten decades.
    """
    return grouped.agg(median="median", lo=lambda s: s.quantile(0.25),
                       hi=lambda s: s.quantile(0.75)).reset_index()


def _seed_stats(df: pd.DataFrame, keys: list[str], value: str) -> pd.DataFrame:
    """``seed_band`` of ``value`` (finite, positive entries only) per ``keys``, and the count."""
    ok = df[np.isfinite(df[value]) & (df[value] > 0)]
    g = ok.groupby(keys, sort=True)[value]
    return seed_band(g).merge(g.count().rename("n_seeds").reset_index(), on=keys)


def width_bands(measurements: pd.DataFrame, summary: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per-entry RMS of each quantity against width, seeds reduced to a median and a band.

    Rows flagged ``diverged`` and non-finite or non-positive values are left out (they
    have no logarithm). The predicted exponent ``gamma_pred`` of summary.csv is attached
    so a plot can draw theory's slope n^γ through the data (Stable-LoRA Eq. (6) for the δs).

    Args:
        measurements: measurements.csv (config, width, seed, step, quantity, value, diverged).
        summary: summary.csv, or ``None`` (then ``gamma_pred`` is NaN).

    Returns:
        One row per config × step × quantity × width with ``median, lo, hi`` (``seed_band``),
        ``n_seeds, gamma_pred``.
    """
    kept = measurements[~measurements["diverged"].astype(bool)]
    out = _seed_stats(kept, ["config", "step", "quantity", "width"], "value")
    if summary is None:
        out["gamma_pred"] = math.nan
        return out
    pred = summary[["config", "step", "quantity", "gamma_pred"]].drop_duplicates(
        ["config", "step", "quantity"]
    )
    return out.merge(pred, on=["config", "step", "quantity"], how="left")


def theory_line(widths: np.ndarray, medians: np.ndarray, gamma: float) -> np.ndarray:
    """The line c·n^γ through the data: c chosen so it passes the geometric mean of the points.

    Args:
        widths: widths n, shape (k,).
        medians: measured values at those widths, shape (k,), positive.
        gamma: predicted exponent γ (finite).

    Returns:
        c·n^γ at ``widths``, shape (k,).
    """
    log_n = np.log(widths)
    log_c = np.mean(np.log(medians) - gamma * log_n)
    return np.exp(log_c + gamma * log_n)


def representative_steps(steps: list[int] | np.ndarray, k: int = 4) -> list[int]:
    """Up to ``k`` recorded steps spread evenly in log t, always the first and the last.

    Args:
        steps: the recorded steps (any order, repeats allowed).
        k: how many to keep (k ≥ 1).

    Returns:
        The chosen steps, increasing.
    """
    uniq = sorted({int(s) for s in steps})
    if len(uniq) <= k:
        return uniq
    targets = np.geomspace(uniq[0], uniq[-1], k) if uniq[0] > 0 else np.linspace(
        uniq[0], uniq[-1], k
    )
    chosen = {min(uniq, key=lambda s, t=t: abs(math.log(max(s, 1)) - math.log(max(t, 1))))
              for t in targets}
    chosen |= {uniq[0], uniq[-1]}
    return sorted(chosen)


def agreement_table(summary: pd.DataFrame, step: int | None = None) -> pd.DataFrame:
    """Fitted against predicted exponent and verdict per config × quantity at one step.

    Args:
        summary: summary.csv.
        step: the recorded step to show; ``None`` takes each config's last recorded step
            before the loss converged (no cell in the ``converged`` regime), else its last.

    Returns:
        One row per config × quantity with ``step, gamma_hat, ci_low, ci_high, gamma_pred,
        verdict, n_seeds, n_diverged`` (and ``regime, gamma_other`` when summary has them),
        configs in the order they first appear in ``summary``
        (the sweep's suite order), quantities in the order δ₁, δ₂, δ₃, ΔY, A_tZ, B_t.
    """
    if step is None:
        last = _last_judged_step(summary)
        sel = summary[summary["step"] == summary["config"].map(last)]
    else:
        sel = summary[summary["step"] == step]
    cols = ["config", "quantity", "step", "gamma_hat", "ci_low", "ci_high", "gamma_pred",
            "verdict", "n_seeds", "n_diverged"]
    cols += [c for c in ("regime", "gamma_other") if c in summary.columns]
    config_rank = {c: i for i, c in enumerate(dict.fromkeys(summary["config"]))}
    quantity_rank = {q: i for i, q in enumerate(QUANTITIES)}
    ranked = sel[cols].assign(_c=sel["config"].map(config_rank),
                              _q=sel["quantity"].map(quantity_rank).fillna(len(QUANTITIES)))
    return ranked.sort_values(["_c", "_q"]).drop(columns=["_c", "_q"]).reset_index(drop=True)


def _last_judged_step(summary: pd.DataFrame) -> pd.Series:
    """Per config, the last recorded step before the loss converged: the last step with no
    ``converged`` cell (summary.csv's ``regime``), else the last recorded step."""
    last = summary.groupby("config")["step"].max()
    if "regime" not in summary.columns:
        return last
    conv = summary[summary["regime"] == "converged"].groupby("config")["step"].unique()
    for config, steps in conv.items():
        ok = sorted(set(summary.loc[summary["config"] == config, "step"]) - set(steps))
        if ok:
            last[config] = ok[-1]
    return last


def config_verdicts(summary: pd.DataFrame, step: int | None = None,
                    quantities: tuple[str, ...] = ("delta1", "delta2", "delta3", "dY")
                    ) -> pd.DataFrame:
    """One verdict per config: ``disagree`` if any quantity disagrees, else ``agree`` if any
    agrees, else ``n/a``; taken at the step ``agreement_table`` shows.

    Args:
        summary: summary.csv.
        step: as in ``agreement_table``.
        quantities: which quantities vote.

    Returns:
        Columns ``config, verdict``.
    """
    import pandas as pd

    tab = agreement_table(summary, step)
    tab = tab[tab["quantity"].isin(quantities)]
    rows = []
    for config, g in tab.groupby("config", sort=True):
        votes = set(g["verdict"])
        verdict = "disagree" if "disagree" in votes else "agree" if "agree" in votes else "n/a"
        rows.append({"config": config, "verdict": verdict})
    return pd.DataFrame(rows, columns=["config", "verdict"])


def norm_curves(trajectories: pd.DataFrame) -> pd.DataFrame:
    """‖A‖_F/n and ‖B‖_F/m over steps (Stable-LoRA Algorithm 1's stop test), seeds reduced.

    Args:
        trajectories: trajectories.csv.

    Returns:
        One row per config × width × step × quantity (``normA`` or ``normB``) with
        ``median, lo, hi, n_seeds``.
    """
    long = trajectories.melt(
        id_vars=["config", "width", "seed", "step"],
        value_vars=["normA_over_n", "normB_over_m"],
        var_name="quantity",
    )
    long["quantity"] = long["quantity"].map({"normA_over_n": "normA", "normB_over_m": "normB"})
    return _seed_stats(long, ["config", "width", "step", "quantity"], "value")


def stop_table(stops: pd.DataFrame) -> pd.DataFrame:
    """The step N where Stable-LoRA's stop condition ‖A‖_F/n ≤ ‖B‖_F/m fired, per config × width.

    Args:
        stops: stops.csv (``stop_step`` empty when it never fired).

    Returns:
        One row per config × width with ``median, lo, hi`` (``seed_band``) over the seeds
        where it fired,
        ``n_fired`` and ``n_seeds``.
    """
    fired = stops.assign(fired=stops["stop_step"].notna())
    counts = fired.groupby(["config", "width"]).agg(
        n_fired=("fired", "sum"), n_seeds=("seed", "count")
    ).reset_index()
    stats = seed_band(fired[fired["fired"]].groupby(["config", "width"])["stop_step"])
    return counts.merge(stats, on=["config", "width"], how="left")


def shrink_families(configs: pd.DataFrame) -> list[str]:
    """Configs with shrinkage (λ > 0), each preceded by the configs identical but for λ.

    This is the "with and without shrinkage" pairing of the norm-dynamics figure
    (Stable-LoRA Figure 2). With no shrinkage anywhere, every config is returned.

    Args:
        configs: configs.csv.

    Returns:
        Config names in drawing order.
    """
    shrink = configs["shrink"].fillna(0).astype(float)
    if not (shrink > 0).any():
        return list(configs["config"])
    cols = [c for c in _SETTING_COLUMNS if c in configs.columns]
    keys = configs[cols].apply(lambda row: "|".join(map(str, row)), axis=1)
    order: list[str] = []
    for key in dict.fromkeys(keys[shrink > 0]):
        family = configs[keys == key].assign(_s=shrink[keys == key])
        order += [c for c in family.sort_values("_s")["config"] if c not in order]
    return order


def stop_laws(configs: pd.DataFrame) -> dict[str, tuple[float, float, float]]:
    """theory's stop law per shrinking config of configs.csv: (drop, b_growth, λ).

    Asks ``theory.predict`` with the config's exact exponents and its shrink mode
    (``Prediction.stop_law``: N·ln(1/(1−λ)) + a·ln N = drop·ln n + O(1)); configs whose
    stop theory does not predict, or with an exponent missing, are left out.
    """
    from fractions import Fraction

    import pandas as pd

    from theory import TheoryError, predict

    def exp(value: float) -> str:
        return "-oo" if math.isinf(value) else str(Fraction(value).limit_denominator(1000))

    out = {}
    for r in configs.itertuples(index=False):
        values = (r.eta_exp, r.s_exp, r.A0Z_exp, r.B0_exp, r.etaB_exp)
        if pd.isna(r.shrink) or bool(r.fresh_batches) or any(pd.isna(v) for v in values):
            continue
        try:
            p = predict(exp(r.eta_exp), exp(r.s_exp), exp(r.A0Z_exp), exp(r.B0_exp),
                        eta_B=exp(r.etaB_exp), optimizer=r.optimizer,
                        shrink="stop" if bool(r.stop_condition) else "nostop")
        except TheoryError:
            continue
        if p.stop_law is not None:
            out[r.config] = (float(p.stop_law.drop), float(p.stop_law.b_growth), float(r.shrink))
    return out


def stop_law_curve(widths: np.ndarray, medians: np.ndarray,
                   law: tuple[float, float, float]) -> np.ndarray:
    """N(n) from theory's stop law through the measured stop steps.

    Solves N·ln(1/(1−λ)) + a·ln N = drop·ln n + C for N at every width (bisection: the
    left side increases with N), with C the mean of the left side at the measured medians,
    so only the O(1) offset is taken from the data, as ``theory_line`` does for c.

    Args:
        widths: widths n, shape (k,).
        medians: measured median stop steps there, shape (k,), ≥ 1.
        law: (drop, a, λ) from ``stop_laws``.

    Returns:
        The law's N at ``widths``, shape (k,).
    """
    drop, a, lam = law
    rate = -math.log1p(-lam)
    medians = np.asarray(medians, dtype=float)
    log_n = np.log(np.asarray(widths, dtype=float))
    c = float(np.mean(rate * medians + a * np.log(medians) - drop * log_n))
    target = drop * log_n + c
    lo, hi = np.full_like(target, 1e-9), np.full_like(target, 1e6)
    for _ in range(80):
        mid = (lo + hi) / 2
        below = rate * mid + a * np.log(mid) < target
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return (lo + hi) / 2
