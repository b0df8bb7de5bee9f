"""Shared pytest fixtures: every test starts from the same random state."""

import random

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def seed_everything() -> None:
    """Seed Python, NumPy and (when importable) torch before every test."""
    random.seed(0)
    np.random.seed(0)
    try:
        import torch
    except ImportError:  # theory-only environments
        return
    torch.manual_seed(0)
