"""batchedoptim: every problem (row) must follow torch.optim run alone on it, bit for bit."""

from __future__ import annotations

import itertools

import pytest
import torch

from batchedoptim import (
    BatchedAdam,
    BatchedAdamW,
    BatchedSGD,
    BatchedSignSGD,
    blocks,
    make_optimizer,
)

S, C, STEPS = 3, 4, 5


def _reference(kind, rows0, grads, lr, *, fused, wd=0.0, betas=(0.9, 0.999), eps=1e-8):
    """torch.optim on one problem: ``rows0`` its parameters, ``grads`` per step."""
    leaves = [r.clone().requires_grad_(True) for r in rows0]
    if kind == "adam":
        opt = torch.optim.Adam(leaves, lr=lr, betas=betas, eps=eps, fused=fused,
                               foreach=None if fused else False)
    elif kind == "adamw":
        opt = torch.optim.AdamW(leaves, lr=lr, betas=betas, eps=eps, weight_decay=wd,
                                fused=fused, foreach=None if fused else False)
    else:
        opt = torch.optim.SGD(leaves, lr=lr, foreach=False)
    for step_grads in grads:
        for leaf, g in zip(leaves, step_grads, strict=True):
            leaf.grad = torch.sign(g) if kind == "signsgd" else g.clone()
        opt.step()
    return [leaf.detach() for leaf in leaves]


def _problem(dtype, seed=1):
    """Two parameters (S, C, 4, 5) and (S, C, 6, 4), per-config η_A, η_B, gradients."""
    gen = torch.Generator().manual_seed(seed)
    p0 = [torch.randn(S, C, 4, 5, generator=gen, dtype=dtype),
          torch.randn(S, C, 6, 4, generator=gen, dtype=dtype)]
    grads = [[torch.randn(p.shape, generator=gen, dtype=dtype) for p in p0]
             for _ in range(STEPS)]
    # configurations 0 and 2 share η_A: one group of non-adjacent blocks
    lr_A = torch.tensor([1e-2, 3e-3, 1e-2, 5e-4], dtype=dtype).view(1, C, 1, 1)
    lr_B = torch.tensor([2e-2, 2e-2, 1e-3, 1e-3], dtype=dtype).view(1, C, 1, 1)
    return p0, grads, [lr_A, lr_B]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("kind", "fused"), [("adam", True), ("adam", False),
                                             ("adamw", True), ("adamw", False),
                                             ("sgd", None), ("signsgd", None)])
def test_every_row_equals_torch_optim_run_alone(kind, fused, dtype):
    p0, grads, lrs = _problem(dtype)
    params = [p.clone() for p in p0]
    wd = torch.tensor([0.0, 0.01, 0.1, 0.5], dtype=dtype).view(1, C, 1, 1)
    options = {} if kind in ("sgd", "signsgd") else {"fused": fused}
    if kind == "adamw":
        options["weight_decay"] = wd
    opt = make_optimizer(kind, params, lrs, **options)
    if fused is not None:
        assert opt.fused is fused
    for step_grads in grads:
        opt.step([g.clone() for g in step_grads])  # SignSGD overwrites its gradients
    for s, c in itertools.product(range(S), range(C)):
        ref = [
            _reference(kind, [p0[i][s, c]], [[gs[i][s, c]] for gs in grads],
                       float(lrs[i][0, c]), fused=fused, wd=float(wd[0, c]))[0]
            for i in range(2)
        ]
        for i in range(2):
            torch.testing.assert_close(params[i][s, c], ref[i], rtol=0, atol=0)
    assert not torch.equal(params[0], p0[0])


@pytest.mark.parametrize("fused", [True, False])
def test_per_row_lr_on_dim0_with_custom_betas(fused):
    """toymodel's layout: G runs on dim 0, one η per run (repeated, unsorted), own β, ε."""
    G = 5
    lr = torch.tensor([1e-3, 1e-3, 3e-3, 1e-2, 1e-3]).view(G, 1, 1)
    gen = torch.Generator().manual_seed(2)
    p0 = [torch.randn(G, 3, 4, generator=gen), torch.randn(G, 4, 2, generator=gen)]
    grads = [[torch.randn(p.shape, generator=gen) for p in p0] for _ in range(STEPS)]
    params = [p.clone() for p in p0]
    opt = BatchedAdamW(params, lr, weight_decay=0.05, betas=(0.8, 0.99), eps=1e-6, fused=fused)
    assert [len(members) for _, members in opt.groups] == [4, 2, 2]  # runs 0:2, 4:5 | 2 | 3
    for gs in grads:
        opt.step(gs)
    for g in range(G):
        ref = _reference("adamw", [p[g] for p in p0], [[x[g] for x in gs] for gs in grads],
                         float(lr[g]), fused=fused, wd=0.05, betas=(0.8, 0.99), eps=1e-6)
        for p, r in zip(params, ref, strict=True):
            torch.testing.assert_close(p[g], r, rtol=0, atol=0)


def test_fused_and_single_tensor_paths_agree_to_rounding():
    p0, grads, lrs = _problem(torch.float32)
    out = []
    for fused in (True, False):
        params = [p.clone() for p in p0]
        opt = BatchedAdam(params, lrs, fused=fused)
        for gs in grads:
            opt.step(gs)
        out.append(params)
    for a, b in zip(*out, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)


def test_first_adam_step_moves_every_entry_by_exactly_lr():
    params = [torch.zeros(2, 3)]
    BatchedAdam(params, torch.tensor([1e-3, 1e-2]).view(2, 1)).step([torch.ones(2, 3)])
    torch.testing.assert_close(params[0][0], torch.full((3,), -1e-3))  # m̂/√v̂ = 1
    torch.testing.assert_close(params[0][1], torch.full((3,), -1e-2))


