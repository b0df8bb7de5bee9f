"""LoRALinear: Y = W₀Z + s·BAZ with A ∈ ℝ^{r×n}, B ∈ ℝ^{m×r} and an optional frozen base W₀."""

from __future__ import annotations

import torch
from torch import nn

from ._init import DISTRIBUTIONS, SCHEMES, WidthRule, init_lora_
from .errors import InitSchemeError, ShapeError

__all__ = ["LoRALinear"]


class LoRALinear(nn.Module):
    """A LoRA linear layer, Y = W₀Z + s·B·A·Z (Stable-LoRA Section 2, W = W₀ + sBA).

    n = ``in_features`` and m = ``out_features`` are the widths in Stable-LoRA's stop
    condition ‖A‖_F/n ≤ ‖B‖_F/m. ``lora_A`` is (r, n) and ``lora_B`` is (m, r), PEFT's
    layout, so the same shrinker code serves both.

    Args:
        in_features: n, the input width.
        out_features: m, the output width.
        r: the rank.
        scaling: s (PEFT's lora_alpha / r).
        init: ``"A"`` (Init[A]), ``"B"`` (Init[B]), ``"AB"`` (Init[AB]) or ``"zero"``.
        sigma_A: σ of A₀, a number or a :class:`WidthRule` at width n (default n^{-1/2}).
        sigma_B: σ of B₀ (default σ_A for Init[AB] and Init[B]).
        distribution: ``"normal"`` (N(0, σ²)) or ``"uniform"`` (U[−σ, σ]).
        base: the frozen pretrained layer W₀ (an ``nn.Linear`` of shape m×n), or None for
            Y = s·BAZ alone (the width probe needs no W₀). Its parameters are frozen.
        subtract_init: with a base, subtract s·B₀A₀ from W₀ so the model starts at the
            pretrained function (the ICML paper's Init[AB]; without it, Init[AB+]).
        generator: optional torch.Generator for the initial draws.
        device: device of A and B (default: the base's, else torch's default).
        dtype: dtype of A and B (default: the base's, else torch's default).

    Raises:
        ShapeError: if ``r`` < 1 or the base is not an nn.Linear(in_features, out_features).
        InitSchemeError: for an unknown scheme or distribution, a bad σ, or
            ``subtract_init`` without a base.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        r: int,
        *,
        scaling: float = 1.0,
        init: str = "A",
        sigma_A: float | WidthRule | None = None,
        sigma_B: float | WidthRule | None = None,
        distribution: str = "normal",
        base: nn.Linear | None = None,
        subtract_init: bool = False,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if r < 1 or in_features < 1 or out_features < 1:
            raise ShapeError(
                f"need r, in_features, out_features >= 1, got {r}, {in_features}, {out_features}"
            )
        if base is not None:
            if not isinstance(base, nn.Linear) or base.weight.shape != (out_features, in_features):
                raise ShapeError(
                    f"base must be nn.Linear({in_features}, {out_features}), got {base!r}"
                )
            base.requires_grad_(False)
            device = base.weight.device if device is None else device
            dtype = base.weight.dtype if dtype is None else dtype
        elif subtract_init:
            raise InitSchemeError("subtract_init needs a base layer W₀ to subtract s·B₀A₀ from")
        if init not in SCHEMES:
            raise InitSchemeError(f"unknown init scheme {init!r}; valid: {', '.join(SCHEMES)}")
        if distribution not in DISTRIBUTIONS:
            raise InitSchemeError(
                f"unknown distribution {distribution!r}; valid: {', '.join(DISTRIBUTIONS)}"
            )
        self.in_features, self.out_features, self.r = in_features, out_features, r
        self.scaling = float(scaling)
        self.init, self.distribution = init, distribution
        self.sigma_A, self.sigma_B = sigma_A, sigma_B
        self.base = base
        self.lora_A = nn.Parameter(torch.empty(r, in_features, device=device, dtype=dtype))
        self.lora_B = nn.Parameter(torch.empty(out_features, r, device=device, dtype=dtype))
        self.reset_parameters(generator=generator)
        if subtract_init:
            with torch.no_grad():
                self.base.weight.sub_(self.scaling * self.lora_B @ self.lora_A)  # (m, n)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Draw A₀, B₀ again with the layer's scheme, σ's and distribution (W₀ untouched)."""
        init_lora_(
            self.lora_A,
            self.lora_B,
            self.init,
            sigma_A=self.sigma_A,
            sigma_B=self.sigma_B,
            distribution=self.distribution,
            generator=generator,
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Y = W₀Z + s·B(AZ) on the last dim: (..., n) -> (..., m)."""
        y = self.scaling * nn.functional.linear(nn.functional.linear(z, self.lora_A), self.lora_B)
        return y if self.base is None else self.base(z) + y

    def extra_repr(self) -> str:
        """in/out features, rank, scaling and init, as in the constructor."""
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, r={self.r}, "
            f"scaling={self.scaling}, init={self.init!r}, distribution={self.distribution!r}"
        )
