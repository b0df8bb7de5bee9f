"""The batched engine against the straightforward loop (full forward, autograd, torch Adam)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from toymodel import (
    Chunk,
    Dataset,
    ToyConfig,
    batch_schedule,
    frozen_features,
    init_pair,
    pretrain,
    reference_run,
    train_chunk,
)


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(0)
    x = rng.random((200, 784), dtype=np.float32)
    y = rng.integers(0, 10, 200)
    xt = rng.random((30, 784), dtype=np.float32)
    yt = rng.integers(0, 10, 30)
    data = Dataset("fashion-mnist", x, y, xt, yt, "synthetic")
    config = ToyConfig(n=32, r=3, pretrain_steps=10, pretrain_batch=16)
    model = pretrain(config, data, torch.device("cpu"), progress=False)
    seed = 4
    schedule = batch_schedule(len(y), 6, 16, seed)  # (steps, b)
    used, local = torch.unique(schedule, return_inverse=True)
    frozen = frozen_features(model, data, used, 0, torch.device("cpu"))
    tensors = [torch.as_tensor(a) for a in (x, y, xt, yt)]
    return model, frozen, schedule, local, tensors, seed


CASES = [
    dict(schemes=("A", "A", "A"), shrink=None, subtract_init=False, scale=1.0,
         stop_condition=True),
    dict(schemes=("AB", "A", "AB"), shrink=None, subtract_init=False, scale=2.0,
         stop_condition=True),
    dict(schemes=("A", "A", "A"), shrink=(0.3, 0.6, 0.3), subtract_init=False, scale=1.0,
         stop_condition=True),
    dict(schemes=("A", "A", "A"), shrink=(0.1, 0.1, 0.2), subtract_init=False, scale=1.0,
         stop_condition=False),
    dict(schemes=("AB", "A", "AB"), shrink=(0.2, 0.2, 0.2), subtract_init=True, scale=0.5,
         stop_condition=True),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{'-'.join(c['schemes'])}-{c['shrink']}-"
                         f"{c['subtract_init']}-{c['stop_condition']}")
def test_batched_matches_reference(setup, case):
    model, frozen, schedule, local, (x, y, xt, yt), seed = setup
    lrs, sigmas = np.array([1e-3, 1e-3, 5e-3]), np.array([1e-2, 2e-1, 5e-2])
    shrink = None if case["shrink"] is None else np.array(case["shrink"])
    chunk = Chunk(case["schemes"], seed, lrs, sigmas, shrink)
    got = train_chunk(chunk, frozen, local, r=3, scale=case["scale"], betas=(0.9, 0.999),
                      eps=1e-8, weight_decay=0.0, subtract_init=case["subtract_init"],
                      stop_condition=case["stop_condition"])
    for g in range(len(lrs)):
        ref = reference_run(model, x, y, xt, yt, schedule, scheme=case["schemes"][g], lr=lrs[g],
                            sigma=sigmas[g], seed=seed, r=3, scale=case["scale"],
                            shrink=None if shrink is None else float(shrink[g]),
                            stop_condition=case["stop_condition"],
                            subtract_init=case["subtract_init"])
        np.testing.assert_allclose(got.train_loss[:, g], ref["train_loss"], rtol=1e-5)
        np.testing.assert_allclose(got.normA[:, g], ref["normA"], rtol=1e-5)
        np.testing.assert_allclose(got.normB[:, g], ref["normB"], rtol=1e-5, atol=1e-12)
        np.testing.assert_allclose(got.test_loss[g], ref["test_loss"], rtol=1e-5)
        assert got.test_acc[g] == pytest.approx(ref["test_acc"], abs=1e-6)
        assert got.stop_step[g] == ref["stop_step"]
    assert np.all(np.diff(got.train_loss[:, 2]) != 0)  # the runs really train


def test_stable_lora_stops_once_A_is_small(setup):
    _, frozen, _, local, _, seed = setup
    chunk = Chunk(("A", "A"), seed, np.array([1e-3, 1e-3]), np.array([0.5, 0.5]),
                  np.array([0.5, 0.0]))
    got = train_chunk(chunk, frozen, local, r=3, scale=1.0, betas=(0.9, 0.999), eps=1e-8,
                      weight_decay=0.0, subtract_init=False, stop_condition=True)
    # λ = 0.5 halves A every step until ‖A‖/n ≤ ‖B‖/m; λ = 0 never shrinks and never fires
    assert got.normA[0, 0] < 0.6 * got.normA[0, 1]
    assert got.stop_step[1] == -1


def test_init_is_paired_across_arms_and_sigmas():
    A1, B1 = init_pair("A", 1e-3, 7, 2, 8)
    A2, B2 = init_pair("AB", 2e-3, 7, 2, 8)
    torch.testing.assert_close(2 * A1, A2)  # same noise, σ rescales it
    assert torch.all(B1 == 0) and B2.abs().sum() > 0
    A3, _ = init_pair("A", 1e-3, 8, 2, 8)
    assert not torch.equal(A1, A3)
