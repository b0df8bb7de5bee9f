"""Atomic file writes shared by sims/, toymodel/ and figures/: a temporary sibling, then os.replace.

A reader (or a resumed run) never sees a half-written result file: the content goes to a
temporary file in the destination's directory, is flushed to disk, given a normal file's
permissions and only then renamed over the destination. :func:`write_text_once` creates
a file only if it does not exist yet (a run's fingerprint: two writers cannot both win).
Directory locks (:func:`directory_lock`, through ``filelock``) keep two processes from
writing one result directory at once; the rules are in docs/results-format.md.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from ._lock import DirectoryBusyError, directory_lock, remove_stale_temporaries, shard_lock_name

__all__ = [
    "DirectoryBusyError",
    "atomic_open",
    "directory_lock",
    "remove_stale_temporaries",
    "shard_lock_name",
    "write_bytes_atomic",
    "write_text_atomic",
    "write_text_once",
]


def _umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "w") -> Iterator[IO]:
    """Open a temporary sibling of ``path`` for writing; on success replace ``path`` by it.

    An exception inside the block removes the temporary file and leaves ``path`` as it was.
    Missing parent directories are created.

    Args:
        path: the destination.
        mode: ``"w"`` (text, UTF-8, newlines written as given) or ``"wb"``.

    Raises:
        OSError: the directory cannot be created or written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        kwargs = {} if "b" in mode else {"encoding": "utf-8", "newline": ""}
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give a normal file's mode
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_open`)."""
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically as UTF-8 (see :func:`atomic_open`)."""
    with atomic_open(path, "w") as fh:
        fh.write(text)


def write_text_once(path: str | os.PathLike[str], text: str) -> bool:
    """Create ``path`` with ``text`` unless it exists; never replaces an existing file.

    The content is written to a temporary sibling and hard-linked into place, so a reader
    never sees a partial file and of two concurrent writers exactly one wins.

    Returns:
        True when this call created the file, False when it existed already.

    Raises:
        OSError: the directory cannot be written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
