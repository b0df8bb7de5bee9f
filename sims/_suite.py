"""The built-in default suite and ``--suite FILE`` TOML suites."""

from __future__ import annotations

import sys
from dataclasses import fields, replace
from fractions import Fraction
from pathlib import Path

from ._config import CONFIG_KEYS, SETTINGS_KEYS, ProbeConfig, SweepSettings
from .errors import SuiteFileError

_F = Fraction

# Coefficients are chosen so that, at n = 256 … 16384, the loss is still falling over
# the first tens of steps (the regime the γ-calculus describes) and nothing overflows.
DEFAULT_SUITE: tuple[ProbeConfig, ...] = (
    # Case 1, Theorem 3.1: γ[s] + 2γ[η] + 1 = 0 and γ[A₀Z] = 0 ≤ γ[η] + 1 = 1/2.
    ProbeConfig("case1", eta_exp=_F(-1, 2), eta_coef=0.02),
    # Case 1 boundary: γ[A₀Z] = 0 = γ[η] + 1.
    ProbeConfig("case1_boundary", eta_exp=_F(-1), eta_coef=0.5, s_exp=_F(1), s_coef=0.04),
    # Small η: γ[A₀Z] = 0 > γ[η] + 1 = −1/2 with B₀ = 0 — non-zero A₀ breaks stability.
    ProbeConfig("small_eta", eta_exp=_F(-3, 2), eta_coef=1.0, s_exp=_F(2), s_coef=3e-5),
    # …repaired by Stable-LoRA shrinkage (Algorithm 1), with and without the stop condition.
    ProbeConfig(
        "small_eta_shrink",
        eta_exp=_F(-3, 2),
        eta_coef=1.0,
        s_exp=_F(2),
        s_coef=3e-5,
        shrink=0.2,
    ),
    ProbeConfig(
        "small_eta_shrink_nostop",
        eta_exp=_F(-3, 2),
        eta_coef=1.0,
        s_exp=_F(2),
        s_coef=3e-5,
        shrink=0.2,
        stop_condition=False,
    ),
    # Init[AB] (ICML Theorem 1): σ_A = σ_B = n^{-1/2}, γ[B₀] = −1/2 ≤ γ[η] = −1/2.
    ProbeConfig("init_AB", init="AB", eta_exp=_F(-1, 2), eta_coef=0.02),
    # Case 2: γ[A₀Z] = 0 > γ[η] + 1 and γ[B₀] = −1/2 > γ[η] = −3/2.
    ProbeConfig("case2", init="AB", eta_exp=_F(-3, 2), eta_coef=1.0, s_exp=_F(2), s_coef=3e-5),
    # SignSGD (Stable-LoRA Sec. 3.1) at the Case 1 exponents.
    ProbeConfig("signsgd", optimizer="signsgd", eta_exp=_F(-1, 2), eta_coef=0.02),
    # SGD (ICML Appendix C) with separate η_A, η_B.
    ProbeConfig(
        "sgd", optimizer="sgd", eta_exp=_F(-2), eta_coef=0.5, etaB_exp=_F(0), etaB_coef=0.05
    ),
    # Case 1 with a fresh batch every step: outside Assumption 1, labelled '+fresh'.
    ProbeConfig("case1", eta_exp=_F(-1, 2), eta_coef=0.02, fresh_batches=True),
)


MAX_SUITE_BYTES = 2**20


