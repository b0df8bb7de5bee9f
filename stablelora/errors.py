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
    """No LoRA pair of the model is trained by the wrapped optimizer."""


class StateDictError(StableLoRAError):
    """A saved StableLoRA state that does not match the model's LoRA pairs."""
