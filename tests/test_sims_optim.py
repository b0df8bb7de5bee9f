"""Batched optimizers of sims/ against torch.optim on single slices."""

import pytest
import torch

from sims import BatchedOptimizer


def _reference_step(kind, p, grads, lr, wd):
    """Run torch.optim (or plain sign descent) on one slice with the same gradients."""
    p = p.clone().requires_grad_(True)
    if kind == "adam":
        opt = torch.optim.Adam([p], lr=lr)
    elif kind == "adamw":
        opt = torch.optim.AdamW([p], lr=lr, weight_decay=wd)
    else:
        opt = torch.optim.SGD([p], lr=lr)
    for g in grads:
        p.grad = torch.sign(g) if kind == "signsgd" else g.clone()
        opt.step()
    return p.detach()


@pytest.mark.parametrize("kind", ["adam", "adamw", "signsgd", "sgd"])
def test_batched_optimizer_matches_torch_optim_per_slice(kind):
    S, C, rows, cols, steps = 3, 2, 4, 5, 6
    gen = torch.Generator().manual_seed(1)
    p0 = torch.randn(S, C, rows, cols, generator=gen, dtype=torch.float64)
    grads = [
        torch.randn(S, C, rows, cols, generator=gen, dtype=torch.float64) for _ in range(steps)
    ]
    lr = torch.tensor([1e-2, 3e-3], dtype=torch.float64).view(1, C, 1, 1)  # per-config η
    wd = torch.tensor([0.01, 0.1], dtype=torch.float64).view(1, C, 1, 1)
    p = p0.clone()
    opt = BatchedOptimizer(kind, [p], [lr], wd)
    for g in grads:
        opt.step([g.clone()])  # step() uses the gradients as scratch space
    for s in range(S):
        for c in range(C):
            ref = _reference_step(
                kind, p0[s, c], [g[s, c] for g in grads], lr[0, c].item(), wd[0, c].item()
            )
            torch.testing.assert_close(p[s, c], ref, rtol=1e-12, atol=1e-14)


def test_batched_optimizer_updates_views_in_place():
    base = torch.zeros(2, 3, 2, 2, dtype=torch.float64)
    view = base[:, 1:]  # a non-contiguous slice of the configurations
    lr = torch.full((1, 2, 1, 1), 0.5, dtype=torch.float64)
    BatchedOptimizer("sgd", [view], [lr]).step([torch.ones_like(view)])
    assert torch.all(base[:, 0] == 0)
    assert torch.all(base[:, 1:] == -0.5)


def test_unknown_optimizer_kind_is_rejected():
    with pytest.raises(ValueError, match="unknown optimizer"):
        BatchedOptimizer("lion", [torch.zeros(1)], [torch.ones(1)])
