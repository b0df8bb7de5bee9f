"""stablelora.attach inside transformers.Trainer: schedule, accumulation, checkpoint and resume."""

import math

import pytest
import torch
from test_stablelora_peft import reference_pairs, tiny_llama

from stablelora import attach, stop_steps

transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")
pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::UserWarning")

T, WARMUP, BATCH, LENGTH, LR, WD, SHRINK = 30, 4, 4, 16, 1e-2, 0.01, 0.05
DATA = torch.randint(0, 64, (T * BATCH, LENGTH), generator=torch.Generator().manual_seed(3))


class Stream(torch.utils.data.IterableDataset):
    """The rows of DATA in order (an iterable data set: Trainer does not shuffle it)."""

    def __iter__(self):
        for row in DATA:
            yield {"input_ids": row, "labels": row}


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def trainer_args(tmp_path, **kwargs):
    return transformers.TrainingArguments(
        output_dir=str(tmp_path), report_to=[], use_cpu=True, logging_strategy="no",
        disable_tqdm=True, dataloader_num_workers=0, seed=0,
        **{"save_strategy": "no", "per_device_train_batch_size": BATCH, "max_steps": T, **kwargs},
    )


def attached_adamw(model):
    trainable = [p for p in model.parameters() if p.requires_grad]
    return attach(torch.optim.AdamW(trainable, lr=LR, weight_decay=WD), model, shrink=SHRINK)


def train(tmp_path, model, resume=None, callbacks=None, **kwargs):
    """Trainer with the attached AdamW and a linear warm-up schedule, as a user writes it."""
    opt = attached_adamw(model)
    sched = transformers.get_linear_schedule_with_warmup(opt, WARMUP, T)
    trainer = transformers.Trainer(model=model, args=trainer_args(tmp_path, **kwargs),
                                   train_dataset=Stream(), optimizers=(opt, sched),
                                   callbacks=callbacks)
    trainer.train(resume_from_checkpoint=resume)
    return trainer, opt


def reference_run(model):
    """A plain loop: AdamW written out, Algorithm 1 before it, the linear warm-up by hand.

    Returns the stop step of each pair (None if it never stopped), in module order.
    """
    pairs = reference_pairs(model)
    params = [p for p in model.parameters() if p.requires_grad]
    m1 = [torch.zeros_like(p) for p in params]
    m2 = [torch.zeros_like(p) for p in params]
    stable, stops = [False] * len(pairs), [None] * len(pairs)
    for t in range(1, T + 1):
        k = t - 1  # scheduler steps taken before update t
        lr = LR * (k / WARMUP if k < WARMUP else max(0.0, (T - k) / (T - WARMUP)))
        batch = DATA[k * BATCH:t * BATCH]
        for p in params:
            p.grad = None
        model(input_ids=batch, labels=batch).loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)  # Trainer's max_grad_norm
        with torch.no_grad():
            for i, (A, B, n, m) in enumerate(pairs):  # Algorithm 1, before the update
                if stable[i]:
                    continue
                if A.norm() / n > B.norm() / m:
                    A.mul_(1 - SHRINK)
                else:
                    stable[i], stops[i] = True, t
            for p, a, b in zip(params, m1, m2, strict=True):  # AdamW (decoupled decay)
                a.mul_(0.9).add_(p.grad, alpha=0.1)
                b.mul_(0.999).addcmul_(p.grad, p.grad, value=0.001)
                p.mul_(1 - lr * WD)
                denom = (b.sqrt() / math.sqrt(1 - 0.999 ** t)).add_(1e-8)
                p.addcdiv_(a, denom, value=-lr / (1 - 0.9 ** t))
    return stops


def assert_same_weights(a, b, atol):
    for (name, p), q in zip(a.named_parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=atol, msg=name)


def test_trainer_with_linear_warmup_matches_a_plain_reference_loop(tmp_path):
    model, ref = tiny_llama(), tiny_llama()
    trainer, opt = train(tmp_path, model)
    assert trainer.optimizer.optimizer is opt  # accelerate wrapped the very object
    stops = reference_run(ref)
    assert_same_weights(model, ref, atol=1e-6)
    assert list(stop_steps(opt).values()) == stops
    assert all(s is not None for s in stops) and len(set(stops)) > 3  # stopped at varied steps
    lora_B = [p for n, p in model.named_parameters() if "lora_B" in n]
    assert min(p.abs().max() for p in lora_B) > 1e-3  # the schedule's lr reached AdamW


def test_gradient_accumulation_shrinks_once_per_optimizer_step(tmp_path):
    model = tiny_llama()
    A0 = {n: p.detach().clone() for n, p in model.named_parameters() if "lora_A" in n}
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = attach(torch.optim.AdamW(trainable, lr=0.0), model, shrink=0.5)  # only the shrink acts
    args = trainer_args(tmp_path, gradient_accumulation_steps=4, max_steps=3,
                        per_device_train_batch_size=2)
    trainer = transformers.Trainer(model=model, args=args, train_dataset=Stream(),
                                   optimizers=(opt, transformers.get_constant_schedule(opt)))
    trainer.train()
    assert trainer.state.global_step == 3  # 12 micro-batches, 3 optimizer steps
    for n, p in model.named_parameters():
        if n in A0:  # B stays 0, so every pair shrinks at each of the 3 steps, once
            assert torch.equal(p, A0[n] * 0.125), n
    assert opt.state_dict()["stable_lora"]["step"] == 3


class StopAt(transformers.TrainerCallback):
    """Interrupt training after step k (the checkpoint at k is written first)."""

    def __init__(self, k):
        self.k = k

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.k:
            control.should_training_stop = True


def test_resume_from_checkpoint_equals_the_uninterrupted_run(tmp_path):
    straight = tiny_llama()
    _, opt = train(tmp_path / "straight", straight)
    stops = stop_steps(opt)
    k = 22
    assert any(s < k for s in stops.values()) and any(s > k for s in stops.values())
    _, first = train(tmp_path / "run", tiny_llama(), callbacks=[StopAt(k)],
                     save_strategy="steps", save_steps=k)
    at_k = stop_steps(first)
    assert at_k == {n: (s if s <= k else None) for n, s in stops.items()}
    resumed = tiny_llama()  # the same frozen base (from_pretrained in real use) and ...
    with torch.no_grad():
        for p in resumed.parameters():
            if p.requires_grad:  # ... other LoRA weights: they must come from the checkpoint
                p.normal_()
    checkpoint = tmp_path / "run" / f"checkpoint-{k}"
    trainer, opt2 = train(tmp_path / "run", resumed, resume=str(checkpoint),
                          save_strategy="steps", save_steps=k)
    assert trainer.state.global_step == T
    assert stop_steps(opt2) == stops
    assert_same_weights(resumed, straight, atol=1e-6)
