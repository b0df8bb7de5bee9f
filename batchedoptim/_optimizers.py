"""Adam, AdamW, SignSGD and SGD over many independent problems stacked in one tensor."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ._blocks import Index, blocks

__all__ = ["BatchedAdam", "BatchedAdamW", "BatchedOptimizer", "BatchedSGD", "BatchedSignSGD"]

HyperParam = torch.Tensor | float | Sequence[torch.Tensor | float]
_FUSED_DEVICES = ("cpu", "cuda")
_FUSED_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def _per_param(value: HyperParam, count: int, name: str) -> list[torch.Tensor]:
    """One tensor per parameter from a tensor/float (shared) or a sequence (one each)."""
    if isinstance(value, Sequence) and not isinstance(value, torch.Tensor):
        if len(value) != count:
            raise ValueError(f"give one {name} per parameter ({count}), not {len(value)}")
        return [torch.as_tensor(v) for v in value]
    return [torch.as_tensor(value)] * count


class BatchedOptimizer:
    """An optimizer over parameters whose leading dimensions index independent problems.

    Each hyper-parameter is a tensor that broadcasts against its parameter and varies only
    over leading dimensions (one learning rate per seed × configuration, say). At
    construction the parameters are cut into blocks on which every hyper-parameter is one
    number (:func:`blocks`), and the blocks that share their numbers form a group. Every
    step hands each group to torch's own kernel for one parameter group of ``torch.optim``
    (fused or single-tensor), with the group's blocks as the tensor list: row by row, the
    arithmetic is ``torch.optim``'s, bit for bit.

    Subclasses set ``hyper_names`` and implement ``_update``.
    """

    hyper_names: tuple[str, ...] = ("lr",)

    def __init__(self, params: Sequence[torch.Tensor], **hypers: HyperParam) -> None:
        """Group the problems of ``params`` (updated in place; views are fine) by hyper-parameters.

        Args:
            params: tensors (*problem dims, …) updated in place.
            **hypers: one entry per name in ``hyper_names``: a tensor (or float) shared by
                every parameter, or one per parameter, broadcastable to it.

        Raises:
            ValueError: a hyper-parameter does not broadcast to its parameter, or the
                number of per-parameter values is wrong.
        """
        self.params = list(params)
        if not self.params:
            raise ValueError("give at least one parameter")
        per_param = [_per_param(hypers[name], len(self.params), name) for name in self.hyper_names]
        grouped: dict[tuple[float, ...], list[tuple[int, Index]]] = {}
        for i, p in enumerate(self.params):
            for values, index in blocks(p, [h[i] for h in per_param]):
                grouped.setdefault(values, []).append((i, index))
        # (hyper-parameters by name, [(parameter number, index of the block)])
        self.groups = [(dict(zip(self.hyper_names, values, strict=True)), members)
                       for values, members in grouped.items()]
        self.step_count = 0
        self._grad_key: tuple | None = None
        self._grad_views: list[list[torch.Tensor]] = []

    def _blocks_of(self, tensors: Sequence[torch.Tensor]) -> list[list[torch.Tensor]]:
        """Per group, the blocks of ``tensors`` (shaped like the parameters), as views."""
        return [[tensors[i][index] for i, index in members] for _, members in self.groups]

    def _grad_blocks(self, grads: Sequence[torch.Tensor]) -> list[list[torch.Tensor]]:
        """The gradients' blocks, cached while the same gradient buffers come back."""
        if len(grads) != len(self.params):
            raise ValueError(f"give one gradient per parameter ({len(self.params)})")
        key = tuple((g.data_ptr(), g.shape, g.stride(), g.dtype, g.device) for g in grads)
        if key != self._grad_key:
            if any(g.shape != p.shape for g, p in zip(grads, self.params, strict=True)):
                raise ValueError("every gradient needs its parameter's shape")
            self._grad_key, self._grad_views = key, self._blocks_of(grads)
        return self._grad_views

    @torch.no_grad()
    def step(self, grads: Sequence[torch.Tensor]) -> None:
        """Apply one update to every problem, given gradients shaped like the parameters."""
        self.step_count += 1
        views = self._grad_blocks(grads)
        for g, ((hyper, _), gs) in enumerate(zip(self.groups, views, strict=True)):
            self._update(g, hyper, gs)

    def _update(self, group: int, hyper: dict[str, float], grads: list[torch.Tensor]) -> None:
        raise NotImplementedError

    @torch.no_grad()
    def finite_state(self, problem_dims: int) -> torch.Tensor:
        """Per problem, whether the optimizer's state holds only finite numbers.

        Under Adam a second moment that overflowed to inf freezes its parameter
        (m/(√v + ε) = 0) while the loss stays finite: divergence the loss does not show.

        Args:
            problem_dims: how many leading dimensions index the problems; every parameter
                must share them.

        Returns:
            bool tensor of shape ``params[0].shape[:problem_dims]``; all True for a
            stateless optimizer.
        """
        lead = self.params[0].shape[:problem_dims]
        if any(p.shape[:problem_dims] != lead for p in self.params):
            raise ValueError(f"the parameters do not share {problem_dims} leading dimensions")
        ok = torch.ones(lead, dtype=torch.bool, device=self.params[0].device)
        for state in self._nonnegative_state():
            # max of entries ≥ 0: inf if one is inf, NaN if one is NaN (one fast reduction)
            ok &= torch.isfinite(state.flatten(problem_dims).amax(dim=-1))
        return ok

    def _nonnegative_state(self) -> list[torch.Tensor]:
        """Full-size state tensors, shaped like their parameters, whose entries are ≥ 0."""
        return []


