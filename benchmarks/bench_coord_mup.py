"""Our LoRA coordinate check beside microsoft/mup's ``get_coord_data`` on the same toy model.

    .venv/bin/python benchmarks/bench_coord_mup.py                  # n = 256 … 2048, 4 seeds
    .venv/bin/python benchmarks/bench_coord_mup.py --widths 256 512 --seeds 2 --steps 5 \
        --repeat 3 --json results/bench_coord_mup.json

Same work for both: the ICML toy model f(X) = W_out·relu((W₀ + BA)·relu(W_in·X)) with its
per-width MNIST-pretrained weights (toymodel's cache; loaded once, outside the timing),
Init[A] with σ = n^{-1/2}, only A and B trained by ``torch.optim.Adam`` at lr 1e-3, one fixed
Fashion-MNIST batch of 64 (mup's ``fix_data``), the same widths × seeds × steps, and every
step recorded. mup (``mup=False``: plain torch Adam) records the l1 of every module's output
Y_t (forward hooks, one ``.item()`` per module and step, seeds and widths in Python loops).
Ours records δ₁, δ₂, δ₃, ΔY, A_tZ, B_t, Z per LoRA pair plus the loss, every seed of a
width in one ``torch.func.vmap`` program (``--engine loop``: seed by seed). Each side runs
``--repeat`` times in alternation; the minimum wall time of each is reported, with the load
average (the machine may be shared).

Requires mup, installed without its dependencies: ``pip install seaborn pyyaml && pip install
--no-deps mup`` (mup lists torchvision, which pip would resolve to a CUDA build of several GB;
mup never imports it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--widths", nargs="+", type=int, default=[256, 512, 1024, 2048])
    p.add_argument("--seeds", type=int, default=4)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--repeat", type=int, default=2, help="alternating runs of each side")
    p.add_argument("--engine", choices=("vmap", "loop"), default="vmap")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", metavar="FILE", help="also write the report here")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        from mup.coord_check import get_coord_data
    except ImportError:
        print("error: mup is not installed (pip install seaborn pyyaml && "
              "pip install --no-deps mup)", file=sys.stderr)
        return 2
    import torch

    from sims import lora_coord_check
    from sims._coord_models import ToyLoRAModel, toy_model

    torch.set_num_threads(args.threads)
    built = toy_model(steps=args.steps, fixed_batch=True)
    weights = {}
    for n in args.widths:  # pretrained weights, loaded once (cached by toymodel)
        m = built.make_model(n)
        weights[n] = (m.W_in, m.lora.base.weight.detach().clone(), m.W_out)
    x, y = built.batches(args.widths[0], 0, 1)

    def make(n: int) -> ToyLoRAModel:
        return ToyLoRAModel(*weights[n], r=32)

    def run_mup() -> int:
        models = {n: (lambda n=n: make(n)) for n in args.widths}
        df = get_coord_data(models, [(x, y)], optimizer="adam", lr=1e-3, mup=False,
                            filter_trainable_by_name=lambda name: "lora_" in name,
                            nsteps=args.steps, nseeds=args.seeds, cuda=False,
                            show_progress=False)
        return len(df)

    def run_ours() -> int:
        df = lora_coord_check(make, args.widths, (x, y), lr=1e-3, steps=args.steps,
                              seeds=args.seeds, record=range(1, args.steps + 1),
                              engine=args.engine)
        return len(df)

    load_before = os.getloadavg()
    times: dict[str, list[float]] = {"mup": [], "ours": []}
    rows = {}
    for _ in range(args.repeat):
        for name, fn in (("mup", run_mup), ("ours", run_ours)):
            t0 = time.perf_counter()
            rows[name] = fn()
            times[name].append(time.perf_counter() - t0)
    load_after = os.getloadavg()
    report = {
        "widths": args.widths, "seeds": args.seeds, "steps": args.steps,
        "engine": args.engine, "threads": args.threads, "repeat": args.repeat,
        "wall_s": {k: min(v) for k, v in times.items()}, "all_wall_s": times,
        "rows": rows,
        "measures": {
            "mup": "l1 = mean |Y_t| of every module's output (root, lora, lora.base) before "
                   "each step",
            "ours": "per LoRA pair and step: RMS of δ₁, δ₂, δ₃, ΔY (from the step's actual "
                    "ΔA, ΔB on the step's input), A_tZ, B_t, Z; the loss per seed",
        },
        "loadavg_before": load_before, "loadavg_after": load_after,
        "torch": torch.__version__,
    }
    speed = report["wall_s"]["mup"] / report["wall_s"]["ours"]
    print(f"| side | wall s (min of {args.repeat}) | rows | measures |")
    print("|---|---|---|---|")
    for k in ("mup", "ours"):
        print(f"| {k} | {report['wall_s'][k]:.2f} | {rows[k]} | {report['measures'][k]} |")
    print(f"ours is {speed:.2f}× mup's speed; load average {load_before[0]:.1f} → "
          f"{load_after[0]:.1f}; widths {args.widths}, {args.seeds} seeds, {args.steps} steps")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
