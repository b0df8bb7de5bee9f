"""Stable-LoRA for any torch optimizer: LoRA layers, init schemes and the Algorithm 1 shrinker."""

from ._init import WidthRule, init_lora_
from ._kernel import stable_shrink_
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
    "PairingError",
    "ShapeError",
    "ShrinkRateError",
    "StableLoRAError",
    "StateDictError",
    "WidthRule",
    "init_lora_",
    "stable_shrink_",
]
