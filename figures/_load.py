"""Read the result files of docs/results-format.md into DataFrames, checking their columns."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from figures.errors import ResultsFormatError

if TYPE_CHECKING:
    import pandas as pd

# file -> columns it must have (docs/results-format.md)
WIDTH_SWEEP_COLUMNS = {
    "measurements.csv": ("config", "width", "seed", "step", "quantity", "value", "diverged"),
    "trajectories.csv": (
        "config", "width", "seed", "step", "loss", "normA_over_n", "normB_over_m", "stable",
    ),
    "stops.csv": ("config", "width", "seed", "stop_step"),
    "summary.csv": (
        "config", "step", "quantity", "gamma_hat", "ci_low", "ci_high", "gamma_pred", "verdict",
        "n_seeds", "n_diverged", "local_slopes",
    ),
    "configs.csv": (
        "config", "optimizer", "init", "eta_exp", "eta_coef", "etaB_exp", "s_exp", "s_coef",
        "sigma_exp", "A0Z_exp", "B0_exp", "shrink", "stop_condition", "fresh_batches",
        "case_pred", "stable_pred",
    ),
    "crossovers.csv": (
        "config", "quantity", "kind", "tau_pred", "tau_pred_exact", "term_before", "term_after",
        "gamma_before", "gamma_after", "tau_hat", "ci_low", "ci_high", "K_hat", "n_points",
        "verdict", "reason",
    ),
}
# summary.csv columns that runs before the regimes (issue 9) lack; used when present
SUMMARY_REGIME_COLUMNS = ("regime", "gamma_fixed_t", "gamma_other", "reason")
# verdicts a file may hold (crossovers.csv: a bend whose crossing was not resolved)
VERDICT_VALUES = {"crossovers.csv": ("agree", "disagree", "not located", "n/a")}
TOYMODEL_COLUMNS = {
    "runs.csv": (
        "arm", "lr", "sigma", "shrink", "seed", "test_loss", "test_acc", "final_train_loss",
        "stop_step", "diverged",
    ),
    "curves.csv": (
        "arm", "lr", "sigma", "shrink", "seed", "step", "train_loss", "normA_over_n",
        "normB_over_m",
    ),
}
# columns that must hold numbers (NaN allowed: empty cells)
NUMERIC_COLUMNS = frozenset({
    "width", "seed", "step", "value", "loss", "normA_over_n", "normB_over_m", "stop_step",
    "gamma_hat", "ci_low", "ci_high", "gamma_pred", "n_seeds", "n_diverged", "eta_exp",
    "eta_coef", "etaB_exp", "s_exp", "s_coef", "sigma_exp", "A0Z_exp", "B0_exp", "shrink",
    "lr", "sigma", "test_loss", "test_acc", "final_train_loss", "train_loss",
    "tau_pred", "gamma_before", "gamma_after", "tau_hat", "K_hat", "n_points",
})
INTEGER_COLUMNS = frozenset({"width", "seed", "step", "n_seeds", "n_diverged"})
WIDTH_SWEEP_COMMAND = "python -m sims.width_sweep --out {dir}"
TOYMODEL_COMMAND = "python -m toymodel run --out {dir}"


@dataclass
class Results:
    """The frames of one producer's output directory; a file that is absent is ``None``.

    Attributes:
        directory: where the files were looked for.
        frames: file name -> DataFrame for every file that was found and well-formed.
        missing: one line per absent file, naming the command that makes it.
        problems: one line per file that exists but breaks the contract.
    """

    directory: Path
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> pd.DataFrame | None:
        """The frame of ``name`` (e.g. ``"summary.csv"``) or ``None`` when absent or malformed."""
        return self.frames.get(name)

    def why_absent(self, name: str) -> str:
        """One line saying why ``name`` cannot be used and what makes it."""
        return self.problems.get(name) or self.missing.get(name) or f"{name}: not read"


def read_result_csv(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """Read one result CSV with ``pandas.read_csv`` and normalise its dtypes.

    Numeric columns become floats, ``config`` and ``arm`` strings,
    ``diverged``/``stable``/``stop_condition``/
    ``fresh_batches`` booleans, and ``verdict`` keeps the literal ``"n/a"`` (which
    ``read_csv`` would otherwise turn into NaN).

    Args:
        path: the CSV file.
        columns: the columns docs/results-format.md requires in it.

    Returns:
        The frame, every required column present.

    Raises:
        ResultsFormatError: the file cannot be parsed, lacks a required column, or has a
            non-number in a numeric column.
    """
    import pandas as pd

    try:
        df = pd.read_csv(path)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise ResultsFormatError(f"{path}: cannot be read as CSV ({exc})") from exc
    absent = [c for c in columns if c not in df.columns]
    if absent:
        raise ResultsFormatError(
            f"{path}: missing column(s) {', '.join(absent)} (see docs/results-format.md)"
        )
    for col in NUMERIC_COLUMNS.intersection(columns):
        try:
            df[col] = pd.to_numeric(df[col]).astype(float)
        except (ValueError, TypeError) as exc:
            raise ResultsFormatError(f"{path}: column {col} holds a non-number ({exc})") from exc
        if col in INTEGER_COLUMNS:
            if not (df[col] == df[col].round()).all():
                raise ResultsFormatError(f"{path}: column {col} holds a non-integer or empty "
                                         "cell")
            df[col] = df[col].astype(int)
    for col in ("config", "arm", "quantity", "optimizer", "init", "case_pred"):
        if col in df.columns:
            df[col] = df[col].astype(str)
    if "verdict" in df.columns:
        df["verdict"] = df["verdict"].fillna("n/a").astype(str)
        allowed = VERDICT_VALUES.get(path.name, ("agree", "disagree", "n/a"))
        bad = sorted(set(df["verdict"]) - set(allowed))
        if bad:
            raise ResultsFormatError(
                f"{path}: unknown verdict(s) {bad}; expected {', '.join(allowed)}"
            )
    for col in ("regime", "reason", "tau_pred_exact", "kind"):
        if col in df.columns:
            df[col] = df[col].fillna("").astype(str)
    for col in ("gamma_fixed_t", "gamma_other"):
        if col in df.columns:
            df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    for col in ("diverged", "stable", "stop_condition", "fresh_batches", "stable_pred"):
        if col in df.columns:
            df[col] = df[col].map(_truthy)
    return df


def _truthy(v: object) -> bool:
    """CSV booleans as pandas reads them: True/False, 1/0, "true"/"false"; empty is False."""
    if isinstance(v, str):
        return v.strip().lower() in ("true", "1", "yes")
    if isinstance(v, float) and math.isnan(v):
        return False
    return bool(v)


def load_results(directory: str | Path, kind: str) -> Results:
    """Load every file one producer writes, noting which are missing or malformed.

    Args:
        directory: ``DIR/width_sweep`` or ``DIR/toymodel``.
        kind: ``"width_sweep"`` or ``"toymodel"``.

    Returns:
        A ``Results`` whose ``frames`` hold the usable files; a file with a header and no
        rows counts as missing.

    Raises:
        ValueError: ``kind`` is not one of the two producers.
    """
    specs = {
        "width_sweep": (WIDTH_SWEEP_COLUMNS, WIDTH_SWEEP_COMMAND),
        "toymodel": (TOYMODEL_COLUMNS, TOYMODEL_COMMAND),
    }
    if kind not in specs:
        raise ValueError(f"kind must be one of {sorted(specs)}, got {kind!r}")
    columns, command = specs[kind]
    res = Results(Path(directory))
    for name, cols in columns.items():
        path = res.directory / name
        if not path.is_file():
            res.missing[name] = f"missing {path}: run `{command.format(dir=res.directory)}`"
            continue
        try:
            df = read_result_csv(path, cols)
        except ResultsFormatError as exc:
            res.problems[name] = str(exc)
            continue
        if df.empty and name != "crossovers.csv":  # interrupted before its first unit
            # (a crossovers.csv without rows is complete: theory predicts no crossover)
            res.missing[name] = (f"{path} has no rows yet: run "
                                 f"`{command.format(dir=res.directory)}` (it resumes)")
        else:
            res.frames[name] = df
    return res
