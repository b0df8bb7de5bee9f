"""Atomic writes of figures and text: a temporary sibling file, then os.replace."""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path
    from typing import IO

    from matplotlib.figure import Figure


def _umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_open(path: Path, mode: str) -> Iterator[IO]:
    """A temporary sibling of ``path`` opened for writing; on success it replaces ``path``.

    An exception inside the block removes the temporary file and leaves ``path`` as it was.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as fh:
            yield fh
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give a normal file's mode
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def save_atomic(fig: Figure, path: Path, fmt: str, dpi: int) -> None:
    """Save ``fig`` to ``path`` via a temporary file in the same directory and ``os.replace``."""
    fig.set_dpi(dpi)  # lay out at the resolution it is saved at (text extents are not linear)
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format=fmt, dpi=dpi)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same directory and ``os.replace``."""
    with atomic_open(path, "w") as fh:
        fh.write(text)
