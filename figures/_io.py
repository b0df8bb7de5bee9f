"""Figures saved atomically; the temporary-sibling mechanism is the shared atomicfile module."""

from __future__ import annotations

from typing import TYPE_CHECKING

from atomicfile import atomic_open, write_text_atomic
from figures.errors import FiguresError

if TYPE_CHECKING:
    from pathlib import Path

    from matplotlib.figure import Figure

__all__ = ["MAX_PIXELS", "atomic_open", "check_pixels", "save_atomic", "write_text_atomic"]

# The largest raster saved: 50 megapixels is 200 MB of RGBA in memory (e.g. 8660 × 5770,
# a 16 × 10.7 inch figure at 540 dpi); --dpi 100000 would ask matplotlib for terabytes.
MAX_PIXELS = 50_000_000


def check_pixels(fig: Figure, dpi: int, name: str) -> None:
    """Refuse a raster of more than :data:`MAX_PIXELS` pixels before it is allocated.

    Raises:
        FiguresError: naming the figure, its size in pixels and the largest usable dpi.
    """
    w, h = fig.get_size_inches()
    pixels = w * dpi * h * dpi
    if pixels > MAX_PIXELS:
        best = int((MAX_PIXELS / (w * h)) ** 0.5)
        raise FiguresError(f"{name} at --dpi {dpi} would be {w * dpi:.0f} × {h * dpi:.0f} "
                           f"pixels (over {MAX_PIXELS / 1e6:.0f} megapixels); use --dpi {best} "
                           "or less")


def save_atomic(fig: Figure, path: Path, fmt: str, dpi: int) -> None:
    """Save ``fig`` to ``path`` via a temporary file in the same directory and ``os.replace``.

    Raises:
        FiguresError: the raster would exceed :data:`MAX_PIXELS` (see :func:`check_pixels`).
    """
    check_pixels(fig, dpi, path.name)
    fig.set_dpi(dpi)  # lay out at the resolution it is saved at (text extents are not linear)
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format=fmt, dpi=dpi)
