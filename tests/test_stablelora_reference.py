"""stablelora.attach against a plain Algorithm 1 written here, on LoRALinear models."""

import io

import pytest
import torch
from torch import nn

from stablelora import (
    LoRALinear,
    PairingError,
    ShrinkRateError,
    StateDictError,
    attach,
    attachment,
    stop_steps,
)


def algorithm1_shrink(pairs, stable, stops, t, lam, stop_condition):
    """Stable-LoRA Algorithm 1's shrink for step t, the plain way: a Python branch per pair.

    pairs: (A, B, n, m) tuples; stable, stops: Python lists updated in place.
    """
    with torch.no_grad():
        for i, (A, B, n, m) in enumerate(pairs):
            if stop_condition and stable[i]:
                continue
            if A.norm() / n > B.norm() / m:
                A.mul_(1 - lam)
            elif stop_condition:
                stable[i], stops[i] = True, t


def lockstep(ref_model, ref_opt, ref_pairs, model, opt, loss_fn, steps, lam, stop_condition):
    """Train the reference and the attached run side by side; return the reference stops."""
    stable, stops = [False] * len(ref_pairs), [None] * len(ref_pairs)
    for t in range(1, steps + 1):
        for m, o in ((ref_model, ref_opt), (model, opt)):
            o.zero_grad()
            loss_fn(m, t).backward()
        algorithm1_shrink(ref_pairs, stable, stops, t, lam, stop_condition)
        ref_opt.step()
        opt.step()
        for (name, p), q in zip(model.named_parameters(), ref_model.parameters(), strict=True):
            torch.testing.assert_close(p, q, rtol=0, atol=1e-6, msg=f"{name} at step {t}")
    return stops


def two_layer(seed=0):
    """A tiny two-LoRA-layer network with frozen bases, n ≠ m, and A₀ large (Init[A])."""
    torch.manual_seed(seed)
    return nn.Sequential(
        LoRALinear(16, 32, 4, scaling=2.0, sigma_A=0.5, base=nn.Linear(16, 32)),
        nn.Tanh(),
        LoRALinear(32, 8, 4, scaling=2.0, sigma_A=0.5, base=nn.Linear(32, 8)),
    )


def pairs_of(model):
    return [(l.lora_A, l.lora_B, l.in_features, l.out_features) for l in (model[0], model[2])]


g = torch.Generator().manual_seed(1)
X, Y = torch.randn(32, 16, generator=g), torch.randn(32, 8, generator=g)


def mse(model, t):
    return ((model(X) - Y) ** 2).mean()


def lora_params(model):
    return [p for p in model.parameters() if p.requires_grad]


OPTIMIZERS = {
    "adamw": lambda ps: torch.optim.AdamW(ps, lr=1e-2, weight_decay=0.1),
    "sgd": lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=1e-3),
}


@pytest.mark.parametrize("stop_condition", [True, False])
@pytest.mark.parametrize("optimizer", ["adamw", "sgd"])
def test_matches_plain_algorithm1_for_300_steps(optimizer, stop_condition):
    ref, ours = two_layer(), two_layer()
    make = OPTIMIZERS[optimizer]
    opt = attach(make(lora_params(ours)), ours, shrink=0.02, stop_condition=stop_condition)
    stops = lockstep(ref, make(lora_params(ref)), pairs_of(ref), ours, opt, mse, 300, 0.02,
                     stop_condition)
    assert stop_steps(opt) == dict(zip(["0", "2"], stops, strict=True))
    if stop_condition:  # shrinking happened for a while, then stopped, in every pair
        assert all(s is not None and s > 5 for s in stops)
    # and it mattered: a run of the bare optimizer ends elsewhere
    bare = two_layer()
    bare_opt = make(lora_params(bare))
    for t in range(300):
        bare_opt.zero_grad()
        mse(bare, t).backward()
        bare_opt.step()
    assert (bare[0].lora_A - ours[0].lora_A).abs().max() > 1e-3


def run(model, opt, steps, start=1):
    for t in range(start, start + steps):
        opt.zero_grad()
        mse(model, t).backward()
        opt.step()


