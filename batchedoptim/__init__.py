"""Batched optimizers: Adam, AdamW, SignSGD, SGD over stacked problems, each with its own η."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ._blocks import blocks
from ._optimizers import (
    BatchedAdam,
    BatchedAdamW,
    BatchedOptimizer,
    BatchedSGD,
    BatchedSignSGD,
    HyperParam,
)

OPTIMIZERS: dict[str, type[BatchedOptimizer]] = {
    "adam": BatchedAdam,
    "adamw": BatchedAdamW,
    "signsgd": BatchedSignSGD,
    "sgd": BatchedSGD,
}


def make_optimizer(name: str, params: Sequence[torch.Tensor], lr: HyperParam,
                   **options: object) -> BatchedOptimizer:
    """The batched optimizer called ``name`` (a key of ``OPTIMIZERS``) over ``params``.

    Args:
        name: ``adam``, ``adamw``, ``signsgd`` or ``sgd``.
        params: tensors (*problem dims, …) updated in place.
        lr: η per problem, a tensor broadcastable to the parameters (or one per parameter).
        **options: the class's keyword options (``weight_decay`` for AdamW, ``betas``,
            ``eps``, ``fused`` for Adam and AdamW).

    Raises:
        ValueError: an unknown name (the message lists the known ones).
    """
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; known: {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name](params, lr, **options)


__all__ = [
    "OPTIMIZERS",
    "BatchedAdam",
    "BatchedAdamW",
    "BatchedOptimizer",
    "BatchedSGD",
    "BatchedSignSGD",
    "HyperParam",
    "blocks",
    "make_optimizer",
]
