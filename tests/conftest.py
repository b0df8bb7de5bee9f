"""Shared pytest fixtures: every test starts from the same random state, on one thread."""

import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def seed_everything() -> Iterator[None]:
    """Seed Python, NumPy and torch; run torch on one intra-op thread.

    The tests use tiny tensors: one thread avoids OpenMP waits on a shared 2-core CPU and
    makes float results independent of the machine's thread count.
    """
    random.seed(0)
    np.random.seed(0)
    import torch

    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """A results/ directory with both producers' synthetic files (tests/test_figures.py)."""
    from test_figures import write_toymodel, write_width_sweep

    rng = np.random.default_rng(0)
    write_width_sweep(tmp_path / "results" / "width_sweep", rng)
    write_toymodel(tmp_path / "results" / "toymodel", rng)
    return tmp_path / "results"
