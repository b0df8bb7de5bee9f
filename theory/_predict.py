"""Concrete predictions: the γ of δ₁, δ₂, δ₃, ΔY, A_tZ, B_t for given exponents and optimizer.

The paper's max-plus recursion (Stable-LoRA Eq. 1–4; ICML Eq. 3, 16, 24–25) is run exactly,
step by step, from t = 0, with the gradients that vanish when a factor of them is zero
(B₀ = 0 ⇒ g_A⁰ = 0; A₀ = 0 ⇒ g_B⁰ = 0). Whether it settles is decided by its least fixed
point (``theory._time``), not by how many steps looked alike: at t = Θ(n^τ) every exponent
is a piecewise-affine function of τ, and τ = 0 is the fixed-step limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from ._maxplus import NEG_INF, Value, exact, fmt_value, vadd, vmax
from ._recursion import Config, step
from ._shrink import shrink_prediction, shrinking_rows
from ._time import KEYS, SETTLED, TIME_SUMS, Crossover, ExactAlgebra, TauModel, Term
from .errors import TheoryInputError

__all__ = ["KEYS", "OPTIMIZERS", "Prediction", "classify", "predict"]

OPTIMIZERS = {"adam": "normalised", "adamw": "normalised", "signsgd": "normalised", "sgd": "sgd"}
SHRINK_MODES = (None, "stop", "nostop")
_HORIZON = 8  # fixed steps shown (gamma_by_t) when the recursion does not settle; ≥ 2·SETTLED


def _trajectory(c: Config, horizon: int = _HORIZON) -> list[dict[str, Value]]:
    """Exact γ of every quantity at the paper's steps t = 0 … horizon (a fixed t, n → ∞)."""
    alg = ExactAlgebra(Fraction(0))  # a sum of a fixed number of Θ(n^γ) terms is Θ(n^γ)
    aZl: Value = NEG_INF  # learned part of A_tZ (aligned with Z)
    bl: Value = NEG_INF  # learned part of B_t (aligned with dY)
    rows = []
    for _ in range(horizon + 1):
        row = step(alg, c, aZl, bl)
        rows.append(row)
        aZl, bl = vmax(aZl, row["incA"]), vmax(bl, row["incB"])
    return rows


def _overtaken_at(c: Config, key: str, init: Value, limit: int = 100_000) -> int | None:
    """The first fixed step t at which the learned part of A_tZ / B_t strictly exceeds the
    initialisation, when the fixed-step recursion grows without bound (else None).

    Exponents are rationals with bounded denominators, so a growing learned part gains at
    least a fixed amount per change and overtakes any finite init after finitely many steps.
    """
    if init is NEG_INF:
        return None
    learned = "AZl" if key == "AtZ" else "Bl"
    alg = ExactAlgebra(Fraction(0))
    aZl: Value = NEG_INF
    bl: Value = NEG_INF
    for t in range(limit):
        row = step(alg, c, aZl, bl)
        if row[learned] is not NEG_INF and row[learned] > init:  # type: ignore[operator]
            return t
        aZl, bl = vmax(aZl, row["incA"]), vmax(bl, row["incB"])
    raise AssertionError(f"the learned part of {key} did not overtake within {limit} steps")

def _sympy_value(v: Value | None) -> Any:
    import sympy

    if v is None:
        return None
    if v is NEG_INF:
        return sympy.S.NegativeInfinity
    return sympy.Rational(v.numerator, v.denominator)  # type: ignore[union-attr]


def _same_value(v: Value | None) -> Value | None:
    return v


# How predict() hands out its exponents: sympy (the default, what users see) or theory's own
# exact values (Fraction, NEG_INF for −∞), which need no sympy import (sims/ uses them).
VALUES = {"sympy": _sympy_value, "fraction": _same_value}


def _value_str(v: Any) -> str:
    """An exponent as ``"1/2"``, ``"0"`` or ``"-oo"``, from a sympy or a theory value."""
    return "-oo" if v is NEG_INF or getattr(v, "is_infinite", False) else str(v)


def _f(v: Value) -> str:
    return fmt_value(v)


