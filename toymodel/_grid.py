"""Expand a config into runs (arm × lr × σ × λ × seed) and group the pending ones into chunks."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ._config import ARMS, ToyConfig, kaiming_sigma
from ._engine import Chunk
from .errors import ConfigError

__all__ = ["KEY", "best_sigmas", "chunks", "phase_one", "phase_two", "rows_per_chunk"]

KEY = ["arm", "lr", "sigma", "shrink", "seed"]
# The arm whose best σ (per lr) a shrinkage arm starts from.
BASE_ARM = {"stable_lora": "init_A", "stable_lora_AB": "init_AB"}


def _frame(rows: list[tuple]) -> pd.DataFrame:
    """Rows (arm, lr, σ, λ, seed) as a DataFrame with the KEY columns."""
    df = pd.DataFrame(rows, columns=KEY)
    return df.astype({"arm": object, "lr": float, "sigma": float, "shrink": float, "seed": int})


def phase_one(config: ToyConfig) -> pd.DataFrame:
    """The runs of the arms without shrinkage: the whole lr × σ grid, every seed."""
    rows = [(arm, lr, sigma, math.nan, seed)
            for arm in config.arms if not ARMS[arm][1]
            for seed in config.seeds for lr in config.lrs for sigma in config.sigmas]
    return _frame(rows)


def best_sigmas(runs: pd.DataFrame, arm: str) -> dict[float, float]:
    """For each lr, the σ with the lowest mean test loss of ``arm`` over seeds (NaN = +∞)."""
    sub = runs[runs["arm"] == arm].copy()
    sub["test_loss"] = sub["test_loss"].fillna(np.inf)
    means = sub.groupby(["lr", "sigma"])["test_loss"].mean().reset_index()
    best = means.loc[means.groupby("lr")["test_loss"].idxmin()]
    return dict(zip(best["lr"], best["sigma"], strict=True))


def phase_two(config: ToyConfig, runs: pd.DataFrame) -> pd.DataFrame:
    """The shrinkage runs: lr × λ at σ_k and (when asked) at the base arm's best σ per lr.

    Raises:
        ConfigError: ``"best"`` σ asked for without the base arm in the grid.
    """
    rows = []
    for arm in (a for a in config.arms if ARMS[a][1]):
        best = {}
        if "best" in config.stable_sigmas:
            if BASE_ARM[arm] not in config.arms:
                raise ConfigError(f"arm {arm} at the best σ needs arm {BASE_ARM[arm]} in the "
                                  "grid; add it or use stable_sigmas = ['kaiming']")
            best = best_sigmas(runs, BASE_ARM[arm])
        for lr in config.lrs:
            sigmas = []
            if "kaiming" in config.stable_sigmas:
                sigmas.append(kaiming_sigma(config.n))
            if lr in best and best[lr] not in sigmas:
                sigmas.append(best[lr])
            rows += [(arm, lr, sigma, lam, seed) for seed in config.seeds
                     for sigma in sigmas for lam in config.shrinks]
    return _frame(rows)


def rows_per_chunk(config: ToyConfig, budget_bytes: int = 3 * 2**30, cap: int = 64) -> int:
    """Runs per chunk: ``chunk_rows`` if set, else what fits ``budget_bytes`` (at most ``cap``).

    A run holds A, Bᵀ, their gradients and two Adam moments (8·r·n floats) and the
    hidden activations and their gradient (2·b·n floats).
    """
    if config.chunk_rows:
        return config.chunk_rows
    per_row = 4 * (8 * config.r * config.n + 2 * config.batch * config.n)
    return max(1, min(cap, budget_bytes // per_row))


def chunks(pending: pd.DataFrame, size: int) -> list[tuple[pd.DataFrame, Chunk]]:
    """Group pending runs by seed and shrinkage, sorted by lr, into even chunks of ≤ ``size``.

    Runs of one seed share their batches; arms with and without shrinkage are kept apart
    so that only Stable-LoRA runs pay for the shrinker's norms.
    """
    out = []
    pending = pending.assign(_shrinks=pending["arm"].map(lambda a: ARMS[a][1]))
    for (seed, shrinks), group in pending.groupby(["seed", "_shrinks"], sort=True):
        group = group.sort_values(["lr", "arm", "sigma", "shrink"]).drop(columns="_shrinks")
        parts = -(-len(group) // size)
        for idx in np.array_split(np.arange(len(group)), parts):
            part = group.iloc[idx]
            schemes = tuple(ARMS[a][0] for a in part["arm"])
            out.append((part, Chunk(schemes, int(seed), part["lr"].to_numpy(float),
                                    part["sigma"].to_numpy(float),
                                    part["shrink"].to_numpy(float) if shrinks else None)))
    return out
