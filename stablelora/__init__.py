"""Stable-LoRA for any torch optimizer: LoRA layers, init schemes and the Algorithm 1 shrinker."""

from ._attach import Attachment, attach, attachment, stop_steps
from ._factory import create_stablelora_optimizer
from ._init import WidthRule, init_lora_
from ._kernel import stable_shrink_
from ._layer import LoRALinear
from ._pairs import LoRAPair, canonical_name, find_lora_pairs
from .errors import (
    InitSchemeError,
    PairingError,
    ShapeError,
    ShrinkRateError,
    StableLoRAError,
    StateDictError,
)

__all__ = [
    "Attachment",
    "InitSchemeError",
    "LoRALinear",
    "LoRAPair",
    "PairingError",
    "ShapeError",
    "ShrinkRateError",
    "StableLoRAError",
    "StateDictError",
    "WidthRule",
    "attach",
    "attachment",
    "canonical_name",
    "create_stablelora_optimizer",
    "find_lora_pairs",
    "init_lora_",
    "stable_shrink_",
    "stop_steps",
]
