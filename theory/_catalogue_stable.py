"""Catalogue entries for Stable-LoRA (ICLR 2026): Eq. (1)–(6), Theorem 3.1 and Section 4.

Symbols: eta = γ[η], s = γ[s], A0Z = γ[A₀Z], B0 = γ[B₀] (nullable: zero inits), AtZ, Bt
at step t, gAZ = γ[g_A Z], gB = γ[g_B], d1, d2, d3, dY = γ[δ₁], γ[δ₂], γ[δ₃], γ[ΔY].
Claims about "every step" are decided on the recursion unrolled from t = 0 for each zero
pattern of A₀, B₀ (:mod:`theory._steps`); the paper's step t is the update t → t + 1.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from functools import partial

from ._catalogue import Claim, Statement
from ._maxplus import GammaExpr, contract
from ._solver import Cell
from ._steps import NOT_BOTH_ZERO, PATTERNS, Model, check_steps

__all__ = ["STATEMENTS"]

#: Stable-LoRA Eq. (1)–(2): the exponents of the three terms, with γ[g_B] = 0 (Sec. 2.4)
DELTAS = ("d1 = s + eta + gB + AtZ; d2 = s + eta + Bt + gAZ; d3 = s + 2*eta + gB + gAZ; "
          "dY = max(d1, d2, d3)")
NORMALISED = "gB = 0; gAZ = 1"  # Sec. 2.4 and Assumption 1
CLOSED = "AtZ = max(A0Z, eta + 1); Bt = max(B0, eta)"  # Eq. (4), closed form for t ≥ 1
CASE1 = "A0Z <= eta + 1; B0 <= eta"
CASE2 = "A0Z > eta + 1; B0 > eta"
EQ3 = "s + eta + AtZ = 0; s + eta + Bt + 1 = 0; s + 2*eta + 1 = 0"
INITS = "A0Z,B0"
T1_NULLABLE = "A0Z,B0,A1Z,B1,d1,d2,d3,dY"
SHOW = "eta,s,A0Z,B0"  # counterexamples are shown projected onto the configuration


def _eq1_algebra() -> tuple[bool, str]:
    """Stable-LoRA Eq. (1) with non-commuting matrices: the second line, and the typo."""
    import sympy

    A, B, Z, gA, gB = sympy.symbols("A B Z g_A g_B", commutative=False)
    s, eta = sympy.symbols("s eta")
    paper = -s * eta * gB * A * Z - s * eta * B * gA * Z + s * eta**2 * gB * gA * Z
    right = sympy.expand(s * (B - eta * gB) * (A - eta * gA) * Z - s * B * A * Z - paper) == 0
    literal = sympy.expand(s * (A - eta * gA) * (B - eta * gB) * Z - s * A * B * Z - paper)
    return right and literal != 0, (
        "s(B−ηg_B)(A−ηg_A)Z − sBAZ expands to the paper's second line exactly; the paper's "
        "first line s(A−ηg_A)(B−ηg_B)Z − sABZ (factors swapped) does not"
    )


def _t1_system(a0z: str, b0: str) -> str:
    """Steps t = 0 and t = 1 with gradients that vanish with their factor (B₀ = 0 ⇒ g_A⁰ = 0)."""
    zero_a, zero_b = a0z == "-inf", b0 == "-inf"
    ga0 = "-inf" if zero_b else "1"  # g_A⁰ ∝ B₀ᵀ dY
    gb0 = "-inf" if zero_a else "0"  # g_B⁰ ∝ dY (A₀Z)ᵀ
    ga1, gb1 = ("-inf", "-inf") if zero_a and zero_b else ("1", "0")  # B₁ ≠ 0, A₁Z ≠ 0
    return (f"A1Z = max(A0Z, eta + {ga0}); B1 = max(B0, eta + {gb0}); "
            f"d1 = s + eta + {gb1} + A1Z; d2 = s + eta + B1 + {ga1}; "
            f"d3 = s + 2*eta + {gb1} + {ga1}; dY = max(d1, d2, d3); s + 2*eta + 1 = 0; {CASE1}"
            + ("; A0Z = -inf" if zero_a else "") + ("; B0 = -inf" if zero_b else ""))


def _kaiming() -> tuple[str, str]:
    """γ[A₀Z] for i.i.d. A₀ (CLT contraction, +1/2): σ² = 1/n (Sec. 4) and U[−1/n, 1/n] (Sec. 5)."""
    sec4 = contract(GammaExpr.const(Fraction(-1, 2)), over="n", kind="independent")
    sec5 = contract(GammaExpr.const(Fraction(-1)), over="n", kind="independent")
    return str(sec4), str(sec5)


_SEC4, _SEC5 = _kaiming()
SL = {"": Model()}  # Stable-LoRA: γ[η_A] = γ[η_B] = γ[η], γ[s], γ[A₀Z], γ[B₀]


def _every(patterns: tuple[tuple[bool, bool, str], ...], t_from: int, concl: str,
           hyp: str = "", show: str = SHOW,
           models: dict[str, Model] = SL) -> Callable[[], tuple[bool, str, Cell | None]]:
    """The check of a claim at every step t ≥ t_from, for each zero pattern."""
    return partial(check_steps, models, patterns, hyp=hyp, concl=concl, t_from=t_from,
                   show=show)


def _one(zero_A: bool, zero_B: bool) -> tuple[tuple[bool, bool, str], ...]:
    return tuple(p for p in PATTERNS if p[:2] == (zero_A, zero_B))


EQ4_BOUNDS = "{AtZ} >= eta + 1; {Bt} >= eta"  # Eq. (4), right-hand sides
D3_SMALLEST = "{d1} >= {d3}; {d2} >= {d3}"
EQ6 = "{d1} = s + 2*eta + 1; {d2} = s + 2*eta + 1; {d3} = s + 2*eta + 1"
THM = f"s + 2*eta + 1 = 0; {CASE1}"
#: Stable-LoRA after N ≥ 1 shrink steps with B₀ = 0 (A₀ ≠ 0, so g_B⁰ ≠ 0 and B_N = η)
SHRUNK = {"": Model(start=("max(L + A0Z, eta + 1)", "eta"), t0=1)}

STATEMENTS = (
    Statement(
        "sl-eq1", "Stable-LoRA Eq. (1)",
        "“ΔY_t = s(A_t − ηg_A^t)(B_t − ηg_B^t)Z − sA_tB_tZ = −sηg_B^tA_tZ − sηB_tg_A^tZ + "
        "sη²g_B^tg_A^tZ” (1).",
        (Claim("the expansion, with non-commuting matrices", "algebra", check=_eq1_algebra),),
        note="The paper's first line writes s(A_t − ηg_A)(B_t − ηg_B)Z − sA_tB_tZ, which does not "
             "type-check for A ∈ ℝ^{r×n}, B ∈ ℝ^{m×r}; the second line is the expansion of "
             "s(B_t − ηg_B)(A_t − ηg_A)Z − sB_tA_tZ. γ[ΔY] = max(γ[δ₁], γ[δ₂], γ[δ₃]) is the "
             "no-cancellation rule of the calculus (a definition), not a theorem: not listed.",
    ),
    Statement(
        "sl-eq2-eq3", "Stable-LoRA Eq. (2)–(3), Assumption 1",
        "“Equation (2) is then refined as: γ[s] + γ[η] + γ[A_tZ] = 0; γ[s] + γ[η] + γ[B_t] + 1 "
        "= 0; γ[s] + 2γ[η] + 1 = 0 (3)” (with γ[g_A] = γ[g_B] = 0 and Assumption 1: "
        "γ[g_A^tZ] = 1).",
        (Claim("Eq. (2) ⇔ Eq. (3) under γ[g_B] = 0 and Assumption 1", "equivalent",
               given=f"{DELTAS}; {NORMALISED}", hyp="d1 = 0; d2 = 0; d3 = 0", concl=EQ3),),
    ),
    Statement(
        "sl-eq4", "Stable-LoRA Eq. (4), Sec. 3.1",
        "“γ[A_tZ] = max(γ[A_{t−1}Z], γ[η]+1) ⇒ γ[A_tZ] ≥ γ[η]+1; γ[B_t] = max(γ[B_{t−1}], "
        "γ[η]) ⇒ γ[B_t] ≥ γ[η] (4), which immediately implies that γ[δ₁] ≥ γ[δ₃] and "
        "γ[δ₂] ≥ γ[δ₃]” — for every step t ≥ 1 (the paper: “always hold”).",
        (Claim("Eq. (4)'s bounds at every t ≥ 1 (A₀, B₀ not both 0)", "steps",
               check=_every(NOT_BOTH_ZERO, 1, EQ4_BOUNDS), expect=False, against_paper=True),
         Claim("Eq. (4)'s bounds at every t ≥ 2 (A₀, B₀ not both 0)", "steps",
               check=_every(NOT_BOTH_ZERO, 2, EQ4_BOUNDS)),
         Claim("γ[δ₁] ≥ γ[δ₃] and γ[δ₂] ≥ γ[δ₃] at every t ≥ 1 (A₀, B₀ not both 0)", "steps",
               check=_every(NOT_BOTH_ZERO, 1, D3_SMALLEST), expect=False, against_paper=True),
         Claim("γ[δ₁] ≥ γ[δ₃] and γ[δ₂] ≥ γ[δ₃] at every t ≥ 2 (A₀, B₀ not both 0)", "steps",
               check=_every(NOT_BOTH_ZERO, 2, D3_SMALLEST))),
        note="Eq. (4) assumes γ[g_A^{t−1}Z] = 1 and γ[g_B^{t−1}] = 0 at every step; with B₀ = 0 "
             "the first gradient g_A⁰ is exactly 0, so A₁ = A₀ and γ[A₁Z] = γ[A₀Z] < γ[η]+1 "
             "for a small A₀ (likewise B₁ = B₀ when A₀ = 0). Both bounds, and γ[δ₁] ≥ γ[δ₃], "
             "hold from t = 2 on; δ₁ at t = 1 is s + η + γ[A₀Z] (predict's gamma_t(1)).",
    ),
    Statement(
        "sl-eq5", "Stable-LoRA Eq. (5)",
        "“Based on the induction relations of Equation (4), we have the following two "
        "equivalent condition pairs: γ[A_tZ] = γ[η] + 1 ⇔ γ[A₀Z] ≤ γ[η] + 1; γ[B_t] = γ[η] "
        "⇔ γ[B₀] ≤ γ[η] (5)” — at every step t ≥ 1.",
        (Claim("γ[A_tZ] = γ[η]+1 ⇒ γ[A₀Z] ≤ γ[η]+1 at every t ≥ 1", "steps",
               check=_every(PATTERNS, 1, "A0Z <= eta + 1", "{AtZ} = eta + 1")),
         Claim("γ[A₀Z] ≤ γ[η]+1 ⇒ γ[A_tZ] = γ[η]+1 at every t ≥ 1 (A₀, B₀ not both 0)",
               "steps", check=_every(NOT_BOTH_ZERO, 1, "{AtZ} = eta + 1", "A0Z <= eta + 1"),
               expect=False, against_paper=True),
         Claim("γ[A₀Z] ≤ γ[η]+1 ⇒ γ[A_tZ] = γ[η]+1 at every t ≥ 2 (A₀, B₀ not both 0)",
               "steps", check=_every(NOT_BOTH_ZERO, 2, "{AtZ} = eta + 1", "A0Z <= eta + 1")),
         Claim("γ[B_t] = γ[η] ⇒ γ[B₀] ≤ γ[η] at every t ≥ 1", "steps",
               check=_every(PATTERNS, 1, "B0 <= eta", "{Bt} = eta")),
         Claim("γ[B₀] ≤ γ[η] ⇒ γ[B_t] = γ[η] at every t ≥ 1 (A₀, B₀ not both 0)", "steps",
               check=_every(NOT_BOTH_ZERO, 1, "{Bt} = eta", "B0 <= eta"), expect=False,
               against_paper=True),
         Claim("γ[B₀] ≤ γ[η] ⇒ γ[B_t] = γ[η] at every t ≥ 2 (A₀, B₀ not both 0)", "steps",
               check=_every(NOT_BOTH_ZERO, 2, "{Bt} = eta", "B0 <= eta"))),
        note="The ⇐ directions fail at t = 1 when the other init is 0 (B₀ = 0 ⇒ A₁ = A₀; "
             "A₀ = 0 ⇒ B₁ = B₀), the gap of sl-eq4; the ⇒ directions hold at every step.",
    ),
    Statement(
        "sl-cases", "Stable-LoRA Sec. 3.2, Case 1 / Case 2",
        "“to satisfy Equation (3), Equation (5) must both hold or neither … Hence, there are "
        "only two acceptable cases for A₀ and B₀: Case 1. γ[A₀Z] ≤ γ[η] + 1 and γ[B₀] ≤ γ[η]; "
        "Case 2. γ[A₀Z] > γ[η] + 1 and γ[B₀] > γ[η]” (closed form of Eq. 4, t ≥ 2).",
        (Claim("Eq. (3) ⇒ Case 1", "implies", hyp=f"{CLOSED}; {EQ3}", concl=CASE1,
               nullable=INITS),
         Claim("Case 2 ∧ Eq. (3) is satisfiable", "sat", hyp=f"{CLOSED}; {EQ3}; {CASE2}",
               nullable=INITS, expect=False),
         Claim("Case 2 ⇒ γ[δ₁] = γ[δ₂]", "implies",
               hyp=f"{CLOSED}; {DELTAS}; {NORMALISED}; {CASE2}", concl="d1 = d2",
               nullable=INITS, show=SHOW + ",d1,d2", expect=False, against_paper=True),
         Claim("Case 2 with γ[A₀Z] = γ[B₀] + 1 ⇒ γ[δ₁] = γ[δ₂]", "implies",
               hyp=f"{CLOSED}; {DELTAS}; {NORMALISED}; {CASE2}; A0Z = B0 + 1",
               concl="d1 = d2", nullable=INITS)),
        note="The paper calls Case 2 'acceptable' (undesirable but allowed); in fact Case 2 "
             "contradicts Eq. (3) (δ₃ < δ₁) and gives γ[δ₁] = γ[δ₂] only when "
             "γ[A₀Z] = γ[B₀] + 1.",
    ),
    Statement(
        "sl-mixed-case", "Stable-LoRA Sec. 3.2, why a mixed case fails",
        "“if only one of them is an equation, then we will definitely have γ[A_tZ] ≠ γ[B_t] "
        "+ 1, which leads to an undesirable situation that γ[δ₁] ≠ γ[δ₂]” (closed form, t ≥ 2).",
        (Claim("A in Case 1, B not ⇒ γ[δ₁] < γ[δ₂]", "implies",
               hyp=f"{CLOSED}; {DELTAS}; {NORMALISED}; A0Z <= eta + 1; B0 > eta",
               concl="d1 < d2", nullable=INITS),
         Claim("B in Case 1, A not ⇒ γ[δ₁] > γ[δ₂]", "implies",
               hyp=f"{CLOSED}; {DELTAS}; {NORMALISED}; A0Z > eta + 1; B0 <= eta",
               concl="d1 > d2", nullable=INITS)),
    ),
    Statement(
        "sl-eq6", "Stable-LoRA Eq. (6), Sec. 3.2",
        "“if Case 1 is satisfied, the left-hand side conditions of Equation (5) are also "
        "satisfied … γ[δ₁] = γ[δ₂] = γ[δ₃] = γ[s] + 2γ[η] + 1 (6)” — at every step t ≥ 1 "
        "(where Eq. 4 applies).",
        (Claim("Case 1 ⇒ Eq. (6) at every t ≥ 1 (A₀, B₀ not both 0)", "steps",
               check=_every(NOT_BOTH_ZERO, 1, EQ6, CASE1), expect=False, against_paper=True),
         Claim("Case 1 ⇒ Eq. (6) at every t ≥ 2 (A₀, B₀ not both 0)", "steps",
               check=_every(NOT_BOTH_ZERO, 2, EQ6, CASE1)),
         Claim("Case 1 with A₀ = B₀ = 0 ⇒ Eq. (6) at some step", "steps",
               check=_every(_one(True, True), 1, EQ6, CASE1), expect=False)),
        note="At t = 1 a zero init has not been moved yet (B₀ = 0 ⇒ A₁ = A₀; A₀ = 0 ⇒ B₁ = B₀), "
             "so δ₁ (or δ₂) is below s + 2η + 1 unless the other init sits on the Case 1 "
             "boundary. The zero-zero init never moves (the saddle the paper names in Sec. 4).",
    ),
    Statement(
        "sl-thm3.1", "Stable-LoRA Theorem 3.1 and Definition 1",
        "“LoRA can naturally achieve and sustain stable feature learning, if … γ[s] + 2γ[η] + "
        "1 = 0, and … γ[A₀Z] ≤ γ[η] + 1 and γ[B₀] ≤ γ[η]”, with Definition 1: “ΔY_t = Θ(1) "
        "for all training steps t” (t = 0, 1, 2, …).",
        (Claim("A₀, B₀ ≠ 0: γ[ΔY_t] = 0 at every t ≥ 0", "steps",
               check=_every(_one(False, False), 0, "{dY} = 0", THM)),
         Claim("B₀ = 0 (the common init): γ[ΔY_t] = 0 at every t ≥ 0", "steps",
               check=_every(_one(False, True), 0, "{dY} = 0", THM), expect=False,
               against_paper=True),
         Claim("B₀ = 0: γ[ΔY_t] = 0 at every t ≥ 1", "steps",
               check=_every(_one(False, True), 1, "{dY} = 0", THM)),
         Claim("A₀ = 0: γ[ΔY_t] = 0 at every t ≥ 0", "steps",
               check=_every(_one(True, False), 0, "{dY} = 0", THM), expect=False,
               against_paper=True),
         Claim("A₀ = 0: γ[ΔY_t] = 0 at every t ≥ 1", "steps",
               check=_every(_one(True, False), 1, "{dY} = 0", THM)),
         Claim("A₀ = B₀ = 0 (a saddle: no gradient ever): γ[ΔY_t] = 0 at every t ≥ 1", "steps",
               check=_every(_one(True, True), 1, "{dY} = 0", THM), expect=False,
               against_paper=True),
         Claim("not in the paper: Eq. (3) at t ≥ 2 ⇒ the theorem's conditions", "implies",
               hyp=f"{CLOSED}; {DELTAS}; {NORMALISED}; d1 = 0; d2 = 0; d3 = 0",
               concl=f"s + 2*eta + 1 = 0; {CASE1}", nullable=INITS),
         Claim("not in the paper: Definition 1 alone at t ≥ 2 (γ[ΔY] = 0) ⇒ the conditions",
               "implies", hyp=f"{CLOSED}; {DELTAS}; {NORMALISED}; dY = 0",
               concl=f"s + 2*eta + 1 = 0; {CASE1}", nullable=INITS, show=SHOW,
               expect=False)),
        note="Definition 1 quantifies over all training steps, the first update t = 0 "
             "included. With B₀ = 0 (the common init) g_A⁰ = 0, so ΔY₀ = δ₁ = "
             "Θ(n^{s+η+γ[A₀Z]}) vanishes unless γ[A₀Z] = γ[η] + 1 (likewise A₀ = 0 needs "
             "γ[B₀] = γ[η]); from t = 1 on the theorem holds for every exponent value, except "
             "A₀ = B₀ = 0, the saddle the paper excludes only in Sec. 4. Definition 1 is weaker "
             "than Eq. (3): one dominant δ suffices, so a stable run need not satisfy the "
             "theorem's conditions (the last claim).",
    ),
    Statement(
        "sl-kaiming-lower-bound", "Stable-LoRA Sec. 4, non-zero A₀",
        f"A₀ with σ² = 1/n gives γ[A₀Z] = {_SEC4} (CLT), so Case 1 needs γ[η] ≥ −1; the "
        f"experiments' U[−1/n, 1/n] init has γ[A₀Z] = {_SEC5} and needs only γ[η] ≥ −3/2.",
        (Claim("σ² = 1/n: Case 1 ⇒ γ[η] ≥ −1 (and γ[s] ≤ 1 under the theorem)", "implies",
               hyp=f"A0Z = {_SEC4}; A0Z <= eta + 1; s + 2*eta + 1 = 0",
               concl="eta >= -1; s <= 1"),
         Claim("U[−1/n, 1/n]: Case 1 ⇒ γ[η] ≥ −1", "implies",
               hyp=f"A0Z = {_SEC5}; A0Z <= eta + 1", concl="eta >= -1", expect=False,
               against_paper=True),
         Claim("U[−1/n, 1/n]: Case 1 ⇒ γ[η] ≥ −3/2", "implies",
               hyp=f"A0Z = {_SEC5}; A0Z <= eta + 1", concl="eta >= -3/2")),
        note="Sec. 4 argues with σ² = n⁻¹ (γ[A₀Z] = 0); Sec. 5 samples A₀ from U[−1/n, 1/n] "
             "(σ ∝ n⁻¹, γ[A₀Z] = −1/2): the lower bound on γ[η] is −1 for the first, −3/2 "
             "for the second.",
    ),
    Statement(
        "sl-shrink-bound", "Stable-LoRA Sec. 4, after N shrink steps",
        "“γ[A_NZ] = max(Nγ[1 − λ] + γ[A₀Z], γ[η] + 1). With N and/or λ sufficiently large, "
        "Nγ[1 − λ] + γ[A₀Z] will finally drop below γ[η] + 1, and hence stable feature "
        "learning is achieved from step N + 1 onward and persists throughout the rest of "
        "training” — Sec. 4's init B₀ = 0; l = γ[1 − λ] ≤ 0, L = N·l.",
        (Claim("the bound at N = 1 with B₀ = 0 (A₁ = (1−λ)A₀: g_A⁰ = 0)", "implies",
               hyp="A1Z = l + A0Z; l <= 0; L = l", concl="A1Z = max(L + A0Z, eta + 1)",
               show="eta,A0Z,l", expect=False, against_paper=True),
         Claim("the bound at N = 2 with B₀ = 0", "implies",
               hyp="A1Z = l + A0Z; A2Z = max(l + A1Z, eta + 1); l <= 0; L = 2*l",
               concl="A2Z = max(L + A0Z, eta + 1)"),
         Claim("the bound, induction step N → N + 1 (g_A ≠ 0 from t = 1)", "implies",
               hyp="ANZ = max(L + A0Z, eta + 1); AN1Z = max(l + ANZ, eta + 1); l <= 0",
               concl="AN1Z = max(L + l + A0Z, eta + 1)"),
         Claim("dropped below ⇒ γ[ΔY_t] = 0 at every t ≥ N + 1 (with γ[s] + 2γ[η] + 1 = 0)",
               "steps", check=_every(_one(False, True), 2, "{dY} = 0",
                                     "s + 2*eta + 1 = 0; L <= 0; L + A0Z < eta + 1",
                                     show="eta,s,A0Z,L", models=SHRUNK)),
         Claim("the same already at t = N", "steps",
               check=_every(_one(False, True), 1, "{dY} = 0",
                            "s + 2*eta + 1 = 0; L <= 0; L + A0Z < eta + 1",
                            show="eta,s,A0Z,L", models=SHRUNK))),
        note="The paper's 'with N and/or λ sufficiently large' must be read as N·ln(1/(1−λ)) "
             "growing like ln n: with (1−λ)^N = n^L, a fixed λ and N give L = 0 and change "
             "nothing, so N = Θ(log n) steps. At N = 1 with B₀ = 0 the bound overstates A₁Z "
             "(no gradient yet); from N = 2 it is exact. Steps N + 1, N + 2, … are unrolled "
             "from the state after the last shrink (γ[B_N] = γ[η], Kaiming A₀ ≠ 0).",
    ),
    Statement(
        "sl-stop-condition", "Stable-LoRA Sec. 4 / Algorithm 1, the stop condition",
        "“Shrinkage is applied at every step until a stable condition is met: … ‖A‖_F/n ≤ "
        "‖B‖_F/m … Since γ[δ₂] = 0 is always ensured, satisfying this condition also "
        "guarantees γ[δ₁] = 0.” In γ terms (per entry, r = Θ(1)) the condition is γ[A] − 1/2 "
        "≤ γ[B] − γ[m]/2, i.e. γ[A_t] ≤ γ[B_t] for m = n.",
        (Claim("‖·‖_F in γ terms: ‖A‖_F² sums r·n positive squares (aligned, +1)", "equivalent",
               given="nA = (2*a + 1)/2 - 1; nB = (2*b + 1)/2 - 1",
               hyp="nA <= nB", concl="a <= b"),
         Claim("after the stop, A is in Case 1", "implies",
               hyp="aN = max(L + a0, eta); bN = max(b0, eta); aN <= bN; b0 <= eta; L <= 0; "
                   "ANZ = max(L + a0 + 1/2, eta + 1)",
               concl="ANZ = eta + 1", nullable="a0,b0"),
         Claim("the stop needs L < 0 (N growing with n) when γ[A₀] > γ[η]", "implies",
               hyp="aN = max(L + a0, eta); bN = max(b0, eta); aN <= bN; b0 <= eta; a0 > eta",
               concl="L <= eta - a0; L < 0", nullable="b0"),
         Claim("with B₀ outside Case 1 the stop does not give Case 1 for A", "implies",
               hyp="aN = max(L + a0, eta); bN = max(b0, eta); aN <= bN; L <= 0; "
                   "ANZ = max(L + a0 + 1/2, eta + 1)",
               concl="ANZ = eta + 1", nullable="a0,b0", show="eta,a0,b0", expect=False,
               against_paper=True)),
        note="The paper's 'since γ[δ₂] = 0 is always ensured, this condition also guarantees "
             "γ[δ₁] = 0' needs γ[B_t] = γ[η] (B₀ = 0 or small); with a large B₀ the stop "
             "fires while A₀'s remnant still dominates A_tZ.",
    ),
)
