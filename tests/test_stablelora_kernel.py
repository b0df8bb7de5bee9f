"""Tests of stable_shrink_: the batched Algorithm 1 step against a per-pair Python reference."""

import itertools

import pytest
import torch

from stablelora import ShapeError, ShrinkRateError, stable_shrink_


def reference_step(A, B, stable, lam, stop_condition):
    """Algorithm 1 for each pair separately, with Python branches (the plain reading)."""
    shrunk = torch.zeros_like(stable)
    for idx in itertools.product(*map(range, stable.shape)):
        a, b = A[idx], B[idx]
        if stop_condition and bool(stable[idx]):
            continue
        if a.norm() / a.shape[-1] > b.norm() / b.shape[-2]:
            a.mul_(1 - lam)
            shrunk[idx] = True
        elif stop_condition:
            stable[idx] = True
    return shrunk


@pytest.mark.parametrize("stop_condition", [True, False])
def test_batched_step_matches_per_pair_reference(stop_condition):
    S, C, r, n, m = 3, 2, 4, 24, 16
    A = torch.randn(S, C, r, n) / n
    B = torch.randn(S, C, m, r) * torch.logspace(-4, 0, S * C).reshape(S, C, 1, 1) / m
    A_ref, B_ref = A.clone(), B.clone()
    stable = torch.zeros(S, C, dtype=torch.bool)
    stable_ref = stable.clone()
    for _ in range(100):
        B.mul_(1.1)  # B grows as in training, so pairs become stable at different steps
        B_ref.mul_(1.1)
        mask = stable_shrink_(A, B, stable, 0.05, stop_condition=stop_condition)
        shrunk = reference_step(A_ref, B_ref, stable_ref, 0.05, stop_condition)
        assert torch.equal(mask, shrunk)
        assert torch.equal(stable, stable_ref)
        torch.testing.assert_close(A, A_ref, rtol=0, atol=1e-7)
    assert not stop_condition or stable.all()  # every pair stopped within 100 steps
    assert stop_condition or not stable.any()  # the ablation leaves the flags alone


def test_stable_is_for_good_but_ablation_shrinks_again():
    A = torch.ones(1, 2, 3)
    B = torch.full((1, 3, 2), 10.0)
    stable = torch.zeros(1, dtype=torch.bool)
    assert not stable_shrink_(A, B, stable, 0.5).any() and stable.all()
    B.zero_()  # the inequality holds again
    assert not stable_shrink_(A, B, stable, 0.5).any()
    assert torch.equal(A, torch.ones(1, 2, 3))
    assert stable_shrink_(A, B, stable, 0.5, stop_condition=False).all()
    assert torch.equal(A, torch.full((1, 2, 3), 0.5))


def test_tensor_shrink_rate_per_config_and_unbatched_pair():
    A = torch.ones(2, 2, 4)
    B = torch.zeros(2, 5, 2)
    stable = torch.zeros(2, dtype=torch.bool)
    stable_shrink_(A, B, stable, torch.tensor([0.1, 0.5]))
    torch.testing.assert_close(A[:, 0, 0], torch.tensor([0.9, 0.5]))
    a, b, s = torch.ones(2, 4), torch.zeros(5, 2), torch.zeros((), dtype=torch.bool)
    assert stable_shrink_(a, b, s, 0.25).item() and torch.all(a == 0.75)


def test_bf16_norms_accumulate_in_float32():
    A = torch.full((8, 64), 1e-2, dtype=torch.bfloat16)
    B = torch.zeros(64, 8, dtype=torch.bfloat16)
    stable_shrink_(A, B, torch.zeros((), dtype=torch.bool), 0.5)
    assert A.dtype == torch.bfloat16 and float(A[0, 0]) == pytest.approx(5e-3, rel=1e-2)


def test_parameters_are_shrunk_in_place_without_autograd_error():
    A = torch.nn.Parameter(torch.ones(2, 3))
    B = torch.nn.Parameter(torch.zeros(4, 2))
    stable_shrink_(A, B, torch.zeros((), dtype=torch.bool), 0.5)
    assert A.grad_fn is None and torch.all(A == 0.5)


@pytest.mark.parametrize(
    "shapes",
    [((2, 3, 4), (2, 5, 2)), ((3, 4), (2, 5, 3)), ((2, 3, 4), (3, 5, 3)), ((4,), (4,))],
)
def test_mismatched_shapes_raise(shapes):
    A, B = torch.ones(shapes[0]), torch.ones(shapes[1])
    with pytest.raises(ShapeError):
        stable_shrink_(A, B, torch.zeros(A.shape[:-2], dtype=torch.bool), 0.1)


def test_flags_must_be_bool_of_the_batch_shape():
    A, B = torch.ones(2, 3, 4), torch.ones(2, 5, 3)
    with pytest.raises(ShapeError):
        stable_shrink_(A, B, torch.zeros(3, dtype=torch.bool), 0.1)
    with pytest.raises(ShapeError):
        stable_shrink_(A, B, torch.zeros(2), 0.1)


@pytest.mark.parametrize("lam", [-0.1, 1.0, 2.0])
def test_shrink_rate_outside_unit_interval_raises(lam):
    with pytest.raises(ShrinkRateError, match="0 <= λ < 1"):
        stable_shrink_(torch.ones(3, 4), torch.ones(5, 3), torch.zeros((), dtype=torch.bool), lam)
