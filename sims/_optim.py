"""Batched optimizers (Adam, AdamW, SignSGD, SGD) with per-problem learning rates as tensors."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

BETAS = (0.9, 0.999)  # Adam's (β₁, β₂), torch.optim defaults
EPS = 1e-8  # Adam's ε, torch.optim default


class BatchedOptimizer:
    """One optimizer applied to many independent problems stacked along leading dimensions.

    Every parameter is a tensor whose leading dimensions index independent problems
    (seeds S, configurations C); the learning rate and weight decay are tensors that
    broadcast against it, so each problem has its own η. The update is the same
    arithmetic as ``torch.optim`` (checked in the tests on single slices):

    - ``adam``: Kingma & Ba (2014), g = m̂/(√v̂ + ε), the "optimized gradient" of
      Stable-LoRA Sec. 2.4;
    - ``adamw``: Adam plus decoupled decay p ← (1 − η·w)·p (Algorithm 1's −η·w·A_t);
    - ``signsgd``: g = sign(∇L) (Stable-LoRA Sec. 3.1, the optimizer behind Assumption 1);
    - ``sgd``: g = ∇L (ICML paper, Appendix C).
    """

    def __init__(
        self,
        kind: str,
        params: list[torch.Tensor],
        lrs: list[torch.Tensor],
        weight_decay: torch.Tensor | float = 0.0,
    ) -> None:
        """Set up state for ``params`` (updated in place, may be views).

        Args:
            kind: ``adam``, ``adamw``, ``signsgd`` or ``sgd``.
            params: tensors (..., rows, cols) updated in place.
            lrs: one learning-rate tensor per parameter, broadcastable to it
                (e.g. shape (S, C, 1, 1)).
            weight_decay: AdamW's w, a float or a tensor broadcastable to the parameters.
        """
        import torch

        if kind not in ("adam", "adamw", "signsgd", "sgd"):
            raise ValueError(f"unknown optimizer kind {kind!r}")
        if len(params) != len(lrs):
            raise ValueError("give one learning rate per parameter")
        self.kind = kind
        self.params = params
        self.lrs = lrs
        self.weight_decay = weight_decay
        self.step_count = 0
        if kind in ("adam", "adamw"):
            self.exp_avg = [
                torch.zeros_like(p, memory_format=torch.contiguous_format) for p in params
            ]
            self.scratch = [
                torch.empty_like(p, memory_format=torch.contiguous_format) for p in params
            ]
            self.exp_avg_sq = [
                torch.zeros_like(p, memory_format=torch.contiguous_format) for p in params
            ]

    def step(self, grads: list[torch.Tensor]) -> None:
        """Apply one update p ← p − η·g (plus AdamW's decay) to every parameter.

        The gradients are used as scratch space (SignSGD and SGD overwrite them).
        """
        import torch

        self.step_count += 1
        if self.kind in ("adam", "adamw"):
            beta1, beta2 = BETAS
            bias1 = 1.0 - beta1**self.step_count
            bias2_sqrt = (1.0 - beta2**self.step_count) ** 0.5
            for i, (p, g, lr) in enumerate(zip(self.params, grads, self.lrs, strict=True)):
                if self.kind == "adamw":
                    p.mul_(1.0 - lr * self.weight_decay)
                m, v = self.exp_avg[i], self.exp_avg_sq[i]
                m.lerp_(g, 1.0 - beta1)
                v.mul_(beta2).addcmul_(g, g, value=1.0 - beta2)
                # lr/b₁ · m/(√v/√b₂ + ε) = lr·√b₂/b₁ · m/(√v + ε·√b₂): one pass fewer
                step = torch.sqrt(v, out=self.scratch[i]).add_(EPS * bias2_sqrt)
                torch.div(m, step, out=step)
                p.sub_(step.mul_(lr * (bias2_sqrt / bias1)))
        elif self.kind == "signsgd":
            for p, g, lr in zip(self.params, grads, self.lrs, strict=True):
                p.sub_(g.sign_().mul_(lr))  # g is a scratch gradient: overwritten
        else:
            for p, g, lr in zip(self.params, grads, self.lrs, strict=True):
                p.sub_(g.mul_(lr))  # g is a scratch gradient: overwritten
