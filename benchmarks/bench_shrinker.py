"""Per-step cost of StableLoRA over the bare optimizer, and of a straightforward port.

Run by hand (not a test):

    .venv/bin/python -m benchmarks.bench_shrinker --threads 1 --rounds 200

Two set-ups: a PEFT LoRA model (a LLaMA built from a config, ≥ 50 LoRA pairs) and the
toy model of the ICML paper's Appendix D.1 (d = 784, n = 4096, r = 32, batch 64). Every arm
acts on the same model and the same optimizer state, and one training step (forward,
backward, update) of each arm is timed per round, in a random order, after a warm-up;
the table gives medians over rounds and the median of the per-round ratios to the bare
step (paired, so slow drifts of a shared machine cancel) with a 95% bootstrap interval,
which shows the noise floor. Arms:

- ``bare``: the optimizer alone.
- ``stablelora``: StableLoRA while shrinking (stop condition on, no pair stopped yet: the
  most it costs; a warning is printed if a pair stops during the run).
- ``stablelora_ablation``: StableLoRA with ``stop_condition=False`` (the paper's ablation).
- ``stablelora_stopped``: StableLoRA once every pair has stopped (its step is a no-op).
- ``naive``: a straightforward port, ``if not stable and A.norm()/n > B.norm()/m:
  A.mul_(1-λ)`` per pair per step in Python (a host sync per pair on a GPU).

Each round also runs one more step in which the shrink alone is timed, right after the
backward pass as in a real step, alternately StableLoRA's and the port's (``shrink_us``);
divided by the bare step (``shrink_over_step``) it is a less noisy estimate of the
overhead than the ratio of two noisy step times. The table is printed and written to
``--out`` as CSV.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

ARMS = ("bare", "stablelora", "stablelora_ablation", "stablelora_stopped", "naive")
SETUPS = ("peft", "toy")


@dataclass
class Setup:
    """A model, a loss closure, an optimizer and its StableLoRA wrappers."""

    name: str
    pairs: int
    loss: Callable
    model: object
    opt: object


def build_peft(args: argparse.Namespace):
    """A LLaMA from a config with PEFT LoRA (r = 8) on all 7 linear maps of every layer."""
    import torch
    import transformers
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    cfg = transformers.LlamaConfig(
        vocab_size=512, hidden_size=args.peft_hidden, intermediate_size=2 * args.peft_hidden,
        num_hidden_layers=args.peft_layers, num_attention_heads=4, num_key_value_heads=4,
        max_position_embeddings=256,
    )
    model = get_peft_model(
        transformers.LlamaForCausalLM(cfg),
        LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules=[
            "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]),
    )
    tokens = torch.randint(0, 512, (args.peft_batch, args.peft_seq))  # (b, seq)

    def loss():
        return model(input_ids=tokens, labels=tokens).loss

    return model, loss


def build_toy(args: argparse.Namespace):
    """f(X) = W_out·relu((W₀ + s·BA)·relu(W_in·X)), d = 784, n = 4096, r = 32 (frozen W's)."""
    import torch
    from torch import nn

    from stablelora import LoRALinear

    torch.manual_seed(0)
    d, n, r = 784, args.toy_width, 32
    model = nn.Sequential(
        nn.Linear(d, n), nn.ReLU(),
        LoRALinear(n, n, r, init="A", base=nn.Linear(n, n)), nn.ReLU(),
        nn.Linear(n, 10),
    )
    for layer in (model[0], model[4]):
        layer.requires_grad_(False)
    x = torch.randn(args.toy_batch, d)  # (b, d)
    y = torch.randint(0, 10, (args.toy_batch,))

    def loss():
        return nn.functional.cross_entropy(model(x), y)

    return model, loss


class NaivePort:
    """The straightforward port of Algorithm 1: a Python ``if`` on a device value per pair."""

    def __init__(self, pairs) -> None:
        self.pairs = pairs
        self.stable = [False] * len(pairs)

    def shrink(self, lam: float) -> None:
        """One step: per pair, ``if not stable and ‖A‖_F/n > ‖B‖_F/m`` (a sync on a GPU)."""
        import torch

        with torch.no_grad():
            for i, p in enumerate(self.pairs):
                if self.stable[i]:
                    continue
                if p.A.norm() / p.n > p.B.norm() / p.m:
                    p.A.mul_(1 - lam)
                else:
                    self.stable[i] = True


def bootstrap_ci(values: list[float], n_boot: int = 2000) -> tuple[float, float]:
    """95% bootstrap interval of the median (seeded), to show the noise floor of a ratio."""
    import numpy as np

    v = np.asarray(values)  # (rounds,)
    idx = np.random.default_rng(0).integers(0, len(v), size=(n_boot, len(v)))
    medians = np.median(v[idx], axis=1)  # (n_boot,)
    return float(np.quantile(medians, 0.025)), float(np.quantile(medians, 0.975))


def time_setup(name: str, args: argparse.Namespace) -> list[dict]:
    """Interleaved rounds of one training step per arm; rows of medians and paired ratios."""
    import torch

    from stablelora import StableLoRA, find_lora_pairs

    model, loss = build_peft(args) if name == "peft" else build_toy(args)
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=1e-5)
    pairs, _ = find_lora_pairs(model)
    shrinking = StableLoRA(opt, model, shrink=1e-4)
    ablation = StableLoRA(opt, model, shrink=1e-4, stop_condition=False)
    stopped = StableLoRA(opt, model, shrink=1e-4)
    for g in stopped.groups:
        g.done = True  # as after every pair has met ‖A‖_F/n ≤ ‖B‖_F/m
    port = NaivePort(pairs)
    steps = {
        "bare": opt.step,
        "stablelora": shrinking.step,
        "stablelora_ablation": ablation.step,
        "stablelora_stopped": stopped.step,
        "naive": lambda: (port.shrink(1e-4), opt.step()),
    }
    shrinks = {"stablelora": lambda: [g.shrink_(1e-4, True) for g in shrinking.groups],
               "naive": lambda: port.shrink(1e-4)}
    times: dict[str, list[float]] = {a: [] for a in ARMS}
    shrink_times: dict[str, list[float]] = {a: [] for a in shrinks}
    from tqdm import tqdm

    rng = random.Random(0)
    for k in tqdm(range(args.warmup + args.rounds), desc=name, file=sys.stderr):
        order = rng.sample(ARMS, len(ARMS))  # a fresh order each round: no fixed neighbours
        for arm in order:
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            loss().backward()
            steps[arm]()
            if k >= args.warmup:
                times[arm].append(time.perf_counter() - t0)
        probe = ("stablelora", "naive")[k % 2]  # the shrink alone, where a step does it
        opt.zero_grad(set_to_none=True)
        loss().backward()
        t0 = time.perf_counter()
        shrinks[probe]()
        if k >= args.warmup:
            shrink_times[probe].append(time.perf_counter() - t0)
        opt.step()
    if any(s is not None for s in shrinking.stop_steps().values()) or any(port.stable):
        print(f"warning: {name}: a pair stopped during the run; the stablelora and naive "
              "rows mix shrinking and stopped steps", file=sys.stderr)
    bare = times["bare"]
    rows = []
    for arm in ARMS:
        paired = [t / b for t, b in zip(times[arm], bare, strict=True)]
        low, high = bootstrap_ci(paired)
        probes = shrink_times.get(arm, [])
        shrink = statistics.median(probes) if probes else float("nan")
        rows.append({
            "setup": name, "pairs": len(pairs), "arm": arm,
            "step_ms": 1e3 * statistics.median(times[arm]),
            "ratio_of_medians": statistics.median(times[arm]) / statistics.median(bare),
            "median_paired_ratio": statistics.median(paired),
            "paired_ci_low": low, "paired_ci_high": high,
            "shrink_us": 1e6 * shrink,
            "shrink_over_step": shrink / statistics.median(bare),
            "rounds": args.rounds, "threads": torch.get_num_threads(),
        })
    return rows


