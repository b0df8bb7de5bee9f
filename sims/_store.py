"""Atomic files and the per-unit store under DIR/units/ that makes a sweep resumable."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from atomicfile import write_bytes_atomic

from ._config import SweepSettings
from ._probe import UnitResult
from .errors import ResultsError

if TYPE_CHECKING:
    import pandas as pd

_ARRAYS = ("stats", "diverged", "traj", "stable", "stop_step")


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (``atomicfile``: temporary sibling + os.replace).

    Raises:
        ResultsError: when the directory cannot be written.
    """
    try:
        write_bytes_atomic(path, data)
    except OSError as exc:
        raise ResultsError(f"cannot write {path}: {exc.strerror or exc}") from None


def write_text_atomic(path: Path, text: str) -> None:
    """Atomic UTF-8 text write (see :func:`write_atomic`)."""
    write_atomic(path, text.encode("utf-8"))


def _csv_field(text: str) -> str:
    """One CSV field as the csv module's QUOTE_MINIMAL writes it (pandas' ``to_csv``)."""
    if "," in text or '"' in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_column(column: pd.Series) -> list[str] | None:
    """A column's CSV fields as ``DataFrame.to_csv`` writes them; None for another dtype.

    float64 goes through Python's ``repr`` (the shortest round-trip digits, what numpy's
    ``astype(str)`` inside pandas gives, ≈ 10x faster); missing values are empty fields.
    """
    import pandas as pd

    dtype = column.dtype
    if dtype == np.float64:
        values = column.to_numpy()
        fields = list(map(repr, values.tolist()))
        for i in np.flatnonzero(np.isnan(values)).tolist():
            fields[i] = ""
        return fields
    numpy_dtype = isinstance(dtype, np.dtype)
    if numpy_dtype and dtype.kind in "biu":  # bool, int: str() of the Python value
        return list(map(str, column.to_numpy().tolist()))
    if isinstance(dtype, pd.StringDtype):  # a few names repeated: each formatted once
        codes, names = pd.factorize(column)  # missing values: code −1
        fields = np.array([*map(_csv_field, names.tolist()), ""], dtype=object)
        return fields[codes].tolist()
    if isinstance(dtype, pd.Int64Dtype) or numpy_dtype and dtype.kind == "O":
        missing = column.isna().to_numpy()
        values = column.to_numpy(dtype=object)
        fields = []
        for value, na in zip(values.tolist(), missing.tolist(), strict=True):
            if na:
                fields.append("")
            elif isinstance(value, float):  # the csv module writes repr(float), str(other)
                fields.append(repr(value))
            else:
                fields.append(_csv_field(str(value)))
        return fields
    return None


def frame_csv(frame: pd.DataFrame) -> str:
    """``frame.to_csv(index=False)``, byte for byte, formatted column by column.

    The combined tables hold a few hundred thousand rows; pandas formats floats through
    numpy's Dragon4 and spends seconds there. Columns of other dtypes (or a one-column
    frame, where the csv module quotes an empty row) fall back to pandas.
    """
    if frame.shape[1] < 2 or not frame.columns.is_unique:
        return frame.to_csv(index=False)
    columns = [_csv_column(frame[name]) for name in frame.columns]
    if any(c is None for c in columns):
        return frame.to_csv(index=False)
    header = ",".join(_csv_field(str(name)) for name in frame.columns)
    lines = [header, *map(",".join, zip(*columns, strict=True))]
    return "\n".join(lines) + "\n"


def unit_path(out: Path, config: str, width: int) -> Path:
    """Where the unit (config, width) lives: DIR/units/<config>/n<width>.npz."""
    return Path(out) / "units" / config / f"n{width}.npz"


def save_unit(out: Path, config: str, width: int, fingerprint: str, result: UnitResult) -> None:
    """Store one finished unit atomically, tagged with the fingerprint of its settings.

    The file is an ``.npz`` (a zip of ``.npy`` arrays) written with fixed zip timestamps,
    so two runs with the same seed write identical bytes.
    """
    arrays = {name: getattr(result, name) for name in _ARRAYS}
    arrays["fingerprint"] = np.array(fingerprint)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, array in arrays.items():
            member = io.BytesIO()
            np.save(member, array, allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            zf.writestr(info, member.getvalue(), compress_type=zipfile.ZIP_DEFLATED)
    write_atomic(unit_path(out, config, width), buf.getvalue())


# files only another producer writes: a sweep into that directory would overwrite its
# run.json and summary.csv
FOREIGN = {"runs.csv": "python -m toymodel run", "fingerprint.json": "python -m toymodel run"}


def check_not_foreign(out: Path) -> None:
    """Refuse an ``--out`` that holds another producer's results.

    Raises:
        ResultsError: naming the file and the command that wrote it.
    """
    for name, tool in FOREIGN.items():
        if (Path(out) / name).exists():
            raise ResultsError(
                f"--out {out} holds {name} of `{tool}`, whose run.json and summary.csv a "
                "sweep would overwrite; use another --out"
            )


def unit_shapes(settings: SweepSettings) -> dict[str, tuple[int, ...]]:
    """The array shapes of a unit made with ``settings`` (S seeds, K recorded steps, T steps)."""
    S, K, T = settings.seeds, len(settings.record), settings.steps
    return {"stats": (S, K, 6), "diverged": (S, K), "traj": (S, T, 3), "stable": (S, T),
            "stop_step": (S,)}


def load_unit(
    out: Path,
    config: str,
    width: int,
    fingerprint: str,
    shapes: dict[str, tuple[int, ...]] | None = None,
) -> UnitResult | None:
    """The stored unit if it exists and was made with the same settings, else None.

    A unit file that cannot be read (e.g. truncated by a crash outside ``write_atomic``)
    counts as missing and is recomputed.

    Args:
        shapes: the expected array shapes (:func:`unit_shapes`); checked when given.

    Raises:
        ResultsError: a unit whose fingerprint matches but whose arrays have other shapes
            (not crash damage: something else wrote it); the message names the file.
    """
    path = unit_path(out, config, width)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["fingerprint"][()]) != fingerprint:
                return None
            unit = UnitResult(**{name: data[name] for name in _ARRAYS})
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    for name, shape in (shapes or {}).items():
        got = getattr(unit, name).shape
        if got != shape:
            raise ResultsError(
                f"{path}: {name} has shape {got}, expected {shape} for these settings; "
                "delete the file to recompute it"
            )
    return unit


def dumps_json(obj: object) -> str:
    """Stable, human-readable JSON (sorted keys, UTF-8, trailing newline)."""
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
