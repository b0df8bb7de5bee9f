"""The width sweep: plan units per width, run or resume them, and write the result files."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from ._config import ProbeConfig, SweepSettings, validate_settings, validate_suite
from ._predict import Prediction, predict_config
from ._probe import UnitResult, bytes_per_config, bytes_shared, run_width
from ._store import (
    check_not_foreign,
    dumps_json,
    frame_csv,
    load_unit,
    save_unit,
    unit_shapes,
    write_text_atomic,
)
from ._tables import (
    configs_frame,
    judged_frames,
    measurements_frame,
    stops_frame,
    trajectories_frame,
)
from .errors import ConfigError, ResultsError

if TYPE_CHECKING:
    import pandas as pd

    from sharding import Shard

DEFAULT_OUT = Path("results/width_sweep")
CHECKPOINT_S = 30.0  # rebuild the combined files at most this often during a sweep
CHECKPOINT_SHARE = 0.1  # ... and spend at most this share of the sweep's time on it
# settings that change the numbers of a unit (device, bootstrap and memory cap do not)
_FINGERPRINT_SETTINGS = (
    "seeds",
    "seed",
    "steps",
    "record",
    "batch",
    "rank",
    "m",
    "teacher_rank",
    "dtype",
)


@dataclass
class SweepResult:
    """What a sweep produced: the tables written to ``out`` and how much was recomputed."""

    out: Path
    configs: list[ProbeConfig]
    settings: SweepSettings
    predictions: dict[str, Prediction]
    tables: dict[str, pd.DataFrame]
    computed: list[tuple[str, int]] = field(default_factory=list)  # units run now
    reused: list[tuple[str, int]] = field(default_factory=list)  # units loaded from disk
    device: str = "cpu"


def _jsonable(obj: object) -> object:
    if isinstance(obj, Fraction):
        return str(obj)
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    return obj


def config_dict(config: ProbeConfig) -> dict:
    """``asdict(config)`` with exponents as exact strings ("-1/2")."""
    return _jsonable(asdict(config))


def settings_dict(settings: SweepSettings) -> dict:
    """``asdict(settings)`` in JSON-ready form."""
    return _jsonable(asdict(settings))


def numerics_version() -> str:
    """SHA-256 (16 hex digits) of the source that computes a unit's numbers.

    sims/_probe.py, sims/_probe_kernel.py, every module of ``batchedoptim`` and the modules
    defining ``stablelora.init_lora_`` and ``stable_shrink_`` (found through the functions,
    so a module rename does not break it). Any edit to them makes stored units stale.
    """
    import hashlib
    import inspect

    import batchedoptim
    import stablelora

    from . import _probe, _probe_kernel

    files = {Path(inspect.getsourcefile(m)) for m in (_probe, _probe_kernel)}
    files |= set(Path(inspect.getsourcefile(batchedoptim)).parent.glob("*.py"))
    for fn in (stablelora.init_lora_, stablelora.stable_shrink_):
        files.add(Path(inspect.getsourcefile(inspect.unwrap(fn))))
    h = hashlib.sha256()
    for path in sorted(files):
        h.update(f"{path.parent.name}/{path.name}".encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def fingerprint(config: ProbeConfig, settings: SweepSettings, numerics: str = "") -> str:
    """Everything that determines the numbers of a (config, width) unit, as a string.

    Args:
        numerics: :func:`numerics_version` (the sweep passes it; computed once per run).
    """
    sd = settings_dict(settings)
    return json.dumps(
        {
            "config": config_dict(config),
            "settings": {k: sd[k] for k in _FINGERPRINT_SETTINGS},
            "numerics": numerics,
        },
        sort_keys=True,
    )


def resolve_device(requested: str) -> str:
    """``auto`` → ``cuda`` when available, else ``cpu``.

    Raises:
        ConfigError: when ``cuda`` is requested and not available.
    """
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: no CUDA device is available (use --device cpu or auto)")
    return requested


def _meminfo(key: str) -> int | None:
    """A /proc/meminfo entry in bytes (None where there is none)."""
    try:
        with open("/proc/meminfo") as fh:
            info = {line.split(":")[0]: line.split()[1] for line in fh}
        return int(info[key]) * 1024
    except (OSError, KeyError, IndexError, ValueError):
        return None


def memory_budget(device: str, settings: SweepSettings) -> int:
    """Bytes one width may use: --max-memory, else half the free host memory / 80% of GPU.

    Raises:
        ConfigError: --max-memory above the device's physical memory.
    """
    if settings.max_memory_gb is not None:
        cap = int(settings.max_memory_gb * 2**30)
        if device == "cuda":
            import torch

            total: int | None = int(torch.cuda.mem_get_info()[1])
        else:
            total = _meminfo("MemTotal")
        if total is not None and cap > total:
            raise ConfigError(
                f"--max-memory {settings.max_memory_gb:g} GiB exceeds the {total / 2**30:.1f} "
                f"GiB of {device} memory this machine has"
            )
        return cap
    if device == "cuda":
        import torch

        return int(0.8 * torch.cuda.mem_get_info()[0])
    try:
        with open("/proc/meminfo") as fh:
            info = {line.split(":")[0]: line.split()[1] for line in fh}
        return int(info["MemAvailable"]) * 1024 // 2
    except (OSError, KeyError, IndexError, ValueError):
        return 4 * 2**30


def bytes_per_config_steps(settings: SweepSettings, item: int) -> int:
    """Bytes one configuration (all seeds) adds that grow with the steps T and records K.

    On the device: the loss, ‖A‖_F/n, ‖B‖_F/m of every step (3T values), Stable-LoRA's
    flag and shrink record (2T bools), the statistics (6K values). On the host, where
    ``_to_host`` and the unit store copy them: float64 twice, plus the flags twice.
    """
    S, T, K = settings.seeds, settings.steps, len(settings.record)
    device = S * (3 * T * item + 2 * T + 6 * K * item)
    host = S * 2 * (3 * T * 8 + 2 * T + 6 * K * 8)
    return device + host


# bytes per row of a combined table while it is built and written (frame + CSV text)
TABLE_ROW_BYTES = {"trajectories": 200, "measurements": 160}


def check_table_memory(configs: list[ProbeConfig], settings: SweepSettings) -> None:
    """Refuse a sweep whose combined tables cannot be built in the host's free memory.

    trajectories.csv has configs × widths × seeds × steps rows, measurements.csv
    configs × widths × seeds × recorded steps × 6; both are built in memory at the end.

    Raises:
        ResultsError: with the rows, the bytes needed and what is free.
    """
    units = len(configs) * len(settings.widths) * settings.seeds
    K = len(settings.record)
    rows = {"trajectories": units * settings.steps, "measurements": units * K * 6}
    need = sum(TABLE_ROW_BYTES[k] * v for k, v in rows.items())
    free = _meminfo("MemAvailable")
    if free is not None and need > free:
        raise ResultsError(
            f"the combined tables need about {need / 2**30:.1f} GiB of host memory "
            f"({rows['trajectories']:,} rows of trajectories.csv = configs × widths × seeds × "
            f"steps) but {free / 2**30:.1f} GiB is free; lower --steps, --seeds or the widths"
        )


def plan_chunks(
    configs: list[ProbeConfig], settings: SweepSettings, n: int, budget: int
) -> list[list[ProbeConfig]]:
    """Split the configurations pending at width n into groups that fit ``budget`` bytes.

    Fixed-batch and fresh-batch configurations never share a group (their Z differ).

    Raises:
        ResultsError: when a single configuration with all its seeds does not fit.
    """
    m = settings.m_at(n)
    item = 8 if settings.dtype == "float64" else 4
    per = bytes_per_config(settings, n, m, item) + bytes_per_config_steps(settings, item)
    shared = bytes_shared(settings, n, m, item)
    fit = (budget - shared) // per if budget > shared else 0
    if fit < 1:
        need = (per + shared) / 2**30
        raise ResultsError(
            f"width n={n} needs {need:.2f} GiB for one configuration with {settings.seeds} "
            f"seeds but the budget is {budget / 2**30:.2f} GiB; lower --seeds or the widths, "
            "or raise --max-memory"
        )
    chunks = []
    for fresh in (False, True):
        group = [c for c in configs if c.fresh_batches == fresh]
        chunks.extend(group[i : i + fit] for i in range(0, len(group), fit))
    return chunks


def _git_revision() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _versions() -> dict[str, str]:
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for dist in ("lora-width", "torch", "numpy", "pandas", "scipy", "sympy"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    return versions


def _device_info(device: str) -> dict[str, object]:
    import torch

    info: dict[str, object] = {"used": device, "torch_threads": torch.get_num_threads()}
    if device == "cuda":
        info["name"] = torch.cuda.get_device_name()
    else:
        info["name"] = platform.processor() or platform.machine()
        info["cpu_count"] = os.cpu_count()
    return info


PROTOCOL = {
    "model": "single LoRA layer Y = W0 Z + s B A Z, A (r x n), B (m x r); W0 enters only via "
    "the residual T - W0 Z = U V Z / sqrt(k), U ~ N(0,1) (m x k), V ~ N(0,1/n) (k x n)",
    "input": "Z (n x b), i.i.d. N(0,1), fixed for all steps unless fresh_batches",
    "loss": "L = (1/2b) * ||s B A Z - (T - W0 Z)||_F^2, so dY = (Y - T)/b has Theta(1) entries",
    "step": "step k is the k-th optimizer update, the paper's t = k-1 -> k",
    "deltas": "delta1 = s dB A_t Z, delta2 = s B_t dA Z, delta3 = s dB dA Z, dY = their sum, "
    "dA, dB the actual change of the step (shrinkage included); per-entry RMS",
    "fresh_batches": "a new Z every step is OUTSIDE Stable-LoRA's Assumption 1 "
    "(gamma[g_A Z] = 1 needs g_A correlated with Z); such configs are named '*+fresh'",
    "fit": "gamma_hat = least-squares slope of the seed mean of log RMS on log n; 95% "
    "bootstrap over seeds; verdict agree if gamma_pred in the interval or |gamma_hat - "
    "gamma_pred| <= 0.1",
}


def write_outputs(
    out: Path,
    configs: list[ProbeConfig],
    settings: SweepSettings,
    units: dict[tuple[str, int], UnitResult],
    predictions: dict[str, Prediction],
    device: str,
) -> dict[str, pd.DataFrame]:
    """Rebuild every combined file of docs/results-format.md from the finished units."""
    summary, crossovers = judged_frames(configs, settings, units, predictions)
    tables = {
        "measurements": measurements_frame(configs, settings, units),
        "trajectories": trajectories_frame(configs, settings, units),
        "stops": stops_frame(configs, settings, units),
        "summary": summary,
        "crossovers": crossovers,
        "configs": configs_frame(configs, predictions),
    }
    for name, frame in tables.items():
        write_text_atomic(out / f"{name}.csv", frame_csv(frame))
    finished = [[c.name, w] for c in configs for w in settings.widths if (c.name, w) in units]
    run = {
        "tool": "python -m sims.width_sweep",
        "settings": settings_dict(settings),
        "configs": [config_dict(c) for c in configs],
        "predictions": {c.name: predictions[c.name].to_json() for c in configs},
        "protocol": PROTOCOL,
        "device": _device_info(device),
        "versions": _versions(),
        "git_revision": _git_revision(),
        "finished_units": finished,
        "complete": len(finished) == len(configs) * len(settings.widths),
    }
    write_text_atomic(out / "run.json", dumps_json(run))
    return tables


def run_sweep(
    configs: list[ProbeConfig],
    settings: SweepSettings,
    out: Path = DEFAULT_OUT,
    *,
    progress: bool | None = None,
    log: Callable[[str], None] | None = None,
    shard: Shard | None = None,
    combine: bool = False,
) -> SweepResult:
    """Run (or resume) a width sweep and write the result files into ``out``.

    Units (configuration, width) already in ``out/units`` with the same settings are
    loaded, not recomputed; each finished unit is stored at once. The combined files are
    rebuilt atomically at the end, on Ctrl-C, and every ``CHECKPOINT_S`` seconds during a
    long sweep, so an interrupted sweep leaves files that load (and resumes from units).

    Args:
        configs: the configurations (validated here).
        settings: run-level settings (validated here).
        out: output directory.
        progress: tqdm progress bar; None shows it only on a terminal.
        log: where one-line notes go (default: stderr).
        shard: compute only this shard's units (positions ≡ i mod K in the list of all
            units, width by width in suite order) and write no combined files: shards
            share ``out``; a later run without a shard writes the result files.
        combine: compute nothing; write the result files from the stored units.

    Returns:
        The tables and bookkeeping of the run (no tables for a shard).

    Raises:
        ConfigError: invalid configuration or settings, or theory refused a configuration.
        ResultsError: the output directory cannot be written or memory does not suffice,
            or ``combine`` finds units missing.
    """
    import torch

    settings = validate_settings(settings)
    threads = torch.get_num_threads()
    if settings.threads is not None:
        torch.set_num_threads(settings.threads)
    try:
        with contextlib.ExitStack() as held:  # _run_sweep locks out once the input is valid
            return _run_sweep(configs, settings, Path(out), progress, log, held, shard,
                              combine)
    finally:
        torch.set_num_threads(threads)


@contextlib.contextmanager
def _locked(out: Path, shard: Shard | None = None) -> Iterator[None]:
    """Hold ``out``'s directory lock (docs/results-format.md) and clear stale temporaries.

    A shard holds only its own lock (``.lock.shard-i-of-K``): shards share ``out``, each
    writing its own unit files atomically, while the combined files are written only under
    the whole directory's lock. Stale temporaries are cleared only under that lock.

    Raises:
        ResultsError: ``out`` is a file, cannot be created, or another run holds it.
    """
    from atomicfile import remove_stale_temporaries
    from sharding import hold_out

    with hold_out(out, shard, ResultsError):
        if shard is None:
            for directory in (out, *(out / "units").glob("*/")):
                remove_stale_temporaries(directory)
        yield


def _run_sweep(
    configs: list[ProbeConfig],
    settings: SweepSettings,
    out: Path,
    progress: bool | None,
    log: Callable[[str], None] | None,
    held: contextlib.ExitStack,
    shard: Shard | None = None,
    combine: bool = False,
) -> SweepResult:
    from tqdm import tqdm

    configs = validate_suite(configs)
    if out.exists() and not out.is_dir():
        raise ResultsError(f"--out {out} exists and is not a directory")
    check_not_foreign(out)
    emit = log or (lambda msg: print(msg, file=sys.stderr))
    device = resolve_device(settings.device)
    predictions = {c.name: _predict_or_raise(c, settings.m_exp) for c in configs}
    numerics = numerics_version()
    prints = {c.name: fingerprint(c, settings, numerics) for c in configs}
    shapes = unit_shapes(settings)
    budget = memory_budget(device, settings)
    check_table_memory(configs, settings)
    held.enter_context(_locked(out, shard))

    units: dict[tuple[str, int], UnitResult] = {}
    result = SweepResult(out, configs, settings, predictions, {}, device=device)
    pending: dict[int, list[ProbeConfig]] = {}
    owned = None if shard is None else _shard_units(configs, settings, budget, shard)
    for w in settings.widths:
        for c in configs:
            if owned is not None and (c.name, w) not in owned:
                continue
            unit = load_unit(out, c.name, w, prints[c.name], shapes)
            if unit is None:
                pending.setdefault(w, []).append(c)
            else:
                units[c.name, w] = unit
                result.reused.append((c.name, w))
    if result.reused:
        emit(f"resuming from {out}: {len(result.reused)} finished units reused")
    if combine and pending:
        missing = [f"{c.name} at n={w}" for w in pending for c in pending[w]]
        raise ResultsError(
            f"--combine: {len(missing)} units are not finished ({', '.join(missing[:3])}"
            f"{', …' if len(missing) > 3 else ''}); run the missing shards, or drop --combine"
        )

    def write_combined() -> dict[str, pd.DataFrame]:
        if shard is not None:  # shards write unit files only
            return {}
        return write_outputs(out, configs, settings, units, predictions, device)

    plan = [
        (w, chunk)
        for w in sorted(pending)
        for chunk in plan_chunks(pending[w], settings, w, budget)
    ]
    total = sum(settings.steps for _ in plan)
    work = [len(chunk) * w for w, chunk in plan]  # a group's cost ∝ configurations × width
    started = last_write = time.monotonic()
    write_cost = 0.0  # seconds the last checkpoint took
    with tqdm(
        total=total,
        unit="step",
        disable=None if progress is None else not progress,
        file=sys.stderr,
        dynamic_ncols=True,
    ) as bar:
        try:
            for i, (w, chunk) in enumerate(plan):
                bar.set_description(f"n={w} ({len(chunk)} configs x {settings.seeds} seeds)")
                results = run_width(chunk, settings, w, device=device, on_step=bar.update)
                for c in chunk:
                    save_unit(out, c.name, w, prints[c.name], results[c.name])
                    units[c.name, w] = results[c.name]
                    result.computed.append((c.name, w))
                now = time.monotonic()
                if _checkpoint_due(now - started, now - last_write, write_cost,
                                   sum(work[: i + 1]), sum(work[i + 1 :])):
                    write_combined()
                    last_write = time.monotonic()
                    write_cost = last_write - now
        except KeyboardInterrupt:
            write_combined()
            raise
    result.tables = write_combined()
    return result


def _checkpoint_due(
    elapsed: float, since_write: float, write_cost: float, done: int, left: int
) -> bool:
    """Whether to rebuild the combined files now, between two groups of a sweep.

    Every ``CHECKPOINT_S`` seconds, unless the rest of the sweep at the rate so far (work
    ``done`` in ``elapsed`` seconds, ``left`` to do) ends sooner: the closing write comes
    then (a 512-step default sweep would otherwise build its ≈ 4 s of tables twice). Never
    more often than every ``write_cost / CHECKPOINT_SHARE`` seconds, so checkpoints cost at
    most that share of a long sweep (a 2048-step sweep's tables take longer to build).
    """
    if left == 0 or since_write < max(CHECKPOINT_S, write_cost / CHECKPOINT_SHARE):
        return False
    return elapsed * left / max(done, 1) >= CHECKPOINT_S


def _shard_units(
    configs: list[ProbeConfig], settings: SweepSettings, budget: int, shard: Shard
) -> set[tuple[str, int]]:
    """The (config, width) units of ``shard``: whole groups of the full plan.

    The work items are the groups a fresh unsharded run computes together, width by width
    (:func:`plan_chunks` of every configuration); item p belongs to shard p mod K. Whole
    groups, because a unit's last bits depend on which configurations share its tensor
    program (the products' shapes): so a shard computes exactly what the unsharded run
    would, and the combined files are byte-identical.
    """
    items = [(w, chunk) for w in settings.widths for chunk in plan_chunks(configs, settings, w,
                                                                        budget)]
    return {(c.name, w) for p, (w, chunk) in enumerate(items) if shard.owns(p) for c in chunk}


def _predict_or_raise(config: ProbeConfig, m_exp: int) -> Prediction:
    try:
        return predict_config(config, m_exp)
    except ValueError as exc:  # theory's named errors derive from ValueError
        raise ConfigError(f"theory cannot predict config {config.name!r}: {exc}") from None
