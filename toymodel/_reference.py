"""The straightforward fine-tuning loop (one run, full forward, autograd, torch.optim.Adam)."""

from __future__ import annotations

import numpy as np
import torch

from stablelora import stable_shrink_

from ._engine import init_pair
from ._model import Pretrained

__all__ = ["reference_run"]


def reference_run(model: Pretrained, x_train: torch.Tensor, y_train: torch.Tensor,
                  x_test: torch.Tensor, y_test: torch.Tensor, batches: torch.Tensor, *,
                  scheme: str, lr: float, sigma: float, seed: int, r: int, scale: float = 1.0,
                  shrink: float | None = None, stop_condition: bool = True,
                  betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                  weight_decay: float = 0.0, subtract_init: bool = False) -> dict:
    """Fine-tune one LoRA run the plain way, as a check on :func:`train_chunk`.

    Every step runs f(X) = W_out·relu((W₀ + s·BA)·relu(W_in·X)) from the images, autograd
    computes the gradients of A and B, Stable-LoRA (Algorithm 1) shrinks A, and
    ``torch.optim.Adam`` (``AdamW`` with weight decay) updates them. Same init and batches
    as the batched engine, so the numbers must agree to float tolerance.

    Args:
        model: pretrained weights.
        x_train: (N, d) images; ``batches`` index them.
        y_train: (N,) labels.
        x_test: (N_test, d) test images.
        y_test: (N_test,) test labels.
        batches: (steps, b) indices.
        scheme: ``"A"`` or ``"AB"``.
        lr: η.
        sigma: init std σ.
        seed: fine-tuning seed.
        r: rank.
        scale: LoRA scaling s.
        shrink: Stable-LoRA λ (None: no shrinkage).
        stop_condition: Stable-LoRA's stop condition.
        betas: Adam betas.
        eps: Adam ε.
        weight_decay: decoupled weight decay.
        subtract_init: use W₀ − s·B₀A₀.

    Returns:
        ``test_loss, test_acc, train_loss (steps,), normA (steps,), normB (steps,), stop_step``.
    """
    n = model.W0.shape[0]
    A0, B0 = init_pair(scheme, sigma, seed, r, n)
    A = A0.clone().requires_grad_(True)  # (r, n)
    B = B0.clone().requires_grad_(True)  # (n, r)
    W0 = model.W0 - scale * (B0 @ A0) if subtract_init and scheme == "AB" else model.W0
    cls = torch.optim.AdamW if weight_decay else torch.optim.Adam
    opt = cls([A, B], lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
    stable = torch.zeros((), dtype=torch.bool)

    def forward(x: torch.Tensor) -> torch.Tensor:
        z = torch.relu(x @ model.W_in.T)  # (b, n)
        return torch.relu(z @ (W0 + scale * B @ A).T) @ model.W_out.T  # (b, 10)

    train_loss, normA, normB, stop_step = [], [], [], -1
    for k, idx in enumerate(batches):
        loss = torch.nn.functional.cross_entropy(forward(x_train[idx]), y_train[idx])
        opt.zero_grad()
        loss.backward()
        if shrink is not None:
            was = bool(stable)
            stable_shrink_(A.data, B.data, stable, shrink, stop_condition=stop_condition)
            if bool(stable) and not was:
                stop_step = k + 1
        opt.step()
        train_loss.append(loss.item())
        normA.append(A.detach().norm().item() / n)
        normB.append(B.detach().norm().item() / n)
    with torch.no_grad():
        logits = forward(x_test)
        test_loss = torch.nn.functional.cross_entropy(logits, y_test).item()
        test_acc = (logits.argmax(1) == y_test).float().mean().item()
    return {"test_loss": test_loss, "test_acc": test_acc, "train_loss": np.array(train_loss),
            "normA": np.array(normA), "normB": np.array(normB), "stop_step": stop_step}
