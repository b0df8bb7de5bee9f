"""The LoRA sites of a model for the coordinate check: A, B, s and a hook on A's actual input."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from stablelora import LoRALinear, find_lora_pairs

from .errors import ConfigError


@dataclass(eq=False)
class LoRASite:
    """One LoRA pair of a model: Y = W₀Z + s·B·A·Z on the input Z that A actually sees.

    Attributes:
        name: the pair's name (``find_lora_pairs``: the module name, ``[adapter]`` for PEFT).
        a_name: A's qualified parameter name in the model, (r, n).
        b_name: B's qualified parameter name, (m, r).
        input_module: the module whose forward input is A's input: our ``LoRALinear``
            itself, or PEFT's ``lora_A[adapter]`` (after PEFT's dropout).
        owner: the module that holds the scaling (``LoRALinear`` or PEFT ``LoraLayer``).
        adapter: the PEFT adapter name, None for ``LoRALinear``.
    """

    name: str
    a_name: str
    b_name: str
    input_module: nn.Module
    owner: nn.Module
    adapter: str | None

    @property
    def scale(self) -> float:
        """s of this pair (``LoRALinear.scaling``, PEFT's ``scaling[adapter]``)."""
        if self.adapter is None:
            return float(self.owner.scaling)
        return float(self.owner.scaling[self.adapter])

    def set_scale(self, s: float) -> None:
        """Set s of this pair."""
        if self.adapter is None:
            self.owner.scaling = float(s)
        else:
            self.owner.scaling[self.adapter] = float(s)


def find_sites(model: nn.Module) -> list[LoRASite]:
    """Every linear LoRA pair of ``model`` (via ``stablelora.find_lora_pairs``) as a site.

    PEFT adapters that are not active (``LoraLayer.active_adapters``) are left out: the
    forward pass does not call them, so they have no input and no update.

    Raises:
        ConfigError: when the model has no LoRALinear or PEFT LoraLayer pair.
    """
    pairs, _ = find_lora_pairs(model)
    if not pairs:
        raise ConfigError(
            "the model has no LoRA pair (stablelora.LoRALinear or a PEFT LoraLayer with "
            "linear lora_A/lora_B); wrap it with peft.get_peft_model or use LoRALinear"
        )
    names = {id(p): k for k, p in model.named_parameters()}
    owners = {id(p): mod for mod in model.modules() for p in mod.parameters(recurse=False)}
    peft = {}  # id(A) -> (LoraLayer, adapter), found by identity (pair names are canonical)
    for mod in model.modules():
        if not isinstance(mod, LoRALinear) and isinstance(getattr(mod, "lora_A", None),
                                                           nn.ModuleDict):
            for adapter, down in mod.lora_A.items():
                if isinstance(getattr(down, "weight", None), torch.Tensor):
                    peft[id(down.weight)] = (mod, adapter)
    sites = []
    for pair in pairs:
        holder = owners[id(pair.A)]
        if isinstance(holder, LoRALinear):
            owner, adapter = holder, None
        else:
            owner, adapter = peft[id(pair.A)]
            if adapter not in owner.active_adapters:
                continue
        sites.append(LoRASite(pair.name, names[id(pair.A)], names[id(pair.B)], holder, owner,
                              adapter))
    return sites


class InputCapture:
    """Forward hooks that keep the input of each site's A while ``active`` is True.

    The captured tensors are detached and flattened to (N, n) (N = every leading dim of
    the input: batch, tokens). Used inside ``torch.func`` transforms the captured values
    are batched tensors and must be returned from the transformed function (as aux).
    """

    def __init__(self, sites: list[LoRASite]) -> None:
        self.active = False
        self.inputs: dict[str, torch.Tensor] = {}
        self._handles = [s.input_module.register_forward_hook(self._hook(s.name)) for s in sites]

    def _hook(self, name: str):
        def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
            if self.active:
                z = args[0].detach()
                self.inputs[name] = z.reshape(-1, z.shape[-1])  # (N, n)
        return hook

    def take(self) -> dict[str, torch.Tensor]:
        """The inputs captured since the last call; clears them."""
        out, self.inputs = self.inputs, {}
        return out

    def remove(self) -> None:
        """Remove the hooks from the model."""
        for handle in self._handles:
            handle.remove()
