"""The built-in models of ``python -m sims.coord_check``: the ICML toy model and a tiny LLaMA."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from stablelora import LoRALinear

from .errors import ConfigError


class ToyLoRAModel(nn.Module):
    """f(X) = W_out·relu((W₀ + s·BA)·relu(W_in·X)) (ICML paper Section 3.4, Appendix D.1).

    W_in (n, d), W₀ (n, n) and W_out (10, n) are frozen pretrained weights; the LoRA pair
    (A ∈ ℝ^{r×n}, B ∈ ℝ^{n×r}) is a ``stablelora.LoRALinear`` whose base is W₀ (B₀A₀ is not
    subtracted, as in the paper).
    """

    def __init__(self, W_in: torch.Tensor, W0: torch.Tensor, W_out: torch.Tensor, r: int,
                 scaling: float = 1.0) -> None:
        super().__init__()
        n = W0.shape[0]
        self.register_buffer("W_in", W_in)
        self.register_buffer("W_out", W_out)
        base = nn.Linear(n, n, bias=False)
        with torch.no_grad():
            base.weight.copy_(W0)
        self.lora = LoRALinear(n, n, r, scaling=scaling, base=base)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(b, d) images -> (b, 10) logits."""
        z = torch.relu(x @ self.W_in.T)  # (b, n)
        return torch.relu(self.lora(z)) @ self.W_out.T  # (b, 10)


@dataclass
class BuiltIn:
    """A model family for ``lora_coord_check``: builder, batches, loss and what they are."""

    make_model: Callable[[int], nn.Module]
    batches: Any  # a fixed batch or (width, seed, step) -> batch
    loss: Callable[[nn.Module, Any], torch.Tensor] | None
    info: dict


def toy_model(*, steps: int, rank: int = 32, batch: int = 64, pretrain_steps: int = 2000,
              cache_dir: str | Path | None = None, data_dir: str | Path | None = None,
              fixed_batch: bool = False, progress: bool = False) -> BuiltIn:
    """The toy model at any width, pretrained per width on MNIST (toymodel's cached
    pretraining), fine-tuned on Fashion-MNIST: seed i uses toymodel's batch order of seed i.

    Raises:
        ConfigError: when MNIST or Fashion-MNIST cannot be found (toymodel's message).
    """
    from toymodel import (
        ToyConfig,
        ToyModelError,
        batch_schedule,
        default_cache_dir,
        load_dataset,
        load_or_pretrain,
    )

    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    try:
        mnist = load_dataset("mnist", data_dir=data_dir, cache_dir=cache, download=False,
                             need_test=False)
        fashion = load_dataset("fashion-mnist", data_dir=data_dir, cache_dir=cache,
                               download=False, need_test=False)
    except ToyModelError as exc:
        raise ConfigError(str(exc)) from None
    x = torch.as_tensor(fashion.x_train)  # (60000, 784)
    y = torch.as_tensor(fashion.y_train)  # (60000,)
    pretrain_info: dict[int, dict] = {}

    def make_model(n: int) -> nn.Module:
        config = ToyConfig(n=n, r=rank, pretrain_steps=pretrain_steps)
        pre = load_or_pretrain(config, mnist, cache, torch.device("cpu"), progress=progress)
        pretrain_info[n] = dict(pre.info)
        return ToyLoRAModel(pre.W_in, pre.W0, pre.W_out, rank)

    schedules: dict[int, torch.Tensor] = {}

    def batches(width: int, seed: int, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        if seed not in schedules:
            schedules[seed] = batch_schedule(len(x), steps, batch, seed)  # (steps, b)
        idx = schedules[seed][0 if fixed_batch else step - 1]
        return x[idx], y[idx]

    info = {"model": "toy", "d": 784, "r": rank, "batch": batch, "pretrain_steps": pretrain_steps,
            "pretrain_data": mnist.source, "finetune_data": fashion.source,
            "batches": "fixed (step 1's batch)" if fixed_batch else "toymodel's order per seed",
            "pretrain": pretrain_info}
    return BuiltIn(make_model, batches, None, info)


LLAMA_TARGETS = ("q_proj", "v_proj", "up_proj", "down_proj")


def llama_model(*, rank: int = 4, layers: int = 2, head_dim: int = 16, vocab: int = 256,
                batch: int = 4, tokens: int = 32) -> BuiltIn:
    """A tiny LLaMA from ``transformers.LlamaConfig`` at hidden size n (random weights, no
    download) with PEFT LoRA on q/v/up/down, on one fixed token batch.

    Width conventions: heads = n / head_dim (head_dim fixed), intermediate = 2n, and the
    random weights have std n^{-1/2} (``initializer_range``), so every LoRA input has Θ(1)
    entries at every width; the base is seeded by n only.
    """
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    def make_model(n: int) -> nn.Module:
        if n % head_dim:
            raise ConfigError(f"llama: hidden size {n} must be a multiple of head_dim "
                              f"{head_dim}")
        config = LlamaConfig(vocab_size=vocab, hidden_size=n, intermediate_size=2 * n,
                             num_hidden_layers=layers, num_attention_heads=n // head_dim,
                             num_key_value_heads=n // head_dim, head_dim=head_dim,
                             max_position_embeddings=tokens, initializer_range=n ** -0.5,
                             tie_word_embeddings=False, attn_implementation="eager")
        with torch.random.fork_rng():
            torch.manual_seed(n)
            base = LlamaForCausalLM(config)
        lora = LoraConfig(r=rank, lora_alpha=rank, lora_dropout=0.0,
                          target_modules=list(LLAMA_TARGETS))
        return get_peft_model(base, lora)

    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(0, vocab, (batch, tokens), generator=gen)
    fixed = {"input_ids": ids, "labels": ids}
    info = {"model": "llama", "layers": layers, "head_dim": head_dim, "vocab": vocab,
            "intermediate": "2n", "init_std": "n^-1/2", "r": rank, "batch": batch,
            "tokens": tokens, "targets": list(LLAMA_TARGETS)}
    return BuiltIn(make_model, fixed, None, info)
