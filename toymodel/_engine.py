"""Fine-tune G LoRA runs at once as one batched tensor program on precomputed frozen features."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from batchedoptim import BatchedAdam, BatchedAdamW
from stablelora import init_lora_, stable_shrink_

from ._model import Frozen

__all__ = ["Chunk", "ChunkResult", "init_pair", "train_chunk"]

# Bytes of the (G, T, n) activations of one test-set tile; bounds evaluation memory.
EVAL_TILE_BYTES = 256 * 2**20


@dataclass
class Chunk:
    """G runs that share a seed (hence their batches), trained together.

    Attributes:
        schemes: (G,) init scheme per run: ``"A"`` (Init[A], σ_B = 0) or ``"AB"``
            (Init[AB], σ_A = σ_B).
        seed: fine-tuning seed: LoRA init draws and batch order.
        lr: (G,) learning rates η.
        sigma: (G,) init std σ.
        shrink: (G,) Stable-LoRA λ, or None for no shrinkage.
    """

    schemes: tuple[str, ...]
    seed: int
    lr: np.ndarray
    sigma: np.ndarray
    shrink: np.ndarray | None = None


@dataclass
class ChunkResult:
    """Per-run results of a chunk (numpy, on the host).

    Attributes:
        test_loss: (G,) mean cross-entropy on the test set after the last step.
        test_acc: (G,) test accuracy.
        train_loss: (steps, G) batch loss of step k (at the parameters before update k).
        normA: (steps, G) ‖A_k‖_F / n after update k.
        normB: (steps, G) ‖B_k‖_F / m after update k (m = n).
        stop_step: (G,) step at which Stable-LoRA's stop condition fired, −1 if never.
    """

    test_loss: np.ndarray
    test_acc: np.ndarray
    train_loss: np.ndarray
    normA: np.ndarray
    normB: np.ndarray
    stop_step: np.ndarray


def init_pair(scheme: str, sigma: float, seed: int, r: int, n: int) -> tuple[torch.Tensor,
                                                                               torch.Tensor]:
    """A₀ (r, n) and B₀ (n, r) of one run, drawn by stablelora's ``init_lora_``.

    The generator depends on the seed only, so runs of one seed share the noise: Init[A]
    and Init[AB] at the same σ share A₀, and σ only rescales it (paired comparisons).
    """
    A, B = torch.empty(r, n), torch.empty(n, r)
    gen = torch.Generator().manual_seed(2 * seed + 1)
    init_lora_(A, B, scheme, sigma_A=sigma, sigma_B=sigma if scheme == "AB" else None,
               generator=gen)
    return A, B


def _cross_entropy_grad_(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-run mean cross-entropy; ``logits`` (G, b, 10) becomes its gradient in place.

    Returns:
        (G,) losses.
    """
    G, b, _ = logits.shape
    logp = torch.log_softmax(logits, dim=-1)  # (G, b, 10)
    picked = logp.gather(2, y.view(1, b, 1).expand(G, b, 1))  # (G, b, 1)
    loss = -picked.mean(dim=(1, 2))  # (G,)
    torch.exp(logp, out=logits)  # softmax
    logits.scatter_add_(2, y.view(1, b, 1).expand(G, b, 1),
                        torch.full((G, b, 1), -1.0, device=logits.device))
    logits.div_(b)
    return loss