def write_csv_atomic(rows: list[dict], path: str) -> None:
    """Write rows as CSV through a temporary file in the same directory and os.replace."""
    import pandas as pd

    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    os.close(fd)
    pd.DataFrame(rows).to_csv(tmp, index=False)
    os.replace(tmp, path)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; see --help."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--setups", nargs="+", choices=SETUPS, default=list(SETUPS),
                    help="which models to time (default: both)")
    ap.add_argument("--rounds", type=int, default=200,
                    help="timed rounds; each times one step of every arm (default 200)")
    ap.add_argument("--warmup", type=int, default=10, help="untimed rounds first (default 10)")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch intra-op threads (default: torch's choice)")
    ap.add_argument("--peft-layers", type=int, default=8,
                    help="LLaMA layers; 7 LoRA pairs each (default 8: 56 pairs)")
    ap.add_argument("--peft-hidden", type=int, default=256, help="LLaMA hidden size (default 256)")
    ap.add_argument("--peft-batch", type=int, default=4, help="sequences per step (default 4)")
    ap.add_argument("--peft-seq", type=int, default=64, help="tokens per sequence (default 64)")
    ap.add_argument("--toy-width", type=int, default=4096,
                    help="toy model width n = m of the LoRA layer (default 4096)")
    ap.add_argument("--toy-batch", type=int, default=64, help="toy batch b (default 64)")
    ap.add_argument("--out", default="results/bench_shrinker.csv",
                    help="CSV written atomically (default results/bench_shrinker.csv)")
    args = ap.parse_args(argv)
    if args.rounds < 1 or args.warmup < 0:
        ap.error("--rounds must be >= 1 and --warmup >= 0")
    return args


def main(argv: list[str] | None = None) -> None:
    """Time every set-up, print the table and write the CSV."""
    args = parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    rows = [row for name in args.setups for row in time_setup(name, args)]
    print(f"{'setup':6} {'pairs':>5} {'arm':20} {'step ms':>9} {'ratio':>8} "
          f"{'paired':>8} {'paired 95% CI':>17} {'shrink µs':>10} {'shrink/step':>11}")
    for r in rows:
        print(f"{r['setup']:6} {r['pairs']:5d} {r['arm']:20} {r['step_ms']:9.2f} "
              f"{r['ratio_of_medians']:8.4f} {r['median_paired_ratio']:8.4f} "
              f"[{r['paired_ci_low']:.4f}, {r['paired_ci_high']:.4f}] "
              f"{r['shrink_us']:10.1f} {r['shrink_over_step']:11.5f}")
    write_csv_atomic(rows, args.out)
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
