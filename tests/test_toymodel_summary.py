"""Summary per learning rate: best config per arm, paired improvement over Init[A], wins."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from toymodel import ARMS, GRIDS, ToyConfig, apply_grid, format_summary, summarize
from toymodel._grid import best_sigmas, chunks, phase_one, phase_two


def _runs():
    rows = []
    for seed, (a_good, a_bad, ab) in enumerate([(2.0, 3.0, 1.5), (2.2, 3.1, 2.4)]):
        rows += [("init_A", 1e-3, 1e-3, math.nan, seed, a_good, 0.5, 1.0, pd.NA, False),
                 ("init_A", 1e-3, 1e-1, math.nan, seed, a_bad, 0.4, 1.0, pd.NA, False),
                 ("init_AB", 1e-3, 1e-3, math.nan, seed, ab, 0.6, 1.0, pd.NA, False),
                 ("init_AB", 1e-3, 1e-1, math.nan, seed, math.nan, 0.1, math.nan, pd.NA, True),
                 ("stable_lora", 1e-3, 1e-3, 0.01, seed, 1.8, 0.6, 1.0, 3, False)]
    return pd.DataFrame(rows, columns=["arm", "lr", "sigma", "shrink", "seed", "test_loss",
                                       "test_acc", "final_train_loss", "stop_step", "diverged"])


def test_summary_pairs_seeds_and_picks_best_config():
    s = summarize(_runs()).set_index("arm")
    assert s.loc["init_A", "sigma"] == 1e-3 and s.loc["init_A", "test_loss_mean"] == 2.1
    assert math.isnan(s.loc["init_A", "improvement_mean"])
    # Init[AB]: seed 0 (2.0 - 1.5)/2.0 = 0.25, seed 1 (2.2 - 2.4)/2.2 = -1/11
    assert s.loc["init_AB", "improvement_mean"] == pytest.approx((0.25 - 1 / 11) / 2)
    assert s.loc["init_AB", "wins"] == "1/2" and s.loc["init_AB", "n_diverged"] == 0
    assert s.loc["stable_lora", "shrink"] == 0.01 and s.loc["stable_lora", "wins"] == "2/2"
    text = format_summary(summarize(_runs()))
    assert "+7.95%" in text


def test_best_sigma_treats_divergence_as_worst():
    runs = _runs()
    assert best_sigmas(runs, "init_AB") == {1e-3: 1e-3}


def test_grid_expansion_sizes():
    config = apply_grid(ToyConfig(), "paper")
    first = phase_one(config)
    assert len(first) == 2 * 10 * 12 * 10  # (Init[A], Init[AB]) × lr × σ × seeds
    second = phase_two(config, _runs().assign(lr=3e-4))
    # λ × seeds per lr at σ_k, plus the best σ where Init[A] has results (lr 3e-4 here)
    assert len(second) == 10 * 6 * 10 + 6 * 10
    parts = chunks(first, 48)
    assert all(len(rows) <= 48 and len(set(rows["seed"])) == 1 for rows, _ in parts)
    assert sum(len(rows) for rows, _ in parts) == len(first)
    assert set(GRIDS) == {"quick", "paper"} and set(ARMS) >= {"init_A", "init_AB", "stable_lora"}


def test_grid_file_toml(tmp_path):
    path = tmp_path / "g.toml"
    path.write_text('lrs = [1e-3]\nsigmas = [2e-2, 3e-2]\nseeds = [4]\narms = ["init_A"]\n')
    config = apply_grid(ToyConfig(), str(path))
    assert config.lrs == (1e-3,) and config.seeds == (4,) and config.grid == str(path)
