"""Fine-tune a PEFT LoRA model with transformers.Trainer and Stable-LoRA, offline, in seconds.

    .venv/bin/python examples/finetune_trainer.py            # Stable-LoRA (λ = 5e-3)
    .venv/bin/python examples/finetune_trainer.py --plain    # the same run, PEFT + AdamW only

The model is a small LLaMA built from a config (random weights: nothing is downloaded);
for a real model put ``AutoModelForCausalLM.from_pretrained(name)`` in its place. The data
are arithmetic progressions mod the vocabulary (x_{i+1} = x_i + d), which LoRA learns in a
few hundred steps. Everything else is what a PEFT + AdamW + Trainer run looks like, and
turning it into Stable-LoRA (Algorithm 1 of Stable-LoRA, Section 4) is one line:

    optimizer = stablelora.attach(optimizer, model, shrink=5e-3)

``attach`` returns the same AdamW, so the scheduler, Trainer, accelerate and checkpoints
use it as before; the Stable-LoRA state is saved in the optimizer's checkpoint.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile

import torch
import transformers
from peft import LoraConfig, get_peft_model

import stablelora

VOCAB, LENGTH = 64, 16


def progressions(n: int, seed: int) -> list[dict[str, torch.Tensor]]:
    """n sequences x_i = (s + i·d) mod VOCAB with random start s and stride d ∈ {1, …, 4}."""
    g = torch.Generator().manual_seed(seed)
    start = torch.randint(0, VOCAB, (n, 1), generator=g)  # (n, 1)
    stride = torch.randint(1, 5, (n, 1), generator=g)  # (n, 1)
    tokens = (start + stride * torch.arange(LENGTH)) % VOCAB  # (n, LENGTH)
    return [{"input_ids": row, "labels": row} for row in tokens]


def build_model(seed: int) -> torch.nn.Module:
    """A 2-layer LLaMA (hidden 64) with LoRA r = 8 on every linear map of its blocks."""
    torch.manual_seed(seed)
    config = transformers.LlamaConfig(
        vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=LENGTH,
    )
    base = transformers.LlamaForCausalLM(config)  # or AutoModelForCausalLM.from_pretrained(...)
    lora = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules=[
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
    return get_peft_model(base, lora)


def main(argv: list[str] | None = None) -> dict:
    """Train, evaluate, print the held-out loss and (with Stable-LoRA) the stop steps."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=200, help="optimizer steps (default 200)")
    ap.add_argument("--lr", type=float, default=1e-2, help="peak learning rate (default 1e-2)")
    ap.add_argument("--shrink", type=float, default=5e-3, help="Stable-LoRA's λ (default 5e-3)")
    ap.add_argument("--plain", action="store_true", help="PEFT + AdamW without Stable-LoRA")
    ap.add_argument("--seed", type=int, default=0, help="model and data seed (default 0)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)

    model = build_model(args.seed)
    train_set, test_set = progressions(1024, args.seed), progressions(128, args.seed + 1)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=0.01)
    if not args.plain:
        optimizer = stablelora.attach(optimizer, model, shrink=args.shrink)  # the one line
    scheduler = transformers.get_linear_schedule_with_warmup(optimizer, args.steps // 10,
                                                             args.steps)
    with tempfile.TemporaryDirectory() as out:
        training = transformers.TrainingArguments(
            output_dir=out, max_steps=args.steps, per_device_train_batch_size=16,
            per_device_eval_batch_size=64, save_strategy="no", logging_strategy="no",
            report_to=[], use_cpu=True, disable_tqdm=True, dataloader_num_workers=0,
            seed=args.seed,
        )
        trainer = transformers.Trainer(model=model, args=training, train_dataset=train_set,
                                       eval_dataset=test_set, optimizers=(optimizer, scheduler))
        trainer.train()
        result = {"eval_loss": trainer.evaluate()["eval_loss"]}
    print(f"{'PEFT + AdamW' if args.plain else 'Stable-LoRA'}: held-out loss "
          f"{result['eval_loss']:.4f} after {args.steps} steps")
    if not args.plain:
        stops = stablelora.stop_steps(optimizer)
        done = sorted(s for s in stops.values() if s is not None)
        result["stop_steps"] = stops
        print(f"{len(done)} of {len(stops)} LoRA pairs reached ‖A‖_F/n ≤ ‖B‖_F/m"
              + (f" (stop steps {done[0]}–{done[-1]}, median {statistics.median(done):g})"
                 if done else ""))
    return result


if __name__ == "__main__":
    main()