def test_state_dict_round_trip_resumes_where_it_was():
    straight = two_layer()
    opt = attach(torch.optim.AdamW(lora_params(straight), lr=1e-2), straight, shrink=0.02)
    run(straight, opt, 150)
    first = two_layer()
    opt1 = attach(torch.optim.AdamW(lora_params(first), lr=1e-2), first, shrink=0.02)
    run(first, opt1, 60)
    stops_at_60 = stop_steps(opt1)
    assert stops_at_60["2"] is not None and stops_at_60["0"] is None  # one stopped, one not
    buf = io.BytesIO()
    torch.save({"model": first.state_dict(), "opt": opt1.state_dict()}, buf)
    buf.seek(0)
    saved = torch.load(buf)
    resumed = two_layer(seed=5)  # different init: everything must come from the files
    opt2 = attach(torch.optim.AdamW(lora_params(resumed), lr=1e-2), resumed, shrink=0.5)
    resumed.load_state_dict(saved["model"])
    opt2.load_state_dict(saved["opt"])
    assert stop_steps(opt2) == stops_at_60 and attachment(opt2).shrink == 0.02
    run(resumed, opt2, 90, start=61)
    assert stop_steps(opt2) == stop_steps(opt)
    for p, q in zip(resumed.parameters(), straight.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-6)


def test_load_state_dict_rejects_other_pairs_and_other_dicts():
    model = two_layer()
    opt = attach(torch.optim.SGD(lora_params(model), lr=0.1), model, shrink=0.1)
    state = opt.state_dict()
    state["stable_lora"]["names"] = ["0", "9"]
    with pytest.raises(StateDictError, match="differ"):
        opt.load_state_dict(state)
    with pytest.raises(StateDictError, match="no Stable-LoRA entry"):
        opt.load_state_dict(torch.optim.SGD(lora_params(model), lr=0.1).state_dict())
    plain = torch.optim.SGD(lora_params(model), lr=0.1)
    plain.load_state_dict(opt.state_dict())  # a plain optimizer ignores the entry


def test_state_dict_round_trip_keeps_the_schedule_in_charge():
    """The old wrapper's bug: load_state_dict replaced param_groups behind the scheduler."""
    runs = []
    for round_trip in (False, True):
        model = two_layer()
        opt = attach(torch.optim.AdamW(lora_params(model), lr=1e-2), model, shrink=0.02)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: min(1.0, (t + 1) / 10))
        if round_trip:  # what accelerate.prepare and Trainer's resume do
            opt.load_state_dict(opt.state_dict())
        for t in range(30):
            opt.zero_grad()
            mse(model, t).backward()
            opt.step()
            sched.step()
        assert opt.param_groups[0]["lr"] == 1e-2
        runs.append((model, stop_steps(opt)))
    (a, stops_a), (b, stops_b) = runs
    assert stops_a == stops_b
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)


def test_one_shrink_per_optimizer_step_under_gradient_accumulation():
    model = two_layer()
    with torch.no_grad():
        model[0].lora_B.zero_()  # B = 0 keeps ‖A‖_F/n > ‖B‖_F/m true
    A0 = model[0].lora_A.detach().clone()
    opt = attach(torch.optim.SGD([model[0].lora_A], lr=0.0), model, shrink=0.5)
    for _ in range(3):
        for _ in range(4):  # four micro-batches per optimizer step
            mse(model, 0).backward()
        opt.step()
        opt.zero_grad()
    torch.testing.assert_close(model[0].lora_A, A0 * 0.125, rtol=0, atol=0)


def test_pair_without_grad_is_left_alone_and_others_follow_the_reference():
    ref, ours = two_layer(), two_layer()

    def first_layer_only(m, t):  # layer 2 takes part on even steps only
        h = torch.tanh(m[0](X))
        return (h ** 2).mean() + (((m[2](h) - Y) ** 2).mean() if t % 2 == 0 else 0.0)

    opt = attach(torch.optim.AdamW(lora_params(ours), lr=1e-2), ours, shrink=0.05)
    ref_opt = torch.optim.AdamW(lora_params(ref), lr=1e-2)
    stable, stops = [False, False], [None, None]
    for t in range(1, 61):
        for m, o in ((ref, ref_opt), (ours, opt)):
            o.zero_grad(set_to_none=True)
            first_layer_only(m, t).backward()
        active = [(A, B, n, mm) for A, B, n, mm in pairs_of(ref) if A.grad is not None]
        idx = [i for i, (A, *_) in enumerate(pairs_of(ref)) if A.grad is not None]
        sub_stable, sub_stops = [stable[i] for i in idx], [stops[i] for i in idx]
        algorithm1_shrink(active, sub_stable, sub_stops, t, 0.05, True)
        for j, i in enumerate(idx):
            stable[i], stops[i] = sub_stable[j], sub_stops[j]
        before = ours[2].lora_A.detach().clone()
        ref_opt.step()
        opt.step()
        if t % 2:
            assert torch.equal(ours[2].lora_A, before)  # no grad: neither shrunk nor updated
        for p, q in zip(ours.parameters(), ref.parameters(), strict=True):
            torch.testing.assert_close(p, q, rtol=0, atol=1e-6)
    assert stops[0] is not None and stop_steps(opt) == {"0": stops[0], "2": stops[1]}


