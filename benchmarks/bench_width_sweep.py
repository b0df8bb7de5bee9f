"""Benchmark of `python -m sims.width_sweep`: suite wall time, speed-up, roofline bound.

    .venv/bin/python benchmarks/bench_width_sweep.py                 # everything
    .venv/bin/python benchmarks/bench_width_sweep.py --threads 1 --repeat 3 --side-widths \
        --thread-counts --compare 2ed7aa2 HEAD          # suite vs bound, old vs new, min of 3
    .venv/bin/python benchmarks/bench_width_sweep.py --skip-suite --side-widths \
        --thread-counts --repeat 2 --per-step 2ed7aa2 .  # ms per step per width vs bound

Five numbers, each printed as a markdown table (and saved with ``--json``):

1. the wall time of the default suite (7 widths n = 256 … 16384, 10 configurations,
   8 seeds, 200 steps), run exactly as ``python -m sims.width_sweep`` runs it, the
   minimum of ``--repeat`` runs, beside
2. the arithmetic lower bound of the suite: flops and compulsory bytes per step (float32),
   against this machine's matmul rate and copy bandwidth measured in the same run;
3. with ``--compare REV …``: the same suite timed at other git revisions (each checked
   out in a temporary ``git worktree`` and run in a subprocess, the revisions taking turns
   ``--repeat`` times, minimum of each): the speed-up of one implementation over another;
4. with ``--per-step REV …``: milliseconds per optimizer step at each width (fixed-batch
   and fresh-batch groups, the marginal cost of a step) per revision, beside the bound
   per step;
5. the batched tensor program (``sims.run_width``) against the straightforward
   implementation of the same protocol (``sims._reference.reference_unit``: a Python loop
   over seeds, an ``nn.Linear`` with a dense n×m W₀, autograd, ``torch.optim``, Algorithm 1
   with ``.item()`` for every statistic) on the fixed-batch configurations of the suite at
   the widths the reference can handle, and torch thread counts at n = 16384.

The load average (``os.getloadavg``) before and after is part of the report: on a shared
machine take the minimum of several repeats and quote the load.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

# Times the default suite in a subprocess; works with every revision that has sims.run_sweep.
_SUITE_SNIPPET = """
import sys, tempfile, time
from dataclasses import replace
from pathlib import Path
import torch
from sims import DEFAULT_SUITE, SweepSettings, run_sweep, validate_settings
from sims._config import validate_suite
threads, steps, record = int(sys.argv[1]), int(sys.argv[2]), tuple(map(int, sys.argv[3:]))
torch.set_num_threads(threads)
configs = validate_suite(list(DEFAULT_SUITE))
settings = SweepSettings(steps=steps, record=record, threads=threads)
settings = validate_settings(settings)
with tempfile.TemporaryDirectory() as out:
    t = time.perf_counter()
    run_sweep(configs, settings, Path(out), progress=False, log=lambda _: None)
    print(",".join(c.name for c in configs), time.perf_counter() - t)
"""

# Per-step time of the width program at each width of the suite, for the fixed-batch
# configurations together and the fresh-batch ones apart (as run_sweep groups them): the
# marginal cost of a step, (t(hi steps) − t(lo steps)) / (hi − lo), minimum of two each, so
# set-up and the one recorded step cancel. Prints {"n": ms, "n+fresh": ms, …} as JSON.
_PER_STEP_SNIPPET = """
import json, sys, time
import torch
from sims import DEFAULT_SUITE, SweepSettings, run_width, validate_settings
from sims._config import validate_suite
threads, widths = int(sys.argv[1]), [int(x) for x in sys.argv[2:]]
torch.set_num_threads(threads)
configs = validate_suite(list(DEFAULT_SUITE))
run_width(configs[:1], validate_settings(SweepSettings(steps=3, record=(3,))), 64)  # warm-up
out = {}
for n in widths:
    lo, hi = (10, 40) if n >= 4096 else (20, 200)
    for fresh in (False, True):
        group = [c for c in configs if c.fresh_batches == fresh]
        best = {}
        for steps in (lo, hi, lo, hi):
            settings = validate_settings(SweepSettings(steps=steps, record=(steps,)))
            t = time.perf_counter()
            run_width(group, settings, n)
            best[steps] = min(best.get(steps, float("inf")), time.perf_counter() - t)
        out[f"{n}{'+fresh' if fresh else ''}"] = 1e3 * (best[hi] - best[lo]) / (hi - lo)
