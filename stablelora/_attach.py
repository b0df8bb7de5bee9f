"""attach: Stable-LoRA's Algorithm 1 on the user's own torch optimizer, through its hooks."""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import torch
from torch import nn

from ._group import PairGroup
from ._kernel import check_shrink
from ._pairs import LoRAPair, find_lora_pairs
from .errors import PairingError, StateDictError

__all__ = ["STATE_KEY", "attach", "attachment", "stop_steps"]

STATE_KEY = "stable_lora"  # the entry of optimizer.state_dict() that carries our state
_SAVED_KEYS = {"names", "stable", "stop_step", "step", "shrink", "stop_condition"}
Opt = TypeVar("Opt", bound=torch.optim.Optimizer)


class Attachment:
    """The Stable-LoRA state attached to one optimizer, and the hooks that act on it.

    It holds no reference to the optimizer (the hooks receive it), so an optimizer and its
    attachment are freed together.

    Attributes:
        names: the managed pairs' canonical names, by group, in module order within one.
        groups: the pairs by (device, dtypes), each with its device-side flags.
        shrink: λ.
        stop_condition: Algorithm 1's stop condition (False: the paper's ablation).
    """

    def __init__(self, pairs: list[LoRAPair], shrink: float, stop_condition: bool) -> None:
        by_key: dict[tuple, list[LoRAPair]] = {}
        for p in pairs:
            by_key.setdefault((p.A.device, p.A.dtype, p.B.dtype), []).append(p)
        self.groups = [PairGroup(group) for group in by_key.values()]
        self.names = [name for g in self.groups for name in g.names]
        self.shrink = float(shrink)
        self.stop_condition = bool(stop_condition)
        self._loading: dict[str, Any] | None = None

    def pre_step(
        self, optimizer: torch.optim.Optimizer, args: tuple, kwargs: dict
    ) -> tuple[tuple, dict] | None:
        """Step pre-hook: Algorithm 1's shrink, before the optimizer's update.

        A closure is evaluated first, so g_A^t is taken at the unshrunk A_t, and the
        optimizer's first call of it gets that loss back (later calls, e.g. L-BFGS's line
        search, evaluate it again). A step that AMP skips does not shrink: ``GradScaler``
        does not call ``step()`` when it found inf, and for optimizers that take
        ``found_inf`` themselves (fused kernels) the shrink is masked on the device.
        """
        closure = args[1] if len(args) > 1 else kwargs.get("closure")
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
            closure = _replay(loss, closure)
        found_inf = (getattr(optimizer, "found_inf", None)
                     if getattr(optimizer, "_step_supports_amp_scaling", False) else None)
        ok = None if found_inf is None else found_inf == 0
        for group in self.groups:
            group.shrink_(self.shrink, self.stop_condition, ok)
        if closure is None:
            return None
        if len(args) > 1:
            return (args[0], closure, *args[2:]), kwargs
        return args, {**kwargs, "closure": closure}

    def state(self) -> dict[str, Any]:
        """The saved form: names, flags, stop steps (−1 where not stable), step count, λ."""
        return {
            "names": list(self.names),
            "stable": torch.cat([g.stable.cpu() for g in self.groups]),
            "stop_step": torch.cat(
                [torch.where(g.stable, g.stop_step, -1).cpu() for g in self.groups]
            ),
            "step": int(self.groups[0].step),  # every group counts every step taken
            "shrink": self.shrink,
            "stop_condition": self.stop_condition,
        }

    def stop_steps(self) -> dict[str, int | None]:
        """Per pair, the 1-based optimizer step at which it became stable, None if not yet."""
        steps = self.state()["stop_step"].tolist()
        return {name: (s if s >= 0 else None) for name, s in zip(self.names, steps, strict=True)}

    def state_dict_post(
        self, optimizer: torch.optim.Optimizer, state_dict: dict[str, Any]
    ) -> dict[str, Any]:
        """state_dict post-hook: add our state under ``"stable_lora"``."""
        state_dict[STATE_KEY] = self.state()
        return state_dict

    def load_pre(
        self, optimizer: torch.optim.Optimizer, state_dict: dict[str, Any]
    ) -> dict[str, Any]:
        """load_state_dict pre-hook: take our entry out of the (shallow-copied) dict, checked.

        Raises:
            StateDictError: if the entry is missing or names other pairs.
        """
        saved = state_dict.pop(STATE_KEY, None)
        if not isinstance(saved, dict) or set(saved) != _SAVED_KEYS:
            raise StateDictError(
                "this optimizer state has no Stable-LoRA entry 'stable_lora' (saved before "
                "stablelora.attach?); load it into a plain optimizer, then attach"
            )
        names, ours = list(saved["names"]), set(self.names)
        missing = [n for n in self.names if n not in set(names)]
        extra = [n for n in names if n not in ours]
        lengths = {len(names), len(saved["stable"]), len(saved["stop_step"])}
        if missing or extra or len(lengths) > 1:
            raise StateDictError(
                f"saved Stable-LoRA pairs differ from the model's: missing {missing[:4]}, "
                f"unexpected {extra[:4]}"
            )
        self._loading = saved
        return state_dict

    def load_post(self, optimizer: torch.optim.Optimizer) -> None:
        """load_state_dict post-hook: restore flags, stop steps, step count, λ, stop condition."""
        saved, self._loading = self._loading, None
        index = {name: i for i, name in enumerate(saved["names"])}
        stable = torch.as_tensor(saved["stable"]).to("cpu", torch.bool)  # (P,)
        stop = torch.as_tensor(saved["stop_step"]).to("cpu", torch.int64)  # (P,)
        for g in self.groups:
            idx = torch.tensor([index[n] for n in g.names])
            g.stable.copy_(stable[idx])
            g.stop_step.copy_(stop[idx])
            g.step.fill_(int(saved["step"]))
            g.reset_done()
        self.shrink = float(saved["shrink"])
        self.stop_condition = bool(saved["stop_condition"])


