"""Shared pytest fixtures: every test starts from the same random state, on one thread."""

import random
from collections.abc import Iterator

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
