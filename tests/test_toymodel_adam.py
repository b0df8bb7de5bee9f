"""BatchedAdam: each row must follow torch.optim.Adam / AdamW run alone with its own lr."""

from __future__ import annotations

import pytest
import torch

from toymodel import BatchedAdam


@pytest.mark.parametrize("fused", [None, False])
@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_rows_match_torch_adam_on_single_slices(fused, weight_decay):
    G = 5
    lr = torch.tensor([1e-3, 1e-3, 3e-3, 1e-2, 1e-3])  # unsorted: a repeated lr in two groups
    p0 = [torch.randn(G, 3, 4), torch.randn(G, 4, 2)]
    params = [p.clone() for p in p0]
    opt = BatchedAdam(params, lr, betas=(0.8, 0.99), eps=1e-6, weight_decay=weight_decay,
                      fused=fused)
    cls = torch.optim.AdamW if weight_decay else torch.optim.Adam
    refs = []
    for g in range(G):
        leaves = [p[g].clone().requires_grad_(True) for p in p0]
        refs.append((leaves, cls(leaves, lr=float(lr[g]), betas=(0.8, 0.99), eps=1e-6,
                                 weight_decay=weight_decay)))
    for _ in range(6):
        grads = [torch.randn_like(p) for p in params]
        opt.step(grads)
        for g, (leaves, ref) in enumerate(refs):
            for leaf, grad in zip(leaves, grads, strict=True):
                leaf.grad = grad[g].clone()
            ref.step()
    for g, (leaves, _) in enumerate(refs):
        for p, leaf in zip(params, leaves, strict=True):
            torch.testing.assert_close(p[g], leaf.detach(), rtol=1e-6, atol=1e-7)
    assert any((p != q).any() for p, q in zip(params, p0, strict=True))


def test_rows_with_different_lr_move_differently():
    params = [torch.zeros(2, 3)]
    opt = BatchedAdam(params, torch.tensor([1e-3, 1e-2]))
    opt.step([torch.ones(2, 3)])
    # first Adam step moves every entry by exactly -lr (m̂ / √v̂ = 1)
    torch.testing.assert_close(params[0][0], torch.full((3,), -1e-3))
    torch.testing.assert_close(params[0][1], torch.full((3,), -1e-2))


def test_shape_mismatch_is_rejected():
    with pytest.raises(ValueError, match="dim 0"):
        BatchedAdam([torch.zeros(3, 2)], torch.tensor([1e-3, 1e-3]))