def test_closure_takes_the_gradient_before_the_shrink():
    a, b = two_layer(), two_layer()
    opt_a = attach(torch.optim.AdamW(lora_params(a), lr=1e-2), a, shrink=0.05)
    opt_b = attach(torch.optim.AdamW(lora_params(b), lr=1e-2), b, shrink=0.05)
    for t in range(20):
        def closure(t=t):
            opt_b.zero_grad()
            loss = mse(b, t)
            loss.backward()
            return loss

        loss = opt_b.step(closure)
        opt_a.zero_grad()
        expected = mse(a, t)
        expected.backward()
        opt_a.step()
        assert torch.equal(loss, expected)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)


def test_lbfgs_reevaluates_the_closure_after_the_first_call():
    evaluations = []
    for shrink in (None, 0.05):
        model = two_layer()
        opt = torch.optim.LBFGS(lora_params(model), max_iter=4, tolerance_grad=0.0,
                                tolerance_change=0.0)
        if shrink is not None:
            opt = attach(opt, model, shrink=shrink)
        calls = []

        def closure(model=model, opt=opt, calls=calls):
            calls.append(mse(model, 0).item())
            opt.zero_grad()
            loss = mse(model, 0)
            loss.backward()
            return loss

        A0 = model[0].lora_A.detach().clone()
        loss = opt.step(closure)
        assert loss.item() == calls[0]  # the loss at the unshrunk A
        evaluations.append(len(calls))
    assert evaluations[0] == evaluations[1] > 2  # the pre-hook's call replaced LBFGS's first
    assert not torch.equal(model[0].lora_A, A0)


def test_attach_returns_the_same_optimizer_that_schedulers_drive():
    model = two_layer()
    inner = torch.optim.SGD(lora_params(model), lr=0.1)
    opt = attach(inner, model, shrink=0.1)
    assert opt is inner and type(opt) is torch.optim.SGD
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    run(model, opt, 2)
    sched.step()
    assert inner.param_groups[0]["lr"] == 0.05
    assert attachment(opt).names == ["0", "2"] and list(opt.state_dict()) == [
        "state", "param_groups", "stable_lora"]


def test_errors_name_the_fix():
    model = two_layer()
    with pytest.raises(PairingError, match="torch.optim.Optimizer"):
        attach(object(), model, shrink=0.1)
    with pytest.raises(PairingError, match="no LoRA pair"):
        attach(torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1), nn.Linear(2, 2), shrink=0.1)
    with pytest.raises(ShrinkRateError):
        attach(torch.optim.SGD(lora_params(model), lr=0.1), model, shrink=1.0)
    opt = attach(torch.optim.SGD(lora_params(model), lr=0.1), model, shrink=0.1)
    with pytest.raises(PairingError, match="already attached"):
        attach(opt, model, shrink=0.1)
    with pytest.raises(PairingError, match="call stablelora.attach"):
        stop_steps(torch.optim.SGD(lora_params(model), lr=0.1))


def test_bfloat16_pairs_follow_the_reference_and_tiny_shrink_warns():
    torch.manual_seed(0)
    layer = LoRALinear(64, 32, 4, init="A", sigma_A=0.3, dtype=torch.bfloat16)  # B₀ = 0
    before = layer.lora_A.detach().clone()
    ref = before.clone()
    opt = attach(torch.optim.SGD(lora_params(layer), lr=0.0), layer, shrink=0.1)
    algorithm1_shrink([(ref, layer.lora_B.detach(), 64, 32)], [False], [None], 1, 0.1, True)
    layer(torch.ones(2, 64, dtype=torch.bfloat16)).sum().backward()  # grads set: A is updated
    opt.step()
    assert torch.equal(layer.lora_A, ref) and not torch.equal(ref, before)
    with pytest.warns(UserWarning, match="rounds back"):
        attach(torch.optim.SGD(lora_params(layer), lr=0.0), layer, shrink=1e-3)
