"""Result files of a toy-model run (runs.csv, curves.csv, run.json): atomic appends and resume."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from atomicfile import atomic_open

from ._engine import ChunkResult
from ._grid import KEY
from .errors import ResumeError

__all__ = ["CURVE_COLUMNS", "RUN_COLUMNS", "ResultStore"]

RUN_COLUMNS = KEY + ["test_loss", "test_acc", "final_train_loss", "stop_step", "diverged"]
CURVE_COLUMNS = KEY + ["step", "train_loss", "normA_over_n", "normB_over_m"]
# Config fields that do not change results and may differ when resuming.
NOT_COMPARED = ("device", "chunk_rows", "threads", "extra")


class ResultStore:
    """The ``--out`` directory: what is done, and atomic appends of finished chunks.

    ``curves.csv`` is written before ``runs.csv``, so a run listed in ``runs.csv`` always
    has its curves; on resume, curves of runs missing from ``runs.csv`` (an interrupted
    write) are dropped.

    Args:
        out: the directory.
        config: the run's config as JSON data (``ToyConfig.to_json()``).

    Raises:
        ResumeError: ``out`` holds results of a different configuration, or unreadable files.
    """

    def __init__(self, out: Path, config: dict) -> None:
        self.out = Path(out)
        self.runs_path = self.out / "runs.csv"
        self.curves_path = self.out / "curves.csv"
        self.json_path = self.out / "run.json"
        self.out.mkdir(parents=True, exist_ok=True)
        self.meta: dict = {}
        if self.json_path.is_file():
            try:
                self.meta = json.loads(self.json_path.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise ResumeError(f"{self.json_path} is not valid JSON ({exc}); delete it or "
                                  "use another --out") from exc
            old = {k: v for k, v in self.meta.get("config", {}).items() if k not in NOT_COMPARED}
            new = {k: v for k, v in config.items() if k not in NOT_COMPARED}
            if old != new:
                diff = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
                raise ResumeError(f"{self.out} holds a run with a different configuration "
                                  f"(differs in: {', '.join(diff)}); use another --out")
        self.runs = self._read(self.runs_path, RUN_COLUMNS)
        curves = self._read(self.curves_path, CURVE_COLUMNS)
        if len(curves):
            keep = curves.merge(self.runs[KEY], on=KEY, how="inner")
            if len(keep) != len(curves):
                self._write_frame(self.curves_path, keep)

    @staticmethod
    def _read(path: Path, columns: list[str]) -> pd.DataFrame:
        """A result CSV, or an empty frame with its columns when it does not exist."""
        if not path.is_file():
            dtypes = {"arm": object, "seed": int}
            return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, float)) for c in columns})
        try:
            df = pd.read_csv(path)
        except (ValueError, OSError) as exc:
            raise ResumeError(f"{path} does not load ({exc}); delete it or use another "
                              "--out") from exc
        if list(df.columns) != columns:
            raise ResumeError(f"{path} has columns {list(df.columns)}, expected {columns}")
        return df

    @staticmethod
    def _write_frame(path: Path, df: pd.DataFrame) -> None:
        """Replace ``path`` by ``df`` as CSV, atomically."""
        with atomic_open(path, "w") as fh:
            df.to_csv(fh, index=False)

    @staticmethod
    def _append_frame(path: Path, df: pd.DataFrame) -> None:
        """``path`` plus the rows of ``df``, written as a new file then swapped in."""
        with atomic_open(path, "w") as fh:
            if path.is_file():
                with open(path, encoding="utf-8", newline="") as old:
                    shutil.copyfileobj(old, fh)
                df.to_csv(fh, index=False, header=False)
            else:
                df.to_csv(fh, index=False)

    def pending(self, planned: pd.DataFrame) -> pd.DataFrame:
        """The planned runs (KEY columns) that are not in ``runs.csv`` yet."""
        merged = planned.merge(self.runs[KEY], on=KEY, how="left", indicator=True)
        return merged[merged["_merge"] == "left_only"][KEY].reset_index(drop=True)

    def add(self, rows: pd.DataFrame, result: ChunkResult) -> None:
        """Append a finished chunk (rows in the chunk's order) to curves.csv, then runs.csv."""
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
        self._append_frame(self.curves_path, curves)
        self._append_frame(self.runs_path, runs)
        self.runs = pd.concat([self.runs, runs], ignore_index=True) if len(self.runs) else runs

    def write_meta(self, meta: dict) -> None:
        """Replace run.json (configuration, versions, device, data sources, progress)."""
        self.meta = meta
        text = json.dumps(meta, indent=2, sort_keys=False, default=str)
        with atomic_open(self.json_path, "w") as fh:
            fh.write(text + "\n")

