"""Result files of a toy-model run (runs.csv, curves.csv, run.json): validated loads, appends.

Every load checks each row (number of fields, types, ranges, duplicates). A file whose
last line has no newline was cut short by something outside this program (every write
here is atomic): the partial line is dropped and its run recomputed. A run counts as done
only when ``runs.csv`` has its row *and* ``curves.csv`` has all its steps; anything else is
dropped and recomputed, so a deleted or truncated ``curves.csv`` is rebuilt.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from atomicfile import atomic_open

from ._config import ARMS
from ._engine import ChunkResult
from ._grid import KEY
from .errors import ResumeError

__all__ = ["CURVE_COLUMNS", "RUN_COLUMNS", "ResultStore", "chunk_text", "parse_runs",
           "read_result_csv"]

RUN_COLUMNS = KEY + ["test_loss", "test_acc", "final_train_loss", "stop_step", "diverged"]
CURVE_COLUMNS = KEY + ["step", "train_loss", "normA_over_n", "normB_over_m"]
_FIX = "delete it (its runs are recomputed) or use another --out"


def _split_complete_lines(text: str) -> tuple[str, bool]:
    """``text`` without a last line that lacks its newline; and whether one was dropped."""
    if not text or text.endswith("\n"):
        return text, False
    return text[: text.rfind("\n") + 1], True


def _bad(path: Path, line: int, what: str) -> ResumeError:
    return ResumeError(f"{path} line {line}: {what}; {_FIX}")


def _check_fields(path: Path, text: str, columns: list[str]) -> None:
    """The header is ``columns`` and every row has exactly ``len(columns)`` fields."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header != columns:
        raise ResumeError(f"{path} has columns {header}, expected {columns}; {_FIX}")
    for line, row in enumerate(reader, start=2):
        if len(row) != len(columns):
            raise _bad(path, line, f"{len(row)} fields, expected {len(columns)}")


def _numeric(df: pd.DataFrame, path: Path, columns: list[str]) -> None:
    """Every value of ``columns`` parses as a number (empty is NaN)."""
    for col in columns:
        if not pd.api.types.is_numeric_dtype(df[col]):
            values = pd.to_numeric(df[col], errors="coerce")
            bad = values.isna() & df[col].notna()
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise _bad(path, i + 2, f"{col} = {df[col].iloc[i]!r} is not a number")
            df[col] = values


def _validate_key(df: pd.DataFrame, path: Path, extra: list[str]) -> None:
    """Arm names, positive finite lr and σ, λ in (0, 1) for shrinkage arms only, int seeds."""
    def first(mask: pd.Series | np.ndarray, what: str) -> None:
        if np.any(mask):
            i = int(np.flatnonzero(np.asarray(mask))[0])
            raise _bad(path, i + 2, what)

    first(~df["arm"].isin(list(ARMS)), f"unknown arm (valid: {', '.join(ARMS)})")
    _numeric(df, path, ["lr", "sigma", "shrink", "seed"] + extra)
    first(~(np.isfinite(df["lr"]) & (df["lr"] > 0)), "lr must be a positive number")
    first(~(np.isfinite(df["sigma"]) & (df["sigma"] > 0)), "sigma must be a positive number")
    shrinks = df["arm"].map(lambda a: ARMS[a][1])
    lam = df["shrink"]
    first(shrinks & ~((lam > 0) & (lam < 1)), "shrink λ must lie in (0, 1) for this arm")
    first(~shrinks & lam.notna(), "shrink must be empty for an arm without shrinkage")
    first(~(np.isfinite(df["seed"]) & (df["seed"] == df["seed"].round())),
          "seed must be an integer")
    df["seed"] = df["seed"].astype(np.int64)


