"""Per-step cost of Stable-LoRA attached to AdamW, against bare AdamW and the authors' design.

    .venv/bin/python -m benchmarks.bench_shrinker --threads 1 --rounds 200

Whole training steps (forward, backward, optimizer step) on the chosen ``--device``
(default: CUDA when present), synchronised there before and after each timed step. Two
set-ups: a PEFT LoRA model (a LLaMA built from a config, 56 LoRA pairs) and the toy model
of the ICML paper's Appendix D.1 (d = 784, n = 4096, r = 32, batch 64). Every arm has its
own AdamW over the same parameters; each round times one step of every arm in a fresh
random order, after a warm-up. Per arm the table gives the median step, the ratio of
medians, and the median over rounds of (arm step / bare step of the same round), with a
95% bootstrap interval: paired, so slow drifts of a shared machine cancel. Arms:

- ``bare``: AdamW alone.
- ``stablelora``: ``stablelora.attach`` while every pair still shrinks (the most it
  costs; a warning is printed if a pair stops during the run).
- ``stablelora_stopped``: the same once every pair is stable (a state loaded with all
  flags set): only a step counter advances.
- ``authors``: the authors' design (github Yize-Wu/Stable-LoRA, ``stable_lora.py``): a
  host-side ``np.any(keep_shrink)``, then per pair ``if A.norm() < A.numel()/B.numel() *
  B.norm()`` read on the host (one device sync per pair on a GPU), else ``A.mul_(1-λ)``.
- ``authors_stopped``: the same once ``keep_shrink`` is all False.

Each round also times, right after a backward pass, the shrink alone (``shrink_us``),
alternately Stable-LoRA's and the authors'; over the bare step (``shrink_over_step``) it
is a less noisy estimate of the overhead than the ratio of two noisy step times. On CUDA
the script first checks that the attached step makes no host sync
(``torch.cuda.set_sync_debug_mode("error")``) and shows that the authors' step does. The
machine's load average is printed before and after; the table is printed and written to
``--out`` as CSV.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable

ARMS = ("bare", "stablelora", "stablelora_stopped", "authors", "authors_stopped")
SETUPS = ("peft", "toy")
SHRINK = 1e-4  # λ, small enough that no pair stops during the run


def build_peft(args: argparse.Namespace, device):
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
    ).to(device)
    tokens = torch.randint(0, 512, (args.peft_batch, args.peft_seq), device=device)  # (b, seq)

    def loss():
        return model(input_ids=tokens, labels=tokens).loss

    return model, loss


def build_toy(args: argparse.Namespace, device):
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
    ).to(device)
    for layer in (model[0], model[4]):
        layer.requires_grad_(False)
    x = torch.randn(args.toy_batch, d, device=device)  # (b, d)
    y = torch.randint(0, 10, (args.toy_batch,), device=device)

    def loss():
        return nn.functional.cross_entropy(model(x), y)

    return model, loss


class AuthorsDesign:
    """The authors' shrink as a step pre-hook: host-side flags, a host read per pair."""

    def __init__(self, pairs, shrink: float, stopped: bool = False) -> None:
        import numpy as np

        self.pairs = pairs
        self.shrink = shrink
        self.keep_shrink = np.array([not stopped] * len(pairs), dtype=bool)

    def __call__(self, optimizer=None, args=None, kwargs=None) -> None:
        """``stable_lora.py``'s loop: ``if A.norm() < n/m·B.norm()`` is a host read."""
        import numpy as np
        import torch

        if not np.any(self.keep_shrink):
            return
        with torch.no_grad():
            for i, p in enumerate(self.pairs):
                if not self.keep_shrink[i]:
                    continue
                if p.A.norm() < (p.A.numel() / p.B.numel()) * p.B.norm():
                    self.keep_shrink[i] = False
                else:
                    p.A.mul_(1 - self.shrink)


def bootstrap_ci(values: list[float], n_boot: int = 2000) -> tuple[float, float]:
    """95% bootstrap interval of the median (seeded), to show the noise floor of a ratio."""
    import numpy as np

    v = np.asarray(values)  # (rounds,)
    idx = np.random.default_rng(0).integers(0, len(v), size=(n_boot, len(v)))
    medians = np.median(v[idx], axis=1)  # (n_boot,)
    return float(np.quantile(medians, 0.025)), float(np.quantile(medians, 0.975))


def make_arms(model) -> tuple[dict, dict, list]:
    """One AdamW per arm over the same parameters; the attached and the authors' ones."""
    import torch

    import stablelora

    trainable = [p for p in model.parameters() if p.requires_grad]
    opts = {arm: torch.optim.AdamW(trainable, lr=1e-5) for arm in ARMS}
    pairs, _ = stablelora.find_lora_pairs(model)
    stablelora.attach(opts["stablelora"], model, shrink=SHRINK)
    stopped = stablelora.attach(opts["stablelora_stopped"], model, shrink=SHRINK)
    state = stopped.state_dict()  # every pair stable since step 1: what a finished shrink leaves
    state["stable_lora"]["stable"].fill_(True)
    state["stable_lora"]["stop_step"].fill_(1)
    stopped.load_state_dict(state)
    authors = AuthorsDesign(pairs, SHRINK)
    opts["authors"].register_step_pre_hook(authors)
    opts["authors_stopped"].register_step_pre_hook(AuthorsDesign(pairs, SHRINK, stopped=True))
    groups = stablelora.attachment(opts["stablelora"]).groups
    shrinks = {"stablelora": lambda: [g.shrink_(SHRINK, True) for g in groups],
               "authors": authors}
    return opts, shrinks, pairs