def _load_toml(path: Path) -> dict:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as fh:  # bounded: --suite /dev/zero must not read forever
            data = fh.read(MAX_SUITE_BYTES + 1)
        if len(data) > MAX_SUITE_BYTES:
            raise SuiteFileError(
                f"suite file {path} is over {MAX_SUITE_BYTES // 2**20} MiB; a suite is a few tables"
            )
        return tomllib.loads(data.decode("utf-8"))
    except FileNotFoundError:
        raise SuiteFileError(f"suite file {path} does not exist") from None
    except OSError as exc:
        raise SuiteFileError(f"cannot read suite file {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SuiteFileError(f"suite file {path} is not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise SuiteFileError(
            f"suite file {path} is not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None


def _check_keys(table: dict, valid: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(table) - set(valid))
    if unknown:
        raise SuiteFileError(
            f"{where}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(valid)}"
        )


# TOML types each annotation of ProbeConfig / SweepSettings accepts (bool is never a number)
_TOML_TYPES: dict[str, tuple[type, ...]] = {
    "bool": (bool,),
    "Fraction": (str, int, float),  # an exponent: "-1/2", -0.5 or 0
    "float": (int, float),
    "int": (int,),
    "str": (str,),
}
_ALSO = {"m": (int,)}  # m = 256 means a fixed output width, as does m = "256"


def _accepted(annotation: str) -> tuple[bool, tuple[type, ...]]:
    """(is it a list, the element types) for a dataclass field's annotation string."""
    parts = [p.strip() for p in annotation.split("|") if p.strip() != "None"]
    base = parts[0]
    if base.startswith("tuple["):
        return True, _TOML_TYPES.get(base[len("tuple[") :].split(",")[0].strip(), (object,))
    return False, _TOML_TYPES.get(base, (object,))  # a type without a TOML rule: any value


def _check_types(table: dict, cls: type, where: str) -> None:
    """Each value of ``table`` has its field's exact type (the suite file's schema).

    Raises:
        SuiteFileError: naming the key, the expected type and the value.
    """
    annotations = {f.name: str(f.type) for f in fields(cls)}
    for key, value in table.items():
        is_list, types = _accepted(annotations[key])
        types = types + _ALSO.get(key, ())
        words = {"str": "a string", "int": "an integer", "float": "a number", "bool": "true/false"}
        names = " or ".join(words.get(t.__name__, "a value") for t in types)
        values = value if is_list and isinstance(value, list) else [value]
        if is_list and not isinstance(value, list):
            raise SuiteFileError(f"{where}: {key} must be a list of {names}, got {value!r}")
        for v in values:
            if not isinstance(v, types) or (isinstance(v, bool) and bool not in types):
                raise SuiteFileError(f"{where}: {key} must be {names}, got {v!r}")


def load_suite(path: str | Path) -> tuple[list[ProbeConfig], dict[str, object]]:
    """Read a TOML suite: ``[[config]]`` tables (ProbeConfig fields) and an optional
    ``[sweep]`` table (SweepSettings fields).

    Example::

        [sweep]
        widths = [256, 1024, 4096]
        steps = 100
        record = [1, 10, 50]

        [[config]]
        name = "case1"
        eta_exp = "-1/2"
        eta_coef = 0.02

    Returns:
        The configurations (not yet validated) and the ``[sweep]`` overrides.

    Raises:
        SuiteFileError: missing file, malformed TOML or not UTF-8, unknown keys (the
            message lists the valid ones), a value of the wrong type, no configuration.
    """
    path = Path(path)
    data = _load_toml(path)
    _check_keys(data, ("sweep", "config"), f"suite file {path}")
    sweep = data.get("sweep", {})
    if not isinstance(sweep, dict):
        raise SuiteFileError(f"suite file {path}: [sweep] must be a table")
    _check_keys(sweep, SETTINGS_KEYS, f"suite file {path} [sweep]")
    _check_types(sweep, SweepSettings, f"suite file {path} [sweep]")
    tables = data.get("config", [])
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise SuiteFileError(f"suite file {path}: give at least one [[config]] table")
    configs = []
    for i, table in enumerate(tables):
        _check_keys(table, CONFIG_KEYS, f"suite file {path} [[config]] #{i + 1}")
        _check_types(table, ProbeConfig, f"suite file {path} [[config]] #{i + 1}")
        if "name" not in table:
            raise SuiteFileError(f"suite file {path} [[config]] #{i + 1}: 'name' is required")
        configs.append(ProbeConfig(**table))
    overrides = dict(sweep)
    for key in ("widths", "record"):
        if key in overrides:
            if not isinstance(overrides[key], list):
                raise SuiteFileError(f"suite file {path} [sweep]: {key} must be a list")
            overrides[key] = tuple(overrides[key])
    if "m" in overrides:
        overrides["m"] = str(overrides["m"])
    return configs, overrides


def apply_overrides(settings: SweepSettings, overrides: dict[str, object]) -> SweepSettings:
    """``settings`` with the given fields replaced (validation happens in the sweep)."""
    names = {f.name for f in fields(SweepSettings)}
    return replace(settings, **{k: v for k, v in overrides.items() if k in names})
