"""lora_coord_check and fit_coord_data: known exponents, exact ΔY, engines, PEFT sites, errors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from sims import ConfigError, coord_exponents, fit_coord_data, lora_coord_check
from sims._coord_measure import update_stats
from stablelora import LoRALinear, WidthRule

WIDTHS = [64, 256, 1024]


class OneLayer(nn.Module):
    """Y = W₀Z + s·BAZ on a Θ(1) input with a Θ(1) target: the single layer of the theory."""

    def __init__(self, n: int) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(n)
        self.lora = LoRALinear(n, n, 4, base=nn.Linear(n, n, bias=False))
        with torch.no_grad():
            self.lora.base.weight.normal_(0.0, n**-0.5, generator=gen)
        self.register_buffer("target", torch.randn(4, n, generator=gen))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.lora(z)


def mse(model: nn.Module, z: torch.Tensor) -> torch.Tensor:
    return 0.5 * (model(z) - model.target).pow(2).sum() / z.shape[0]


def inputs(n: int, seed: int, step: int) -> torch.Tensor:
    """A fixed (4, n) N(0, 1) batch per (seed, width)."""
    return torch.randn(4, n, generator=torch.Generator().manual_seed(1000 * seed + n))


def run(**kw):
    args = dict(loss=mse, steps=3, seeds=3, record=[1, 2, 3])
    args.update(kw)
    return lora_coord_check(OneLayer, WIDTHS, inputs, **args)


def cell(summary: pd.DataFrame, step: int, quantity: str) -> pd.Series:
    rows = summary[(summary["step"] == step) & (summary["quantity"] == quantity)]
    assert len(rows) == 1
    return rows.iloc[0]


@pytest.mark.parametrize("eta_exp, sigma_exp", [(-0.5, -0.5), (-1.0, -1.0)])
def test_fit_recovers_exponents_known_by_construction(eta_exp, sigma_exp):
    # Adam's first update is η·sign(g) entrywise (ε ≪ |g|), so after step 1 every entry of
    # B is ±η: γ[B_t] at step 2 is γ[η] exactly. A₀Z has i.i.d. N(0, σ²‖z‖²) entries with
    # ‖z‖² ≈ n: γ[A₀Z] = γ[σ] + 1/2. δ₁ at step 1 is ΔB·A₀Z: γ[η] + γ[σ] + 1/2.
    df = run(lr=WidthRule(0.05, eta_exp), sigma=WidthRule(1.0, sigma_exp))
    fit = fit_coord_data(df)
    bt = cell(fit, 2, "Bt")
    assert bt["gamma_hat"] == pytest.approx(eta_exp, abs=1e-4)
    assert bt["ci_high"] - bt["ci_low"] < 1e-3
    azt = cell(fit, 1, "AtZ")
    assert azt["gamma_hat"] == pytest.approx(sigma_exp + 0.5, abs=0.08)
    d1 = cell(fit, 1, "delta1")
    assert d1["gamma_hat"] == pytest.approx(eta_exp + sigma_exp + 0.5, abs=0.1)
    assert cell(fit, 1, "delta2")["gamma_hat"] == -math.inf  # B₀ = 0


def test_verdicts_follow_theory_and_catch_a_wrong_exponent():
    df = run(lr=WidthRule(0.05, -0.5))
    right = coord_exponents(init="A", lr=WidthRule(0.05, -0.5), sigma=WidthRule(1, -0.5))
    wrong = dict(right, eta="0")  # claims η is width-independent
    ok = fit_coord_data(df, exponents=right)
    bad = fit_coord_data(df, exponents=wrong)
    assert cell(ok, 2, "Bt")["verdict"] == "agree" and cell(ok, 2, "Bt")["gamma_pred"] == -0.5
    assert cell(ok, 1, "delta1")["verdict"] == "agree"
    assert cell(ok, 1, "Z")["verdict"] == "agree"  # the premise: Θ(1) inputs
    assert cell(bad, 2, "Bt")["verdict"] == "disagree" and cell(bad, 2, "Bt")["gamma_pred"] == 0


def test_fit_on_a_synthetic_frame_with_noise():
    rng = np.random.default_rng(0)
    rows = [
        {"width": n, "seed": s, "step": 1, "module": "m", "quantity": "dY",
         "value": 3.0 * n**0.75 * math.exp(0.05 * rng.standard_normal())}
        for n in (128, 256, 512, 1024, 2048) for s in range(8)
    ]
    fit = fit_coord_data(pd.DataFrame(rows))
    row = fit.iloc[0]
    assert row["ci_low"] <= 0.75 <= row["ci_high"]
    assert row["gamma_hat"] == pytest.approx(0.75, abs=0.03)
    assert len(row["local_slopes"].split(";")) == 4 and row["verdict"] == "n/a"


def test_update_stats_dY_is_the_exact_change_of_the_lora_output():
    gen = torch.Generator().manual_seed(0)
    S, N, n, m, r = 2, 5, 16, 12, 3
    Z = torch.randn(S, N, n, generator=gen)
    A0, B0 = torch.randn(S, r, n, generator=gen), torch.randn(S, m, r, generator=gen)
    A1, B1 = A0 + 0.1 * torch.randn_like(A0), B0 + 0.1 * torch.randn_like(B0)
    stats = update_stats(Z, A0, B0, A1, B1, s=1.7)
    direct = 1.7 * (Z.double() @ (B1 @ A1).double().transpose(1, 2)
                    - Z.double() @ (B0 @ A0).double().transpose(1, 2))
    assert torch.allclose(stats["dY"], direct.pow(2).mean(dim=(1, 2)).sqrt())
    assert torch.allclose(stats["Bt"], B0.double().pow(2).mean(dim=(1, 2)).sqrt())


def test_vmap_and_loop_engines_agree_with_shrinkage():
    kw = dict(lr=WidthRule(1.0, -1.5), scale=WidthRule(3e-5, 2.0), shrink=0.2, steps=4,
              record=[1, 4])
    keys = ["width", "seed", "step", "module", "quantity"]
    a = run(engine="vmap", **kw).sort_values(keys).reset_index(drop=True)
    b = run(engine="loop", **kw).sort_values(keys).reset_index(drop=True)
    assert a[keys].equals(b[keys])
    assert np.allclose(a["value"], b["value"], rtol=1e-5, atol=1e-12)
    stopped = a[a["quantity"] == "stopped"]
    assert set(stopped["value"]) <= {0.0, 1.0} and len(stopped) == len(WIDTHS) * 3 * 2
    # the shrink is part of the step: δ₃ = s·ΔB·ΔA·Z ≠ 0 at step 1 although B₀ = 0
    d3 = a[(a["quantity"] == "delta3") & (a["step"] == 1)]["value"]
    assert (d3 > 0).all()


def test_peft_llama_every_adapter_of_every_target_vmap_equals_loop():
    pytest.importorskip("peft")
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    def make(n: int) -> nn.Module:
        cfg = LlamaConfig(vocab_size=32, hidden_size=n, intermediate_size=2 * n,
                          num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
                          max_position_embeddings=8, attn_implementation="eager")
        torch.manual_seed(n)
        model = get_peft_model(LlamaForCausalLM(cfg), LoraConfig(
            r=2, target_modules=["q_proj", "v_proj"], lora_dropout=0.0))
        model.add_adapter("second", LoraConfig(r=2, target_modules=["q_proj"]))
        model.add_adapter("off", LoraConfig(r=2, target_modules=["v_proj"]))
        model.base_model.set_adapter(["default", "second"])  # "off" stays inactive
        return model

    ids = torch.randint(0, 32, (2, 8), generator=torch.Generator().manual_seed(0))
    batch = {"input_ids": ids, "labels": ids}
    keys = ["width", "seed", "step", "module", "quantity"]
    out = [lora_coord_check(make, [16, 32], batch, steps=2, seeds=2, engine=e)
           .sort_values(keys).reset_index(drop=True) for e in ("vmap", "loop")]
    modules = set(out[0]["module"]) - {"(model)"}
    assert modules == {"base_model.model.model.layers.0.self_attn.q_proj[default]",
                       "base_model.model.model.layers.0.self_attn.v_proj[default]",
                       "base_model.model.model.layers.0.self_attn.q_proj[second]"}
    assert np.allclose(out[0]["value"], out[1]["value"], rtol=1e-4, atol=1e-10)
    # both active adapters of q_proj learn: their updates are measured separately
    for name in ("default", "second"):
        rows = out[0][out[0]["module"].str.endswith(f"q_proj[{name}]")
                      & (out[0]["quantity"] == "dY") & (out[0]["step"] == 2)]
        assert (rows["value"] > 0).all()


def test_errors_are_config_errors():
    with pytest.raises(ConfigError, match="optimizer"):
        run(optimizer="lion")
    with pytest.raises(ConfigError, match="engine"):
        run(engine="jit")
    with pytest.raises(ConfigError, match="init"):
        run(init="C")
    with pytest.raises(ConfigError, match="steps"):
        run(steps=0)
    with pytest.raises(ConfigError, match="recorded steps"):
        run(record=[5])
    with pytest.raises(ConfigError, match="seeds"):
        run(seeds=[1, 1])
    with pytest.raises(ConfigError, match="lr"):
        run(lr=-1.0)
    with pytest.raises(ConfigError, match="shrink"):
        run(shrink=1.5)
    with pytest.raises(ConfigError, match="widths"):
        lora_coord_check(OneLayer, [], inputs, loss=mse)
    with pytest.raises(ConfigError, match="no LoRA pair"):
        lora_coord_check(lambda n: nn.Linear(n, n), [8], torch.zeros(1, 8), loss=mse)
    with pytest.raises(ConfigError, match="missing columns"):
        fit_coord_data(pd.DataFrame({"width": [1]}))
    with pytest.raises(ConfigError, match="unknown keys"):
        fit_coord_data(run(steps=1, record=[1]), exponents={"eta": 0, "s": 0, "A0Z": 0,
                                                           "B0": "-oo", "lr": 1})