@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_a_view_is_updated_in_place_and_its_neighbours_are_not(kind):
    base = torch.zeros(2, 3, 2, 2)
    view = base[:, 1:]  # (2, 2, 2, 2), not contiguous: the fused kernel gets its blocks
    lr = torch.tensor([0.5, 0.25]).view(1, 2, 1, 1)
    make_optimizer(kind, [view], lr).step([torch.ones_like(view)])
    assert torch.all(base[:, 0] == 0)
    torch.testing.assert_close(base[:, 1], torch.full((2, 2, 2), -0.5))
    torch.testing.assert_close(base[:, 2], torch.full((2, 2, 2), -0.25))


def test_non_contiguous_blocks_fall_back_and_fused_true_is_refused():
    p = torch.zeros(4, 3).T  # (3, 4) with per-row η: blocks p[i] are strided
    lr = torch.tensor([1e-3, 2e-3, 3e-3]).view(3, 1)
    opt = BatchedAdam([p], lr)
    assert not opt.fused
    opt.step([torch.ones(3, 4)])
    torch.testing.assert_close(p, -lr.expand(3, 4))
    with pytest.raises(ValueError, match="not contiguous"):
        BatchedAdam([torch.zeros(4, 3).T], lr, fused=True)


def test_a_non_contiguous_gradient_gives_the_same_step():
    p0, grads, lrs = _problem(torch.float32)
    a, b = [p.clone() for p in p0], [p.clone() for p in p0]
    opt_a, opt_b = BatchedAdam(a, lrs), BatchedAdam(b, lrs)
    for gs in grads:
        opt_a.step(gs)
        opt_b.step([g.transpose(-1, -2).contiguous().transpose(-1, -2) for g in gs])
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x, y)


def test_sign_descent_moves_by_lr_times_sign():
    p = torch.zeros(2, 3)
    g = torch.tensor([[2.0, -0.5, 0.0], [1e-9, -3.0, 4.0]])
    BatchedSignSGD([p], torch.tensor([0.1, 0.2]).view(2, 1)).step([g])
    torch.testing.assert_close(p, torch.tensor([[-0.1, 0.1, 0.0], [-0.2, 0.2, -0.2]]))


def test_overflowed_second_moment_is_reported_as_non_finite_state():
    """A huge gradient overflows v to inf: the parameter freezes, the state is not finite."""
    p = torch.zeros(2, 3, 4)
    opt = BatchedAdam([p], torch.tensor([1e-3, 1e-3, 1e-3]).view(1, 3, 1))
    g = torch.ones(2, 3, 4)
    g[1, 2, 0] = 1e30  # g² overflows float32
    g[0, 1, 3] = float("nan")
    opt.step([g])
    assert torch.isinf(opt.exp_avg_sq[0][1, 2, 0])
    assert torch.isfinite(p[1, 2]).all()  # the parameter itself looks fine
    expected = torch.ones(2, 3, dtype=torch.bool)
    expected[1, 2] = expected[0, 1] = False
    assert torch.equal(opt.finite_state(2), expected)
    assert opt.finite_state(1).tolist() == [False, False]
    assert BatchedSGD([p], 0.1).finite_state(2).all()


def test_blocks_are_maximal_contiguous_runs_per_leading_index():
    lr = torch.tensor([[1.0, 1.0, 2.0], [3.0, 3.0, 3.0]]).view(2, 3, 1)
    p = torch.zeros(2, 3, 5)
    assert blocks(p, [lr]) == [
        ((1.0,), (0, slice(0, 2))), ((2.0,), (0, slice(2, 3))), ((3.0,), (1, slice(0, 3)))]
    assert blocks(p, [torch.tensor(0.5)]) == [((0.5,), ())]
    # a slice of the configurations: one block per seed, each contiguous
    view = torch.zeros(2, 3, 4, 5)[:, 1:2]
    assert blocks(view, [torch.tensor(0.5)]) == [((0.5,), (slice(0, 1),)),
                                                 ((0.5,), (slice(1, 2),))]


def test_a_problem_gets_the_same_bits_whatever_shares_its_tensor():
    # what a sweep shard relies on: config 0 alone, or beside another in one tensor
    gen = torch.Generator().manual_seed(3)
    p0 = torch.randn(2, 2, 4, 8, generator=gen)
    grads = [torch.randn(2, 2, 4, 8, generator=gen) for _ in range(3)]
    alone, shared = p0[:, :1].clone(), p0.clone()
    opt_alone = BatchedAdam([alone], 1e-2)
    opt_shared = BatchedAdam([shared[:, :1]], 1e-2)  # a view: blocks per seed
    for g in grads:
        opt_alone.step([g[:, :1].contiguous()])
        opt_shared.step([g[:, :1]])
    assert opt_alone.fused and opt_shared.fused
    assert torch.equal(alone, shared[:, :1])


def test_bad_arguments_are_rejected():
    p = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="known: adam, adamw, signsgd, sgd"):
        make_optimizer("lion", [p], 0.1)
    with pytest.raises(ValueError, match="does not broadcast"):
        BatchedSGD([p], torch.ones(3, 1))
    with pytest.raises(ValueError, match="one lr per parameter"):
        BatchedSGD([p, p.clone()], [0.1])
    with pytest.raises(ValueError, match="one gradient per parameter"):
        BatchedSGD([p], 0.1).step([])
