"""create_stablelora_optimizer: build an optimizer over a model's trainable parameters, attached."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ._attach import attach
from .errors import PairingError

__all__ = ["create_stablelora_optimizer"]


def create_stablelora_optimizer(
    model: nn.Module,
    optimizer_cls: type[torch.optim.Optimizer],
    *,
    lr: float,
    shrink: float,
    stop_condition: bool = True,
    **optimizer_kwargs: Any,
) -> torch.optim.Optimizer:
    """An optimizer over ``model``'s trainable parameters with Stable-LoRA attached.

    Shaped like PEFT's ``create_loraplus_optimizer``: the trainable parameters of two or
    more dimensions (LoRA A and B, any trained matrix) form one group with the optimizer's
    weight decay, and the rest (biases, norm weights: what ``transformers.Trainer`` exempts)
    a second group with ``weight_decay=0``; then :func:`stablelora.attach` adds Algorithm 1
    (Stable-LoRA, Section 4). Pass the result to ``Trainer(optimizers=(opt, scheduler))``.

    Args:
        model: the model holding the LoRA layers (e.g. a PEFT model).
        optimizer_cls: a torch optimizer class, e.g. ``torch.optim.AdamW``.
        lr: the learning rate η.
        shrink: λ in [0, 1).
        stop_condition: stop shrinking a pair once ‖A‖_F/n ≤ ‖B‖_F/m.
        **optimizer_kwargs: passed to ``optimizer_cls`` (``weight_decay``, ``betas``, ...).

    Returns:
        The optimizer, with Stable-LoRA attached.

    Raises:
        PairingError: if ``model`` has no trainable parameter or no trained LoRA pair.
        ShrinkRateError: if λ is outside [0, 1).
    """
    trainable = [p for p in model.parameters() if p.requires_grad]
    if not trainable:
        raise PairingError("the model has no trainable parameter (requires_grad=True)")
    groups: list[dict[str, Any]] = [{"params": [p for p in trainable if p.dim() >= 2]}]
    flat = [p for p in trainable if p.dim() < 2]
    if flat:
        groups.append({"params": flat, "weight_decay": 0.0})
    optimizer = optimizer_cls(groups, lr=lr, **optimizer_kwargs)
    return attach(optimizer, model, shrink=shrink, stop_condition=stop_condition)