def _case(a0z: Value, b0: Value, a_ref: Value, b_ref: Value) -> str:
    a_in, b_in = a0z <= a_ref, b0 <= b_ref  # type: ignore[operator]
    if a_in and b_in:
        return "case1"
    if not a_in and not b_in:
        return "case2"
    return "mixed"


def classify(eta: object, s: object, A0Z: object, B0: object, *, eta_B: object = None) -> str:
    """Stable-LoRA Sec. 3.2 cases (with ICML Eq. 5 for separate η_A, η_B).

    ``case1``: γ[A₀Z] ≤ γ[η_A] + 1 and γ[B₀] ≤ γ[η_B]; ``case2``: both strict ``>``;
    ``mixed``: exactly one holds (γ[δ₁] ≠ γ[δ₂] then, see the catalogue). ``s`` does not
    enter the cases; it is accepted so phase diagrams can pass a whole configuration.

    Raises:
        TypeError: a float exponent.
        TheoryInputError: an exponent that is not a rational or −∞.
    """
    etaA = exact(eta)
    etaB = etaA if eta_B is None else exact(eta_B)
    exact(s)
    return _case(exact(A0Z), exact(B0), vadd(etaA, Fraction(1)), etaB)


@dataclass(frozen=True)
class StopLaw:
    """How Algorithm 1's stop step N grows with n (Stable-LoRA Sec. 4, the stop condition).

    The condition ‖A_N‖_F/n ≤ ‖B_N‖_F/m (per entry, m = n) is met when A₀'s remnant
    (1−λ)^N·A₀ = Θ(n^{γ[A₀]}) has fallen to B_N = Θ(N^a·n^{γ[B]}): N·ln(1/(1−λ)) + a·ln N =
    ``drop``·ln n + O(1), with ``drop`` = γ[A₀] − γ[B] per entry and ``a`` = ``b_growth`` the
    t-exponent of B_t's dominant term. So N = Θ(log n), and its slope in ln n at a stop step
    N is dN/d ln n = drop / (ln(1/(1−λ)) + a/N) (→ drop/ln(1/(1−λ)) as n → ∞). λ is a real
    number, not an exponent: the calculus gives ``drop`` and ``b_growth`` exactly, the
    slope is evaluated by whoever knows λ and N.
    """

    drop: Fraction
    b_growth: Fraction

    def slope(self, lam: float, n_stop: float, b_growth: float | None = None) -> float:
        """dN/d ln n at stop step ``n_stop`` for shrink ratio ``lam`` ∈ (0, 1); with
        ``b_growth`` given, for that t-exponent of B_t instead of theory's (a measured one)."""
        import math

        a = float(self.b_growth if b_growth is None else b_growth)
        return float(self.drop) / (-math.log1p(-lam) + a / n_stop)


