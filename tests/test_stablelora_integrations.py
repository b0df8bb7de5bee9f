"""stablelora.attach with accelerate, ReduceLROnPlateau, torch.compile, DDP names, mixed dtypes."""

import io

import pytest
import torch
from test_stablelora_peft import tiny_llama
from test_stablelora_reference import X, Y, algorithm1_shrink, lora_params, mse, pairs_of, two_layer
from torch import nn

from stablelora import LoRALinear, PairingError, attach, create_stablelora_optimizer, stop_steps

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def adamw(model):
    return torch.optim.AdamW(lora_params(model), lr=1e-2, weight_decay=0.1)


def warmup(opt):
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda t: min(1.0, (t + 1) / 10))


def step(model, opt, t):
    opt.zero_grad()
    mse(model, t).backward()
    opt.step()


def assert_same(a, b):
    for (name, p), q in zip(a.named_parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q), name


def test_accelerate_prepare_with_default_placement_trains_as_a_plain_loop():
    accelerate = pytest.importorskip("accelerate")
    plain, ours = two_layer(), two_layer()
    opt = attach(adamw(plain), plain, shrink=0.02)
    sched = warmup(opt)
    accelerator = accelerate.Accelerator(cpu=True)
    inner = attach(adamw(ours), ours, shrink=0.02)
    model, aopt, asched = accelerator.prepare(ours, inner, warmup(inner))  # load_state_dict inside
    assert aopt.optimizer is inner
    for t in range(60):
        step(plain, opt, t)
        sched.step()
        aopt.zero_grad()
        accelerator.backward(mse(model, t))
        aopt.step()
        asched.step()
    assert inner.param_groups[0]["lr"] == 1e-2
    assert stop_steps(aopt) == stop_steps(opt) and stop_steps(opt)["2"] is not None
    assert_same(ours, plain)
    with pytest.raises(PairingError, match="attach to the optimizer it wraps"):
        attach(accelerator.prepare(adamw(two_layer())), ours, shrink=0.02)


def test_reduce_lr_on_plateau_drives_the_attached_optimizer_after_a_state_round_trip():
    ref, ours = two_layer(), two_layer()
    ref_opt = adamw(ref)
    opt = attach(adamw(ours), ours, shrink=0.02)
    opt.load_state_dict(opt.state_dict())  # as accelerate.prepare does
    scheds = [torch.optim.lr_scheduler.ReduceLROnPlateau(o, factor=0.5, patience=2)
              for o in (ref_opt, opt)]
    stable, stops = [False, False], [None, None]
    for t in range(1, 41):
        ref_opt.zero_grad()
        mse(ref, t).backward()
        algorithm1_shrink(pairs_of(ref), stable, stops, t, 0.02, True)
        ref_opt.step()
        step(ours, opt, t)
        for s in scheds:
            s.step(1.0)  # no improvement: the lr halves every 3 steps
    assert opt.param_groups[0]["lr"] == ref_opt.param_groups[0]["lr"] < 1e-5
    assert stop_steps(opt) == {"0": stops[0], "2": stops[1]}
    for p, q in zip(ours.parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-6)


def save(*objects):
    buf = io.BytesIO()
    torch.save([o.state_dict() for o in objects], buf)
    buf.seek(0)
    return torch.load(buf)


