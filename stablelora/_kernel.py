"""Algorithm 1 of Stable-LoRA as one in-place, device-side step over a batch of LoRA pairs."""

from __future__ import annotations

import torch

from .errors import ShapeError, ShrinkRateError

__all__ = ["check_shrink", "stable_shrink_"]


def check_shrink(shrink: float | torch.Tensor) -> None:
    """Reject a Python shrink rate λ outside [0, 1) (tensor rates are not inspected: no host sync).

    Raises:
        ShrinkRateError: if ``shrink`` is a number outside [0, 1).
    """
    if isinstance(shrink, torch.Tensor):
        return
    if not 0.0 <= float(shrink) < 1.0:
        raise ShrinkRateError(
            f"shrink rate λ must satisfy 0 <= λ < 1 (Stable-LoRA Algorithm 1), got {shrink!r}"
        )


def frobenius(x: torch.Tensor) -> torch.Tensor:
    """‖x‖_F over the last two dims, accumulated in at least float32: (..., p, q) -> (...)."""
    return torch.linalg.vector_norm(
        x, dim=(-2, -1), dtype=torch.promote_types(x.dtype, torch.float32)
    )


@torch.no_grad()
def stable_shrink_(
    A: torch.Tensor,
    B: torch.Tensor,
    stable: torch.Tensor,
    shrink: float | torch.Tensor,
    *,
    stop_condition: bool = True,
) -> torch.Tensor:
    """One shrink step of Stable-LoRA Algorithm 1, in place, batched over leading dims.

    For every leading index, with n = ``A.shape[-1]`` and m = ``B.shape[-2]``::

        cond = ‖A‖_F / n > ‖B‖_F / m
        stop_condition=True:  mask = cond & ~stable;  A[mask] *= 1 - λ;  stable |= ~cond
        stop_condition=False: mask = cond;            A[mask] *= 1 - λ   (the paper's ablation)

    so with the stop condition a pair that once satisfies ‖A‖_F/n ≤ ‖B‖_F/m is stable for
    good. Call it before the optimizer's update (Algorithm 1 shrinks A_t, then
    A_{t+1} = A_t − η g_A^t − η w A_t). Everything stays on A's device: no ``.item()``, no
    Python branch on a tensor, so it never waits for the device.

    Args:
        A: (..., r, n) LoRA down-projections; scaled in place.
        B: (..., m, r) LoRA up-projections; read only.
        stable: (...) bool flags, updated in place when ``stop_condition`` (else untouched).
        shrink: λ, a float in [0, 1) or a tensor broadcastable to (...).
        stop_condition: stop shrinking a pair for good once ‖A‖_F/n ≤ ‖B‖_F/m.

    Returns:
        (...) bool tensor: which pairs were shrunk in this step.

    Raises:
        ShapeError: if A, B and ``stable`` do not describe the same batch of pairs.
        ShrinkRateError: if ``shrink`` is a number outside [0, 1).
    """
    batch = A.shape[:-2]
    if A.dim() < 2 or B.dim() != A.dim() or B.shape[:-2] != batch or B.shape[-1] != A.shape[-2]:
        raise ShapeError(
            f"expected A (..., r, n) and B (..., m, r) with the same leading dims, "
            f"got A {tuple(A.shape)} and B {tuple(B.shape)}"
        )
    if stable.shape != batch or stable.dtype != torch.bool:
        raise ShapeError(f"stable must be a bool tensor of shape {tuple(batch)}, got "
                         f"{stable.dtype} {tuple(stable.shape)}")
    check_shrink(shrink)
    n, m = A.shape[-1], B.shape[-2]
    cond = frobenius(A) / n > frobenius(B) / m  # (...)
    if stop_condition:
        mask = cond & ~stable  # (...)
        stable.logical_or_(~cond)
    else:
        mask = cond
    factor = torch.where(mask, 1.0 - shrink, 1.0)  # (...) float32: A rounds once, after
    A.mul_(factor[..., None, None])
    return mask