@dataclass(frozen=True)
class Prediction:
    """What the γ-calculus predicts for one configuration (see :func:`predict`).

    ``gamma`` holds for t ≥ ``steady_from`` (the paper's t; ``None`` when that step is not
    a fixed number: after a shrink stop, or a recursion that grows); ``gamma_step0`` is t = 0
    (the simulations' step 1); ``gamma_t(t)`` gives any t (``transient`` holds the steps
    before ``steady_from``). Exponents are sympy numbers (``Rational``, ``-oo``), or
    ``Fraction`` and ``NEG_INF`` from ``predict(..., values="fraction")``. A value
    ``None`` means "not predictable by the γ-calculus" (``reasons`` says why); ``to_json``
    writes it as null. With a shrink mode,
    ``gamma_shrinking_t(t)`` is the prediction at a step t at which A is still being shrunk
    (the step's ΔA includes −λA_t).

    ``stable`` is Definition 1 at every fixed step t ≥ 1 (the paper's t; after the stop with
    a shrink mode); ``stable_from`` is the first step t₀ with γ[ΔY_t] = 0 for all t ≥ t₀
    (Definition 1 read literally, the first update t = 0 included, is ``stable_from == 0``;
    ``None`` when never, and with a shrink mode, whose stop step grows like log n).

    Time as an exponent (``theory._time``): ``gamma_tau(τ)`` is γ at t = Θ(n^τ),
    ``terms(key)`` the competing terms Θ(t^a·n^b), ``breakpoints`` the τ* > 0 where the
    dominant term changes, ``no_exponent_beyond`` the τ beyond which a quantity has none.
    """

    case: str
    stable: bool
    gamma: dict[str, Any]
    gamma_step0: dict[str, Any]
    reasons: dict[str, str]
    steady_from: int | None
    transient: tuple[dict[str, Any], ...] = field(repr=False)
    while_shrinking: tuple[dict[str, Any], ...] | None = field(default=None, repr=False)
    stable_from: int | None = None
    tau_model: TauModel | None = field(default=None, repr=False, compare=False)
    overtaken_at: dict[str, int | None] = field(default_factory=dict)
    stop_law: StopLaw | None = None

    def _model(self) -> TauModel:
        if self.tau_model is None:
            raise TheoryInputError("this Prediction was built without a τ model: use predict()")
        return self.tau_model

    def gamma_tau(self, tau: object) -> dict[str, Value | None]:
        """γ of each quantity at t = Θ(n^τ) (exact; τ a rational ≥ 0 as int, Fraction, "1/2").

        τ = 0 is the fixed-step limit (``gamma`` wherever the recursion settles). ``None``
        where no single exponent exists: the recursion grows faster than any power of t
        (see ``no_exponent_beyond``), or τ lies beyond what the model covers (AdamW, ``nostop``).

        Raises:
            TypeError: a float τ.
            TheoryInputError: a negative or non-rational τ.
        """
        return self._model().gamma(tau)

    def terms(self, key: str) -> tuple[Term, ...]:
        """The competing terms Θ(t^a·n^b) of ``key``, in the order they dominate as τ grows.

        Raises:
            TheoryInputError: ``key`` not in KEYS.
        """
        return self._model().terms(key)

    @property
    def breakpoints(self) -> dict[str, tuple[Fraction, ...]]:
        """Per quantity, the sorted τ* > 0 where the dominant term changes."""
        return dict(self._model().breakpoints)

    @property
    def no_exponent_beyond(self) -> dict[str, Fraction | None]:
        """Per quantity, the τ beyond which it has no exponent (None: it has one for all τ).

        There a feedback loop of the recursion (SGD: through the residual dY ∝ Y_t − T) has
        gain ≫ 1 over t steps. 0 with ``gamma_tau(0)[key] is None``: the gain per step is
        already ≫ 1 and the quantity grows with t at fixed steps (a blow-up). A threshold
        τ* with a Θ(1) gain per step at τ = 0 marks the relaxation time t ~ n^τ*: from there
        on the residual is not Θ(1) (gradient descent converges; the aligned sums assume it
        does not), so neither the γ- nor the τ-calculus applies.
        """
        return dict(self._model().no_exponent_beyond)

    def crossovers(self) -> list[Crossover]:
        """Every change of dominant term (see :func:`theory.crossovers`)."""
        return self._model().crossovers()

    def gamma_t(self, t: int) -> dict[str, Any]:
        """The γ of each quantity at the paper's step t (sims step k = t + 1), as sympy
        (as Fraction/NEG_INF with ``values="fraction"``).

        Raises:
            TheoryInputError: t < 0.
        """
        if t < 0:
            raise TheoryInputError(f"step t must be >= 0, got {t}")
        return dict(self.transient[t]) if t < len(self.transient) else dict(self.gamma)

    def gamma_shrinking_t(self, t: int) -> dict[str, Any]:
        """γ at step t while Stable-LoRA still shrinks A at that step (before the stop).

        The last stored row holds for every later t (the recursion's fixed point); where the
        recursion grows with t (SGD) later steps are ``None``.

        Raises:
            TheoryInputError: t < 0, or the prediction was made without a shrink mode.
        """
        if t < 0:
            raise TheoryInputError(f"step t must be >= 0, got {t}")
        if self.while_shrinking is None:
            raise TheoryInputError("gamma_shrinking_t needs predict(..., shrink='stop'/'nostop')")
        if t < len(self.while_shrinking):
            return dict(self.while_shrinking[t])
        last = self.while_shrinking[-1]
        settled = len(self.while_shrinking) <= _HORIZON  # stored up to the fixed point
        return dict(last) if settled else {k: None for k in last}

    def to_json(self) -> dict[str, Any]:
        """The ``predict --json`` object; exponents as strings ``"1/2"``, ``"0"``, ``"-oo"``."""
        def strs(d: dict[str, Any]) -> dict[str, str | None]:
            return {k: None if v is None else _value_str(v) for k, v in d.items()}

        m = self.tau_model
        tau_part: dict[str, Any] = {} if m is None else {
            "breakpoints": {k: [str(x) for x in m.breakpoints[k]] for k in KEYS},
            "no_exponent_beyond": {k: None if m.no_exponent_beyond[k] is None
                                   else str(m.no_exponent_beyond[k]) for k in KEYS},
            "tau_valid_up_to": None if m.valid_up_to is None else str(m.valid_up_to),
            "time_sum": m.time_sum,
        }
        return {
            "case": self.case,
            "stable": self.stable,
            "stable_from": self.stable_from,
            "gamma": strs(self.gamma),
            "gamma_step0": strs(self.gamma_step0),
            "steady_from": self.steady_from,
            "gamma_by_t": [strs(g) for g in self.transient],
            **({"gamma_while_shrinking_by_t": [strs(g) for g in self.while_shrinking]}
               if self.while_shrinking is not None else {}),
            "overtaken_at_step": dict(self.overtaken_at),
            **({"stop_law": {"drop": str(self.stop_law.drop),
                             "b_growth": str(self.stop_law.b_growth)}}
               if self.stop_law is not None else {}),
            **tau_part,
            "reasons": dict(self.reasons),
        }


