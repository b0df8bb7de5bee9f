"""Concrete predictions: the γ of δ₁, δ₂, δ₃, ΔY, A_tZ, B_t for given exponents and optimizer.

The paper's max-plus recursion (Stable-LoRA Eq. 1–4; ICML Eq. 3, 16, 24–25) is run exactly,
step by step, from t = 0, with the gradients that vanish when a factor of them is zero
(B₀ = 0 ⇒ g_A⁰ = 0; A₀ = 0 ⇒ g_B⁰ = 0), until it reaches its fixed point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ._maxplus import NEG_INF, Value, exact, fmt_value, vadd, vmax
from ._shrink import shrink_prediction, shrinking_rows
from .errors import TheoryInputError

__all__ = ["KEYS", "OPTIMIZERS", "Prediction", "classify", "predict"]

KEYS = ("delta1", "delta2", "delta3", "dY", "AtZ", "Bt")
OPTIMIZERS = {"adam": "normalised", "adamw": "normalised", "signsgd": "normalised", "sgd": "sgd"}
SHRINK_MODES = (None, "stop", "nostop")
_HORIZON = 8  # a 2-variable max-plus recursion reaches its fixed point (or grows) within this


@dataclass(frozen=True)
class _Config:
    etaA: Value
    etaB: Value
    s: Value
    A0Z: Value
    B0: Value
    sgd: bool
    m: Fraction
    dY: Value


def _trajectory(c: _Config) -> list[dict[str, Value]]:
    """Exact γ of every quantity at the paper's steps t = 0 … _HORIZON."""
    aZl: Value = NEG_INF  # learned part of A_tZ (aligned with Z)
    bl: Value = NEG_INF  # learned part of B_t (aligned with dY)
    rows = []
    for _ in range(_HORIZON + 1):
        aZ, b = vmax(c.A0Z, aZl), vmax(c.B0, bl)
        if c.sgd:  # ICML Eq. (23)–(24), generalised to m outputs: raw gradients
            dy = vmax(c.dY, vadd(c.s, b, aZ))  # dY ∝ Y − T with Y = s·B·AZ (ICML's U_t)
            bdy = vmax(vadd(c.B0, c.m / 2, dy), vadd(bl, c.m, dy),  # Bᵀ·dY over m: i.i.d. B₀,
                       vadd(c.s, c.B0, c.B0, c.m, aZ))  # learned B ∥ dY, B₀ᵀB₀ in s·BᵀB·AZ
            gAZ = vadd(c.s, bdy, Fraction(1))  # g_A = s·(Bᵀ dY)·Zᵀ, then ·Z: aligned, +1
            gB = vadd(c.s, dy, aZ)  # g_B = s·dY·(A Z)ᵀ
        else:  # normalised: Θ(1) entries (Sec. 2.4) unless the raw gradient is exactly 0
            gAZ = Fraction(1) if vadd(c.s, b) is not NEG_INF else NEG_INF  # Assumption 1
            gB = Fraction(0) if vadd(c.s, aZ) is not NEG_INF else NEG_INF
        d1 = vadd(c.s, c.etaB, gB, aZ)
        d2 = vadd(c.s, c.etaA, b, gAZ)
        d3 = vadd(c.s, c.etaA, c.etaB, gB, gAZ)
        rows.append({"delta1": d1, "delta2": d2, "delta3": d3, "dY": vmax(d1, d2, d3),
                     "AtZ": aZ, "Bt": b, "gAZ": gAZ, "gB": gB, "AZl": aZl, "Bl": bl})
        aZl = vmax(aZl, vadd(c.etaA, gAZ))
        bl = vmax(bl, vadd(c.etaB, gB))
    return rows