def _replay(loss: Any, closure: Callable[[], Any]) -> Callable[[], Any]:
    """A closure whose first call returns ``loss`` and whose later calls run ``closure``."""
    first = [True]

    def replayed() -> Any:
        if first:
            first.clear()
            return loss
        return closure()

    return replayed


_ATTACHED: weakref.WeakKeyDictionary[torch.optim.Optimizer, Attachment] = (
    weakref.WeakKeyDictionary()
)


def attach(optimizer: Opt, model: nn.Module, *, shrink: float, stop_condition: bool = True) -> Opt:
    """Add Stable-LoRA (Algorithm 1) to ``optimizer`` in place and return the same object.

    Before each update, every LoRA pair not yet stable has A shrunk to (1−λ)·A if
    ‖A‖_F/n > ‖B‖_F/m, and is otherwise marked stable for good (n = in_features, m =
    out_features); the optimizer's update, weight decay included, then acts on the shrunk
    A: A_{t+1} = (1−λ)A_t − η g_A^t − η w A_t (Stable-LoRA Algorithm 1, Section 4). With
    ``stop_condition=False`` it shrinks whenever the inequality holds (the paper's ablation).

    It works through the optimizer's own hooks (``register_step_pre_hook``, the
    state-dict hooks), so LR schedulers, ``ReduceLROnPlateau``, ``GradScaler``,
    ``transformers.Trainer``, ``accelerate.prepare`` and ``param_groups`` edits all see the
    object they were given; the flags, stop steps, step count, λ and stop condition travel
    in ``optimizer.state_dict()["stable_lora"]`` and come back with ``load_state_dict``.

    Pairs are found by module (:class:`LoRALinear`, PEFT's ``LoraLayer``) and managed when
    the optimizer trains their A (pairs added later with ``add_param_group`` are not). Other
    LoRA parameters (embedding LoRA, DoRA magnitudes) are left to the optimizer, with one
    warning. The step never synchronises with the device.

    Args:
        optimizer: any torch optimizer that trains (at least) the LoRA A's.
        model: the module tree holding the LoRA layers (compiled or DDP-wrapped is fine).
        shrink: λ in [0, 1).
        stop_condition: stop shrinking a pair once ‖A‖_F/n ≤ ‖B‖_F/m.

    Returns:
        ``optimizer`` itself.

    Raises:
        PairingError: if ``optimizer`` is not a torch optimizer (or is a wrapper without
            hooks), already has Stable-LoRA, or trains no LoRA pair of ``model``.
        ShrinkRateError: if λ is outside [0, 1).
    """
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise PairingError(f"stablelora.attach takes a torch.optim.Optimizer, got {optimizer!r}")
    if not hasattr(optimizer, "_optimizer_step_pre_hooks"):  # never ran Optimizer.__init__
        raise PairingError(
            f"{type(optimizer).__name__} has no optimizer hooks (a wrapper such as "
            f"accelerate's AcceleratedOptimizer?); attach to the optimizer it wraps, before "
            f"accelerate.prepare or Trainer.train"
        )
    if optimizer in _ATTACHED:
        raise PairingError("Stable-LoRA is already attached to this optimizer")
    check_shrink(shrink)
    pairs, unpaired = find_lora_pairs(model)
    trained = {id(p) for g in optimizer.param_groups for p in g["params"]}
    pairs = [p for p in pairs if id(p.A) in trained]
    if not pairs:
        raise PairingError(
            "Stable-LoRA found no LoRA pair whose A the optimizer trains; build the model "
            "with stablelora.LoRALinear or peft.get_peft_model and pass its LoRA "
            "parameters to the optimizer"
        )
    if len({p.name for p in pairs}) < len(pairs):
        raise PairingError("two LoRA pairs have the same name once wrapper prefixes are dropped")
    left = [name for name, p in unpaired if id(p) in trained]
    if left:
        warnings.warn(
            f"Stable-LoRA cannot pair {len(left)} LoRA parameter(s) (embedding LoRA, DoRA "
            f"magnitude or conv LoRA have no n, m for ‖A‖_F/n ≤ ‖B‖_F/m); the optimizer "
            f"trains them without shrinkage: {', '.join(left[:4])}"
            + (", ..." if len(left) > 4 else ""),
            UserWarning,
            stacklevel=2,
        )
    coarse = {str(p.A.dtype) for p in pairs
              if p.A.dtype.is_floating_point and 0 < shrink < torch.finfo(p.A.dtype).eps}
    if coarse:
        warnings.warn(
            f"Stable-LoRA: λ = {shrink} is below the spacing of {', '.join(sorted(coarse))} "
            f"near 1, so (1−λ)·A rounds back to (almost) A and the shrink is lost; keep "
            f"the LoRA weights in float32 (AMP autocasts the matmuls anyway)",
            UserWarning,
            stacklevel=2,
        )
    state = Attachment(pairs, shrink, stop_condition)
    optimizer.register_step_pre_hook(state.pre_step)
    optimizer.register_state_dict_post_hook(state.state_dict_post)
    optimizer.register_load_state_dict_pre_hook(state.load_pre)
    optimizer.register_load_state_dict_post_hook(state.load_post)
    _ATTACHED[optimizer] = state
    return optimizer


