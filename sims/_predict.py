"""Theory's predicted exponents for a probe configuration, through ``theory.predict``."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ._config import ProbeConfig, format_exponent
from ._crossover import Bend, envelope
from ._probe import QUANTITIES


def _float(value: Any) -> float | None:
    """A theory exponent (Fraction or −∞, as ``predict_config`` asks for them; None when
    unpredicted) as a float."""
    from theory import NEG_INF

    if value is None:
        return None
    return -math.inf if value is NEG_INF else float(value)


def _exact(value: Any) -> str | None:
    from theory import fmt_value

    return None if value is None else fmt_value(value)


@dataclass(frozen=True)
class Prediction:
    """What theory/ says about one configuration, as floats for the comparison.

    ``plain`` is ``theory.predict`` without shrinkage; for a configuration with Stable-LoRA
    shrinkage ``after_stop`` is theory's prediction with ``shrink="stop"`` or ``"nostop"``:
    its ``gamma_t`` holds for the updates after the stop condition fired, its
    ``gamma_shrinking_t`` for updates that still shrink A. A fixed λ leaves A_tZ's exponent
    as it is (N·γ[1−λ] = 0), but the shrink is itself part of the step's change
    ΔA = −λA_t − ηg_A, which puts s·B_t·λA_tZ into δ₂ and s·ΔB·λA_tZ into δ₃.
    """

    case: str
    stable: bool
    plain: Any  # theory.Prediction, shrink=None (exponents as Fraction / theory.NEG_INF)
    after_stop: Any = None  # theory.Prediction with shrink="stop"/"nostop", or None
    reasons: dict[str, str] = field(default_factory=dict)
    bends: dict[str, tuple[Bend, ...]] = field(default_factory=dict)  # per quantity, τ ↑

    @property
    def steady_from(self) -> int:
        """The first paper step t of theory's fixed point (≥ 1); sims steps k ≤ it are
        transient (k = t + 1)."""
        return getattr(self.plain, "steady_from", None) or 1

    def for_step(self, step: int, phase: str) -> dict[str, float | None] | None:
        """Predicted exponents at recorded step k (the paper's t = k − 1).

        Args:
            step: k ≥ 1.
            phase: ``none`` (no shrinkage), ``before`` (every seed at every width still
                shrinking at step k), ``after`` (the stop condition had fired at every
                width and seed by step k) or ``mixed`` (widths in different regimes at
                step k: no single prediction applies, so None and verdict n/a).

        Returns:
            Quantity → γ (float, −inf, or None where theory predicts nothing), or None.
        """
        if phase == "mixed":
            return None
        if phase == "after":
            source = self.after_stop.gamma_t(step - 1)
        elif phase == "before":
            source = self.after_stop.gamma_shrinking_t(step - 1)
        else:
            source = self.plain.gamma_t(step - 1)
        return {key: _float(value) for key, value in source.items()}

    def to_json(self) -> dict[str, Any]:
        """Case, stability, exact exponents (strings such as "1/2", "-oo") and reasons."""
        out: dict[str, Any] = {
            "case": self.case,
            "stable": self.stable,
            "gamma": {k: _exact(v) for k, v in self.plain.gamma.items()},
            "gamma_step0": {k: _exact(v) for k, v in self.plain.gamma_step0.items()},
            "reasons": dict(self.reasons),
        }
        if self.after_stop is not None:
            out["gamma_after_stop"] = {k: _exact(v) for k, v in self.after_stop.gamma.items()}
        return out


def predict_config(config: ProbeConfig, m_exp: int = 1) -> Prediction:
    """Ask ``theory.predict`` (the code behind ``python -m theory predict``) about ``config``.

    Passes γ[η_A], γ[s], γ[A₀Z] = γ[σ] + 1/2 (−∞ for A₀ = 0), γ[B₀] = γ[σ] (−∞ for B₀ = 0),
    γ[η_B], the optimizer, γ[m] (1 for m ∝ n, 0 for a fixed m; it matters for SGD) and the
    shrink mode (``"stop"`` or ``"nostop"``).

    Raises:
        theory.TheoryError: when theory refuses the configuration.
    """
    from theory import predict

    args = (
        format_exponent(config.eta_exp),
        format_exponent(config.s_exp),
        format_exponent(config.A0Z_exp),
        format_exponent(config.B0_exp),
    )
    kwargs = {
        "eta_B": format_exponent(config.eta_B_exp),
        "optimizer": config.optimizer,
        "m_exp": m_exp,
    }
    plain = predict(*args, **kwargs, values="fraction")  # exact, without importing sympy
    bends = bends_of(plain)
    if config.shrink is None:
        return Prediction(plain.case, bool(plain.stable), plain, None, dict(plain.reasons), bends)
    mode = "stop" if config.stop_condition else "nostop"
    after = predict(*args, **kwargs, shrink=mode, values="fraction")
    return Prediction(after.case, bool(after.stable), plain, after, dict(after.reasons), bends)


def bends_of(plain: Any) -> dict[str, tuple[Bend, ...]]:
    """Every bend of every quantity's envelope over t = Θ(n^τ), τ ∈ ℝ (theory's terms).

    theory's ``crossovers`` lists the bends at τ* ≥ 0; those at τ* < 0 are kept too: they
    vanish as n → ∞ at every fixed step but their Θ(1) constants can put them inside the
    swept window (Case 1's A₀Z against a learned part with a small c_η).
    """
    return {
        key: tuple(envelope(key, [(t.name, t.n_exp, t.t_exp) for t in plain.terms(key)]))
        for key in QUANTITIES
    }
