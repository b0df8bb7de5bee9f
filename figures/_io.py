"""Figures saved atomically; the temporary-sibling mechanism is the shared atomicfile module."""

from __future__ import annotations

from typing import TYPE_CHECKING

from atomicfile import atomic_open, write_text_atomic

if TYPE_CHECKING:
    from pathlib import Path

    from matplotlib.figure import Figure

__all__ = ["atomic_open", "save_atomic", "write_text_atomic"]


def save_atomic(fig: Figure, path: Path, fmt: str, dpi: int) -> None:
    """Save ``fig`` to ``path`` via a temporary file in the same directory and ``os.replace``."""
    fig.set_dpi(dpi)  # lay out at the resolution it is saved at (text extents are not linear)
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format=fmt, dpi=dpi)
