"""Adam over a batch of independent runs stacked on dim 0, each run with its own learning rate."""

from __future__ import annotations

import math

import torch

__all__ = ["BatchedAdam"]


def _lr_groups(lr: list[float]) -> list[tuple[int, int, float]]:
    """Maximal runs ``(start, stop, lr)`` of consecutive rows that share a learning rate."""
    groups: list[tuple[int, int, float]] = []
    start = 0
    for i in range(1, len(lr) + 1):
        if i == len(lr) or lr[i] != lr[start]:
            groups.append((start, i, lr[start]))
            start = i
    return groups


class BatchedAdam:
    """Adam (AdamW when ``weight_decay`` > 0) on tensors whose dim 0 indexes G independent runs.

    Row g of every parameter is updated exactly as ``torch.optim.Adam`` (or ``AdamW``)
    would update that run alone with learning rate ``lr[g]`` (ICML paper Appendix D.1:
    β = (0.9, 0.999), ε = 1e-8, no weight decay)::

        m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,
        p ← p(1 − η w) − η · (m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε)

    Rows that share a learning rate are updated by one call of torch's fused Adam kernel
    (one read and one write of p, m, v per element); where that kernel is missing the same
    formula runs as plain tensor ops with the learning rate as a (G, 1, …) tensor. Order
    the rows by learning rate to make the groups few.

    Args:
        params: tensors of shape (G, ...), updated in place.
        lr: (G,) learning rates η, one per run.
        betas: (β₁, β₂).
        eps: ε.
        weight_decay: decoupled weight decay w (AdamW).
        fused: use the fused kernel (None: when torch has it for this device).
    """

    def __init__(
        self,
        params: list[torch.Tensor],
        lr: torch.Tensor,
        *,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        fused: bool | None = None,
    ) -> None:
        G = lr.shape[0]
        if any(p.shape[0] != G for p in params):
            raise ValueError(f"every parameter needs dim 0 of size G = {G}")
        self.params = params
        self.betas = betas
        self.eps = eps
        self.weight_decay = weight_decay
        self.t = 0
        self.exp_avg = [torch.zeros_like(p) for p in params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in params]
        self.lr = lr.to(params[0].device, params[0].dtype)  # (G,)
        self.groups = _lr_groups([float(x) for x in lr.tolist()])
        kernel = torch._fused_adamw_ if weight_decay else torch._fused_adam_
        self._kernel = kernel if fused is not False and hasattr(torch, "_fused_adam_") else None
        self._step_t = torch.zeros((), device=params[0].device, dtype=torch.float32)

    @torch.no_grad()
    def step(self, grads: list[torch.Tensor]) -> None:
        """Apply one Adam update to every run, given the gradients (same shapes as params)."""
        self.t += 1
        if self._kernel is not None:
            self._step_t.fill_(self.t)
            for start, stop, lr in self.groups:
                n = len(self.params)
                self._kernel(
                    [p[start:stop] for p in self.params],
                    [g[start:stop] for g in grads],
                    [m[start:stop] for m in self.exp_avg],
                    [v[start:stop] for v in self.exp_avg_sq],
                    [],
                    [self._step_t] * n,
                    lr=lr,
                    beta1=self.betas[0],
                    beta2=self.betas[1],
                    weight_decay=self.weight_decay,
                    eps=self.eps,
                    amsgrad=False,
                    maximize=False,
                )
            return
        beta1, beta2 = self.betas
        bc1 = 1.0 - beta1**self.t
        bc2_sqrt = math.sqrt(1.0 - beta2**self.t)
        for p, g, m, v in zip(self.params, grads, self.exp_avg, self.exp_avg_sq, strict=True):
            lr = self.lr.view((-1,) + (1,) * (p.dim() - 1))  # (G, 1, ...)
            if self.weight_decay:
                p.mul_(1.0 - lr * self.weight_decay)
            m.lerp_(g, 1.0 - beta1)
            v.mul_(beta2).addcmul_(g, g, value=1.0 - beta2)
            denom = (v.sqrt() / bc2_sqrt).add_(self.eps)
            p.addcdiv_(m * (lr / bc1), denom, value=-1.0)
