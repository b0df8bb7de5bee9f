"""Run a whole toy-model grid: data, cached pretraining, frozen features, chunks, result files."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from atomicfile import atomic_open, remove_stale_temporaries
from sharding import hold_out

from ._config import ToyConfig
from ._data import Dataset, default_cache_dir, load_dataset
from ._engine import train_chunk
from ._fingerprint import check_fingerprint, run_fingerprint
from ._grid import chunks, phase_one, phase_two, rows_per_chunk
from ._model import Frozen, Pretrained, batch_schedule, frozen_features, load_or_pretrain
from ._plan import check_fits, finetune_bytes
from ._results import RUN_COLUMNS, ResultStore, read_result_csv
from ._shards import (
    chunk_done,
    contains,
    merge_chunks,
    phase_one_runs,
    plan_items,
    write_chunk,
)
from ._summary import summarize
from .errors import ConfigError, ResumeError

if TYPE_CHECKING:
    from sharding import Shard

__all__ = ["pretrained_model", "resolve_device", "run_grid", "run_shard"]


def _set_threads(threads: int) -> None:
    """Use ``threads`` intra-op CPU threads (0 keeps torch's default)."""
    if threads:
        torch.set_num_threads(threads)


def resolve_device(name: str) -> torch.device:
    """``auto`` → CUDA when present, else CPU.

    Raises:
        ConfigError: ``cuda`` asked for on a machine without it.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: this torch build sees no CUDA device; use cpu or auto")
    return torch.device(name)


def _versions() -> dict:
    """Versions of Python and the libraries, and the git revision when there is one."""
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, cwd=Path(__file__).parent).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        rev = None
    return {"python": sys.version.split()[0], "torch": torch.__version__,
            "numpy": np.__version__, "pandas": pd.__version__, "git_revision": rev}


def _device_info(device: torch.device) -> dict:
    """A description of where the run computes."""
    info = {"device": str(device), "torch_threads": torch.get_num_threads(),
            "machine": platform.machine(), "processor": platform.processor() or None}
    if device.type == "cuda":
        info["cuda_device"] = torch.cuda.get_device_name(device)
    return info


def pretrained_model(config: ToyConfig, *, data_dir: Path | None, cache_dir: Path | None,
                     download: bool, progress: bool) -> tuple[Pretrained, Dataset]:
    """Load MNIST and the pretrained weights (pretraining, and caching them, on a miss)."""
    config.validate()
    _set_threads(config.threads)
    device = resolve_device(config.device)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    mnist = load_dataset("mnist", data_dir=data_dir, cache_dir=cache, download=download,
                         need_test=False)
    return load_or_pretrain(config, mnist, cache, device, progress), mnist


def _prepare_out(out: Path) -> Path:
    """``out`` as a writable directory (created if missing).

    Raises:
        ResumeError: ``out`` is a file, or cannot be created or written.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ResumeError(f"--out {out} exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-test-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise ResumeError(f"--out {out} cannot be written: {exc.strerror or exc}") from None
    return out


def _open_run(config: ToyConfig, out: Path, data_dir: Path | None, cache_dir: Path | None,
              download: bool) -> tuple[Path, torch.device, Path, Dataset, Dataset, dict, int]:
    """What a whole run and a shard both need before they lock ``out``.

    Validates the config, prepares ``out``, loads both data sets, checks the run
    fingerprint against ``out`` and the fine-tuning memory plan.

    Returns:
        (out, device, cache dir, MNIST, Fashion-MNIST, fingerprint, runs per chunk).
    """
    config.validate()
    out = _prepare_out(out)
    device = resolve_device(config.device)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    mnist = load_dataset("mnist", data_dir=data_dir, cache_dir=cache, download=download,
                         need_test=False)
    fashion = load_dataset("fashion-mnist", data_dir=data_dir, cache_dir=cache,
                           download=download, need_test=True)
    fingerprint = run_fingerprint(config, {d.name: d.checksum() for d in (mnist, fashion)})
    check_fingerprint(out, fingerprint)
    size = rows_per_chunk(config)
    check_fits(finetune_bytes(config, len(fashion.y_train), len(fashion.y_test), size),
               device.type, f"fine-tuning at n = {config.n} ({size} runs per chunk, "
               f"{config.steps} steps)", "lower --n, --steps or --chunk-rows")
    return out, device, cache, mnist, fashion, fingerprint, size


def run_grid(config: ToyConfig, out: Path, *, data_dir: Path | None = None,
             cache_dir: Path | None = None, download: bool = True,
             progress: bool = True, combine: bool = False) -> pd.DataFrame:
    """Run (or resume) every run of ``config`` and write the result files in ``out``.

    Phase one trains the arms without shrinkage over lr × σ × seeds; phase two the
    Stable-LoRA arms over lr × λ × seeds at σ_k and at phase one's best σ per lr. Runs
    already done in ``out`` (same fingerprint: configuration, data, numerical code) are
    skipped; the summary is computed from ``runs.csv`` as it is on disk, so a fresh, a
    resumed and a repeated run write the same ``summary.csv``. The directory is locked
    for the duration (docs/results-format.md, "Fingerprints and locks"). Chunks that
    shards (:func:`run_shard`) finished are merged first, in plan order.

    Args:
        combine: train nothing: merge the shards' chunks and write the result files.

    Returns:
        The per-lr summary (also written to ``out/summary.csv``).

    Raises:
        ToyModelError: bad config, missing or corrupt data, a mismatching or busy ``out``,
            not enough memory, or runs missing with ``combine``.
    """
    out, device, cache, mnist, fashion, fingerprint, size = _open_run(
        config, out, data_dir, cache_dir, download)
    with hold_out(out, None, ResumeError):
        remove_stale_temporaries(out)
        store = ResultStore(out, config.steps)
        if store.repaired:
            print(f"toymodel: {out}: dropped incomplete rows (a cut-short or missing file); "
                  "their runs are recomputed", file=sys.stderr)
        return _run_locked(config, store, device, mnist, fashion, fingerprint, cache,
                           size, progress, combine)


def _features(config: ToyConfig, device: torch.device, mnist: Dataset, fashion: Dataset,
              cache: Path, progress: bool) -> tuple[Pretrained, Frozen, dict, float, float]:
    """Pretrained model, frozen features of every used image, per-seed batch indices.

    Returns:
        (model, frozen, seed → (steps, b) indices into frozen, pretraining s, features s).
    """
    _set_threads(config.threads)
    t0 = time.perf_counter()
    model = load_or_pretrain(config, mnist, cache, device, progress)
    t_pretrain = time.perf_counter() - t0
    schedules = {s: batch_schedule(len(fashion.y_train), config.steps, config.batch, s)
                 for s in config.seeds}  # seed -> (steps, b) image indices
    used = torch.unique(torch.cat([sch.view(-1) for sch in schedules.values()]))  # sorted
    t1 = time.perf_counter()
    frozen = frozen_features(model, fashion, used, config.test_size, device)
    t_features = time.perf_counter() - t1
    local = {s: torch.searchsorted(used, sch) for s, sch in schedules.items()}
    return model, frozen, local, t_pretrain, t_features


def _train_kw(config: ToyConfig) -> dict:
    """The keyword arguments of :func:`train_chunk` that come from the configuration."""
    return dict(r=config.r, scale=config.scale, betas=(config.beta1, config.beta2),
                eps=config.eps, weight_decay=config.weight_decay,
                subtract_init=config.subtract_init, stop_condition=config.stop_condition)


def run_shard(config: ToyConfig, out: Path, shard: Shard, *, data_dir: Path | None = None,
              cache_dir: Path | None = None, download: bool = True,
              progress: bool = True) -> tuple[int, bool]:
    """Train only ``shard``'s chunks of ``config`` into ``out/shards/`` (no result files).

    Phase one's chunks p ≡ i mod K; then, if phase one is complete on disk (runs.csv and
    the shards' chunk files), phase two's, planned from phase one's runs in plan order.
    Holds only the shard's lock: shards share ``out``; :func:`run_grid` merges.

    Returns:
        (runs trained, whether phase two could be planned).

    Raises:
        ToyModelError: as :func:`run_grid`.
    """
    out, device, cache, mnist, fashion, _, size = _open_run(
        config, out, data_dir, cache_dir, download)
    with hold_out(out, shard, ResumeError):
        done, _ = read_result_csv(out / "runs.csv", RUN_COLUMNS)  # read only: not our lock
        _, frozen, local, _, _ = _features(config, device, mnist, fashion, cache, progress)
        trained, runs = 0, None
        for phase in (1, 2):
            items = plan_items(config, phase, size, runs)
            for position, (rows, chunk) in enumerate(items):
                if (not shard.owns(position) or chunk_done(out, phase, position)
                        or contains(done, rows)):
                    continue
                result = train_chunk(chunk, frozen, local[chunk.seed], **_train_kw(config))
                write_chunk(out, phase, position, rows, result)
                trained += len(rows)
            if phase == 1:
                runs = phase_one_runs(out, done, items)
                if runs is None:  # other shards still train phase one
                    return trained, False
        return trained, True


def _run_locked(config: ToyConfig, store: ResultStore, device: torch.device, mnist: Dataset,
                fashion: Dataset, fingerprint: dict, cache: Path, size: int,
                progress: bool, combine: bool = False) -> pd.DataFrame:
    """The body of :func:`run_grid`, run while holding the directory lock."""
    model, frozen, local, t_pretrain, t_features = _features(config, device, mnist, fashion,
                                                             cache, progress)
    meta = {"config": config.to_json(), "fingerprint": fingerprint, "versions": _versions(),
            "device": _device_info(device),
            "data_sources": {"mnist": mnist.source, "fashion-mnist": fashion.source,
                             "mnist_train_images": len(mnist.y_train),
                             "fashion_test_images": len(frozen.y_test)},
            "pretrain": model.info, "runs_done": len(store.runs), "finished": False}
    t2 = time.perf_counter()
    train_kw = _train_kw(config)
    bar = tqdm(desc="fine-tune (runs)", unit="run", disable=not progress)
    for phase, plan in ((1, lambda: phase_one(config)), (2, lambda: phase_two(config, store.runs))):
        planned = plan()
        merge_chunks(store, phase, chunks(planned, size))  # what shards finished, in plan order
        pending = store.pending(planned)
        if combine and len(pending):
            raise ResumeError(f"--combine: {len(pending)} runs of phase {phase} are not "
                              "finished; run the missing shards, or drop --combine")
        bar.total = (bar.total or 0) + len(pending)
        bar.refresh()
        for rows, chunk in chunks(pending, size):
            result = train_chunk(chunk, frozen, local[chunk.seed], **train_kw)
            store.add(rows, result)
            meta["runs_done"] = len(store.runs)
            store.write_meta(meta)
            bar.update(len(rows))
    bar.close()
    summary = summarize(store.runs_on_disk())
    meta.update(finished=True, timing_s={"pretrain_or_cache": round(t_pretrain, 2),
                                         "features": round(t_features, 2),
                                         "fine_tune_and_eval": round(time.perf_counter() - t2, 2),
                                         "rows_per_chunk": size})
    store.write_meta(meta)
    with atomic_open(store.out / "summary.csv", "w") as fh:
        summary.to_csv(fh, index=False)
    return summary
