"""`python -m sims.coord_check`: a LoRA coordinate check of a real model across widths.

python -m sims.coord_check --model toy                      # n = 256 … 2048, three arms
python -m sims.coord_check --model llama --widths 64 128 256 512 1024
python -m sims.coord_check --model toy --lr-exp 0 --lr-coef 1e-3 --out results/coord_fixed_lr
python -m sims.coord_check --model llama --out DIR --shard 0/3   # one shard; then --combine
"""

from __future__ import annotations

import argparse
import sys
from fractions import Fraction

from sharding import add_shard_arguments

from ._argv import Parser, join_negative_exponents
from ._coord_config import ARMS, ENGINES, MODELS, OPTIMIZERS, CoordConfig
from .errors import ConfigError, ResultsError, SimsError

_EXPONENT_FLAGS = ("--lr-exp", "--s-exp", "--sigma-exp")


def _fraction(text: str) -> Fraction:
    try:
        return Fraction(text.strip().replace("\u2212", "-"))
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"expected an exponent such as -1/2, got {text!r}"
                                         ) from None


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface (flags map onto ``CoordConfig``)."""
    p = Parser(
        prog="python -m sims.coord_check",
        description=(
            "Coordinate check of every LoRA pair of a real model across widths n: trains "
            "the LoRA factors for --steps updates per seed and measures, at the recorded "
            "steps and on the input each pair's A actually saw, the per-entry RMS of "
            "δ₁ = s·ΔB·A_tZ, δ₂ = s·B_t·ΔA·Z, δ₃ = s·ΔB·ΔA·Z, ΔY, A_tZ and B_t (Stable-LoRA "
            "Eq. (1)); fits γ in RMS = Θ(n^γ) and judges it against theory's prediction."
        ),
        epilog="Output files: coord.csv, coord_summary.csv, run.json (docs/results-format.md). "
               "The same command with the same --out resumes.",
    )
    p.add_argument("--model", choices=MODELS, default="toy",
                   help="toy: ICML App. D.1 f(X) = W_out·relu((W₀+s·BA)·relu(W_in·X)), "
                   "pretrained per width on MNIST (cached), fine-tuned on Fashion-MNIST; "
                   "llama: tiny LLaMA from LlamaConfig (random weights), PEFT LoRA on "
                   "q/v/up/down, one fixed token batch")
    p.add_argument("--widths", nargs="+", type=int, metavar="n", default=None,
                   help="widths n (toy: W₀ is n×n, default 256 512 1024 2048; llama: hidden "
                   "size, default 64 128 256 512)")
    p.add_argument("--arms", nargs="+", choices=tuple(ARMS), default=None,
                   help="init_A (Init[A]), init_AB (Init[AB], σ_B = σ_A), stable_lora "
                   "(Init[A] + Algorithm 1's shrink); default all three")
    p.add_argument("--seeds", type=int, metavar="S", default=4, help="seeds per width (default 4)")
    p.add_argument("--steps", type=int, metavar="T", default=None,
                   help="optimizer updates (default: toy 100, llama 20)")
    p.add_argument("--record", nargs="+", type=int, metavar="k", default=None,
                   help="recorded steps k (default 1 2 5 10 20 50 100 up to T)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="adam", help="default adam")
    p.add_argument("--lr-coef", type=float, metavar="c_η", default=None,
                   help="η = c_η·n^γ[η] (default: toy 0.064, i.e. η = 1e-3 at n = 4096 "
                   "as in the paper; llama 0.02)")
    p.add_argument("--lr-exp", type=_fraction, metavar="γ[η]", default=Fraction(-1, 2),
                   help="γ[η] (default -1/2: Case 1 of Stable-LoRA Theorem 3.1); 0 = the "
                   "toy model's width-independent learning rate")
    p.add_argument("--s-coef", type=float, metavar="c_s", default=1.0, help="s = c_s·n^γ[s]")
    p.add_argument("--s-exp", type=_fraction, metavar="γ[s]", default=Fraction(0),
                   help="γ[s] (default 0)")
    p.add_argument("--sigma-coef", type=float, metavar="c_σ", default=1.0,
                   help="σ = c_σ·n^γ[σ] of the non-zero init factor(s)")
    p.add_argument("--sigma-exp", type=_fraction, metavar="γ[σ]", default=Fraction(-1, 2),
                   help="γ[σ] (default -1/2, Kaiming: γ[A₀Z] = 0)")
    p.add_argument("--shrink", type=float, metavar="λ", default=0.05,
                   help="Stable-LoRA λ of the stable_lora arm (default 0.05)")
    p.add_argument("--no-stop", action="store_true",
                   help="shrink whenever ‖A‖_F/n > ‖B‖_F/m (the paper's ablation)")
    p.add_argument("--rank", type=int, metavar="r", default=None,
                   help="LoRA rank (default: toy 32, llama 4)")
    p.add_argument("--fixed-batch", action="store_true",
                   help="toy: step 1's batch at every step (mup's fix_data); default: "
                   "toymodel's batch order per seed")
    p.add_argument("--pretrain-steps", type=int, default=2000,
                   help="toy: MNIST pretraining steps per width (cached; default 2000)")
    p.add_argument("--engine", choices=ENGINES, default="vmap",
                   help="vmap (default): the seeds of a width as one torch.func.vmap program; "
                   "loop: seed by seed on the module itself (for models torch.func cannot "
                   "trace)")
    p.add_argument("--out", metavar="DIR", default="results/coord_check",
                   help="output directory (default results/coord_check); resumes")
    p.add_argument("--bootstrap", type=int, metavar="B", default=1000,
                   help="bootstrap resamples over seeds (default 1000)")
    p.add_argument("--threads", type=int, metavar="N", default=1,
                   help="torch CPU threads (default 1)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_shard_arguments(p)
    return p


def config_from_args(args: argparse.Namespace) -> CoordConfig:
    """The run's ``CoordConfig`` from parsed flags (unset flags: the model's defaults)."""
    return CoordConfig(
        model=args.model, widths=tuple(args.widths or ()),
        arms=tuple(args.arms or CoordConfig.arms), seeds=args.seeds, steps=args.steps or 0,
        record=tuple(args.record or ()), optimizer=args.optimizer,
        lr_coef=args.lr_coef or 0.0, lr_exp=args.lr_exp, s_coef=args.s_coef,
        s_exp=args.s_exp, sigma_coef=args.sigma_coef, sigma_exp=args.sigma_exp,
        shrink=args.shrink, stop_condition=not args.no_stop, rank=args.rank or 0,
        fixed_batch=args.fixed_batch, pretrain_steps=args.pretrain_steps,
        engine=args.engine, out=args.out, bootstrap=args.bootstrap,
        threads=args.threads, progress=not args.no_progress,
    ).resolved()


def format_summary(summary) -> str:
    """Per arm and module: γ̂[ΔY] (γ_pred) verdict at each step, and the verdict counts."""
    lines = []
    mark = {"agree": "ok", "disagree": "NO", "n/a": "--"}
    for arm, block in summary.groupby("arm", sort=False):
        counts = block["verdict"].value_counts().to_dict()
        lines.append(f"== {arm}: agree {counts.get('agree', 0)}, disagree "
                     f"{counts.get('disagree', 0)}, n/a {counts.get('n/a', 0)}   (γ̂[ΔY] per step)")
        dy = block[block["quantity"] == "dY"]
        for module, rows in dy.groupby("module", sort=False):
            cells = [f"{int(r.step)}: {r.gamma_hat:+.2f} ({r.gamma_pred:+.2f}) {mark[r.verdict]}"
                     for r in rows.itertuples()]
            lines.append(f"   {module}: " + ", ".join(cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (2 for bad input, 130 when interrupted)."""
    args = None
    try:
        argv = sys.argv[1:] if argv is None else list(argv)
        args = build_parser().parse_args(join_negative_exponents(argv, _EXPONENT_FLAGS))
        config = config_from_args(args)
        from sharding import parse_shard, submit_options

        from ._coord_sweep import run_coord

        shard = None if args.shard is None else parse_shard(args.shard, error=ConfigError)
        submit = submit_options(args, ConfigError)
        if submit is not None:  # K shards as one job array, then combine here
            from pathlib import Path

            from sharding import submit_shards, without_submit_flags

            submit_shards("sims.coord_check", [*without_submit_flags(argv), "--no-progress"],
                          submit, Path(config.out) / ".submitit", ResultsError)
        result = run_coord(config, shard=shard, combine=args.combine or submit is not None)
        if shard is not None:
            print(f"computed {len(result.computed)} units, reused {len(result.reused)} "
                  f"(shard {shard}); write the result files with the same command without "
                  "--shard, or with --combine")
            return 0
        print(format_summary(result.summary))
        print(f"computed {len(result.computed)} units, reused {len(result.reused)}; files in "
              f"{result.out}/")
        return 0
    except SimsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        out = getattr(args, "out", "the output directory")
        print(f"interrupted: finished units are saved in {out}; run the same command again "
              "to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
