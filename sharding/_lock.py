"""The lock a sweep holds on its output directory: the whole directory, or one shard's share."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from ._shard import Shard

__all__ = ["hold_out"]


@contextlib.contextmanager
def hold_out(out: Path, shard: Shard | None, error: type[Exception]) -> Iterator[None]:
    """Hold ``out``'s lock as an unsharded run (``shard`` None) or as one shard.

    An unsharded run (which also combines) takes ``out/.lock`` and refuses while any shard
    runs; a shard takes ``out/.lock.shard-i-of-K`` and refuses while an unsharded run or a
    second copy of itself runs, so shards share ``out`` (docs/results-format.md). Only the
    holder of ``.lock`` may clear stale temporaries or write combined files.

    Raises:
        error: ``out`` is a file, cannot be created, or another process holds it.
    """
    from atomicfile import directory_lock, shard_lock_name

    if out.exists() and not out.is_dir():
        raise error(f"--out {out} exists and is not a directory")
    if shard is None:
        name, conflicts = ".lock", ".lock.shard-*"
    else:
        name, conflicts = shard_lock_name(shard.index, shard.count), ".lock"
    with directory_lock(out, name=name, conflicts=conflicts, error=error):
        yield
