"""Width sweeps of a single LoRA layer: measured exponents of δ₁, δ₂, δ₃, ΔY beside theory's."""

import importlib

from ._config import ProbeConfig, SweepSettings, parse_exponent, validate_config, validate_settings
from ._fit import ExponentFit, fit_exponent, verdict
from ._predict import Prediction, predict_config
from ._probe import QUANTITIES, UnitResult, run_width
from ._report import format_report
from ._suite import DEFAULT_SUITE, load_suite
from ._sweep import SweepResult, run_sweep
from .errors import ConfigError, ResultsError, SimsError, SuiteFileError

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

# The coordinate check (issue 12) needs torch and pandas; loaded on first use (PEP 562) so
# that `python -m sims.coord_check --help` stays fast.
_LAZY = {"coord_exponents": "._coord_fit", "fit_coord_data": "._coord_fit",
         "lora_coord_check": "._coord_run"}


def __getattr__(name: str) -> object:
    """Import a torch-backed public name on first access."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
