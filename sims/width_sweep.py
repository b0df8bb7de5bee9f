"""`python -m sims.width_sweep`: measure the width exponents of δ₁, δ₂, δ₃, ΔY beside theory's.

python -m sims.width_sweep                          # the default suite, n = 256 … 16384
python -m sims.width_sweep --widths 256 1024 4096 --eta-exp -3/2 --s-exp 2 --shrink 0.05
python -m sims.width_sweep --suite my_suite.toml --out results/my_sweep
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from sharding import add_shard_arguments

from ._argv import Parser, join_negative_exponents
from ._config import (
    DEVICES,
    DTYPES,
    HORIZONS,
    INITS,
    OPTIMIZERS,
    ProbeConfig,
    SweepSettings,
    parse_exponent,
)
from .errors import ConfigError, ResultsError, SimsError

_DEFAULTS = SweepSettings()
_CONFIG_FLAGS = (
    "name",
    "optimizer",
    "init",
    "eta_exp",
    "eta_coef",
    "etaB_exp",
    "etaB_coef",
    "s_exp",
    "s_coef",
    "sigma_exp",
    "sigma_coef",
    "shrink",
    "no_stop",
    "weight_decay",
    "fresh_batches",
)


_EXPONENT_FLAGS = ("--eta-exp", "--etaB-exp", "--s-exp", "--sigma-exp")


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface, every flag in the papers' notation."""
    p = Parser(
        prog="python -m sims.width_sweep",
        description=(
            "Width sweep of the single LoRA layer Y = W0·Z + s·B·A·Z (A ∈ R^{r×n}, "
            "B ∈ R^{m×r}): trains seeds × configurations as one tensor program at each width "
            "n, measures the per-entry RMS of δ₁ = s·ΔB·A_tZ, δ₂ = s·B_t·ΔA·Z, "
            "δ₃ = s·ΔB·ΔA·Z, ΔY, A_tZ and B_t at the recorded steps, fits their exponents γ "
            "(RMS = Θ(n^γ)) and puts them beside theory's prediction (Stable-LoRA Eq. (1)-(6), "
            "Theorem 3.1, Algorithm 1). Without configuration flags it runs the built-in suite."
        ),
        epilog=(
            "Exponents accept fractions: --eta-exp -3/2. Step k is the k-th optimizer update, "
            "the paper's t = k-1 -> k. Output files: see docs/results-format.md."
        ),
    )
    run = p.add_argument_group("sweep (shared by every configuration)")
    run.add_argument(
        "--suite",
        metavar="FILE",
        help="TOML suite: [[config]] tables and an "
        "optional [sweep] table; without it and without configuration flags, "
        "the built-in suite runs",
    )
    run.add_argument(
        "--widths",
        nargs="+",
        metavar="n",
        default=None,
        help=f"input widths n (integers ≥ 2); default {' '.join(map(str, _DEFAULTS.widths))}",
    )
    run.add_argument(
        "--seeds",
        metavar="S",
        default=None,
        help=f"seeds per (configuration, width); default {_DEFAULTS.seeds}",
    )
    run.add_argument(
        "--seed", metavar="SEED", default=None, help="first seed (seeds SEED … SEED+S−1); default 0"
    )
    run.add_argument(
        "--steps", metavar="T", default=None, help=f"optimizer updates; default {_DEFAULTS.steps}"
    )
    run.add_argument(
        "--horizon",
        choices=tuple(HORIZONS),
        default=None,
        help="how far in t: default = "
        f"{HORIZONS['default']} steps, long = {HORIZONS['long']} (past more crossovers "
        "t*(n) = K·n^τ*); without --record the recorded steps are the √2 log grid 1, 2, 3, 4, "
        "6, 8, 11, 16, … up to the last step",
    )
    run.add_argument(
        "--record",
        nargs="+",
        metavar="k",
        default=None,
        help="steps k (1 ≤ k ≤ T) where δ₁, δ₂, δ₃, ΔY are measured; default: the √2 log "
        "grid 1, 2, 3, 4, 6, 8, 11, 16, 23, … up to T",
    )
    run.add_argument(
        "--batch",
        metavar="b",
        default=None,
        help=f"columns b of the input batch Z ∈ R^{{n×b}}; default {_DEFAULTS.batch}",
    )
    run.add_argument(
        "--rank", metavar="r", default=None, help=f"LoRA rank r; default {_DEFAULTS.rank}"
    )
    run.add_argument(
        "--m",
        metavar="m",
        default=None,
        help="output width m: 'n' (m = n, default), a ratio '0.5n', or a fixed integer",
    )
    run.add_argument(
        "--teacher-rank",
        metavar="k",
        default=None,
        help="rank k of the target residual T − W0·Z = U·V·Z/√k; default 4",
    )
    run.add_argument("--dtype", choices=DTYPES, default=None, help="float32 (default) or float64")
    run.add_argument(
        "--device",
        choices=DEVICES,
        default=None,
        help="auto (default): cuda when available, else cpu",
    )
    run.add_argument(
        "--out",
        metavar="DIR",
        default="results/width_sweep",
        help="output directory (default results/width_sweep); running again with the same "
        "DIR resumes",
    )
    run.add_argument(
        "--bootstrap",
        metavar="B",
        default=None,
        help="bootstrap resamples over seeds for the 95%% interval; default 1000",
    )
    run.add_argument(
        "--max-memory",
        metavar="GiB",
        default=None,
        help="cap on one width's working set (default: half the free host memory, "
        "80%% of free GPU memory)",
    )
    run.add_argument(
        "--threads",
        metavar="N",
        default=None,
        help="torch CPU threads during the sweep; default 0 = torch's choice (all cores: the "
        "default suite takes 16 s on 2 idle cores, 26 s on one); use 1 on a machine whose "
        "cores are busy with other work, where extra threads stall",
    )
    run.add_argument(
        "--no-progress", action="store_true", help="no tqdm progress bar (shown on a terminal)"
    )

    cfg = p.add_argument_group(
        "one configuration from flags (any of these replaces the built-in suite)"
    )
    cfg.add_argument("--name", default=None, help="configuration name; default 'custom'")
    cfg.add_argument(
        "--optimizer",
        choices=OPTIMIZERS,
        default=None,
        help="g_A, g_B: adam (default), adamw (+ decoupled decay w), signsgd "
        "(g = sign ∇L), sgd (g = ∇L)",
    )
    cfg.add_argument(
        "--init",
        choices=INITS,
        default=None,
        help="Init[A] (B₀ = 0, default), Init[B] (A₀ = 0), Init[AB], zero (A₀ = B₀ = 0)",
    )
    cfg.add_argument(
        "--eta-exp", metavar="γ[η]", default=None, help="γ[η_A] in η_A = c_η·n^γ[η]; default -1/2"
    )
    cfg.add_argument("--eta-coef", metavar="c_η", default=None, help="c_η; default 0.1")
    cfg.add_argument(
        "--etaB-exp",
        metavar="γ[η_B]",
        default=None,
        help="γ[η_B] when η_B differs from η_A (ICML paper Eq. (5)); default γ[η_A]",
    )
    cfg.add_argument("--etaB-coef", metavar="c", default=None, help="c for η_B; default c_η")
    cfg.add_argument(
        "--s-exp", metavar="γ[s]", default=None, help="γ[s] in s = c_s·n^γ[s]; default 0"
    )
    cfg.add_argument("--s-coef", metavar="c_s", default=None, help="c_s; default 1")
    cfg.add_argument(
        "--sigma-exp",
        metavar="γ[σ]",
        default=None,
        help="init scale σ = c_σ·n^γ[σ] of the non-zero factor(s); default -1/2 "
        "(Kaiming), so γ[A₀Z] = γ[σ] + 1/2 = 0 and γ[B₀] = γ[σ]",
    )
    cfg.add_argument("--sigma-coef", metavar="c_σ", default=None, help="c_σ; default 1")
    cfg.add_argument(
        "--shrink",
        metavar="λ",
        default=None,
        help="Stable-LoRA shrink ratio λ ∈ (0, 1): A ← (1−λ)·A before each update "
        "until ‖A‖_F/n ≤ ‖B‖_F/m (Algorithm 1)",
    )
    cfg.add_argument(
        "--no-stop",
        action="store_true",
        default=None,
        help="shrink whenever ‖A‖_F/n > ‖B‖_F/m, never stopping for good "
        "(the paper's ablation, Table 4)",
    )
    cfg.add_argument(
        "--weight-decay",
        metavar="w",
        default=None,
        help="AdamW's decoupled weight decay w (Algorithm 1); default 0.01",
    )
    cfg.add_argument(
        "--fresh-batches",
        action="store_true",
        default=None,
        help="a new Z every step: OUTSIDE Assumption 1 (γ[g_A·Z] = 1 needs g_A "
        "correlated with Z); labelled '+fresh' in every output",
    )
    add_shard_arguments(p)
    return p