def attachment(optimizer: Any) -> Attachment:
    """The Stable-LoRA state attached to ``optimizer`` (or to the optimizer it wraps).

    Wrappers that keep the user's optimizer as ``.optimizer`` (accelerate's
    ``AcceleratedOptimizer``, as in ``trainer.optimizer``) are looked through.

    Raises:
        PairingError: if no Stable-LoRA is attached.
    """
    seen = optimizer
    while seen is not None:
        if isinstance(seen, torch.optim.Optimizer) and seen in _ATTACHED:
            return _ATTACHED[seen]
        seen = getattr(seen, "optimizer", None)
    raise PairingError(f"no Stable-LoRA is attached to {optimizer!r}; call stablelora.attach")


def stop_steps(optimizer: Any) -> dict[str, int | None]:
    """Per pair, the 1-based optimizer step at which it became stable, None if not yet.

    Step k is the k-th optimizer update taken (AMP-skipped steps are not counted); the
    check at step k found ‖A‖_F/n ≤ ‖B‖_F/m, so A was shrunk at steps 1 … k−1. Reads
    device values: call it for logging, not inside the training step.

    Args:
        optimizer: an optimizer returned by :func:`attach`, or a wrapper of it.

    Raises:
        PairingError: if no Stable-LoRA is attached.
    """
    return attachment(optimizer).stop_steps()
