"""Tests of init_lora_ and WidthRule: the schemes, distributions and their errors."""

import math

import pytest
import torch

from stablelora import InitSchemeError, ShapeError, WidthRule, init_lora_


def pair(S=64, r=8, n=256, m=128):
    return torch.empty(S, r, n), torch.empty(S, m, r)


def test_width_rule_evaluates_coef_times_power():
    assert WidthRule(2.0, -0.5)(16) == pytest.approx(0.5)
    assert WidthRule(3.0, 0.0)(1000) == 3.0
    with pytest.raises(InitSchemeError):
        WidthRule(-1.0, 0.0)
    with pytest.raises(InitSchemeError):
        WidthRule(1.0, math.inf)


def test_init_A_normal_std_follows_width_rule_of_fan_in():
    A, B = pair()
    init_lora_(A, B, "A", sigma_A=WidthRule(2.0, -0.5))
    assert A.std().item() == pytest.approx(2.0 / 16, rel=0.02)
    assert torch.count_nonzero(B) == 0


def test_init_A_uniform_is_stable_lora_pm_one_over_n():
    A, B = pair()
    init_lora_(A, B, "A", sigma_A=WidthRule(1.0, -1.0), distribution="uniform")
    assert A.abs().max().item() <= 1 / 256
    assert A.std().item() == pytest.approx(1 / 256 / math.sqrt(3), rel=0.02)


def test_init_B_and_zero():
    A, B = pair()
    init_lora_(A, B, "B", sigma_A=0.3)  # σ_B falls back to σ_A
    assert torch.count_nonzero(A) == 0 and B.std().item() == pytest.approx(0.3, rel=0.02)
    init_lora_(A, B, "zero")
    assert torch.count_nonzero(A) == 0 and torch.count_nonzero(B) == 0


def test_init_AB_equal_sigma_evaluated_at_width_n_and_separate_sigma():
    A, B = pair()
    init_lora_(A, B, "AB", sigma_A=WidthRule(1.0, -0.5))
    assert A.std().item() == pytest.approx(1 / 16, rel=0.02)
    assert B.std().item() == pytest.approx(1 / 16, rel=0.02)  # n = A.shape[-1], not m or r
    init_lora_(A, B, "AB", sigma_A=0.01, sigma_B=0.2)
    assert B.std().item() == pytest.approx(0.2, rel=0.02)


def test_generator_makes_draws_reproducible():
    A1, B1 = pair(S=2)
    A2, B2 = pair(S=2)
    init_lora_(A1, B1, "AB", generator=torch.Generator().manual_seed(7))
    init_lora_(A2, B2, "AB", generator=torch.Generator().manual_seed(7))
    assert torch.equal(A1, A2) and torch.equal(B1, B2)


def test_parameters_can_be_initialised_in_place():
    A = torch.nn.Parameter(torch.empty(4, 32))
    B = torch.nn.Parameter(torch.empty(16, 4))
    init_lora_(A, B, "A")
    assert A.requires_grad and torch.count_nonzero(B) == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"scheme": "kaiming"},
        {"scheme": "A", "distribution": "laplace"},
        {"scheme": "A", "sigma_B": 0.1},
        {"scheme": "zero", "sigma_A": 0.1},
        {"scheme": "A", "sigma_A": -1.0},
        {"scheme": "A", "sigma_A": math.nan},
        {"scheme": "A", "sigma_A": "1/n"},
    ],
)
def test_bad_init_arguments_raise(kwargs):
    A, B = pair(S=1)
    with pytest.raises(InitSchemeError):
        init_lora_(A, B, **kwargs)


def test_unknown_scheme_message_lists_valid_names():
    A, B = pair(S=1)
    with pytest.raises(InitSchemeError, match="A, B, AB, zero"):
        init_lora_(A, B, "Init[A]")


def test_zero_sigma_b_is_accepted_with_init_A():
    A, B = pair(S=1)
    init_lora_(A, B, "A", sigma_B=0.0)
    assert torch.count_nonzero(B) == 0


def test_mismatched_shapes_raise():
    with pytest.raises(ShapeError):
        init_lora_(torch.empty(4, 8), torch.empty(6, 5), "AB")
