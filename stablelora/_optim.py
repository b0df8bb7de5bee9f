"""StableLoRA: a wrapper that adds Stable-LoRA's shrinkage (Algorithm 1) to any torch optimizer."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ._group import PairGroup
from ._kernel import check_shrink
from ._pairs import find_lora_pairs
from .errors import PairingError, StateDictError

__all__ = ["StableLoRA"]


class StableLoRA(torch.optim.Optimizer):
    """Stable-LoRA Algorithm 1 around any torch optimizer (AdamW, Adam, SGD, ...).

    Before each update of the wrapped optimizer, every LoRA pair not yet stable has A shrunk
    to (1−λ)·A if ‖A‖_F/n > ‖B‖_F/m, and is otherwise marked stable for good (n =
    in_features, m = out_features); the optimizer's update, weight decay included, then
    acts on the shrunk A, as A_{t+1} = (1−λ)A_t − η g_A^t − η w A_t in Algorithm 1. With
    ``stop_condition=False`` it shrinks whenever the inequality holds (the paper's ablation).

    Pairs are found by module (:class:`LoRALinear`, PEFT's ``LoraLayer``) and managed when
    the optimizer trains their A. Other LoRA parameters (embedding LoRA, DoRA magnitudes)
    are left to the optimizer untouched, with one warning.

    The step never synchronises with the device: norms, flags and stop steps stay on it
    (one ``_foreach_norm`` over all pairs, masked in-place scaling). A step that is skipped
    does not shrink: ``GradScaler.step`` does not call ``step()`` when it found inf, and for
    optimizers that take AMP's ``found_inf`` themselves (fused Adam/AdamW/SGD) the wrapper
    masks the shrink with ``found_inf == 0`` on the device. With gradient accumulation
    there is one shrink per ``step()``. A pair whose A has ``.grad is None`` is not shrunk
    in that step, as the optimizer does not update it.

    Args:
        optimizer: the torch optimizer that trains (at least) the LoRA A's.
        model: the module tree holding the LoRA layers.
        shrink: λ in [0, 1).
        stop_condition: stop shrinking a pair once ‖A‖_F/n ≤ ‖B‖_F/m.

    Raises:
        PairingError: if ``optimizer`` is not a torch optimizer or trains no LoRA pair.
        ShrinkRateError: if λ is outside [0, 1).
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        model: nn.Module,
        shrink: float,
        stop_condition: bool = True,
    ) -> None:
        if not isinstance(optimizer, torch.optim.Optimizer) or isinstance(optimizer, StableLoRA):
            raise PairingError(f"StableLoRA wraps a torch.optim.Optimizer, got {optimizer!r}")
        check_shrink(shrink)
        pairs, unpaired = find_lora_pairs(model)
        trained = {id(p) for g in optimizer.param_groups for p in g["params"]}
        pairs = [p for p in pairs if id(p.A) in trained]
        if not pairs:
            raise PairingError(
                "StableLoRA found no LoRA pair whose A the optimizer trains; build the model "
                "with stablelora.LoRALinear or peft.get_peft_model and pass its LoRA "
                "parameters to the optimizer"
            )
        left = [name for name, p in unpaired if id(p) in trained]
        if left:
            warnings.warn(
                f"StableLoRA cannot pair {len(left)} LoRA parameter(s) (embedding LoRA, DoRA "
                f"magnitude or conv LoRA have no n, m for ‖A‖_F/n ≤ ‖B‖_F/m); the optimizer "
                f"trains them without shrinkage: {', '.join(left[:4])}"
                + (", ..." if len(left) > 4 else ""),
                UserWarning,
                stacklevel=2,
            )
        super().__init__([torch.empty(0)], {})  # base-class hooks; the groups are replaced:
        # param_groups and state are the wrapped optimizer's own objects, so the inherited
        # add_param_group adds to it (pairs added later are not shrunk).
        self.optimizer = optimizer
        self.param_groups = optimizer.param_groups
        self.state = optimizer.state
        self.defaults = optimizer.defaults
        self.shrink = float(shrink)
        self.stop_condition = bool(stop_condition)
        by_key: dict[tuple, list] = {}
        for p in pairs:
            by_key.setdefault((p.A.device, p.A.dtype, p.B.dtype), []).append(p)
        self.groups = [PairGroup(group) for group in by_key.values()]
        coarse = {str(p.A.dtype) for p in pairs
                  if p.A.dtype.is_floating_point and 0 < shrink < torch.finfo(p.A.dtype).eps}
        if coarse:
            warnings.warn(
                f"StableLoRA: λ = {shrink} is below the spacing of {', '.join(sorted(coarse))} "
                f"near 1, so (1−λ)·A rounds back to (almost) A and the shrink is lost; keep "
                f"the LoRA weights in float32 (AMP autocasts the matmuls anyway)",
                UserWarning,
                stacklevel=2,
            )
        self.names = [name for g in self.groups for name in g.names]

    @property
    def _step_supports_amp_scaling(self) -> bool:
        """True when the wrapped optimizer takes AMP's found_inf itself (fused kernels)."""
        return getattr(self.optimizer, "_step_supports_amp_scaling", False)

    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """Shrink (Algorithm 1), then take the wrapped optimizer's step.

        Args:
            closure: re-evaluates the model and returns the loss; called before the shrink,
                so g_A^t is taken at the unshrunk A_t as in Algorithm 1.

        Returns:
            The closure's loss, or None.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        # GradScaler sets found_inf on optimizers that take it (fused kernels), else skips step()
        found_inf = getattr(self, "found_inf", None) if self._step_supports_amp_scaling else None
        ok = None if found_inf is None else found_inf == 0
        for group in self.groups:
            group.shrink_(self.shrink, self.stop_condition, ok)
        if found_inf is None:
            self.optimizer.step()
            return loss
        self.optimizer.grad_scale = getattr(self, "grad_scale", None)
        self.optimizer.found_inf = found_inf
        try:
            self.optimizer.step()
        finally:
            del self.optimizer.grad_scale, self.optimizer.found_inf
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        """The wrapped optimizer's zero_grad."""
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def stop_steps(self) -> dict[str, int | None]:
        """Per pair, the optimizer step (1-based) at which it became stable, None if not yet.

        Reads device values: call it for logging, not inside the training step.
        """
        steps = torch.cat([torch.where(g.stable, g.stop_step, -1).cpu() for g in self.groups])
        steps = steps.tolist()
        return {name: (s if s >= 0 else None) for name, s in zip(self.names, steps, strict=True)}

    def state_dict(self) -> dict[str, Any]:
        """The wrapped optimizer's state plus the per-pair flags, stop steps and step count."""
        return {
            "optimizer": self.optimizer.state_dict(),
            "stable_lora": {
                "names": list(self.names),
                "stable": torch.cat([g.stable.cpu() for g in self.groups]),
                "stop_step": torch.cat(
                    [torch.where(g.stable, g.stop_step, -1).cpu() for g in self.groups]
                ),
                "step": int(self.groups[0].step),
                "shrink": self.shrink,
                "stop_condition": self.stop_condition,
            },
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict`; pairs are matched by name, not position.

        Raises:
            StateDictError: if the state is not a StableLoRA state or its pairs differ.
        """
        if not isinstance(state_dict, dict) or set(state_dict) != {"optimizer", "stable_lora"}:
            raise StateDictError(
                "not a StableLoRA state_dict (expected keys 'optimizer' and 'stable_lora')"
            )
        saved = state_dict["stable_lora"]
        index = {name: i for i, name in enumerate(saved["names"])}
        missing = [n for n in self.names if n not in index]
        extra = [n for n in saved["names"] if n not in set(self.names)]
        if missing or extra:
            raise StateDictError(
                f"saved StableLoRA pairs differ from the model's: missing {missing[:4]}, "
                f"unexpected {extra[:4]}"
            )
        self.optimizer.load_state_dict(state_dict["optimizer"])
        self.shrink = float(saved["shrink"])
        self.stop_condition = bool(saved["stop_condition"])
        for g in self.groups:
            idx = torch.tensor([index[n] for n in g.names])
            g.stable.copy_(saved["stable"][idx])
            g.stop_step.copy_(saved["stop_step"][idx])
            g.step.fill_(saved["step"])
            g.reset_done()

    def __repr__(self) -> str:
        return (
            f"StableLoRA(shrink={self.shrink}, stop_condition={self.stop_condition}, "
            f"pairs={len(self.names)}, optimizer={self.optimizer!r})"
        )