def _reasons(c: Config, row: dict[str, Value], row0: dict[str, Value]) -> dict[str, str]:
    gB_why = ("raw g_B ∝ s·dY·(A_tZ)ᵀ is exactly 0" if row["gB"] is NEG_INF else
              "Θ(1) after normalisation (Sec. 2.4)") if not c.sgd else \
        f"SGD: γ[g_B] = γ[s] + γ[dY] + γ[A_tZ] = {_f(row['gB'])} (ICML Eq. 24, dY ∝ Y_t − T)"
    gA_why = ("raw g_A ∝ s·B_tᵀ·dY is exactly 0" if row["gAZ"] is NEG_INF else
              "Assumption 1: γ[g_A Z] = 1") if not c.sgd else \
        (f"SGD: γ[g_A Z] = γ[s] + γ[B_tᵀ dY] + 1 = {_f(row['gAZ'])} (ICML Eq. 24 with m "
         f"outputs: Bᵀ dY sums over m, +γ[m]/2 for i.i.d. B₀, +γ[m] for aligned terms)")
    return {
        "delta1": (f"δ₁ = s·η_B·g_B·A_tZ (Stable-LoRA Eq. 1): {_f(c.s)} + {_f(c.etaB)} + "
                   f"{_f(row['gB'])} + {_f(row['AtZ'])} = {_f(row['delta1'])}, with g_B "
                   f"{gB_why}."),
        "delta2": (f"δ₂ = s·η_A·B_t·g_A Z (Eq. 1): {_f(c.s)} + {_f(c.etaA)} + {_f(row['Bt'])} "
                   f"+ {_f(row['gAZ'])} = {_f(row['delta2'])}, with {gA_why}."),
        "delta3": (f"δ₃ = s·η_A·η_B·g_B·g_A Z (Eq. 1): {_f(c.s)} + {_f(c.etaA)} + "
                   f"{_f(c.etaB)} + {_f(row['gB'])} + {_f(row['gAZ'])} = {_f(row['delta3'])}."),
        "dY": (f"ΔY = δ₁ + δ₂ + δ₃ without cancellation: max({_f(row['delta1'])}, "
               f"{_f(row['delta2'])}, {_f(row['delta3'])}) = {_f(row['dY'])}."),
        "AtZ": (f"A_tZ = A₀Z − η_A Σ g_A Z (Eq. 4): max(γ[A₀Z], learned) = max({_f(c.A0Z)}, "
                f"{_f(row['AZl'])}) = {_f(row['AtZ'])}."),
        "Bt": (f"B_t = B₀ − η_B Σ g_B (Eq. 4): max(γ[B₀], learned) = max({_f(c.B0)}, "
               f"{_f(row['Bl'])}) = {_f(row['Bt'])}."),
        "step0": (f"At t = 0 nothing is learned yet: δ₁ = {_f(row0['delta1'])}, "
                  f"δ₂ = {_f(row0['delta2'])}, δ₃ = {_f(row0['delta3'])}"
                  + ("; B₀ = 0 makes g_A⁰ = 0" if row0["gAZ"] is NEG_INF else "")
                  + ("; A₀ = 0 makes g_B⁰ = 0" if row0["gB"] is NEG_INF else "") + "."),
    }