print(json.dumps(out))
"""


def _suite(steps: int | None = None, record: tuple[int, ...] | None = None):
    """The built-in suite and its settings, with ``steps``/``record`` when given."""
    from sims import DEFAULT_SUITE, SweepSettings, validate_settings
    from sims._config import validate_suite

    settings = SweepSettings()
    if steps is not None:
        settings = replace(settings, steps=steps, record=record or ())
    return validate_suite(list(DEFAULT_SUITE)), validate_settings(settings)


def flops_and_bytes(settings, n: int, rows: int) -> tuple[float, float]:
    """Per optimizer step at width n for ``rows`` = configurations × seeds (float32).

    Flops: the five skinny matmuls of the forward and backward pass (A·Z, B·(AZ), dY·(AZ)ᵀ,
    Bᵀ·dY, (BᵀdY)·Zᵀ: 4·r·n·b + 6·m·r·b multiply-adds → ×2 flops) plus ~12 flops per
    parameter for Adam and the two norms. Bytes: the compulsory traffic of a fully fused
    step: read A, B and both Adam moments, write them back (6 × 4 bytes per parameter),
    and read Z once per seed.
    """
    r, b, m = settings.rank, settings.batch, settings.m_at(n)
    params = r * n + m * r
    flops = rows * (2 * (4 * r * n * b + 6 * m * r * b) + 12 * params)
    bytes_ = rows * 6 * 4 * params + settings.seeds * n * b * 4
    return float(flops), float(bytes_)


def machine_peaks(threads: int) -> dict[str, float]:
    """Measured float32 matmul rate (flop/s) and copy bandwidth (byte/s) with ``threads``."""
    import torch

    torch.set_num_threads(threads)
    a = torch.randn(1024, 1024)
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - t)
    x = torch.empty(32 * 2**20)  # 128 MiB
    y = torch.empty_like(x)
    copy = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        y.copy_(x)
        copy = min(copy, time.perf_counter() - t)
    return {"flops_per_s": 2 * 1024**3 / best, "bytes_per_s": 2 * x.numel() * 4 / copy}


def time_suite(threads: int, steps: int | None, record: tuple[int, ...] | None) -> float:
    """Wall time of the default suite through run_sweep, into a throw-away directory."""
    from sims import run_sweep

    configs, settings = _suite(steps, record)
    with tempfile.TemporaryDirectory() as out:
        t = time.perf_counter()
        run_sweep(
            configs,
            replace(settings, threads=threads),
            Path(out),
            progress=False,
            log=lambda _: None,
        )
        return time.perf_counter() - t


@contextlib.contextmanager
def _worktree(rev: str) -> Iterator[Path]:
    """A temporary ``git worktree`` of ``rev`` (removed afterwards)."""
    root = Path(__file__).resolve().parent.parent
    tmp = Path(tempfile.mkdtemp(prefix="bench_rev_"))
    subprocess.run(["git", "-C", str(root), "worktree", "add", "--detach", "--quiet", str(tmp),
                    rev], check=True)
    try:
        yield tmp
    finally:
        subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force", str(tmp)],
                       check=True)


def compare_revisions(revs: list[str], threads: int, repeat: int, steps: int,
                      record: tuple[int, ...]) -> dict[str, dict]:
    """Suite wall time at each git revision: min over ``repeat`` interleaved runs.

    Every revision runs its own built-in suite with the same steps and recorded steps;
    the configuration names each ran are reported (they must match to compare).
    """
    with contextlib.ExitStack() as stack:
        trees = {rev: stack.enter_context(_worktree(rev)) for rev in revs}
        times: dict[str, list[float]] = {rev: [] for rev in revs}
        names: dict[str, str] = {}
        for _ in range(repeat):
            for rev, tree in trees.items():  # interleaved: load drifts hit every revision
                env = {**os.environ, "PYTHONPATH": str(tree)}
                argv = [str(threads), str(steps), *map(str, record)]
                done = subprocess.run([sys.executable, "-c", _SUITE_SNIPPET, *argv],
                                      cwd=tree, env=env, capture_output=True, text=True)
                if done.returncode != 0:
                    sys.exit(f"the suite at {rev} failed (exit {done.returncode}):\n"
                             + "\n".join(done.stderr.strip().splitlines()[-40:]))
                names[rev], seconds = done.stdout.split()[-2:]
                times[rev].append(float(seconds))
        commits = {rev: subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
                                       check=True, capture_output=True, text=True).stdout.strip()
                   for rev, tree in trees.items()}
    return {rev: {"commit": commits[rev], "suite_s": min(ts), "runs_s": ts,
                  "configs": names[rev].split(",")} for rev, ts in times.items()}


def per_step_times(revs: list[str], threads: int, repeat: int,
                   widths: tuple[int, ...]) -> dict[str, dict[str, float]]:
    """Milliseconds per step at each width (fixed-batch group, fresh-batch group) per revision.

    ``"."`` is this checkout; other revisions run in temporary worktrees. Revisions take
    turns ``repeat`` times; the minimum of each entry is kept.
    """
    root = Path(__file__).resolve().parent.parent
    with contextlib.ExitStack() as stack:
        trees = {rev: root if rev == "." else stack.enter_context(_worktree(rev))
                 for rev in revs}
        runs: dict[str, list[dict[str, float]]] = {rev: [] for rev in revs}
        for _ in range(repeat):
            for rev, tree in trees.items():
                env = {**os.environ, "PYTHONPATH": str(tree)}
                argv = [str(threads), *map(str, widths)]
                done = subprocess.run([sys.executable, "-c", _PER_STEP_SNIPPET, *argv],
                                      cwd=tree, env=env, check=True, capture_output=True,
                                      text=True)
                runs[rev].append(json.loads(done.stdout.splitlines()[-1]))
    return {rev: {key: min(run[key] for run in rs) for key in rs[0]} for rev, rs in runs.items()}


def side_by_side(widths: list[int], steps: int, threads: int) -> list[dict[str, float]]:
    """Batched program vs the plain reference on the fixed-batch configurations."""
    import torch

    from sims import run_width
    from sims._reference import reference_unit

    torch.set_num_threads(threads)
    configs, settings = _suite()
    configs = [c for c in configs if not c.fresh_batches]
    record = tuple(k for k in settings.record if k <= steps)
    settings = replace(settings, steps=steps, record=record, threads=threads)
    run_width(configs, settings, 64)  # warm-up
    rows = []
    for n in widths:
        t = time.perf_counter()
        run_width(configs, settings, n)
        batched = time.perf_counter() - t
        t = time.perf_counter()
        for config in configs:
            reference_unit(config, settings, n)
        reference = time.perf_counter() - t
        rows.append(
            {"n": n, "batched_s": batched, "reference_s": reference, "speedup": reference / batched}
        )
    return rows


def thread_scaling(n: int, steps: int, threads: list[int]) -> dict[int, float]:
    """Seconds for ``steps`` steps of the fixed-batch suite at width n, per thread count."""
    import torch

    from sims import run_width

    configs, settings = _suite()
    configs = [c for c in configs if not c.fresh_batches]
    settings = replace(settings, steps=steps, record=(1, steps))
    out = {}
    for count in threads:
        torch.set_num_threads(count)
        run_width(configs, settings, 256)  # warm-up
        t = time.perf_counter()
        run_width(configs, settings, n)
        out[count] = time.perf_counter() - t
    return out


def lower_bound(peaks: dict[str, float], suite_s: float | None, steps: int | None = None,
                record: tuple[int, ...] | None = None) -> dict[str, float]:
    """The suite's roofline bound Σ_n steps·max(flops/peak, bytes/bandwidth)."""
    configs, settings = _suite(steps, record)
    total_flops = total_bytes = bound = 0.0
    for n in settings.widths:
        fixed = sum(not c.fresh_batches for c in configs)
        for count in (fixed, len(configs) - fixed):  # fresh-batch configs run apart
            if count == 0:
                continue
            f, b = flops_and_bytes(settings, n, count * settings.seeds)
            total_flops += settings.steps * f
            total_bytes += settings.steps * b
            bound += settings.steps * max(f / peaks["flops_per_s"], b / peaks["bytes_per_s"])
    out = {"suite_gflop": total_flops / 1e9, "suite_gbyte": total_bytes / 1e9, "bound_s": bound}
    if suite_s is not None:
        out["achieved_fraction_of_bound"] = bound / suite_s
    return out