class BatchedAdam(BatchedOptimizer):
    """Adam (Kingma & Ba 2014) per problem: the update m̂/(√v̂ + ε), Stable-LoRA Sec. 2.4.

    m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,
    p ← p − η · (m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε).

    With ``fused`` (the default where torch has the kernel for the device and dtype) each
    group of equal η is one call of ``torch._fused_adam_``, the kernel of
    ``torch.optim.Adam(fused=True)`` (one read of p, g, m, v and one write of p, m, v per
    entry); otherwise each block runs the single-tensor code of ``torch.optim.Adam``
    (the CPU default). Either way a row equals ``torch.optim.Adam`` with that flag, run
    alone on the row, bit for bit.
    """

    hyper_names = ("lr",)
    _decoupled = False

    def __init__(self, params: Sequence[torch.Tensor], lr: HyperParam, *,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 fused: bool | None = None, **hypers: HyperParam) -> None:
        """Args:
            params: tensors (*problem dims, …) updated in place.
            lr: η, a tensor broadcastable to the parameters (or one per parameter).
            betas: (β₁, β₂), torch's defaults.
            eps: ε, torch's default.
            fused: use torch's fused kernel; None: whenever it can (device cpu/cuda,
                floating dtype, contiguous blocks).

        Raises:
            ValueError: ``fused=True`` where the fused kernel cannot run, or bad shapes.
        """
        super().__init__(params, lr=lr, **hypers)
        self.betas, self.eps = betas, eps
        devices = {p.device for p in self.params}
        if len(devices) != 1:
            raise ValueError("every parameter must be on one device")
        self.exp_avg = [torch.zeros_like(p, memory_format=torch.contiguous_format)
                        for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p, memory_format=torch.contiguous_format)
                           for p in self.params]
        self._p = self._blocks_of(self.params)
        self._m = self._blocks_of(self.exp_avg)
        self._v = self._blocks_of(self.exp_avg_sq)
        why_not = self._why_not_fused()
        if fused and why_not:
            raise ValueError(f"the fused Adam kernel cannot run here: {why_not}")
        self.fused = fused is not False and not why_not
        # torch.optim's per-parameter step counter (float32 on the parameters' device)
        self._step_t = torch.zeros((), dtype=torch.float32, device=devices.pop())

    def _why_not_fused(self) -> str:
        """Why torch's fused kernel cannot take these blocks ('' if it can)."""
        p = self.params[0]
        if not hasattr(torch, "_fused_adam_"):
            return "this torch has no _fused_adam_"
        if p.device.type not in _FUSED_DEVICES:
            return f"device {p.device.type} is not one of {_FUSED_DEVICES}"
        if any(q.dtype not in _FUSED_DTYPES for q in self.params):
            return "a parameter is not floating point"
        # the CPU kernel silently writes wrong entries of a non-contiguous tensor
        if not all(b.is_contiguous() for group in self._p for b in group):
            return "a block of a parameter is not contiguous"
        return ""

    def _nonnegative_state(self) -> list[torch.Tensor]:
        # v alone: |m| ≤ max|g| stays finite unless some g² (hence v) is inf or NaN
        return self.exp_avg_sq

    def _update(self, group: int, hyper: dict[str, float], grads: list[torch.Tensor]) -> None:
        lr, wd = hyper["lr"], hyper.get("weight_decay", 0.0)
        beta1, beta2 = self.betas
        params, ms, vs = self._p[group], self._m[group], self._v[group]
        if self.fused:
            if group == 0:
                self._step_t += 1
            grads = [g if g.is_contiguous() else g.contiguous() for g in grads]
            kernel = torch._fused_adamw_ if self._decoupled else torch._fused_adam_
            kernel(params, grads, ms, vs, [], [self._step_t] * len(params), lr=lr,
                   beta1=beta1, beta2=beta2, weight_decay=wd, eps=self.eps, amsgrad=False,
                   maximize=False)
            return
        # torch.optim.adam._single_tensor_adam, line by line
        step = float(self.step_count)
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        step_size = lr / bias_correction1
        bias_correction2_sqrt = bias_correction2**0.5
        for p, g, m, v in zip(params, grads, ms, vs, strict=True):
            if wd != 0:
                p.mul_(1 - lr * wd)
            m.lerp_(g, 1 - beta1)
            v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
            denom = (v.sqrt() / bias_correction2_sqrt).add_(self.eps)
            p.addcdiv_(m, denom, value=-step_size)