def predict(
    eta: object,
    s: object,
    A0Z: object,
    B0: object,
    *,
    eta_B: object = None,
    optimizer: str = "adam",
    shrink: str | None = None,
    m_exp: object = 1,
    dY_exp: object = 0,
    time_sum: str = "aligned",
    values: str = "sympy",
) -> Prediction:
    """Predict γ of δ₁, δ₂, δ₃, ΔY, A_tZ, B_t (Stable-LoRA Eq. 1–6, ICML Eq. 3–5, 24–30).

    Width conventions (the simulations use the same): every γ is a per-entry RMS exponent;
    Z has Θ(1) entries; A ∈ ℝ^{r×n}, B ∈ ℝ^{m×r}, r = Θ(1), m = n^{m_exp} (m = n by
    default). ``A0Z`` is γ[A₀Z] (σ-exponent + 1/2 for i.i.d. A₀, −∞ for A₀ = 0); ``B0`` is
    the per-entry γ[B₀]. The paper's step t is the update from t to t + 1; the simulations'
    step k is t = k − 1, so ``gamma_step0`` is what they compare at their step 1.

    Normalised optimizers (adam, adamw, signsgd) have γ[g] = 0 and Assumption 1 (γ[g_AZ] = 1)
    whenever the raw gradient is non-zero; B₀ = 0 gives g_A⁰ = 0 and A₀Z = 0 gives g_B⁰ = 0.
    AdamW's decoupled decay with w = Θ(1) adds γ[η] + γ[A_t] < γ[A_t] and changes nothing
    for γ[η] < 0. SGD uses the raw gradients of ICML Eq. (23)–(24) with m outputs: dY ∝ Y − T
    has γ = max(dY_exp, γ[Y_t]) with Y_t = s·B_t·A_tZ (the paper's U_t, assumed Θ(1) there);
    Bᵀ·dY contracts over m: +γ[m]/2 for the i.i.d. B₀ against the target part, +γ[m] for the
    learned B (aligned with dY) and for B₀ᵀB₀ in the feedback term s·BᵀB·A_tZ.

    Args:
        eta: γ[η] (= γ[η_A]). int, Fraction, sympy Rational or a string ("-1/2", "-oo").
        s: γ[s].
        A0Z: γ[A₀Z].
        B0: γ[B₀].
        eta_B: γ[η_B]; ``None`` means η_B = η.
        optimizer: ``adam``, ``adamw``, ``signsgd`` or ``sgd``.
        shrink: ``None``, ``"stop"`` (Algorithm 1) or ``"nostop"`` (Sec. 5.4 ablation); the
            prediction is then for the steps after the stop condition has fired.
        m_exp: γ[m], the output width (SGD only).
        dY_exp: γ of the loss gradient dY per entry (SGD only).
        time_sum: how t per-step updates add up at t = Θ(n^τ): ``"aligned"`` (one sign, the
            papers' fixed-Z setting: Σ of t terms Θ(n^γ) is Θ(t·n^γ)) or ``"clt"``
            (independent random signs: Θ(t^{1/2}·n^γ)). Only ``gamma_tau`` and the τ
            outputs depend on it.
        values: how the exponents come back: ``"sympy"`` (``Rational``, ``-oo``) or
            ``"fraction"`` (``Fraction``, :data:`NEG_INF`; the same exact numbers without
            importing sympy).

    Returns:
        A :class:`Prediction`.

    Raises:
        TypeError: a float exponent.
        TheoryInputError: a non-rational exponent, an unknown optimizer, shrink mode,
            time_sum or values.
    """
    if values not in VALUES:
        raise TheoryInputError(f"unknown values {values!r}: use 'sympy' or 'fraction'")
    convert = VALUES[values]
    if time_sum not in TIME_SUMS:
        raise TheoryInputError(f"unknown time_sum {time_sum!r}: use 'aligned' or 'clt'")
    if optimizer not in OPTIMIZERS:
        raise TheoryInputError(
            f"unknown optimizer {optimizer!r}: use one of {', '.join(sorted(OPTIMIZERS))}"
        )
    if shrink not in SHRINK_MODES:
        raise TheoryInputError(f"unknown shrink mode {shrink!r}: use None, 'stop' or 'nostop'")
    etaA = exact(eta)
    m = exact(m_exp)
    if m is NEG_INF:
        raise TheoryInputError("m_exp must be a finite rational (m = n^m_exp)")
    c = Config(etaA, etaA if eta_B is None else exact(eta_B), exact(s), exact(A0Z),
               exact(B0), OPTIMIZERS[optimizer] == "sgd", m, exact(dY_exp),  # type: ignore[arg-type]
               decay=optimizer == "adamw")
    valid = _tau_limit(c, shrink)
    model = TauModel(c, time_sum, valid)
    rows = _trajectory(c)  # step t is Kleene iterate t of the fixed-step recursion (τ = 0)
    last = rows[-1]
    stationary = all(rows[SETTLED][k] == rows[2 * SETTLED][k] for k in ("AZl", "Bl"))
    # the least fixed point at fixed t (None where it grows with t, see theory._time)
    g0 = {k: last[k] for k in KEYS} if stationary else model.gamma(0)
    steady_from = None
    if stationary:
        steady_from = next(t for t in range(1, len(rows))
                           if all(rows[u][k] == g0[k] for u in range(t, len(rows))
                                  for k in KEYS))
    reasons = _reasons(c, rows[steady_from or -1], rows[0])
    if c.sgd:
        case = _case(c.A0Z, c.B0, last["AZl"], last["Bl"])
        reasons["case"] = (f"SGD: the init is compared with the learned parts at the fixed point "
                           f"(A_tZ learned {_f(last['AZl'])}, B_t learned {_f(last['Bl'])}).")
    else:
        case = _case(c.A0Z, c.B0, vadd(c.etaA, Fraction(1)), c.etaB)
        reasons["case"] = (f"Stable-LoRA Sec. 3.2: γ[A₀Z] = {_f(c.A0Z)} vs γ[η_A] + 1 = "
                           f"{_f(vadd(c.etaA, Fraction(1)))}, γ[B₀] = {_f(c.B0)} vs γ[η_B] = "
                           f"{_f(c.etaB)}.")
    gamma: dict[str, Value | None] = {k: g0[k] for k in KEYS}
    overtaken: dict[str, int | None] = {"AtZ": None, "Bt": None}
    for k, init in (("AtZ", c.A0Z), ("Bt", c.B0)):
        if gamma[k] is None and init is not NEG_INF:
            overtaken[k] = _overtaken_at(c, k, init)
    for k in KEYS:
        if gamma[k] is None:
            t = overtaken.get(k)
            seen = (f"the initialisation Θ(n^{_f(c.A0Z if k == 'AtZ' else c.B0)}) dominates "
                    f"or ties up to t = {t - 1}; the learned part overtakes it at t = {t} and "
                    f"keeps growing" if t is not None else
                    f"{_f(rows[1][k])} at t = 1, {_f(last[k])} at t = {_HORIZON}")
            reasons[k] = (f"no single exponent: the fixed-step recursion grows with t "
                          f"({seen}){_growth_why(c)}. At t = {_HORIZON}: {reasons[k]}")
    stable = stationary and g0["dY"] == 0 and all(r["dY"] == 0 for r in rows[1:])
    stable_from = (next(t for t in range(len(rows)) if all(r["dY"] == 0 for r in rows[t:]))
                   if stationary and g0["dY"] == 0 else None)
    plain_steady = steady_from
    law = None
    if shrink is not None:
        stable, gamma, steady_from, a0z_after = shrink_prediction(c, last, shrink, gamma,
                                                                    reasons)
        stable_from = None  # the stop step grows like log n
        if a0z_after is None:
            none = frozenset(k for k in KEYS if gamma[k] is None)
            model = TauModel(c, time_sum, valid, none)
        else:
            model = TauModel(replace(c, A0Z=a0z_after), time_sum, valid,
                             a0_name="A₀'s remnant (1−λ)^N·A₀Z after the stop")
            law = _stop_law(c.A0Z, a0z_after, model.terms("Bt"), last["Bt"])
    when = "after the stop" if shrink is not None else "for every t ≥ 1"
    reasons["stable"] = (
        f"γ[ΔY_t] = 0 {when} (Definition 1)." if stable else
        f"γ[ΔY_t] ≠ 0 (or not one exponent) {when}: Definition 1 fails."
    )
    if shrink is None:
        reasons["stable"] += (" Including the first update t = 0 as well." if stable_from == 0
                              else f" From t = {stable_from} on; not at t = 0, so Definition 1 "
                              f"read for every t including the first update fails."
                              if stable_from is not None else "")
    if shrink is not None:
        transient = rows[:1]  # the stop step grows like log n: only t = 0 is a fixed step
    elif steady_from is not None:
        transient = rows[:steady_from]
    else:
        transient = rows
    by_t = tuple({k: convert(r[k]) for k in KEYS} for r in transient)
    shrinking = None
    if shrink is not None:
        srows = shrinking_rows(c, rows)
        keep = len(srows) if not stationary else (plain_steady or 1) + 1
        shrinking = tuple({k: convert(r[k]) for k in KEYS} for r in srows[:keep])
        reasons["while_shrinking"] = (
            "While A is still shrunk, the step's ΔA = −λA_t − η_A g_A includes the shrink: "
            "γ[ΔA Z] = max(γ[A_tZ], γ[η_A] + 1) enters δ₂ and δ₃ (see gamma_shrinking_t).")
    return Prediction(case, stable, {k: convert(v) for k, v in gamma.items()}, by_t[0],
                      reasons, steady_from, by_t, shrinking, stable_from, model, overtaken, law)


