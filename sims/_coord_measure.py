"""δ₁, δ₂, δ₃, ΔY, A_tZ, B_t of one LoRA update from the actual parameter change (per seed)."""

from __future__ import annotations

import torch

COORD_QUANTITIES = ("delta1", "delta2", "delta3", "dY", "AtZ", "Bt", "Z")


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
    s·B_{t+1}A_{t+1}Z − s·B_tA_tZ. Computed in float64 from r×r Gram matrices, never
    forming the (N, m) products.

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
    AZ = Z @ A_t.mT  # (S, N, r)
    dAZ = Z @ dA.mT  # (S, N, r)
    # ‖U·Vᵀ‖²_F = Σ (UᵀU) ⊙ (VᵀV): every norm from two Gram matrices, O((N + m)·r²) work
    # instead of forming (N, m) products. ΔY = s·[A_tZ | ΔAZ]·[ΔB | B_{t+1}]ᵀ.
    U = torch.cat([AZ, dAZ], dim=-1)  # (S, N, 2r)
    GU = U.mT @ U  # (S, 2r, 2r)
    V = torch.cat([dB, B_t, B_t + dB], dim=-1)  # (S, m, 3r)
    GV = V.mT @ V  # (S, 3r, 3r)
    r, N, m = A_t.shape[1], Z.shape[1], B_t.shape[1]
    a, d = slice(0, r), slice(r, 2 * r)  # U's blocks: A_tZ, ΔAZ
    b, o = slice(0, r), slice(r, 2 * r)  # V's blocks: ΔB, B_t (then B_{t+1})
    bw = torch.cat([torch.arange(0, r), torch.arange(2 * r, 3 * r)])  # [ΔB | B_{t+1}]

    def rms(sq: torch.Tensor) -> torch.Tensor:  # clamp: rounding of a cancelling sum
        return abs(s) * (sq.sum(dim=(-2, -1)).clamp_min(0) / (N * m)).sqrt()

    return {
        "delta1": rms(GU[:, a, a] * GV[:, b, b]),
        "delta2": rms(GU[:, d, d] * GV[:, o, o]),
        "delta3": rms(GU[:, d, d] * GV[:, b, b]),
        "dY": rms(GU * GV[:, bw][:, :, bw]),
        "AtZ": AZ.pow(2).mean(dim=(1, 2)).sqrt(),
        "Bt": B_t.pow(2).mean(dim=(1, 2)).sqrt(),
        "Z": Z.pow(2).mean(dim=(1, 2)).sqrt(),
    }
