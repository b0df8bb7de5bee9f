"""Shared helpers of the toymodel tests: tiny synthetic IDX data sets and a tiny config."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from toymodel import ToyConfig, write_idx

STEMS = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def write_dataset(directory: Path, n_train: int, n_test: int, seed: int,
                  compress: bool = True) -> None:
    """Write a learnable synthetic 28×28 data set as the four IDX files into ``directory``.

    Each class lights a different horizontal band of the image, plus noise.
    """
    rng = np.random.default_rng(seed)
    for split, count in (("train", n_train), ("test", n_test)):
        labels = rng.integers(0, 10, count).astype(np.uint8)
        images = rng.integers(0, 60, (count, 28, 28)).astype(np.uint8)
        for i, y in enumerate(labels):
            images[i, 2 * y:2 * y + 3, :] = 255
        write_idx(directory / f"{STEMS[split][0]}{'.gz' if compress else ''}", images,
                  compress=compress)
        write_idx(directory / f"{STEMS[split][1]}{'.gz' if compress else ''}", labels,
                  compress=compress)


def make_data_dir(root: Path) -> Path:
    """``root/data`` with ``mnist/`` and ``fashion-mnist/`` synthetic IDX files."""
    data = root / "data"
    write_dataset(data / "mnist", 80, 20, seed=1)
    write_dataset(data / "fashion-mnist", 120, 40, seed=2, compress=False)
    return data


def tiny_config(**overrides: object) -> ToyConfig:
    """A config small enough to pretrain and fine-tune in well under a second."""
    fields = dict(n=16, r=2, pretrain_steps=30, pretrain_batch=16, steps=4, batch=8,
                  lrs=(1e-3, 1e-2), sigmas=(1e-3, 1e-1), shrinks=(0.1, 0.5), seeds=(0, 1),
                  grid="test", device="cpu")
    fields.update(overrides)
    return ToyConfig(**fields)
