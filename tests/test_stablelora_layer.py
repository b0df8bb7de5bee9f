"""Tests of LoRALinear: the forward formula, Init[AB] vs Init[AB+], and bad arguments."""

import pytest
import torch
from torch import nn

from stablelora import InitSchemeError, LoRALinear, ShapeError, WidthRule, find_lora_pairs


def test_forward_is_base_plus_scaled_BA():
    base = nn.Linear(12, 20)
    layer = LoRALinear(12, 20, 3, scaling=0.5, init="AB", sigma_A=0.3, base=base)
    z = torch.randn(5, 7, 12)  # (b, b', n)
    expected = base(z) + 0.5 * z @ layer.lora_A.T @ layer.lora_B.T
    torch.testing.assert_close(layer(z), expected)
    assert layer.lora_A.shape == (3, 12) and layer.lora_B.shape == (20, 3)
    assert not base.weight.requires_grad and layer.lora_A.requires_grad


def test_no_base_is_the_width_probe():
    layer = LoRALinear(8, 6, 2, scaling=2.0, init="AB")
    z = torch.randn(4, 8)
    torch.testing.assert_close(layer(z), 2.0 * z @ (layer.lora_B @ layer.lora_A).T)


def test_init_A_starts_at_the_pretrained_function():
    base = nn.Linear(10, 10)
    layer = LoRALinear(10, 10, 2, base=base)
    z = torch.randn(3, 10)
    torch.testing.assert_close(layer(z), base(z))


def test_subtract_init_is_init_AB_and_without_it_init_AB_plus():
    torch.manual_seed(3)
    base = nn.Linear(16, 16)
    W0 = base.weight.detach().clone()
    z = torch.randn(4, 16)
    ref = base(z).detach()
    ab = LoRALinear(16, 16, 4, scaling=3.0, init="AB", sigma_A=0.5, base=base,
                    subtract_init=True)
    torch.testing.assert_close(ab(z), ref, rtol=1e-5, atol=1e-5)  # Init[AB]: f unchanged
    torch.testing.assert_close(base.weight, W0 - 3.0 * ab.lora_B @ ab.lora_A)
    plus = LoRALinear(16, 16, 4, scaling=3.0, init="AB", sigma_A=0.5, base=nn.Linear(16, 16))
    assert (plus(z) - plus.base(z)).abs().max() > 0.1  # Init[AB+]: starts elsewhere


def test_reset_parameters_redraws_with_the_scheme_and_width_rule():
    layer = LoRALinear(400, 30, 8, init="A", sigma_A=WidthRule(1.0, -1.0),
                       distribution="uniform")
    assert layer.lora_A.abs().max() <= 1 / 400 and torch.count_nonzero(layer.lora_B) == 0
    A_old = layer.lora_A.detach().clone()
    layer.reset_parameters(generator=torch.Generator().manual_seed(1))
    assert not torch.equal(layer.lora_A, A_old)
    assert "init='A'" in repr(layer)


def test_is_found_as_a_pair_with_n_and_m():
    model = nn.Sequential(LoRALinear(12, 20, 3), nn.ReLU(), LoRALinear(20, 5, 3))
    pairs, unpaired = find_lora_pairs(model)
    assert [(p.name, p.n, p.m) for p in pairs] == [("0", 12, 20), ("2", 20, 5)]
    assert pairs[0].A is model[0].lora_A and unpaired == []


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"r": 0}, ShapeError),
        ({"base": nn.Linear(5, 20)}, ShapeError),
        ({"base": nn.Conv1d(12, 20, 1)}, ShapeError),
        ({"subtract_init": True}, InitSchemeError),
        ({"init": "kaiming"}, InitSchemeError),
        ({"distribution": "cauchy"}, InitSchemeError),
    ],
)
def test_bad_arguments_raise(kwargs, error):
    args = {"in_features": 12, "out_features": 20, "r": 3} | kwargs
    with pytest.raises(error):
        LoRALinear(**args)
