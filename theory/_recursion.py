"""One step of the LoRA γ-recursion, written once for every algebra that evaluates it.

Stable-LoRA Eq. (1), (4) with Assumption 1 for normalised optimizers; ICML Eq. (23)–(24)
(raw SGD gradients, generalised to m outputs) for SGD. The same step is evaluated on exact
values at a fixed step (``theory._predict``), on exact values at t = Θ(n^τ) and on sets of
terms Θ(t^a·n^b) (``theory._time``): an algebra supplies max-plus ``add`` (the exponent of
a product), ``mx`` (of a sum without cancellation), ``const``, ``nonzero`` (the Θ(1)
exponent of a normalised gradient, −∞ when the raw gradient is exactly 0) and ``integ``
(the exponent of Σ_{u<t} of a per-step quantity).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Protocol

from ._maxplus import Value

__all__ = ["Algebra", "Config", "step"]

_ONE = Fraction(1)


@dataclass(frozen=True)
class Config:
    """Exponents of one configuration (see :func:`theory.predict`)."""

    etaA: Value
    etaB: Value
    s: Value
    A0Z: Value
    B0: Value
    sgd: bool
    m: Fraction
    dY: Value
    decay: bool = False  # AdamW: decoupled weight decay −η·w·A_t, w = Θ(1)


class Algebra(Protocol):
    """The operations :func:`step` needs (values are opaque to it)."""

    def const(self, v: Value, atom: str = "") -> Any: ...
    def add(self, *xs: Any) -> Any: ...
    def mx(self, *xs: Any) -> Any: ...
    def nonzero(self, x: Any) -> Any: ...


def step(alg: Algebra, c: Config, aZl: Any, bl: Any) -> dict[str, Any]:
    """Every quantity at one step, given the learned parts of A_tZ and B_t.

    ``aZl`` is η_A·Σ_{u<t} g_A^u Z (plus AdamW's decay), ``bl`` is η_B·Σ_{u<t} g_B^u. Returns
    δ₁, δ₂, δ₃, ΔY (Stable-LoRA Eq. 1), A_tZ, B_t (Eq. 4: max of the initialisation and the
    learned part), the gradients ``gAZ``, ``gB`` and the per-step increments ``incA``,
    ``incB`` of the learned parts (their Σ over steps is the caller's: :func:`step` knows
    nothing of t).
    """
    k = alg.const
    a0z, b0 = k(c.A0Z, "A₀Z"), k(c.B0, "B₀")
    aZ, b = alg.mx(a0z, aZl), alg.mx(b0, bl)
    s, eA, eB = k(c.s), k(c.etaA), k(c.etaB)
    if c.sgd:  # ICML Eq. (23)–(24), generalised to m outputs: raw gradients
        dy = alg.mx(k(c.dY, "target"), alg.add(s, b, aZ))  # dY ∝ Y − T, Y = s·B·AZ (ICML U_t)
        bdy = alg.mx(alg.add(b0, k(c.m / 2), dy),  # Bᵀ·dY over m: i.i.d. B₀ (CLT, +m/2),
                     alg.add(bl, k(c.m), dy),  # learned B ∥ dY (aligned, +m),
                     alg.add(s, b0, b0, k(c.m), aZ))  # B₀ᵀB₀ in s·BᵀB·AZ (aligned, +m)
        gAZ = alg.add(s, bdy, k(_ONE))  # g_A = s·(Bᵀ dY)·Zᵀ, then ·Z: aligned, +1
        gB = alg.add(s, dy, aZ)  # g_B = s·dY·(A Z)ᵀ
    else:  # normalised: Θ(1) entries (Sec. 2.4) unless the raw gradient is exactly 0
        gAZ = alg.add(alg.nonzero(alg.add(s, b)), k(_ONE))  # Assumption 1: γ[g_A Z] = 1
        gB = alg.nonzero(alg.add(s, aZ))
    d1 = alg.add(s, eB, gB, aZ)
    d2 = alg.add(s, eA, b, gAZ)
    d3 = alg.add(s, eA, eB, gB, gAZ)
    incA, incB = alg.add(eA, gAZ), alg.add(eB, gB)
    if c.decay:  # Algorithm 1 / AdamW: A_{t+1} = A_t − η g_A − η w A_t, w = Θ(1)
        incA = alg.mx(incA, alg.add(eA, aZ))
        incB = alg.mx(incB, alg.add(eB, b))
    return {"delta1": d1, "delta2": d2, "delta3": d3, "dY": alg.mx(d1, d2, d3),
            "AtZ": aZ, "Bt": b, "gAZ": gAZ, "gB": gB, "AZl": aZl, "Bl": bl,
            "incA": incA, "incB": incB}
