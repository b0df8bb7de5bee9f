"""The probe's CPU kernel against the torch products it replaces (sims._probe_kernel)."""

from __future__ import annotations

import math

import pytest
import torch

from sims._probe_kernel import ProbeGradients


def _problem(shape, dtype, seed=0):
    S, C, r, b, n, m = shape
    gen = torch.Generator().manual_seed(seed)
    A = torch.randn(S, C, r, n, generator=gen, dtype=dtype) / math.sqrt(n)
    Bt = torch.randn(S, C, r, m, generator=gen, dtype=dtype)
    Zt = torch.randn(S, b, n, generator=gen, dtype=dtype)
    Rt = torch.randn(S, b, m, generator=gen, dtype=dtype)
    return A, Bt, Zt, Rt


def _both(shape, dtype, tensors, s=None):  # kernel, torch products
    C = shape[1]
    s = s or [0.5 + c for c in range(C)]
    out = []
    for kernel in (True, False):
        grads = ProbeGradients(shape, torch.tensor(s), dtype, kernel=kernel)
        out.append([t.clone() for t in grads(*tensors)])
    return out


def _explicit(A, Bt, Zt, Rt, s, b):
    """The gradients of L = ‖s·B·A·Z − R‖²/(2b) by autograd, one problem at a time, and
    the trajectory row (L, ‖A‖/n, ‖B‖/m)."""
    S, C, r, n = A.shape
    m = Bt.shape[-1]
    gA, gB, row = torch.empty_like(A), torch.empty_like(Bt), torch.empty(3, S, C, dtype=A.dtype)
    for i in range(S):
        for c in range(C):
            a = A[i, c].clone().requires_grad_()
            bt = Bt[i, c].clone().requires_grad_()
            E = s[c] * bt.T @ (a @ Zt[i].T) - Rt[i].T
            loss = (E**2).sum() / (2 * b)
            loss.backward()
            gA[i, c], gB[i, c] = a.grad, bt.grad
            row[:, i, c] = torch.stack([loss, a.norm() / n, bt.norm() / m]).detach()
    return gA, gB, row


# widths from 1 up, n ≠ m, odd sizes (no vector-length multiple); one problem and many
@pytest.mark.parametrize("shape", [(2, 3, 4, 4, 256, 256), (1, 2, 4, 4, 700, 1300),
                                   (3, 1, 4, 4, 1024, 33), (1, 1, 4, 4, 1, 513)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_kernel_matches_the_torch_products_and_autograd(shape, dtype):
    tensors = _problem(shape, dtype)
    fused, products = _both(shape, dtype, tensors)
    tol = 2e-5 if dtype == torch.float32 else 1e-12
    for got, want in zip(fused, products, strict=True):
        assert got.shape == want.shape
        scale = want.abs().max().clamp_min(1e-30)
        assert ((got - want).abs().max() / scale).item() < tol
    s = [0.5 + c for c in range(shape[1])]
    gA, gB, row = _explicit(*tensors, s, shape[3])
    for got, want in ((fused[1], gA), (fused[2], gB), (fused[3], row)):
        assert ((got - want).abs().max() / want.abs().max()).item() < tol


def test_kernel_results_do_not_depend_on_threads_or_neighbours():
    """Each (seed, configuration) is one sequential pass: its bits are the same on 1 or 2
    threads and whether or not other seeds share the call (the sweep groups seeds)."""
    shape = (4, 3, 4, 4, 1500, 1100)
    tensors = _problem(shape, torch.float32, seed=3)
    threads = torch.get_num_threads()
    results = []
    try:
        for t in (1, 2):
            torch.set_num_threads(t)
            grads = ProbeGradients(shape, torch.tensor([1.0, 2.0, 3.0]), torch.float32, kernel=True)
            results.append([x.clone() for x in grads(*tensors)])
    finally:
        torch.set_num_threads(threads)
    for a, b in zip(*results, strict=True):
        assert torch.equal(a, b)
    one = ProbeGradients((1, *shape[1:]), torch.tensor([1.0, 2.0, 3.0]), torch.float32, kernel=True)
    single = one(*(t[2:3] for t in tensors))
    for a, b, seed_dim in zip(results[0], single, (0, 0, 0, 1), strict=True):
        assert torch.equal(a.narrow(seed_dim, 2, 1), b)


def test_non_finite_values_propagate():
    """A diverged problem (inf in A) must show up as non-finite, never as a clean number
    (the kernel allows reassociation, not the no-NaN/no-inf assumptions of fast math)."""
    shape = (1, 2, 4, 4, 600, 600)
    A, Bt, Zt, Rt = _problem(shape, torch.float32)
    A[0, 1, 2, 17] = float("inf")
    grads = ProbeGradients(shape, torch.tensor([1.0, 1.0]), torch.float32, kernel=True)
    AZt, gA, gBt, row = grads(A, Bt, Zt, Rt)
    assert not torch.isfinite(row[:, 0, 1]).all() and torch.isfinite(row[:, 0, 0]).all()
    assert not torch.isfinite(gBt[0, 1]).all() and torch.isfinite(gBt[0, 0]).all()


def test_buffers_follow_tensors_that_change():
    """The kernel caches numpy views of its inputs; a new tensor in the same place (a fresh
    batch drawn into another buffer) must be read, not the old one."""
    shape = (1, 1, 4, 4, 300, 300)
    A, Bt, Zt, Rt = _problem(shape, torch.float32)
    grads = ProbeGradients(shape, torch.tensor([1.0]), torch.float32, kernel=True)
    first = grads(A, Bt, Zt, Rt)[1].clone()
    Zt2 = torch.randn_like(Zt)
    second = grads(A, Bt, Zt2, Rt)[1].clone()
    products = ProbeGradients(shape, torch.tensor([1.0]), torch.float32, kernel=False)
    assert not torch.equal(first, second)
    want = products(A, Bt, Zt2, Rt)[1]
    assert ((second - want).abs().max() / want.abs().max()).item() < 2e-5
    Zt.copy_(Zt2)  # in place: the same tensor, new values
    assert torch.equal(grads(A, Bt, Zt, Rt)[1], second)


def test_other_ranks_and_batches_take_the_torch_products():
    """The kernel is written for r = b = 4; other shapes get the products, and asking for
    the kernel there is an error, not a wrong answer."""
    shape = (1, 2, 3, 5, 64, 80)
    assert not ProbeGradients(shape, torch.tensor([1.0, 2.0]), torch.float32).kernel
    assert ProbeGradients((1, 2, 4, 4, 64, 80), torch.tensor([1.0, 2.0]), torch.float32).kernel
    with pytest.raises(ValueError, match=r"\(r, b\) = \(4, 4\)"):
        ProbeGradients(shape, torch.tensor([1.0, 2.0]), torch.float32, kernel=True)
    tensors = _problem(shape, torch.float64)
    gA, gB, row = _explicit(*tensors, [1.0, 2.0], shape[3])
    got = ProbeGradients(shape, torch.tensor([1.0, 2.0]), torch.float64)(*tensors)
    for g, want in ((got[1], gA), (got[2], gB), (got[3], row)):
        assert ((g - want).abs().max() / want.abs().max()).item() < 1e-12