def _int(value: str, what: str) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise ConfigError(f"{what}: expected an integer, got {value!r}") from None


def _float(value: str, what: str) -> float:
    try:
        return float(str(value))
    except ValueError:
        raise ConfigError(f"{what}: expected a number, got {value!r}") from None


def _width(value: str) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise ConfigError(f"width n must be an integer ≥ 2, got {value!r}") from None


def settings_from_args(args: argparse.Namespace, base: SweepSettings) -> SweepSettings:
    """Run-level settings: ``base`` (defaults or a suite's [sweep]) overridden by flags."""
    changes: dict[str, object] = {}
    if args.widths is not None:
        changes["widths"] = tuple(_width(w) for w in args.widths)
    if args.record is not None:
        changes["record"] = tuple(_int(k, "--record") for k in args.record)
    if args.horizon is not None:
        changes["steps"] = HORIZONS[args.horizon]
    if args.record is None and (args.steps is not None or args.horizon is not None):
        changes["record"] = ()  # the log grid up to the steps (validate_settings)
    for flag, key in (
        ("seeds", "seeds"),
        ("seed", "seed"),
        ("steps", "steps"),
        ("batch", "batch"),
        ("rank", "rank"),
        ("teacher_rank", "teacher_rank"),
        ("bootstrap", "bootstrap"),
    ):
        value = getattr(args, flag)
        if value is not None:
            changes[key] = _int(value, "--" + flag.replace("_", "-"))
    for key in ("dtype", "device", "m"):
        if getattr(args, key) is not None:
            changes[key] = getattr(args, key)
    if args.threads is not None:
        threads = _int(args.threads, "--threads")
        changes["threads"] = None if threads == 0 else threads
    if args.max_memory is not None:
        changes["max_memory_gb"] = _float(args.max_memory, "--max-memory")
    return replace(base, **changes)


