"""Run the K shards of a sweep as one job array through submitit (SLURM or local processes)."""

from __future__ import annotations

import argparse
import importlib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SubmitOptions", "add_shard_arguments", "run_module", "submit_shards",
           "submit_options", "without_submit_flags"]

# flags that describe the submission, not the sweep: a shard's command line drops them
_SUBMIT_FLAGS = ("--executor", "--shards", "--partition", "--time", "--cpus-per-task",
                 "--gpus-per-task", "--array-parallelism")


@dataclass(frozen=True)
class SubmitOptions:
    """How to submit the shards (the ``--executor`` flags)."""

    executor: str  # "slurm" or "local" (submitit's cluster)
    shards: int  # K
    partition: str | None = None  # SLURM partition
    time_min: int = 60  # wall-clock limit per shard, minutes
    cpus_per_task: int | None = None
    gpus_per_task: int = 0
    array_parallelism: int | None = None  # most shards running at once (SLURM's %p)


def add_shard_arguments(parser: argparse.ArgumentParser) -> None:
    """The sharding flags, as one argument group (shared by every sweep CLI)."""
    g = parser.add_argument_group(
        "shards (several processes or SLURM jobs share one --out; docs/sims.md, 'Sharding')")
    g.add_argument("--shard", metavar="i/K",
                   help="compute only shard i of K (units at positions ≡ i mod K of the full "
                   "unit list) and write their unit files; no result files. K alone: i from "
                   "SLURM_ARRAY_TASK_ID. A later plain run or --combine writes the result files")
    g.add_argument("--combine", action="store_true",
                   help="write the result files from the finished units; refuse (exit 2) when "
                   "units are missing instead of computing them")
    g.add_argument("--executor", choices=("slurm", "local"),
                   help="submit --shards K shards as one job array through submitit "
                   "(pip install -e '.[cluster]'), wait for them, then combine")
    g.add_argument("--shards", metavar="K", type=int, help="number of shards for --executor")
    g.add_argument("--partition", help="SLURM partition (--executor slurm)")
    g.add_argument("--time", metavar="MIN", type=int, default=60,
                   help="time limit per shard in minutes (default %(default)s)")
    g.add_argument("--cpus-per-task", metavar="N", type=int, help="CPUs per shard")
    g.add_argument("--gpus-per-task", metavar="N", type=int, default=0,
                   help="GPUs per shard (default 0)")
    g.add_argument("--array-parallelism", metavar="N", type=int,
                   help="SLURM: at most N shards running at once (default: all)")


def submit_options(args: argparse.Namespace, error: type[Exception]) -> SubmitOptions | None:
    """The submission the parsed flags ask for (None: no ``--executor``).

    Raises:
        error: ``--executor`` without ``--shards K ≥ 1``, together with ``--shard`` or
            ``--combine``, or ``--shards`` without ``--executor``.
    """
    if args.executor is None:
        if args.shards is not None:
            raise error("--shards K needs --executor slurm|local (or run --shard i/K yourself)")
        return None
    if args.shards is None or args.shards < 1:
        raise error("--executor needs --shards K with K ≥ 1")
    if args.shard is not None or args.combine:
        raise error("--executor submits the shards and combines them itself; drop --shard "
                    "and --combine")
    for flag in ("time", "cpus_per_task", "gpus_per_task", "array_parallelism"):
        value = getattr(args, flag)
        if value is not None and value < (0 if flag == "gpus_per_task" else 1):
            raise error(f"--{flag.replace('_', '-')} must be positive, got {value}")
    return SubmitOptions(args.executor, args.shards, args.partition, args.time,
                         args.cpus_per_task, args.gpus_per_task, args.array_parallelism)


def without_submit_flags(argv: list[str]) -> list[str]:
    """``argv`` without the submission flags and their values (a shard's command line)."""
    out: list[str] = []
    skip = False
    for token in argv:
        if skip:
            skip = False
        elif token in _SUBMIT_FLAGS:
            skip = True
        elif not token.startswith(tuple(f"{f}=" for f in _SUBMIT_FLAGS)):
            out.append(token)
    return out


def run_module(module: str, argv: list[str]) -> None:
    """Run ``python -m module argv`` in this process (what each submitted job executes).

    Raises:
        RuntimeError: the command exited with a non-zero status.
    """
    status = importlib.import_module(module).main(argv)
    if status:
        raise RuntimeError(f"python -m {module} {' '.join(argv)} exited with status {status}")


def submit_shards(module: str, argv: list[str], options: SubmitOptions, folder: Path,
                  error: type[Exception]) -> list[str]:
    """Submit ``python -m module argv --shard i/K`` for i = 0 … K−1 and wait for all.

    One job array through submitit's ``AutoExecutor`` (``cluster="slurm"`` or
    ``"local"``); its logs go to ``folder/<job id>_<i>_*``.

    Returns:
        The job ids.

    Raises:
        error: submitit is not installed, the cluster cannot be reached (no SLURM here),
            or a shard failed (the message names the shard and its log).
    """
    try:
        import submitit
    except ImportError:
        raise error("--executor needs submitit: pip install -e '.[cluster]'") from None
    try:
        executor = submitit.AutoExecutor(folder=folder, cluster=options.executor)
    except RuntimeError as exc:  # e.g. 'Could not detect "srun"' off a SLURM cluster
        raise error(f"--executor {options.executor}: {exc}") from None
    params: dict[str, object] = {"timeout_min": options.time_min, "name": module}
    if options.cpus_per_task:
        params["cpus_per_task"] = options.cpus_per_task
    if options.gpus_per_task:
        params["gpus_per_node"] = options.gpus_per_task
    if options.partition:
        params["slurm_partition"] = options.partition
    if options.array_parallelism:
        params["slurm_array_parallelism"] = options.array_parallelism
    executor.update_parameters(**params)
    K = options.shards
    try:
        with executor.batch():
            jobs = [executor.submit(run_module, module, [*argv, "--shard", f"{i}/{K}"])
                    for i in range(K)]
    except (RuntimeError, OSError) as exc:  # sbatch refused the array (partition, limits)
        last = str(exc).strip().splitlines()[-1:] or [type(exc).__name__]
        raise error(f"--executor {options.executor}: submitting failed: {last[0]}") from None
    failed = []
    for i, job in enumerate(jobs):
        try:
            job.result()
        except Exception as exc:  # submitit re-raises the job's error with its traceback
            last = str(exc).strip().splitlines()[-1:] or [type(exc).__name__]
            failed.append(f"shard {i}/{K} (job {job.job_id}, log {job.paths.stderr}): {last[0]}")
    if failed:
        raise error(f"{len(failed)} of {K} shards failed; first: {failed[0]}")
    return [str(job.job_id) for job in jobs]