def _sympy_value(v: Value | None) -> Any:
    import sympy

    if v is None:
        return None
    if v is NEG_INF:
        return sympy.S.NegativeInfinity
    return sympy.Rational(v.numerator, v.denominator)  # type: ignore[union-attr]


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
class Prediction:
    """What the γ-calculus predicts for one configuration (see :func:`predict`).

    ``gamma`` holds for t ≥ ``steady_from`` (the paper's t; ``None`` when that step is not
    a fixed number: after a shrink stop, or a recursion that grows); ``gamma_step0`` is t = 0
    (the simulations' step 1); ``gamma_t(t)`` gives any t (``transient`` holds the steps
    before ``steady_from``). A value ``None`` means "not predictable by the γ-calculus"
    (``reasons`` says why); ``to_json`` writes it as null. With a shrink mode,
    ``gamma_shrinking_t(t)`` is the prediction at a step t at which A is still being shrunk
    (the step's ΔA includes −λA_t).
    """

    case: str
    stable: bool
    gamma: dict[str, Any]
    gamma_step0: dict[str, Any]
    reasons: dict[str, str]
    steady_from: int | None
    transient: tuple[dict[str, Any], ...] = field(repr=False)
    while_shrinking: tuple[dict[str, Any], ...] | None = field(default=None, repr=False)

    def gamma_t(self, t: int) -> dict[str, Any]:
        """The γ of each quantity at the paper's step t (sims step k = t + 1), as sympy.

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
            return {k: None if v is None else ("-oo" if v.is_infinite else str(v))
                    for k, v in d.items()}

        return {
            "case": self.case,
            "stable": self.stable,
            "gamma": strs(self.gamma),
            "gamma_step0": strs(self.gamma_step0),
            "steady_from": self.steady_from,
            "gamma_by_t": [strs(g) for g in self.transient],
            **({"gamma_while_shrinking_by_t": [strs(g) for g in self.while_shrinking]}
               if self.while_shrinking is not None else {}),
            "reasons": dict(self.reasons),
        }


def _reasons(c: _Config, row: dict[str, Value], row0: dict[str, Value]) -> dict[str, str]:
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

    Returns:
        A :class:`Prediction`.

    Raises:
        TypeError: a float exponent.
        TheoryInputError: a non-rational exponent, an unknown optimizer or shrink mode.
    """
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
    c = _Config(etaA, etaA if eta_B is None else exact(eta_B), exact(s), exact(A0Z),
                exact(B0), OPTIMIZERS[optimizer] == "sgd", m, exact(dY_exp))  # type: ignore[arg-type]
    rows = _trajectory(c)
    last = rows[-1]
    stationary = all(rows[-2][k] == last[k] for k in (*KEYS, "AZl", "Bl"))
    steady_from = None
    if stationary:
        steady_from = next(t for t in range(1, len(rows))
                           if all(rows[u][k] == last[k] for u in range(t, len(rows))
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
    settled = {k: all(r[k] == last[k] for r in rows[-4:]) for k in KEYS}
    gamma: dict[str, Any] = {k: _sympy_value(last[k]) if stationary or settled[k] else None
                             for k in KEYS}
    if not stationary:
        for k in KEYS:
            if gamma[k] is None:
                reasons[k] = (f"not predictable as one exponent: the recursion grows with t "
                              f"({_f(rows[1][k])} at t = 1, {_f(last[k])} at t = {_HORIZON}); "
                              f"{reasons[k]}")
    stable = stationary and all(rows[t]["dY"] == 0 for t in range(1, len(rows)))
    plain_steady = steady_from
    if shrink is not None:
        stable, gamma, steady_from = shrink_prediction(c, last, shrink, gamma, reasons)
    when = "after the stop" if shrink is not None else "for every t ≥ 1"
    reasons["stable"] = (
        f"γ[ΔY_t] = 0 {when} (Definition 1)." if stable else
        f"γ[ΔY_t] ≠ 0 (or not one exponent) {when}: Definition 1 fails."
    )
    if shrink is not None:
        transient = rows[:1]  # the stop step grows like log n: only t = 0 is a fixed step
    elif steady_from is not None:
        transient = rows[:steady_from]
    else:
        transient = rows
    by_t = tuple({k: _sympy_value(r[k]) for k in KEYS} for r in transient)
    shrinking = None
    if shrink is not None:
        srows = shrinking_rows(c, rows)
        keep = len(srows) if not stationary else (plain_steady or 1) + 1
        shrinking = tuple({k: _sympy_value(r[k]) for k in KEYS} for r in srows[:keep])
        reasons["while_shrinking"] = (
            "While A is still shrunk, the step's ΔA = −λA_t − η_A g_A includes the shrink: "
            "γ[ΔA Z] = max(γ[A_tZ], γ[η_A] + 1) enters δ₂ and δ₃ (see gamma_shrinking_t).")
    return Prediction(case, stable, gamma, by_t[0], reasons, steady_from, by_t, shrinking)