def check_sync(opts: dict, loss: Callable) -> dict[str, str]:
    """On CUDA: does each arm's optimizer step read a device value on the host?"""
    import torch

    verdicts = {}
    for arm in ARMS:
        opts[arm].zero_grad(set_to_none=True)
        loss().backward()
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("error")
        try:
            opts[arm].step()
            verdicts[arm] = "no host sync"
        except RuntimeError as exc:
            verdicts[arm] = f"host sync ({str(exc).splitlines()[0][:60]})"
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return verdicts


def time_setup(name: str, args: argparse.Namespace) -> list[dict]:
    """Interleaved rounds of one training step per arm; rows of medians and paired ratios."""
    import torch
    from tqdm import tqdm

    import stablelora

    device = torch.device(args.device)
    model, loss = (build_peft if name == "peft" else build_toy)(args, device)
    opts, shrinks, pairs = make_arms(model)
    if device.type == "cuda":
        torch.cuda.set_device(device)  # synchronize() below waits on the current device
    backend = getattr(torch, device.type, None)  # torch.cuda, torch.mps, torch.xpu, ...
    sync = getattr(backend, "synchronize", None) or (lambda: None)
    verdicts = check_sync(opts, loss) if device.type == "cuda" else {}
    times: dict[str, list[float]] = {a: [] for a in ARMS}
    shrink_times: dict[str, list[float]] = {a: [] for a in shrinks}
    rng = random.Random(0)
    for k in tqdm(range(args.warmup + args.rounds), desc=name, file=sys.stderr):
        for arm in rng.sample(ARMS, len(ARMS)):  # a fresh order each round
            sync()
            t0 = time.perf_counter()
            opts[arm].zero_grad(set_to_none=True)
            loss().backward()
            opts[arm].step()
            sync()
            if k >= args.warmup:
                times[arm].append(time.perf_counter() - t0)
        probe = ("stablelora", "authors")[k % 2]  # the shrink alone, where a step does it
        opts["bare"].zero_grad(set_to_none=True)
        loss().backward()
        sync()
        t0 = time.perf_counter()
        shrinks[probe]()
        sync()
        if k >= args.warmup:
            shrink_times[probe].append(time.perf_counter() - t0)
        opts["bare"].step()
    stops = stablelora.stop_steps(opts["stablelora"])
    if any(s is not None for s in stops.values()) or not shrinks["authors"].keep_shrink.all():
        print(f"warning: {name}: a pair stopped during the run; the stablelora and authors "
              "rows mix shrinking and stopped steps", file=sys.stderr)
    bare = times["bare"]
    rows = []
    for arm in ARMS:
        paired = [t / b for t, b in zip(times[arm], bare, strict=True)]
        low, high = bootstrap_ci(paired)
        probes = shrink_times.get(arm, [])
        shrink = statistics.median(probes) if probes else float("nan")
        rows.append({
            "setup": name, "device": device.type, "pairs": len(pairs), "arm": arm,
            "step_ms": 1e3 * statistics.median(times[arm]),
            "ratio_of_medians": statistics.median(times[arm]) / statistics.median(bare),
            "median_paired_ratio": statistics.median(paired),
            "paired_ci_low": low, "paired_ci_high": high,
            "shrink_us": 1e6 * shrink,
            "shrink_over_step": shrink / statistics.median(bare),
            "sync_check": verdicts.get(arm, "n/a (not CUDA)"),
            "rounds": args.rounds, "threads": torch.get_num_threads(),
        })
    return rows


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; see --help."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--setups", nargs="+", choices=SETUPS, default=list(SETUPS),
                    help="which models to time (default: both)")
    ap.add_argument("--device", default=None,
                    help="torch device, e.g. cpu or cuda:0 (default: cuda if available, else cpu)")
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
    """Time every set-up, print the machine, the table and the CSV path."""
    args = parse_args(argv)
    import pandas as pd
    import torch

    from atomicfile import write_text_atomic

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device is None:
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        torch.empty(0, device=args.device)
    except (RuntimeError, ValueError) as exc:
        print(f"bench_shrinker: error: --device {args.device}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')}  device {args.device}  torch "
          f"{torch.__version__}  threads {torch.get_num_threads()}  rounds {args.rounds}  "
          f"load average before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    rows = [row for name in args.setups for row in time_setup(name, args)]
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"load average after {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{'setup':6} {'pairs':>5} {'arm':19} {'step ms':>9} {'ratio':>7} "
          f"{'paired':>7} {'paired 95% CI':>17} {'shrink µs':>10} {'shrink/step':>11}  sync check")
    for r in rows:
        print(f"{r['setup']:6} {r['pairs']:5d} {r['arm']:19} {r['step_ms']:9.3f} "
              f"{r['ratio_of_medians']:7.4f} {r['median_paired_ratio']:7.4f} "
              f"[{r['paired_ci_low']:.4f}, {r['paired_ci_high']:.4f}] "
              f"{r['shrink_us']:10.1f} {r['shrink_over_step']:11.5f}  {r['sync_check']}")
    write_text_atomic(args.out, pd.DataFrame(rows).to_csv(index=False))
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
