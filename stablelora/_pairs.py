"""Find the (A, B) LoRA pairs of a model by module: LoRALinear and PEFT's LoraLayer."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from ._layer import LoRALinear

__all__ = ["LoRAPair", "canonical_name", "find_lora_pairs"]

_WRAPPERS = ("module", "_orig_mod")  # DDP / DataParallel / FSDP, torch.compile


def canonical_name(name: str) -> str:
    """A module name without the components that wrappers add.

    ``torch.compile`` inserts ``_orig_mod`` (anywhere: a compiled submodule keeps its
    parent's path); DDP, DataParallel and FSDP put the whole model under ``module``. Both
    are dropped, so eager, compiled and distributed runs name a pair the same way and can
    load each other's optimizer state.
    """
    parts = name.split(".") if name else []
    while parts and parts[0] in _WRAPPERS:
        parts.pop(0)
    return ".".join(p for p in parts if p != "_orig_mod")


@dataclass(frozen=True, eq=False)
class LoRAPair:
    """One LoRA pair: A (r, n) and B (m, r) with the widths of the stop condition.

    Attributes:
        name: the module's :func:`canonical_name`, plus ``[adapter]`` for PEFT layers.
        A: the (r, n) parameter that Stable-LoRA shrinks.
        B: the (m, r) parameter.
        n: in_features, the width dividing ‖A‖_F.
        m: out_features, the width dividing ‖B‖_F.
    """

    name: str
    A: nn.Parameter
    B: nn.Parameter
    n: int
    m: int


def _peft_lora_layer() -> type | None:
    """PEFT's LoraLayer class, or None when peft is not installed (imported lazily)."""
    try:
        from peft.tuners.lora import LoraLayer
    except ImportError:
        return None
    return LoraLayer


def _peft_pairs(
    name: str, module: nn.Module
) -> tuple[list[LoRAPair], list[tuple[str, nn.Parameter]]]:
    """Pairs of one PEFT LoraLayer, one per adapter, and the LoRA parameters left unpaired."""
    pairs, unpaired = [], []
    for adapter, down in module.lora_A.items():
        up = module.lora_B[adapter] if adapter in module.lora_B else None
        A, B = getattr(down, "weight", None), getattr(up, "weight", None)
        if isinstance(down, nn.Linear) and isinstance(up, nn.Linear) and A.dim() == B.dim() == 2:
            pairs.append(LoRAPair(f"{name}[{adapter}]", A, B, A.shape[1], B.shape[0]))
        else:  # e.g. Conv LoRA, whose n and m the paper does not define
            unpaired += [(f"{name}.lora_A.{adapter}.{k}", p) for k, p in down.named_parameters()]
            if up is not None:
                unpaired += [(f"{name}.lora_B.{adapter}.{k}", p) for k, p in up.named_parameters()]
    for attr in ("lora_embedding_A", "lora_embedding_B", "lora_magnitude_vector"):
        container = getattr(module, attr, None)
        if container is not None:
            unpaired += [(f"{name}.{attr}.{k}", p) for k, p in container.named_parameters()]
    return pairs, unpaired


def find_lora_pairs(
    model: nn.Module,
) -> tuple[list[LoRAPair], list[tuple[str, nn.Parameter]]]:
    """Every LoRA pair of ``model`` found by module type, and the LoRA parameters it cannot pair.

    Our :class:`LoRALinear` gives (``lora_A``, ``lora_B``, in_features, out_features); a PEFT
    ``LoraLayer`` gives one pair per adapter with linear ``lora_A[adapter]`` and
    ``lora_B[adapter]``. Embedding LoRA, DoRA magnitude vectors and non-linear (conv) LoRA
    factors are returned as unpaired: the stop condition ‖A‖_F/n ≤ ‖B‖_F/m is not
    defined for them.

    Names are :func:`canonical_name`'s: without ``_orig_mod.`` (torch.compile) and a leading
    ``module.`` (DDP).

    Args:
        model: any module tree.

    Returns:
        (pairs, unpaired (name, parameter) tuples), both in module order.
    """
    lora_layer = _peft_lora_layer()
    pairs: list[LoRAPair] = []
    unpaired: list[tuple[str, nn.Parameter]] = []
    for name, module in model.named_modules():
        name = canonical_name(name)
        if isinstance(module, LoRALinear):
            pairs.append(
                LoRAPair(name, module.lora_A, module.lora_B, module.in_features,
                         module.out_features)
            )
        elif lora_layer is not None and isinstance(module, lora_layer):
            found, left = _peft_pairs(name, module)
            pairs += found
            unpaired += left
    return pairs, unpaired