def _stop_law(
    a0z: Value, a0z_after: Value, b_terms: tuple[Term, ...], b_t: Value
) -> StopLaw | None:
    """The stop step's law (``StopLaw``): A₀'s per-entry drop and B_t's growth in t.

    ``drop`` is γ[A₀Z] − γ[(1−λ)^N·A₀Z] (the Z-contraction adds the same 1/2 to both);
    B_t's dominant term at a fixed step is the one with n-exponent γ[B_t] (the largest
    t-exponent among ties). ``None`` when nothing is shrunk (drop 0) or B_t has no term.
    """
    drop = a0z - a0z_after if a0z is not NEG_INF and a0z_after is not NEG_INF else None
    top = [t.t_exp for t in b_terms if t.n_exp == b_t]
    if not drop or not top:
        return None
    return StopLaw(Fraction(drop), max(top))


def _tau_limit(c: Config, shrink: str | None) -> Fraction | None:
    """The largest τ the unrolled recursion describes (None: every τ ≥ 0).

    AdamW: A_{t+1} = (1 − η_A w)A_t − η_A g_A; (1 − ηw)^t is Θ(1) only while t·n^{γ[η]} =
    O(1), i.e. τ ≤ −γ[η] (beyond, A₀'s remnant decays like e^{−ηwt} and the learned sum
    saturates after ~1/(ηw) steps: not a power of t). ``nostop``: A is shrunk again whenever
    ‖A‖_F/n > ‖B‖_F/m, which B's growth with t can trigger: only τ = 0 is modelled.
    """
    lims = []
    if c.decay:
        lims += [max(Fraction(0), -e) for e in (c.etaA, c.etaB) if e is not NEG_INF]  # type: ignore[operator]
    if shrink == "nostop":
        lims.append(Fraction(0))
    return min(lims) if lims else None


def _growth_why(c: Config) -> str:
    if c.decay and any(e is not NEG_INF and e > 0 for e in (c.etaA, c.etaB)):  # type: ignore[operator]
        return " (AdamW with γ[η] > 0: the decay factor 1 − ηw is Θ(n^{γ[η]}), not Θ(1))"
    if c.sgd:
        return " (SGD: the gradients grow with A and B, a positive feedback loop)"
    return ""
