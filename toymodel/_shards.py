"""Shards of a toy-model grid: chunk files under DIR/shards/, merged into the results in plan order.

The work items of a phase are the chunks of its full plan (:func:`plan_items`, the chunks a
fresh unsharded run trains, in its order); item p belongs to shard p mod K. A shard
writes each finished chunk as two files, ``shards/phase<k>-<p>.curves.csv`` and then
``.runs.csv`` (the rows ``ResultStore.add`` would append), each atomically. The run that
holds the whole directory's lock appends them to curves.csv and runs.csv in plan order
(:func:`merge_chunks`) and removes them, so a grid computed by shards and combined has the
bytes of one computed in one process.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pandas as pd

from atomicfile import atomic_open

from ._config import ToyConfig
from ._engine import Chunk, ChunkResult
from ._grid import KEY, chunks, phase_one, phase_two
from ._results import ResultStore, chunk_text, parse_runs

__all__ = ["chunk_done", "contains", "merge_chunks", "phase_one_runs", "plan_items", "write_chunk"]

SHARD_DIR = "shards"


def plan_items(config: ToyConfig, phase: int, size: int,
               runs: pd.DataFrame | None = None) -> list[tuple[pd.DataFrame, Chunk]]:
    """The chunks of phase 1 (or of phase 2, planned from phase one's ``runs``), in order."""
    planned = phase_one(config) if phase == 1 else phase_two(config, runs)
    return chunks(planned, size)


def _paths(out: Path, phase: int, position: int) -> tuple[Path, Path]:
    stem = Path(out) / SHARD_DIR / f"phase{phase}-{position:05d}"
    return stem.with_name(stem.name + ".curves.csv"), stem.with_name(stem.name + ".runs.csv")


def chunk_done(out: Path, phase: int, position: int) -> bool:
    """Whether a shard has written item ``position`` of ``phase`` (its runs file exists)."""
    return _paths(out, phase, position)[1].is_file()


def write_chunk(out: Path, phase: int, position: int, rows: pd.DataFrame,
                result: ChunkResult) -> None:
    """Store a shard's finished chunk: the curves file, then the runs file (each atomic)."""
    curves_path, runs_path = _paths(out, phase, position)
    curves_path.parent.mkdir(exist_ok=True)
    for path, text in zip((curves_path, runs_path), chunk_text(rows, result), strict=True):
        with atomic_open(path, "w") as fh:
            fh.write(text)


def _read(out: Path, phase: int, position: int) -> tuple[str, str] | None:
    """(curves rows, runs rows) of a stored chunk, or None."""
    curves_path, runs_path = _paths(out, phase, position)
    if not runs_path.is_file():
        return None
    return curves_path.read_text(encoding="utf-8"), runs_path.read_text(encoding="utf-8")


def contains(runs: pd.DataFrame, rows: pd.DataFrame) -> bool:
    """Whether every run of ``rows`` (KEY columns) is in ``runs``."""
    return len(rows.merge(runs[KEY], on=KEY, how="inner")) == len(rows)


def merge_chunks(store: ResultStore, phase: int,
                 items: list[tuple[pd.DataFrame, Chunk]]) -> int:
    """Append the shards' chunk files of ``phase`` to the store in plan order, then delete them.

    Call it only while holding the directory's exclusive lock. A chunk whose runs are
    already in the store (merged before a crash) is only deleted.

    Returns:
        The number of runs appended.
    """
    merged = 0
    for position, (rows, _) in enumerate(items):
        texts = _read(store.out, phase, position)
        if texts is None:
            continue
        if not contains(store.runs, rows):
            store.add_text(*texts)
            merged += len(rows)
        for path in _paths(store.out, phase, position):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    return merged


def phase_one_runs(out: Path, done: pd.DataFrame,
                   items: list[tuple[pd.DataFrame, Chunk]]) -> pd.DataFrame | None:
    """Phase one's runs in plan order, from runs.csv (``done``) and the chunk files.

    The order is that of a fresh unsharded run's runs.csv, so phase two's best σ per lr
    (a mean over seeds) comes out the same to the last bit.

    Returns:
        The rows, or None while some chunk of phase one is in neither place.
    """
    parts = []
    for position, (rows, _) in enumerate(items):
        texts = _read(out, 1, position)
        if texts is not None:
            parts.append(parse_runs(texts[1], _paths(out, 1, position)[1]))
        elif contains(done, rows):
            parts.append(rows[KEY].merge(done, on=KEY, how="left"))
        else:
            return None
    return pd.concat(parts, ignore_index=True)