def main() -> None:
    """Run the measurements and print them as markdown."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side-widths", nargs="*", type=int, default=[256, 512, 1024, 2048],
                        help="widths of the batched-vs-straightforward comparison (none: skip)")
    parser.add_argument(
        "--side-steps",
        type=int,
        default=50,
        help="steps for the side-by-side (the reference is slow)",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=None,
                        help="steps of the timed suite (default: the suite's own)")
    parser.add_argument("--record", nargs="+", type=int, default=None,
                        help="recorded steps (default: the log grid up to --steps)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="time the suite this many times and keep the minimum")
    parser.add_argument("--skip-suite", action="store_true")
    parser.add_argument("--compare", nargs="*", default=[], metavar="REV",
                        help="also time the suite at these git revisions (worktrees)")
    parser.add_argument("--per-step", nargs="*", default=None, metavar="REV",
                        help="ms per step at each width, fixed- and fresh-batch groups, beside "
                             "the bound per step ('.' = this checkout; no REV: '.')")
    parser.add_argument(
        "--thread-counts",
        nargs="*",
        type=int,
        default=[1, 2],
        help="compare these torch thread counts at n = 16384, 20 steps (none: skip)",
    )
    parser.add_argument("--json", type=Path, help="also save the numbers here")
    args = parser.parse_args()

    report: dict[str, object] = {"threads": args.threads, "load_before": os.getloadavg()}
    print(f"load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    peaks = machine_peaks(args.threads)
    report["peaks"] = peaks
    print(
        f"machine ({args.threads} thread(s)): matmul {peaks['flops_per_s'] / 1e9:.1f} GFLOP/s, "
        f"copy {peaks['bytes_per_s'] / 1e9:.1f} GB/s"
    )
    suite_s = None
    if not args.skip_suite:
        runs = [time_suite(args.threads, args.steps, args.record) for _ in range(args.repeat)]
        suite_s = min(runs)
        report["suite_s"], report["suite_runs_s"] = suite_s, runs
        print(f"\ndefault suite (python -m sims.width_sweep, this checkout): {suite_s:.1f} s wall "
              f"(min of {', '.join(f'{x:.1f}' for x in runs)})")
    configs, settings = _suite(args.steps, args.record)
    report["suite"] = {"configs": [c.name for c in configs], "widths": settings.widths,
                       "seeds": settings.seeds, "steps": settings.steps,
                       "record": settings.record}
    print(f"suite: {len(configs)} configurations, widths {settings.widths}, {settings.seeds} "
          f"seeds, {settings.steps} steps, {len(settings.record)} recorded")
    bound = lower_bound(peaks, suite_s, args.steps, args.record)
    report["lower_bound"] = bound
    print(
        f"suite arithmetic: {bound['suite_gflop']:.0f} GFLOP, {bound['suite_gbyte']:.0f} GB "
        f"compulsory traffic; roofline lower bound {bound['bound_s']:.1f} s"
    )
    if suite_s is not None:
        print(
            f"achieved: {suite_s:.1f} s = {100 * bound['achieved_fraction_of_bound']:.0f}% of "
            "the bound's speed"
        )
    if args.compare:
        revs = compare_revisions(args.compare, args.threads, args.repeat, settings.steps,
                                 settings.record)
        report["revisions"] = revs
        first = revs[args.compare[0]]["suite_s"]
        print("\n| revision | commit | suite (s, min) | runs (s) | speed-up over "
              f"{args.compare[0]} | % of bound |\n|---|---|---|---|---|---|")
        for rev, row in revs.items():
            runs = ", ".join(f"{x:.1f}" for x in row["runs_s"])
            speedup, share = first / row["suite_s"], 100 * bound["bound_s"] / row["suite_s"]
            print(f"| {rev} | {row['commit']} | {row['suite_s']:.1f} | {runs} | "
                  f"{speedup:.2f}x | {share:.0f}% |")
            if row["configs"] != report["suite"]["configs"]:
                print(f"  note: {rev} ran configurations {', '.join(row['configs'])}")
    if args.per_step is not None:
        revs = args.per_step or ["."]
        times = per_step_times(revs, args.threads, args.repeat, settings.widths)
        report["per_step_ms"] = times
        fixed = sum(not c.fresh_batches for c in configs)
        print(f"\n| n | group | bound (ms/step) | {' | '.join(revs)} | % of bound ({revs[-1]}) |\n"
              f"|---|---|---|{'---|' * len(revs)}---|")
        for n in settings.widths:
            for key, count in ((f"{n}", fixed), (f"{n}+fresh", len(configs) - fixed)):
                f, b = flops_and_bytes(settings, n, count * settings.seeds)
                ms = 1e3 * max(f / peaks["flops_per_s"], b / peaks["bytes_per_s"])
                cells = " | ".join(f"{times[rev][key]:.2f}" for rev in revs)
                share = 100 * ms / times[revs[-1]][key]
                print(f"| {n} | {'fresh' if '+' in key else 'fixed'} ({count}) | {ms:.2f} | "
                      f"{cells} | {share:.0f}% |")
    if args.side_widths:
        rows = side_by_side(args.side_widths, args.side_steps, args.threads)
        report["side_by_side"] = rows
        print(
            f"\n| n | batched (s) | straightforward (s) | speed-up |  ({args.side_steps} steps, "
            "9 fixed-batch configs x 8 seeds)\n|---|---|---|---|"
        )
        for row in rows:
            print(
                f"| {row['n']} | {row['batched_s']:.2f} | {row['reference_s']:.1f} | "
                f"{row['speedup']:.0f}x |"
            )
    if args.thread_counts:
        scaling = thread_scaling(16384, 20, args.thread_counts)
        report["threads_n16384_20steps_s"] = scaling
        print(
            "\nn = 16384, 20 steps, 9 fixed-batch configs x 8 seeds: "
            + ", ".join(f"{k} thread(s) {v:.1f} s" for k, v in scaling.items())
        )
    report["load_after"] = os.getloadavg()
    print(f"\nload average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
