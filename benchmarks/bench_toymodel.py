"""Benchmark of toymodel: machine rates, the paper grid's lower bound, batched vs plain loop.

    .venv/bin/python -m benchmarks.bench_toymodel [--n 4096] [--configs 4] [--rows 16 32 64]
        [--threads N]

1. Measures this machine's fp32 matmul rate (n×n GEMM) and memory copy bandwidth.
2. Counts the flops and optimizer-state bytes of ``--grid paper`` and turns them into a
   lower bound on its time at the measured rates.
3. Runs a handful of configurations both ways: the straightforward loop (one run at a
   time, full forward through W_in, W₀ + s·BA and W_out, autograd, torch.optim.Adam) and
   the batched engine (frozen features, G runs as one tensor program, batchedoptim), checks
   that they give the same numbers, and reports the speed-up per run.
4. Times the batched engine per run at several chunk sizes G.

Timings on a shared machine are noisy: run it on a quiet one for numbers to quote.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import torch

from toymodel import (
    Chunk,
    Dataset,
    Pretrained,
    ToyConfig,
    apply_grid,
    batch_schedule,
    frozen_features,
    load_dataset,
    reference_run,
    train_chunk,
)
from toymodel._grid import phase_one

TRAIN_KW = dict(betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, subtract_init=False,
                stop_condition=True)


def machine_rates(n: int = 4096, repeat: int = 3) -> dict:
    """Best-of-``repeat`` fp32 GEMM rate (flop/s) and copy bandwidth (bytes/s)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    gemm = min(_timed(lambda: a @ b) for _ in range(repeat))
    x = torch.randn(64 * 2**20)
    y = torch.empty_like(x)
    y.copy_(x)
    copy = min(_timed(lambda: y.copy_(x)) for _ in range(repeat))
    return {"gemm_flops": 2 * n**3 / gemm, "copy_bytes_per_s": 2 * x.numel() * 4 / copy}


