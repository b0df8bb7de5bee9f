"""Width sweeps of a single LoRA layer: measured exponents of δ₁, δ₂, δ₃, ΔY beside theory's."""

from ._config import ProbeConfig, SweepSettings, parse_exponent, validate_config, validate_settings
from ._coord_fit import coord_exponents, fit_coord_data
from ._coord_run import lora_coord_check
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
