"""The MNIST → Fashion-MNIST toy LoRA model: Init[A] vs Init[AB] vs Stable-LoRA, batched."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ._config import ARMS, GRIDS, ToyConfig, apply_grid, kaiming_sigma
from .errors import ConfigError, CorruptDataError, DataNotFoundError, ResumeError, ToyModelError

if TYPE_CHECKING:  # the torch-backed names below load on first use, so --help stays fast
    from ._data import Dataset, default_cache_dir, load_dataset, load_split
    from ._engine import Chunk, ChunkResult, init_pair, train_chunk
    from ._idx import read_idx, write_idx
    from ._model import (
        Frozen,
        Pretrained,
        batch_schedule,
        frozen_features,
        load_or_pretrain,
        pretrain,
    )
    from ._reference import reference_run
    from ._run import resolve_device, run_grid
    from ._summary import format_summary, summarize

_LAZY = {
    "Dataset": "_data", "default_cache_dir": "_data", "load_dataset": "_data",
    "load_split": "_data",
    "Chunk": "_engine", "ChunkResult": "_engine", "init_pair": "_engine",
    "train_chunk": "_engine",
    "read_idx": "_idx", "write_idx": "_idx",
    "Frozen": "_model", "Pretrained": "_model", "batch_schedule": "_model",
    "frozen_features": "_model", "load_or_pretrain": "_model", "pretrain": "_model",
    "reference_run": "_reference",
    "resolve_device": "_run", "run_grid": "_run",
    "format_summary": "_summary", "summarize": "_summary",
}


def __getattr__(name: str) -> object:
    """Import a torch-backed public name from its module on first access (PEP 562)."""
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ARMS",
    "GRIDS",
    "Chunk",
    "ChunkResult",
    "ConfigError",
    "CorruptDataError",
    "DataNotFoundError",
    "Dataset",
    "Frozen",
    "Pretrained",
    "ResumeError",
    "ToyConfig",
    "ToyModelError",
    "apply_grid",
    "batch_schedule",
    "default_cache_dir",
    "format_summary",
    "frozen_features",
    "init_pair",
    "kaiming_sigma",
    "load_dataset",
    "load_or_pretrain",
    "load_split",
    "pretrain",
    "read_idx",
    "reference_run",
    "resolve_device",
    "run_grid",
    "summarize",
    "train_chunk",
    "write_idx",
]