@torch.no_grad()
def _evaluate(A: torch.Tensor, Bt: torch.Tensor, frozen: Frozen, s: float,
              offset: tuple[torch.Tensor, torch.Tensor] | None) -> tuple[torch.Tensor,
                                                                         torch.Tensor]:
    """Test loss and accuracy of every run, in tiles of test images (one pass, batched)."""
    G, r, n = A.shape
    N = len(frozen.y_test)
    T = max(1, min(N, EVAL_TILE_BYTES // (4 * G * n)))
    loss_sum = torch.zeros(G, device=A.device, dtype=torch.float64)
    correct = torch.zeros(G, device=A.device, dtype=torch.float64)
    for i in range(0, N, T):
        Zt, H0t, yt = frozen.Z_test[i:i + T], frozen.H0_test[i:i + T], frozen.y_test[i:i + T]
        t = len(yt)
        H = _hidden(A, Bt, Zt, H0t, s, offset)  # (G, t, n)
        logits = torch.mm(H.view(G * t, n), frozen.W_out.T).view(G, t, 10)
        logp = torch.log_softmax(logits, dim=-1)  # (G, t, 10)
        loss_sum -= logp.gather(2, yt.view(1, t, 1).expand(G, t, 1)).sum(dim=(1, 2)).double()
        correct += (logits.argmax(-1) == yt).sum(dim=1).double()
    return (loss_sum / N).float(), (correct / N).float()


def _hidden(A: torch.Tensor, Bt: torch.Tensor, Zb: torch.Tensor, H0b: torch.Tensor, s: float,
            offset: tuple[torch.Tensor, torch.Tensor] | None,
            out: torch.Tensor | None = None, AZ: torch.Tensor | None = None) -> torch.Tensor:
    """relu(H0 + s·(BA − B₀A₀)Z) for every run: (G, b, n); AZ (G, r, b) is written if given."""
    G, r, n = A.shape
    b = Zb.shape[0]
    AZ = torch.mm(A.view(G * r, n), Zb.T, out=None if AZ is None else AZ.view(G * r, b))
    AZ = AZ.view(G, r, b)  # (G, r, b)
    H = torch.baddbmm(H0b.expand(G, b, n), AZ.transpose(1, 2), Bt, alpha=s, out=out)
    if offset is not None:  # Init[AB] with B₀A₀ subtracted from W₀
        A0, B0t = offset
        A0Z = torch.mm(A0.view(G * r, n), Zb.T).view(G, r, b)  # (G, r, b)
        H.baddbmm_(A0Z.transpose(1, 2), B0t, alpha=-s)
    return H.relu_()


@torch.no_grad()
def train_chunk(chunk: Chunk, frozen: Frozen, batches: torch.Tensor, *, r: int, scale: float,
                betas: tuple[float, float], eps: float, weight_decay: float,
                subtract_init: bool, stop_condition: bool) -> ChunkResult:
    """Fine-tune the chunk's G runs together, then evaluate them on the test set.

    Model (ICML paper Section 3.4): f(X) = W_out·relu((W₀ + s·BA)·relu(W_in·X)); with
    Z = relu(W_in·X) and H0 = W₀Z precomputed, a step costs only the LoRA path. Hand-written
    backward (checked against autograd in the tests), for H = H0 + s·(AZ)ᵀBᵀ per run:
    g_Bᵀ = s·(AZ)·dH, g_(AZ) = s·Bᵀ·dHᵀ, g_A = g_(AZ)·Zᵀ. Stable-LoRA (Algorithm 1)
    shrinks A after the gradients and before the Adam update; B is stored transposed.

    Args:
        chunk: the runs.
        frozen: precomputed features; ``batches`` index its rows.
        batches: (steps, b) indices into ``frozen.Z``.
        r: LoRA rank.
        scale: LoRA scaling s.
        betas: Adam (β₁, β₂).
        eps: Adam ε.
        weight_decay: AdamW decoupled weight decay.
        subtract_init: compute with W₀ − s·B₀A₀.
        stop_condition: Stable-LoRA's stop condition ‖A‖_F/n ≤ ‖B‖_F/m.

    Returns:
        Per-run test metrics and curves.
    """
    device = frozen.Z.device
    G, n = len(chunk.lr), frozen.Z.shape[1]
    steps, b = batches.shape
    A = torch.empty(G, r, n)  # (G, r, n)
    Bt = torch.empty(G, r, n)  # (G, r, n), Bᵀ of B (n, r)
    for g in range(G):
        A0, B0 = init_pair(chunk.schemes[g], float(chunk.sigma[g]), chunk.seed, r, n)
        A[g], Bt[g] = A0, B0.T
    A, Bt = A.to(device), Bt.to(device)
    # W₀ − s·B₀A₀ (B₀A₀ = 0 for Init[A] rows, so they are unaffected)
    offset = (A.clone(), Bt.clone()) if subtract_init and "AB" in chunk.schemes else None
    gA, gBt = torch.empty_like(A), torch.empty_like(Bt)
    H = torch.empty(G, b, n, device=device)  # (G, b, n) hidden pre-/post-activation
    dH = torch.empty(G, b, n, device=device)  # (G, b, n)
    AZ = torch.empty(G, r, b, device=device)  # (G, r, b)
    lr = torch.tensor(chunk.lr, dtype=torch.float32).view(G, 1, 1)  # one η per run
    if weight_decay:
        adam = BatchedAdamW([A, Bt], lr, weight_decay=weight_decay, betas=betas, eps=eps)
    else:
        adam = BatchedAdam([A, Bt], lr, betas=betas, eps=eps)
    shrink = None
    if chunk.shrink is not None:
        shrink = torch.tensor(chunk.shrink, dtype=torch.float32, device=device)  # (G,)
        stable = torch.zeros(G, dtype=torch.bool, device=device)
    stop_step = torch.full((G,), -1, dtype=torch.int64, device=device)
    train_loss = torch.empty(steps, G, device=device)
    normA = torch.empty(steps, G, device=device)
    normB = torch.empty(steps, G, device=device)
    batches = batches.to(device)
    for k in range(steps):
        idx = batches[k]  # (b,)
        Zb, H0b, yb = frozen.Z[idx], frozen.H0[idx], frozen.y[idx]  # (b, n), (b, n), (b,)
        _hidden(A, Bt, Zb, H0b, scale, offset, out=H, AZ=AZ)
        logits = torch.mm(H.view(G * b, n), frozen.W_out.T).view(G, b, 10)
        train_loss[k] = _cross_entropy_grad_(logits, yb)
        torch.mm(logits.view(G * b, 10), frozen.W_out, out=dH.view(G * b, n))
        torch.ops.aten.threshold_backward.grad_input(dH, H, 0.0, grad_input=dH)  # relu'
        torch.bmm(AZ.mul_(scale), dH, out=gBt)  # (G, r, n)
        gAZt = torch.bmm(dH, Bt.transpose(1, 2)).mul_(scale)  # (G, b, r)
        torch.mm(gAZt.transpose(1, 2).reshape(G * r, b), Zb, out=gA.view(G * r, n))
        if shrink is not None:
            before = stable.clone()
            stable_shrink_(A, Bt.transpose(1, 2), stable, shrink, stop_condition=stop_condition)
            stop_step.masked_fill_(stable & ~before, k + 1)
        adam.step([gA, gBt])
        torch.linalg.vector_norm(A, dim=(1, 2), out=normA[k])
        torch.linalg.vector_norm(Bt, dim=(1, 2), out=normB[k])
    normA.div_(n)
    normB.div_(n)
    test_loss, test_acc = _evaluate(A, Bt, frozen, scale, offset)
    return ChunkResult(test_loss.cpu().numpy(), test_acc.cpu().numpy(),
                       train_loss.cpu().numpy(), normA.cpu().numpy(), normB.cpu().numpy(),
                       stop_step.cpu().numpy())