def _validate_runs(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Types and ranges of runs.csv rows (diverged runs may have non-finite losses)."""
    _validate_key(df, path, ["test_loss", "test_acc", "final_train_loss", "stop_step"])
    div = df["diverged"].astype(str)
    if not div.isin(["True", "False"]).all():
        i = int(np.flatnonzero(~div.isin(["True", "False"]))[0])
        raise _bad(path, i + 2, f"diverged must be True or False, got {df['diverged'].iloc[i]!r}")
    df["diverged"] = div == "True"
    ok = df["diverged"] | (np.isfinite(df["test_loss"]) & np.isfinite(df["final_train_loss"])
                           & df["test_acc"].between(0, 1))
    if not ok.all():
        raise _bad(path, int(np.flatnonzero(~ok)[0]) + 2,
                   "a run not marked diverged needs finite losses and test_acc in [0, 1]")
    stop = df["stop_step"]
    ok = stop.isna() | ((stop >= 1) & (stop == stop.round()))
    if not ok.all():
        raise _bad(path, int(np.flatnonzero(~ok)[0]) + 2, "stop_step must be empty or ≥ 1")
    df["stop_step"] = stop.astype("Int64")
    return df


def _validate_curves(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Types and ranges of curves.csv rows (losses may be non-finite: divergence)."""
    _validate_key(df, path, ["step", "train_loss", "normA_over_n", "normB_over_m"])
    ok = np.isfinite(df["step"]) & (df["step"] >= 1) & (df["step"] == df["step"].round())
    if not ok.all():
        raise _bad(path, int(np.flatnonzero(~ok)[0]) + 2, "step must be an integer ≥ 1")
    df["step"] = df["step"].astype(np.int64)
    return df


def read_result_csv(path: Path, columns: list[str]) -> tuple[pd.DataFrame, bool]:
    """Load and validate runs.csv or curves.csv.

    Returns:
        The rows (an empty frame with the columns when the file does not exist), and
        whether a partial last line was dropped.

    Raises:
        ResumeError: unreadable, a wrong header, a row with a wrong number of fields, a bad
            value, or a duplicate run (the message names the file and line, and the fix).
    """
    empty = _typed_empty(columns)
    if not path.is_file():
        return empty, False
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ResumeError(f"{path} is unreadable ({exc}); {_FIX}") from None
    text, cut = _split_complete_lines(text)
    if not text:
        return empty, cut
    _check_fields(path, text, columns)
    df = pd.read_csv(io.StringIO(text), dtype={"arm": object, "diverged": object})
    if df.empty:
        return empty, cut
    keys = KEY + (["step"] if "step" in columns else [])
    df = _validate_runs(df, path) if "diverged" in columns else _validate_curves(df, path)
    dup = df.duplicated(keys, keep=False)
    if dup.any():
        lines = ", ".join(str(i + 2) for i in np.flatnonzero(dup)[:4])
        raise ResumeError(f"{path} holds the same run twice (lines {lines}); {_FIX}")
    return df, cut


def chunk_text(rows: pd.DataFrame, result: ChunkResult) -> tuple[str, str]:
    """A finished chunk as CSV rows without header: (curves.csv rows, runs.csv rows)."""
    steps, G = result.train_loss.shape
    keys = rows[KEY].reset_index(drop=True)
    curves = keys.loc[np.repeat(np.arange(G), steps)].reset_index(drop=True)
    curves["step"] = np.tile(np.arange(1, steps + 1), G)
    curves["train_loss"] = result.train_loss.T.reshape(-1)
    curves["normA_over_n"] = result.normA.T.reshape(-1)
    curves["normB_over_m"] = result.normB.T.reshape(-1)
    runs = keys.copy()
    runs["test_loss"] = result.test_loss
    runs["test_acc"] = result.test_acc
    runs["final_train_loss"] = result.train_loss[-1]
    runs["stop_step"] = pd.array([int(k) if k > 0 else pd.NA for k in result.stop_step],
                                 dtype="Int64")  # empty when the condition never fired
    finite = np.isfinite(result.test_loss) & np.isfinite(result.train_loss).all(axis=0)
    runs["diverged"] = ~finite
    return curves.to_csv(index=False, header=False), runs.to_csv(index=False, header=False)


def parse_runs(text: str, path: Path) -> pd.DataFrame:
    """runs.csv rows (no header) as validated rows; ``path`` names them in errors."""
    header = ",".join(RUN_COLUMNS) + "\n"
    return _validate_runs(pd.read_csv(io.StringIO(header + text),
                                      dtype={"arm": object, "diverged": object}), path)


def _typed_empty(columns: list[str]) -> pd.DataFrame:
    """An empty frame with the result columns and their dtypes."""
    dtypes = {"arm": object, "seed": np.int64, "step": np.int64, "diverged": bool,
              "stop_step": "Int64"}
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, float)) for c in columns})


