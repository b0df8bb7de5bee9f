"""δ₁, δ₂, δ₃, ΔY, A_tZ, B_t of one LoRA update from the actual parameter change (per seed)."""

from __future__ import annotations

import torch

COORD_QUANTITIES = ("delta1", "delta2", "delta3", "dY", "AtZ", "Bt", "Z")


def _rms(x: torch.Tensor) -> torch.Tensor:
    """Per-entry RMS over every dim but the first: (S, ...) -> (S,)."""
    return x.pow(2).flatten(1).mean(dim=1).sqrt()


@torch.no_grad()
def update_stats(
    Z: torch.Tensor,
    A_t: torch.Tensor,
    B_t: torch.Tensor,
    A_next: torch.Tensor,
    B_next: torch.Tensor,
    s: float,
) -> dict[str, torch.Tensor]:
    """Per-entry RMS of the feature update of one step (Stable-LoRA Eq. (1)), batched over seeds.

    With ΔA = A_{t+1} − A_t and ΔB = B_{t+1} − B_t (shrinkage, weight decay, everything
    the step did), on the step's own input Z:
    δ₁ = s·ΔB·A_tZ, δ₂ = s·B_t·ΔA·Z, δ₃ = s·ΔB·ΔA·Z and ΔY = δ₁ + δ₂ + δ₃, which is exactly
    s·B_{t+1}A_{t+1}Z − s·B_tA_tZ. Computed in float64.

    Args:
        Z: (S, N, n) the inputs A saw in the step's forward pass (N rows: batch × tokens).
        A_t: (S, r, n) A before the step.
        B_t: (S, m, r) B before the step.
        A_next: (S, r, n) A after the step.
        B_next: (S, m, r) B after the step.
        s: the LoRA scaling.

    Returns:
        Quantity (``COORD_QUANTITIES``) -> (S,) float64 RMS; ``Z`` is the input's own RMS
        (the theory assumes Θ(1) entries: γ[Z] = 0).
    """
    f64 = torch.float64
    Z, A_t, B_t = Z.to(f64), A_t.to(f64), B_t.to(f64)
    dA = A_next.to(f64) - A_t  # (S, r, n)
    dB = B_next.to(f64) - B_t  # (S, m, r)
    AZ = Z @ A_t.transpose(1, 2)  # (S, N, r)
    dAZ = Z @ dA.transpose(1, 2)  # (S, N, r)
    d1 = s * (AZ @ dB.transpose(1, 2))  # (S, N, m)
    d2 = s * (dAZ @ B_t.transpose(1, 2))  # (S, N, m)
    d3 = s * (dAZ @ dB.transpose(1, 2))  # (S, N, m)
    return {
        "delta1": _rms(d1),
        "delta2": _rms(d2),
        "delta3": _rms(d3),
        "dY": _rms(d1 + d2 + d3),
        "AtZ": _rms(AZ),
        "Bt": _rms(B_t),
        "Z": _rms(Z),
    }
