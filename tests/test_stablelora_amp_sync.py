"""Stable-LoRA under AMP's skipped steps, and the structural check that its step never syncs."""

import pytest
import torch
from torch import nn

from stablelora import LoRALinear, attach, attachment, stop_steps


def model_and_data(seed=0):
    torch.manual_seed(seed)
    model = nn.Sequential(
        LoRALinear(16, 32, 4, sigma_A=0.5, base=nn.Linear(16, 32)),
        nn.Tanh(),
        LoRALinear(32, 8, 4, sigma_A=0.5, base=nn.Linear(32, 8)),
    )
    g = torch.Generator().manual_seed(1)
    return model, torch.randn(32, 16, generator=g), torch.randn(32, 8, generator=g)


def lora_params(model):
    return [p for p in model.parameters() if p.requires_grad]


@pytest.mark.parametrize("fused", [False, True])
def test_step_skipped_by_grad_scaler_does_not_shrink(fused):
    model, X, Y = model_and_data()
    opt = attach(torch.optim.AdamW(lora_params(model), lr=1e-2, fused=fused), model, shrink=0.1)
    assert getattr(opt, "_step_supports_amp_scaling", False) == fused  # fused: takes found_inf
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0, growth_interval=1000)
    before = [p.detach().clone() for p in model.parameters()]
    scaler.scale(((model(X) - Y) ** 2).mean()).backward()
    with torch.no_grad():
        model[2].lora_B.grad[0, 0] = float("inf")  # an overflow in one gradient
    scaler.step(opt)
    scaler.update()
    assert scaler.get_scale() == 512.0  # the scaler did find inf
    for p, q in zip(model.parameters(), before, strict=True):
        assert torch.equal(p, q)  # no shrink, no update
    assert opt.state_dict()["stable_lora"]["step"] == 0  # skipped steps are not counted
    opt.zero_grad()
    scaler.scale(((model(X) - Y) ** 2).mean()).backward()
    scaler.step(opt)
    scaler.update()
    assert opt.state_dict()["stable_lora"]["step"] == 1
    assert not torch.equal(model[0].lora_A, before[0])


def test_found_inf_masks_the_shrink_on_the_device():
    model, X, Y = model_and_data()
    opt = attach(torch.optim.SGD(lora_params(model), lr=0.0, fused=True), model, shrink=0.5)
    A0 = model[0].lora_A.detach().clone()
    ((model(X) - Y) ** 2).mean().backward()
    opt.found_inf = torch.ones(())  # what GradScaler sets for optimizers that take it
    opt.step()
    assert torch.equal(model[0].lora_A, A0)
    opt.found_inf = torch.zeros(())
    opt.step()
    del opt.found_inf
    assert torch.equal(model[0].lora_A, A0 * 0.5)


class HostReadError(RuntimeError):
    """Raised by a patched Tensor method that reads a device value on the host."""


@pytest.fixture
def forbid_host_reads(monkeypatch):
    """Make every way of reading a tensor's value on the host raise, while active."""
    state = {"on": False}

    def guard(name):
        original = getattr(torch.Tensor, name)

        def patched(self, *args, **kwargs):
            if state["on"]:
                raise HostReadError(f"Tensor.{name} called inside step()")
            return original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, patched)

    for name in ("item", "tolist", "cpu", "numpy", "__bool__", "__int__", "__float__",
                 "__index__", "nonzero"):
        guard(name)
    return state


def test_forbid_host_reads_catches_a_branch_on_a_tensor(forbid_host_reads):
    forbid_host_reads["on"] = True
    with pytest.raises(HostReadError):
        if torch.ones(()) > 0:  # the kind of line a straightforward port has
            pass


@pytest.mark.parametrize("stop_condition", [True, False])
def test_step_reads_nothing_on_the_host(forbid_host_reads, stop_condition):
    model, X, Y = model_and_data()
    opt = attach(torch.optim.AdamW(lora_params(model), lr=1e-2, fused=True),
                 model, shrink=0.05, stop_condition=stop_condition)
    for t in range(120):
        opt.zero_grad(set_to_none=True)
        out = model[0](X) if t % 3 == 0 else model(X)  # some steps: layer 2 has no grad
        ((out - (Y if out.shape[-1] == 8 else 0.0)) ** 2).mean().backward()
        forbid_host_reads["on"] = True
        opt.step()
        if t % 7 == 0:
            opt.found_inf = torch.zeros(())  # the AMP path too
            opt.step()
            del opt.found_inf
        forbid_host_reads["on"] = False
    stops = stop_steps(opt)
    assert all(s is not None for s in stops.values()) == stop_condition


def test_after_every_pair_stopped_the_step_launches_nothing(monkeypatch):
    model, X, Y = model_and_data()
    with torch.no_grad():
        for layer in (model[0], model[2]):
            layer.lora_B.fill_(1.0)  # ‖B‖_F/m ≫ ‖A‖_F/n: stable at the first step
    opt = attach(torch.optim.SGD(lora_params(model), lr=0.01), model, shrink=0.5)
    for _ in range(2):
        ((model(X) - Y) ** 2).mean().backward()
        opt.step()
    assert stop_steps(opt) == {"0": 1, "2": 1}

    def no_norms(*args, **kwargs):
        raise AssertionError("norms computed after all pairs stopped")

    monkeypatch.setattr(torch, "_foreach_norm", no_norms)
    opt.step()
    assert all(g.done for g in attachment(opt).groups)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_step_passes_sync_debug_mode():
    model, X, Y = model_and_data()
    model, X, Y = model.cuda(), X.cuda(), Y.cuda()
    opt = attach(torch.optim.AdamW(lora_params(model), lr=1e-2, capturable=True), model,
                 shrink=0.05)
    for _ in range(50):
        opt.zero_grad()
        ((model(X) - Y) ** 2).mean().backward()
        torch.cuda.set_sync_debug_mode("error")
        try:
            opt.step()
        finally:
            torch.cuda.set_sync_debug_mode("default")
    assert all(s is not None for s in stop_steps(opt).values())