def _timed(fn) -> float:
    """Wall time of one call."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def paper_grid_bound(config: ToyConfig, rates: dict) -> dict:
    """Flops and optimizer bytes of ``--grid paper`` and the time they need at ``rates``.

    Per run and step, with precomputed Z = relu(W_in X) and H0 = W₀Z (b × n):
    forward AZ (2rnb), (AZ)ᵀBᵀ (2nrb), logits (2·10·nb); backward dH (2·10·nb),
    g_Bᵀ (2rbn), g_AZ (2nbr), g_A (2rbn): 10rnb + 40nb flops. Test evaluation per run:
    (4rn + 20n)·N_test. Optimizer: Adam reads p, g, m, v and writes p, m, v: 28 bytes per
    parameter per step, 2rn parameters per run.
    """
    runs = len(phase_one(config))  # Init[A] + Init[AB]
    runs += len(config.lrs) * len(config.shrinks) * len(config.seeds) * 2  # σ_k and best σ
    n, r, b, steps, n_test = config.n, config.r, config.batch, config.steps, 10_000
    train = runs * steps * (10 * r * n * b + 40 * n * b)
    evaluate = runs * (4 * r * n + 20 * n) * n_test
    adam_bytes = runs * steps * 28 * 2 * r * n
    t_flops = (train + evaluate) / rates["gemm_flops"]
    t_bytes = adam_bytes / rates["copy_bytes_per_s"]
    return {"runs": runs, "train_flops": train, "eval_flops": evaluate,
            "adam_bytes": adam_bytes, "t_flops_s": t_flops, "t_adam_bytes_s": t_bytes,
            "lower_bound_s": max(t_flops, t_bytes)}


def _model(n: int, d: int = 784) -> Pretrained:
    """Kaiming-initialised weights (pretraining does not matter for speed or agreement)."""
    gen = torch.Generator().manual_seed(0)
    shapes = ((n, d), (n, n), (10, n))
    W_in, W0, W_out = (torch.randn(s, generator=gen) * math.sqrt(2 / s[1]) for s in shapes)
    return Pretrained(W_in, W0, W_out, {})


def _data() -> Dataset:
    """Fashion-MNIST when it is on this machine, else random images of the same shape."""
    try:
        return load_dataset("fashion-mnist", download=False)
    except Exception:  # no local copy: synthetic stand-in, speed and agreement do not care
        rng = np.random.default_rng(0)
        return Dataset("synthetic", rng.random((60000, 784), np.float32),
                       rng.integers(0, 10, 60000), rng.random((10000, 784), np.float32),
                       rng.integers(0, 10, 10000), "synthetic")


def compare(n: int, configs: int, r: int = 32, steps: int = 100) -> dict:
    """Straightforward loop vs batched engine on ``configs`` Init[A] runs of one seed.

    Agreement is reported as the largest relative difference of the test loss and of each
    curve over steps (the absolute difference for accuracy).
    """
    model, data = _model(n), _data()
    seed = 0
    schedule = batch_schedule(len(data.y_train), steps, 64, seed)
    used, local = torch.unique(schedule, return_inverse=True)
    lrs = np.geomspace(3e-4, 3e-3, configs)
    sigmas = np.full(configs, 1e-3)
    t0 = time.perf_counter()
    frozen = frozen_features(model, data, used, 0, torch.device("cpu"))
    t_features = time.perf_counter() - t0
    t0 = time.perf_counter()
    chunk = Chunk(("A",) * configs, seed, lrs, sigmas)
    got = train_chunk(chunk, frozen, local, r=r, scale=1.0, **TRAIN_KW)
    t_batched = time.perf_counter() - t0
    x, y = torch.as_tensor(data.x_train), torch.as_tensor(data.y_train)
    xt, yt = torch.as_tensor(data.x_test), torch.as_tensor(data.y_test)
    t0 = time.perf_counter()
    diffs = {"test_loss": [], "test_acc": [], "train_curve": [], "normA_curve": [],
             "normB_curve": []}
    for g in range(configs):
        ref = reference_run(model, x, y, xt, yt, schedule, scheme="A", lr=float(lrs[g]),
                            sigma=float(sigmas[g]), seed=seed, r=r)
        diffs["test_loss"].append(abs(ref["test_loss"] / got.test_loss[g] - 1))
        diffs["test_acc"].append(abs(ref["test_acc"] - got.test_acc[g]))
        for name, key, col in (("train_curve", "train_loss", got.train_loss),
                               ("normA_curve", "normA", got.normA),
                               ("normB_curve", "normB", got.normB)):
            rel = np.abs(ref[key] - col[:, g]) / np.maximum(np.abs(ref[key]), 1e-30)
            diffs[name].append(float(rel[ref[key] != 0].max(initial=0.0)))
    t_ref = time.perf_counter() - t0
    return {"n": n, "configs": configs, "data": data.source,
            "reference_s_per_run": t_ref / configs, "batched_s_per_run": t_batched / configs,
            "features_s": t_features, "speedup_same_configs": t_ref / t_batched,
            "max_rel_diff": {k: float(max(v)) for k, v in diffs.items()}}


def chunk_rates(n: int, rows: list[int], r: int = 32, steps: int = 100) -> dict:
    """Seconds per run of the batched engine (train + test eval) at chunk sizes ``rows``."""
    model, data = _model(n), _data()
    schedule = batch_schedule(len(data.y_train), steps, 64, 0)
    used, local = torch.unique(schedule, return_inverse=True)
    frozen = frozen_features(model, data, used, 0, torch.device("cpu"))
    out = {}
    for G in rows:
        chunk = Chunk(("A",) * G, 0, np.full(G, 1e-3), np.full(G, 1e-3))
        start = time.perf_counter()
        train_chunk(chunk, frozen, local, r=r, scale=1.0, **TRAIN_KW)
        out[G] = (time.perf_counter() - start) / G
    return out


def main() -> None:
    """Run the benchmark and print one JSON document."""
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=4096, help="width n (default %(default)s)")
    p.add_argument("--configs", type=int, default=4, help="configs compared (default 4)")
    p.add_argument("--rows", type=int, nargs="*", default=[16, 32, 64],
                   help="chunk sizes G to time (default %(default)s)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    args = p.parse_args()
    rates = machine_rates()  # with torch's default threads: the machine's rate
    if args.threads:
        torch.set_num_threads(args.threads)
    config = apply_grid(ToyConfig(n=args.n), "paper")
    report = {"threads": torch.get_num_threads(), "rates": rates,
              "paper_grid": paper_grid_bound(config, rates),
              "compare": compare(args.n, args.configs)}
    if args.rows:
        per_run = chunk_rates(args.n, args.rows)
        report["batched_s_per_run_by_G"] = per_run
        best = min(per_run.values())
        report["paper_grid"]["estimate_s_at_best_G"] = best * report["paper_grid"]["runs"]
        report["speedup_vs_reference_at_best_G"] = (report["compare"]["reference_s_per_run"]
                                                    / best)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
