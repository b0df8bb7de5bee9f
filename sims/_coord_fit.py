"""``fit_coord_data``: width exponents of a coordinate-check frame, beside theory's prediction."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from ._coord_measure import COORD_QUANTITIES
from ._coord_run import Rule, rule_exponent
from ._fit import fit_exponent, verdict
from .errors import ConfigError

SUMMARY_COLUMNS = ("gamma_hat", "ci_low", "ci_high", "local_slopes", "gamma_pred", "verdict",
                   "phase", "n_widths", "n_seeds", "n_diverged")
_PREDICT_KEYS = ("eta", "s", "A0Z", "B0", "eta_B", "optimizer", "shrink", "m_exp")
_BASE = ("width", "seed", "value")


def coord_exponents(
    *,
    init: str,
    lr: Rule,
    sigma: Rule,
    scale: Rule | None = None,
    lr_B: Rule | None = None,
    optimizer: str = "adam",
    shrink: float | None = None,
    stop_condition: bool = True,
) -> dict[str, Any]:
    """The exponents theory reasons about for a ``lora_coord_check`` run (exact fractions).

    γ[η] and γ[s] are the rules' exponents (a plain number: 0); γ[A₀Z] = γ[σ] + 1/2 for
    a random A₀ on inputs with Θ(1) entries (−∞ for A₀ = 0); γ[B₀] = γ[σ] (−∞ for B₀ = 0).

    Returns:
        Keyword arguments of ``theory.predict`` (``eta, s, A0Z, B0, eta_B, optimizer,
        shrink``), as strings such as ``"-1/2"`` and ``"-oo"``.
    """
    g_sigma = rule_exponent(sigma)
    out: dict[str, Any] = {
        "eta": str(rule_exponent(lr)),
        "s": str(rule_exponent(scale) if scale is not None else Fraction(0)),
        "A0Z": str(g_sigma + Fraction(1, 2)) if init in ("A", "AB") else "-oo",
        "B0": str(g_sigma) if init in ("B", "AB") else "-oo",
        "optimizer": optimizer,
    }
    if lr_B is not None:
        out["eta_B"] = str(rule_exponent(lr_B))
    if shrink is not None:
        out["shrink"] = "stop" if stop_condition else "nostop"
    return out


class _Theory:
    """theory.predict for the given exponents: plain, and after the stop when shrinking."""

    def __init__(self, exponents: Mapping[str, Any]) -> None:
        from theory import TheoryError, predict

        unknown = sorted(set(exponents) - set(_PREDICT_KEYS))
        missing = [k for k in ("eta", "s", "A0Z", "B0") if k not in exponents]
        if unknown or missing:
            raise ConfigError(f"exponents: unknown keys {unknown}, missing {missing}; valid: "
                              f"{', '.join(_PREDICT_KEYS)}")
        kw = {k: v for k, v in exponents.items() if k not in ("eta", "s", "A0Z", "B0", "shrink")}
        args = (exponents["eta"], exponents["s"], exponents["A0Z"], exponents["B0"])
        self.mode = exponents.get("shrink")
        try:
            self.plain = predict(*args, **kw)
            self.after = predict(*args, **kw, shrink=self.mode) if self.mode else None
        except (TheoryError, TypeError) as exc:
            raise ConfigError(f"exponents: theory refuses them: {exc}") from None

    def at(self, step: int, phase: str) -> dict[str, Any] | None:
        """γ per quantity at step k (the paper's t = k − 1), None in a mixed phase."""
        if phase == "mixed":
            return None
        if phase == "after":
            return self.after.gamma_t(step - 1)
        if phase == "before":
            return self.after.gamma_shrinking_t(step - 1)
        return self.plain.gamma_t(step - 1)


def _phase(stopped: pd.DataFrame | None) -> str:
    """``none`` without shrinkage; ``before``/``after`` when no/every (width, seed) has
    stopped shrinking by this step; ``mixed`` otherwise (no single prediction applies)."""
    if stopped is None or stopped.empty:
        return "none"
    flags = stopped["value"].to_numpy()
    if (flags == 0).all():
        return "before"
    return "after" if (flags == 1).all() else "mixed"


def fit_coord_data(
    df: pd.DataFrame, *, exponents: Mapping[str, Any] | None = None, n_boot: int = 1000
) -> pd.DataFrame:
    """Fit γ in RMS = Θ(n^γ) per module × step × quantity of a ``lora_coord_check`` frame.

    The fit is the width sweep's (``sims.fit_exponent``): least-squares slope of the seed
    mean of log RMS on log n, a 95% interval from ``n_boot`` resamples of the seeds at every
    width, local slopes between neighbouring widths. Non-finite values (a diverged seed)
    are left out and counted. With ``exponents`` the prediction is ``theory.predict``'s at
    the step (``gamma_t(k − 1)``; with shrinkage its while-shrinking prediction when no
    (width, seed) has stopped by step k, after-stop when all have, none when mixed) and the
    verdict is the width sweep's (``sims.verdict``: agree when γ_pred is inside the interval
    or within 0.1 of γ̂). The input's RMS ``Z`` is judged against the premise γ[Z] = 0.

    Args:
        df: the long frame (``width, seed, step, module, quantity, value`` and any extra
            label columns, such as ``arm``, which are kept as group keys).
        exponents: ``theory.predict`` arguments (see :func:`coord_exponents`) or None.
        n_boot: bootstrap resamples.

    Returns:
        One row per (extra labels, module, step, quantity) with ``SUMMARY_COLUMNS``;
        ``gamma_pred`` NaN and ``verdict`` ``n/a`` where nothing is predicted.

    Raises:
        ConfigError: a frame without the long-format columns, or bad exponents.
    """
    missing = [c for c in ("width", "seed", "step", "module", "quantity", "value")
               if c not in df.columns]
    if missing:
        raise ConfigError(f"not a coordinate-check frame: missing columns {missing}")
    theory = _Theory(exponents) if exponents is not None else None
    keys = [c for c in df.columns if c not in _BASE]
    cell_keys = [k for k in keys if k != "quantity"]
    stopped = {k: g for k, g in df[df["quantity"] == "stopped"].groupby(cell_keys, sort=False)}
    data = df[df["quantity"].isin(COORD_QUANTITIES)]
    rows = []
    for key, group in data.groupby(keys, sort=True):
        label = dict(zip(keys, key, strict=True))
        widths = sorted(group["width"].unique())
        values, n_div = [], 0
        for w in widths:
            v = group.loc[group["width"] == w, "value"].to_numpy(dtype=np.float64)
            ok = np.isfinite(v)
            n_div += int((~ok).sum())
            values.append(v[ok])
        fit = fit_exponent([int(w) for w in widths], values, n_boot=n_boot,
                           key="/".join(map(str, key)))
        cell = tuple(label[k] for k in cell_keys)
        phase = _phase(stopped.get(cell))
        pred = None
        if theory is not None:
            gammas = theory.at(int(label["step"]), phase)
            if gammas is not None:
                gammas["Z"] = 0  # the premise: inputs with Θ(1) entries (Assumption 1)
            value = None if gammas is None else gammas.get(label["quantity"])
            pred = None if value is None else float(value)
        rows.append({
            **label,
            "gamma_hat": fit.gamma_hat, "ci_low": fit.ci_low, "ci_high": fit.ci_high,
            "local_slopes": ";".join(f"{s:.4f}" for s in fit.local_slopes),
            "gamma_pred": np.nan if pred is None else pred,
            "verdict": verdict(fit, pred) if theory is not None else "n/a",
            "phase": phase, "n_widths": fit.n_widths,
            "n_seeds": int(group["seed"].nunique()), "n_diverged": n_div,
        })
    return pd.DataFrame(rows, columns=[*keys, *SUMMARY_COLUMNS])
