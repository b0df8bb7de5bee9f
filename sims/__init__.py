"""Width sweeps of a single LoRA layer: measured exponents of δ₁, δ₂, δ₃, ΔY beside theory's."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ._config import ProbeConfig, SweepSettings, parse_exponent, validate_config, validate_settings
from ._suite import DEFAULT_SUITE, load_suite
from .errors import ConfigError, ResultsError, SimsError, SuiteFileError

if TYPE_CHECKING:  # the numpy/pandas/torch-backed names below load on first use (PEP 562)
    from ._coord_fit import coord_exponents, fit_coord_data
    from ._coord_run import lora_coord_check
    from ._fit import ExponentFit, fit_exponent, verdict
    from ._predict import Prediction, predict_config
    from ._probe import QUANTITIES, UnitResult, run_width
    from ._report import format_report
    from ._sweep import SweepResult, run_sweep

# Importing sims (which `python -m sims.width_sweep` and `python -m sims.coord_check` do
# first) imports no numpy, pandas or torch: --help stays fast, and a Ctrl-C during those
# imports happens inside the CLI's handler (one line, exit 130; issue 11).
_LAZY = {
    "coord_exponents": "_coord_fit", "fit_coord_data": "_coord_fit",
    "lora_coord_check": "_coord_run",
    "ExponentFit": "_fit", "fit_exponent": "_fit", "verdict": "_fit",
    "Prediction": "_predict", "predict_config": "_predict",
    "QUANTITIES": "_probe", "UnitResult": "_probe", "run_width": "_probe",
    "format_report": "_report",
    "SweepResult": "_sweep", "run_sweep": "_sweep",
}


def __getattr__(name: str) -> object:
    """Import a numpy/pandas/torch-backed public name from its module on first access."""
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """Every name, the lazy ones included (tab completion, ``dir(sims)``)."""
    return sorted({*globals(), *_LAZY})


__all__ = [
    "DEFAULT_SUITE",
    "QUANTITIES",
    "ConfigError",
    "ExponentFit",
    "Prediction",
    "ProbeConfig",
    "ResultsError",
    "SimsError",
    "SuiteFileError",
    "SweepResult",
    "SweepSettings",
    "UnitResult",
    "coord_exponents",
    "fit_coord_data",
    "fit_exponent",
    "format_report",
    "load_suite",
    "lora_coord_check",
    "parse_exponent",
    "predict_config",
    "run_sweep",
    "run_width",
    "validate_config",
    "validate_settings",
    "verdict",
]