def test_compiled_and_eager_runs_load_each_others_state():
    eager = two_layer()
    opt = attach(adamw(eager), eager, shrink=0.02)
    compiled_model = two_layer()
    compiled = torch.compile(compiled_model, backend="aot_eager")
    copt = attach(adamw(compiled_model), compiled, shrink=0.02)
    assert stop_steps(copt) == {"0": None, "2": None}  # names without "_orig_mod."
    for t in range(30):
        step(eager, opt, t)
        step(compiled, copt, t)
    for p, q in zip(compiled_model.parameters(), eager.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-6)
    # swap: the eager run continues from the compiled one's state and vice versa
    from_compiled, from_eager = save(compiled_model, copt), save(eager, opt)
    eager2, compiled2_model = two_layer(seed=3), two_layer(seed=4)
    compiled2 = torch.compile(compiled2_model, backend="aot_eager")
    opt2 = attach(adamw(eager2), eager2, shrink=0.5)
    copt2 = attach(adamw(compiled2_model), compiled2, shrink=0.5)
    for model, o, (weights, state) in ((eager2, opt2, from_compiled),
                                       (compiled2_model, copt2, from_eager)):
        model.load_state_dict(weights)
        o.load_state_dict(state)
    for t in range(30, 90):
        step(eager, opt, t)
        step(eager2, opt2, t)
        step(compiled2, copt2, t)
    assert stop_steps(opt2) == stop_steps(copt2) == stop_steps(opt)
    assert stop_steps(opt)["2"] > 30  # a pair stopped after the swap, at the same step
    for model in (eager2, compiled2_model):
        for p, q in zip(model.parameters(), eager.parameters(), strict=True):
            torch.testing.assert_close(p, q, rtol=0, atol=1e-6)


def test_data_parallel_names_drop_the_module_prefix():
    model = two_layer()
    wrapped = nn.DataParallel(model)  # on CPU it just calls the module; names get "module."
    assert "module.0" in dict(wrapped.named_modules())
    opt = attach(adamw(model), wrapped, shrink=0.02)
    assert list(stop_steps(opt)) == ["0", "2"]


class TwoDtypes(nn.Module):
    """A float32 pair that is stable at once and a float64 pair that shrinks for a while."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.fast = LoRALinear(16, 32, 4, sigma_A=0.5, base=nn.Linear(16, 32))
        self.slow = LoRALinear(16, 8, 4, sigma_A=0.5, base=nn.Linear(16, 8), dtype=torch.float64)
        self.slow.base.double()
        with torch.no_grad():
            self.fast.lora_B.fill_(1.0)  # ‖B‖_F/m ≫ ‖A‖_F/n: stable at step 1

    def forward(self, x):
        return self.fast(x).pow(2).mean() + (self.slow(x.double()) - Y.double()).pow(2).mean()


def test_step_count_survives_a_resume_when_one_pair_group_has_stopped():
    """The old wrapper saved groups[0].step, which froze when that group stopped."""

    def run(model, opt, steps):
        for _ in range(steps):
            opt.zero_grad()
            model(X).backward()
            opt.step()

    straight = TwoDtypes()
    opt = attach(adamw(straight), straight, shrink=0.05)
    run(straight, opt, 40)
    stops = stop_steps(opt)
    assert stops["fast"] == 1 and stops["slow"] > 12
    first = TwoDtypes()
    opt1 = attach(adamw(first), first, shrink=0.05)
    run(first, opt1, 12)
    weights, state = save(first, opt1)
    assert state["stable_lora"]["step"] == 12 and stop_steps(opt1)["slow"] is None
    resumed = TwoDtypes()
    opt2 = attach(adamw(resumed), resumed, shrink=0.05)
    resumed.load_state_dict(weights)
    opt2.load_state_dict(state)
    run(resumed, opt2, 28)
    assert stop_steps(opt2) == stops
    for p, q in zip(resumed.parameters(), straight.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-6)


def test_factory_builds_the_optimizer_like_create_loraplus_optimizer():
    peft = pytest.importorskip("peft")
    model = tiny_llama(modules_to_save=["norm"])  # 5 trained 1-D RMSNorm weights: no decay
    opt = create_stablelora_optimizer(model, torch.optim.AdamW, lr=2e-3, shrink=0.01,
                                      weight_decay=0.05, betas=(0.9, 0.99))
    decay, flat = opt.param_groups
    assert type(opt) is torch.optim.AdamW and decay["lr"] == 2e-3 and decay["betas"] == (0.9, 0.99)
    assert decay["weight_decay"] == 0.05 and flat["weight_decay"] == 0.0
    assert all(p.dim() == 2 for p in decay["params"]) and len(decay["params"]) == 24
    assert [p.dim() for p in flat["params"]] == [1] * 5
    assert len(stop_steps(opt)) == 12
    assert isinstance(model, peft.PeftModel)