def config_from_args(args: argparse.Namespace) -> ProbeConfig:
    """One configuration from the configuration flags (unset flags keep the defaults)."""
    kw: dict[str, object] = {"name": args.name or "custom"}
    for key in ("optimizer", "init"):
        if getattr(args, key) is not None:
            kw[key] = getattr(args, key)
    for key in ("eta_exp", "etaB_exp", "s_exp", "sigma_exp"):
        if getattr(args, key) is not None:
            kw[key] = parse_exponent(getattr(args, key), "--" + key.replace("_", "-"))
    for key in ("eta_coef", "etaB_coef", "s_coef", "sigma_coef", "weight_decay", "shrink"):
        if getattr(args, key) is not None:
            kw[key] = _float(getattr(args, key), "--" + key.replace("_", "-"))
    if args.no_stop:
        kw["stop_condition"] = False
    if args.fresh_batches:
        kw["fresh_batches"] = True
    return ProbeConfig(**kw)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (2 for bad input, 130 when interrupted)."""
    args = None
    try:
        argv = sys.argv[1:] if argv is None else list(argv)
        args = build_parser().parse_args(join_negative_exponents(argv, _EXPONENT_FLAGS))
        return _run(args, argv)
    except SimsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        out = getattr(args, "out", "the output directory")
        print(
            f"interrupted: finished units are saved in {out}; run the same command again to resume",
            file=sys.stderr,
        )
        return 130


def _run(args: argparse.Namespace, argv: list[str]) -> int:
    from sharding import parse_shard, submit_options

    from ._suite import DEFAULT_SUITE, apply_overrides, load_suite

    if not args.out.strip():  # an empty value ("$UNSET") would silently mean "."
        raise ConfigError("--out must not be empty")
    given = [k for k in _CONFIG_FLAGS if getattr(args, k) not in (None, False)]
    if args.suite is not None and given:
        flags = ", ".join("--" + k.replace("_", "-") for k in given)
        raise ConfigError(
            f"{flags} describe one configuration and cannot be combined with "
            "--suite; put them in the suite file"
        )
    base = SweepSettings()
    if args.suite is not None:
        configs, overrides = load_suite(args.suite)
        base = apply_overrides(base, overrides)
    elif given:
        configs = [config_from_args(args)]
    else:
        configs = list(DEFAULT_SUITE)
    settings = settings_from_args(args, base)
    shard = None if args.shard is None else parse_shard(args.shard, error=ConfigError)
    if shard is not None and args.combine:
        raise ConfigError("--shard computes units, --combine only combines: give one of them")
    submit = submit_options(args, ConfigError)

    from ._report import format_crossovers, format_report
    from ._sweep import run_sweep

    if submit is not None:  # K shards as one job array, then combine here
        from sharding import submit_shards, without_submit_flags

        shard_argv = [*without_submit_flags(argv), "--no-progress"]
        submit_shards("sims.width_sweep", shard_argv, submit, Path(args.out) / ".submitit",
                      ResultsError)
    result = run_sweep(
        configs,
        settings,
        Path(args.out),
        progress=False if args.no_progress else None,
        shard=shard,
        combine=args.combine or submit is not None,
    )
    if shard is not None:
        print(
            f"computed {len(result.computed)} units, reused {len(result.reused)} "
            f"(shard {shard}); write the result files with the same command without --shard, "
            "or with --combine"
        )
        return 0
    print(
        format_report(
            result.configs,
            result.predictions,
            result.tables["summary"],
            result.tables["stops"],
            result.tables["crossovers"],
        )
    )
    print(format_crossovers(result.tables["crossovers"]))
    print(
        f"computed {len(result.computed)} units, reused {len(result.reused)}; "
        f"device {result.device}; files in {result.out}/"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
