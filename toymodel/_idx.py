"""Read and write IDX files (the MNIST format), gzipped or raw, with every header checked."""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from atomicfile import atomic_open

from .errors import CorruptDataError

__all__ = ["read_idx", "write_idx"]

# IDX type codes (third magic byte) -> numpy big-endian dtypes.
_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("="): code for code, dt in _DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when it starts with the gzip magic."""
    raw = path.read_bytes()
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise CorruptDataError(f"{path}: not a readable gzip file ({exc})") from exc


def read_idx(path: str | os.PathLike[str], *, ndim: int | None = None) -> np.ndarray:
    """Read one IDX file (gzipped or raw) into a native-endian numpy array.

    The header is a 4-byte magic ``0 0 T D`` (T the type code, D the number of
    dimensions), then D big-endian uint32 sizes, then the data.

    Args:
        path: the file.
        ndim: the number of dimensions the caller expects (3 for images, 1 for labels).

    Returns:
        The array, of shape given by the header.

    Raises:
        CorruptDataError: truncated or trailing data, a wrong magic number, an unknown
            type code, or a number of dimensions other than ``ndim``; the message names
            the file.
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
        raise CorruptDataError(
            f"{path}: wrong magic number {data[:4].hex() or '(empty file)'}; "
            "expected an IDX file (00 00 <type> <ndim>)"
        )
    dtype, dims = _DTYPES[data[2]], data[3]
    if ndim is not None and dims != ndim:
        raise CorruptDataError(f"{path}: IDX file has {dims} dimensions, expected {ndim}")
    header = 4 + 4 * dims
    if len(data) < header:
        raise CorruptDataError(f"{path}: truncated IDX header")
    shape = tuple(int(x) for x in np.frombuffer(data, ">u4", count=dims, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    got = len(data) - header
    if got != expected:
        kind = "truncated" if got < expected else "has trailing bytes"
        raise CorruptDataError(
            f"{path}: {kind}: header says shape {shape} ({expected} data bytes), "
            f"file holds {got}"
        )
    return np.frombuffer(data, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike[str], array: np.ndarray, *, compress: bool = True) -> None:
    """Write ``array`` as an IDX file (gzipped when ``compress``), atomically.

    Args:
        path: destination file.
        array: uint8, int8, int16, int32, float32 or float64 array of any shape.
        compress: gzip the file.

    Raises:
        CorruptDataError: for a dtype that IDX cannot hold.
    """
    array = np.ascontiguousarray(array)
    code = _CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise CorruptDataError(f"{path}: IDX cannot store dtype {array.dtype}")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    payload = header + array.astype(_DTYPES[code]).tobytes()
    if compress:
        payload = gzip.compress(payload, mtime=0)
    with atomic_open(path, "wb") as fh:
        fh.write(payload)