class ResultStore:
    """The ``--out`` directory: which runs are done, and atomic appends of finished chunks.

    ``curves.csv`` is written before ``runs.csv``. On opening, runs whose curves are not
    complete (steps 1 … ``steps`` each once) and curves of runs not in ``runs.csv`` are
    dropped, so both are recomputed together. Open it only while holding the directory's
    lock and after :func:`check_fingerprint`.

    Args:
        out: the directory.
        steps: fine-tuning steps per run (the length of a complete curve).

    Raises:
        ResumeError: unreadable or invalid result files (see :func:`read_result_csv`).
    """

    def __init__(self, out: Path, steps: int) -> None:
        self.out = Path(out)
        self.runs_path = self.out / "runs.csv"
        self.curves_path = self.out / "curves.csv"
        self.json_path = self.out / "run.json"
        self.steps = steps
        runs, cut_runs = read_result_csv(self.runs_path, RUN_COLUMNS)
        curves, cut_curves = read_result_csv(self.curves_path, CURVE_COLUMNS)
        complete = self._complete_keys(curves)
        done = runs.merge(complete, on=KEY, how="inner")
        self.repaired = cut_runs or cut_curves or len(done) != len(runs)
        keep_curves = curves.merge(done[KEY], on=KEY, how="inner")
        self.repaired |= len(keep_curves) != len(curves)
        if self.repaired:  # rewrite both from the validated rows that are kept
            self._write_frame(self.curves_path, keep_curves)
            self._write_frame(self.runs_path, done)
        self.runs = done

    def _complete_keys(self, curves: pd.DataFrame) -> pd.DataFrame:
        """KEY of the runs whose curves hold exactly the steps 1 … ``steps``."""
        if curves.empty:
            return curves[KEY]
        grouped = curves.groupby(KEY, dropna=False, sort=False)["step"]
        stats = grouped.agg(["count", "min", "max"]).reset_index()
        ok = (stats["count"] == self.steps) & (stats["min"] == 1) & (stats["max"] == self.steps)
        return stats.loc[ok, KEY]

    @staticmethod
    def _write_frame(path: Path, df: pd.DataFrame) -> None:
        """Replace ``path`` by ``df`` as CSV, atomically."""
        with atomic_open(path, "w") as fh:
            df.to_csv(fh, index=False)

    @staticmethod
    def _append_text(path: Path, header: str, rows: str) -> None:
        """``path`` plus ``rows`` (CSV lines), written as a new file then swapped in."""
        with atomic_open(path, "w") as fh:
            if path.is_file() and path.stat().st_size:
                with open(path, encoding="utf-8", newline="") as old:
                    shutil.copyfileobj(old, fh)
            else:
                fh.write(header)
            fh.write(rows)

    def pending(self, planned: pd.DataFrame) -> pd.DataFrame:
        """The planned runs (KEY columns) that are not done yet."""
        merged = planned.merge(self.runs[KEY], on=KEY, how="left", indicator=True)
        return merged[merged["_merge"] == "left_only"][KEY].reset_index(drop=True)

    def add(self, rows: pd.DataFrame, result: ChunkResult) -> None:
        """Append a finished chunk (rows in the chunk's order) to curves.csv, then runs.csv.

        The in-memory rows are parsed back from the very text written, so what later
        decisions (phase two's best σ) and the summary see is what is on disk.
        """
        self.add_text(*chunk_text(rows, result))

    def add_text(self, curves_text: str, runs_text: str) -> None:
        """Append a chunk's CSV rows (:func:`chunk_text`) to curves.csv, then runs.csv."""
        self._append_text(self.curves_path, ",".join(CURVE_COLUMNS) + "\n", curves_text)
        self._append_text(self.runs_path, ",".join(RUN_COLUMNS) + "\n", runs_text)
        new = parse_runs(runs_text, self.runs_path)
        self.runs = pd.concat([self.runs, new], ignore_index=True) if len(self.runs) else new

    def runs_on_disk(self) -> pd.DataFrame:
        """runs.csv as validated rows, sorted by run (what the summary is computed from)."""
        runs, _ = read_result_csv(self.runs_path, RUN_COLUMNS)
        return runs.sort_values(KEY, kind="stable").reset_index(drop=True)

    def write_meta(self, meta: dict) -> None:
        """Replace run.json (configuration, versions, device, data sources, progress)."""
        text = json.dumps(meta, indent=2, sort_keys=False, default=str)
        with atomic_open(self.json_path, "w") as fh:
            fh.write(text + "\n")
