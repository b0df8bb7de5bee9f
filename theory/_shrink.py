"""Stable-LoRA shrinkage (Sec. 4, Algorithm 1) in the γ-calculus: while shrinking, after the stop.

A fixed λ and a fixed number N of shrink steps give N·γ[1−λ] = 0: at any fixed step the
γ-calculus sees no shrinkage at all. The stop condition ‖A‖_F/n ≤ ‖B‖_F/m is what makes N
grow with n: with m = n it reads (per entry) γ[A_t] ≤ γ[B_t], so A₀'s remnant
(1−λ)^N·A₀ is shrunk until its per-entry exponent reaches γ[B_t]; then N ≈ ln n /
(−ln(1−λ)) · (γ[A₀] − γ[B_t]) = Θ(log n) and (1−λ)^N = n^{L} with L = γ[B_t] − γ[A₀].
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING

from ._maxplus import NEG_INF, Value, fmt_value, vadd, vmax

if TYPE_CHECKING:
    from ._recursion import Config

__all__ = ["shrink_prediction", "shrinking_rows"]

_HALF = Fraction(1, 2)


def shrink_prediction(
    c: Config,
    last: dict[str, Value],
    mode: str,
    gamma: dict[str, Value | None],
    reasons: dict[str, str],
) -> tuple[bool, dict[str, Value | None], None, Value | None]:
    """γ after the stop condition has fired (Stable-LoRA Sec. 4 bound on γ[A_N Z]).

    γ[A_NZ] = max(N·γ[1−λ] + γ[A₀Z], γ[η_A] + 1) with N·γ[1−λ] = L set by the stop
    condition: the remnant's per-entry exponent becomes min(γ[A₀], γ[B_t]), γ[A₀] =
    γ[A₀Z] − 1/2 for i.i.d. A₀ (its Z-contraction is a CLT sum, +1/2). ``reasons`` is
    updated in place.

    Returns:
        (stable, gamma, steady_from, A0Z_after), gamma in exact values (Fraction, NEG_INF,
        None), with steady_from ``None``: the stop step grows like log n, so no fixed step
        index is "after the stop" at every width.
        A0Z_after is γ of A₀'s remnant times Z after the stop, the initialisation the
        recursion continues from (``None`` where ``delta1``, ``dY``, ``AtZ`` are not
        predictable).
    """
    out = dict(gamma)
    tag = {"stop": "Algorithm 1 with its stop condition",
           "nostop": "shrinking whenever ‖A‖_F/n > ‖B‖_F/m (Sec. 5.4 ablation)"}[mode]
    if c.sgd:
        for k in ("delta1", "dY", "AtZ"):
            out[k] = None
            reasons[k] = ("not predicted: the shrinkage analysis (Stable-LoRA Sec. 4) assumes "
                          "normalised gradients; with SGD the gradients depend on A itself.")
        reasons["shrink"] = f"{tag} with SGD: outside the paper's analysis."
        return False, out, None, None
    bB = last["Bt"]
    learned_A = c.etaA if last["gAZ"] is not NEG_INF else NEG_INF  # per-entry η_A·Σ g_A
    if c.A0Z is NEG_INF:
        reasons["shrink"] = f"{tag}: A₀ = 0 leaves nothing to shrink; the prediction is unchanged."
        return out["dY"] == 0, out, None, c.A0Z
    a0 = vadd(c.A0Z, -_HALF)
    if bB is NEG_INF or learned_A > bB:  # type: ignore[operator]
        for k in ("delta1", "dY", "AtZ"):
            out[k] = None
            reasons[k] = (
                f"not predictable: γ[η_A] = {fmt_value(learned_A)} vs γ[B_t] = {fmt_value(bB)} "
                f"(B = 0 or smaller than A's learned part), so ‖A‖_F/n > ‖B‖_F/m for good "
                f"and A shrinks at every step; A₀'s remnant (1−λ)^t·A₀ then depends on t "
                f"against log n, not on one exponent."
            )
        reasons["shrink"] = f"{tag}: the stop condition never holds in γ terms."
        return False, out, None, None
    remnant = a0 if a0 <= bB else bB  # type: ignore[operator]
    atz = vmax(vadd(remnant, _HALF), last["AZl"])
    d1 = vadd(c.s, c.etaB, last["gB"], atz)
    dy = vmax(d1, last["delta2"], last["delta3"])
    out.update(AtZ=atz, delta1=d1, dY=dy)
    L = remnant - a0  # type: ignore[operator]
    caveat = (" Here γ[η_A] = γ[B_t]: whether ‖A‖_F/n ≤ ‖B‖_F/m is ever reached is decided by "
              "the Θ-constants, as the paper assumes it is." if learned_A == bB else "")
    reasons["shrink"] = (
        f"{tag}: the stop condition is γ[A_t] ≤ γ[B_t] per entry (m = n), reached when the "
        f"remnant (1−λ)^N·A₀ has per-entry exponent {fmt_value(remnant)}, i.e. N·γ[1−λ] = "
        f"{fmt_value(L)} with N = Θ(log n) steps; a fixed λ at a fixed step gives "
        f"N·γ[1−λ] = 0 and no change.{caveat}"
    )
    reasons["AtZ"] = (
        f"After the stop (Stable-LoRA Sec. 4): γ[A_NZ] = max(N·γ[1−λ] + γ[A₀Z], γ[η_A] + 1) = "
        f"max({fmt_value(vadd(remnant, _HALF))}, {fmt_value(last['AZl'])}) = {fmt_value(atz)}."
    )
    reasons["delta1"] = (
        f"δ₁ = s·η_B·g_B·A_tZ after the stop: {fmt_value(c.s)} + {fmt_value(c.etaB)} + "
        f"{fmt_value(last['gB'])} + {fmt_value(atz)} = {fmt_value(d1)}."
    )
    reasons["dY"] = (f"ΔY after the stop: max({fmt_value(d1)}, {fmt_value(last['delta2'])}, "
                     f"{fmt_value(last['delta3'])}) = {fmt_value(dy)}.")
    return dy == 0, out, None, vadd(remnant, _HALF)


def shrinking_rows(c: Config, rows: list[dict[str, Value]]) -> list[dict[str, Value]]:
    """γ at each step t at which A is still being shrunk (Algorithm 1 before the stop).

    A fixed λ leaves γ[A_tZ] as without shrinkage, but the step's actual change
    ΔA = −λ·A_t − η_A·g_A (shrink included, A_t taken before the shrink) has
    γ[ΔA Z] = max(γ[A_tZ], γ[η_A] + γ[g_A Z]), which enters δ₂ = s·B_t·ΔA·Z and
    δ₃ = s·ΔB·ΔA·Z (Stable-LoRA Eq. 1 with A_{t+1} = (1−λ)A_t − ηg_A). Rows as in the
    plain trajectory; δ₁, A_tZ, B_t are unchanged.
    """
    out = []
    for row in rows:
        daz = vmax(row["AtZ"], vadd(c.etaA, row["gAZ"]))
        d2 = vadd(c.s, row["Bt"], daz)
        d3 = vadd(c.s, c.etaB, row["gB"], daz)
        out.append({**row, "delta2": d2, "delta3": d3, "dY": vmax(row["delta1"], d2, d3)})
    return out