class BatchedAdamW(BatchedAdam):
    """AdamW (Loshchilov & Hutter 2019): Adam plus decoupled decay p ← (1 − η·w)·p first.

    The decay is Algorithm 1's −η·w·A_t. ``weight_decay`` w is a tensor (or float, or one
    per parameter) like η; torch's default 0.01. The fused path is
    ``torch._fused_adamw_`` (``torch.optim.AdamW(fused=True)``).
    """

    hyper_names = ("lr", "weight_decay")
    _decoupled = True

    def __init__(self, params: Sequence[torch.Tensor], lr: HyperParam, *,
                 weight_decay: HyperParam = 0.01, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, fused: bool | None = None) -> None:
        super().__init__(params, lr, betas=betas, eps=eps, fused=fused,
                         weight_decay=weight_decay)


class BatchedSGD(BatchedOptimizer):
    """Plain gradient descent p ← p − η·g (ICML paper, Appendix C): ``torch.optim.SGD``.

    Each group is one ``torch._foreach_add_(p, g, alpha=−η)``, the update of
    ``torch.optim.SGD`` without momentum (one read of p and g, one write of p).
    """

    hyper_names = ("lr",)

    def __init__(self, params: Sequence[torch.Tensor], lr: HyperParam) -> None:
        """Args:
        params: tensors (*problem dims, …) updated in place.
        lr: η, a tensor broadcastable to the parameters (or one per parameter).
        """
        super().__init__(params, lr=lr)
        self._p = self._blocks_of(self.params)

    def _update(self, group: int, hyper: dict[str, float], grads: list[torch.Tensor]) -> None:
        torch._foreach_add_(self._p[group], grads, alpha=-hyper["lr"])


class BatchedSignSGD(BatchedSGD):
    """Sign descent p ← p − η·sign(g) (Stable-LoRA Sec. 3.1, the optimizer of Assumption 1).

    ``torch.optim.SGD`` fed sign(g); the gradients are overwritten by their signs.
    """

    def _update(self, group: int, hyper: dict[str, float], grads: list[torch.Tensor]) -> None:
        torch._foreach_sign_(grads)
        super()._update(group, hyper, grads)
