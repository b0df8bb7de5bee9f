"""Stable-LoRA for any torch optimizer: LoRA layers, init schemes and the Algorithm 1 shrinker."""

from ._init import WidthRule, init_lora_
from ._kernel import stable_shrink_
from ._layer import LoRALinear
from ._optim import StableLoRA
from ._pairs import LoRAPair, find_lora_pairs
from .errors import (
    InitSchemeError,
    PairingError,
    ShapeError,
    ShrinkRateError,
    StableLoRAError,
    StateDictError,
)

__all__ = [
    "InitSchemeError",
    "LoRALinear",
    "LoRAPair",
    "PairingError",
    "ShapeError",
    "ShrinkRateError",
    "StableLoRA",
    "StableLoRAError",
    "StateDictError",
    "WidthRule",
    "find_lora_pairs",
    "init_lora_",
    "stable_shrink_",
]
