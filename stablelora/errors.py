"""Named exceptions for user mistakes in stablelora (the CLI maps them to one line, exit 2)."""

__all__ = [
    "InitSchemeError",
    "PairingError",
    "ShapeError",
    "ShrinkRateError",
    "StableLoRAError",
    "StateDictError",
]


class StableLoRAError(ValueError):
    """Base class of every user-facing stablelora error."""


class InitSchemeError(StableLoRAError):
    """An unknown init scheme or distribution, or a σ that the scheme cannot use."""


class ShapeError(StableLoRAError):
    """A and B (or the flags) do not have the shapes of one batch of LoRA pairs."""


class ShrinkRateError(StableLoRAError):
    """A shrink rate λ outside [0, 1)."""


class PairingError(StableLoRAError):
    """Stable-LoRA cannot attach: not a torch optimizer, attached already, or no trained pair."""


class StateDictError(StableLoRAError):
    """An optimizer state without a Stable-LoRA entry, or one for other LoRA pairs."""
