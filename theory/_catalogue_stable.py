"""Catalogue entries for Stable-LoRA (ICLR 2026): Eq. (1)–(6), Theorem 3.1 and Section 4.

Symbols: eta = γ[η], s = γ[s], A0Z = γ[A₀Z], B0 = γ[B₀] (nullable: zero inits), AtZ, Bt
at step t, gAZ = γ[g_A Z], gB = γ[g_B], d1, d2, d3, dY = γ[δ₁], γ[δ₂], γ[δ₃], γ[ΔY].
"""

from __future__ import annotations

from fractions import Fraction

from ._catalogue import Claim, Statement
from ._maxplus import GammaExpr, contract

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

STATEMENTS = (
    Statement(
        "sl-eq1", "Stable-LoRA Eq. (1)",
        "ΔY_t = −sη g_B A_tZ − sη B_t g_A Z + sη² g_B g_A Z; γ[ΔY] = max of the three terms "
        "under no cancellation, only ≤ otherwise.",
        (Claim("the expansion, with non-commuting matrices", "algebra", check=_eq1_algebra),
         Claim("no cancellation: γ[ΔY] = max(γ[δ₁], γ[δ₂], γ[δ₃]) ≥ each term", "implies",
               hyp="dY = max(d1, d2, d3)", concl="dY >= d1; dY >= d2; dY >= d3",
               nullable="d1,d2,d3,dY")),
        note="The paper's first line writes s(A_t − ηg_A)(B_t − ηg_B)Z − sA_tB_tZ, which does not "
             "type-check for A ∈ ℝ^{r×n}, B ∈ ℝ^{m×r}; the second line is the expansion of "
             "s(B_t − ηg_B)(A_t − ηg_A)Z − sB_tA_tZ.",
    ),
    Statement(
        "sl-eq2-eq3", "Stable-LoRA Eq. (2)–(3), Assumption 1",
        "With γ[g_B] = 0 and γ[g_A Z] = 1, the three conditions δᵢ = Θ(1) of Eq. (2) are "
        "exactly Eq. (3).",
        (Claim("Eq. (2) ⇔ Eq. (3) under γ[g_B] = 0 and Assumption 1", "equivalent",
               given=f"{DELTAS}; {NORMALISED}", hyp="d1 = 0; d2 = 0; d3 = 0", concl=EQ3),),
    ),
    Statement(
        "sl-eq4", "Stable-LoRA Eq. (4)",
        "γ[A_tZ] = max(γ[A_{t−1}Z], γ[η]+1), γ[B_t] = max(γ[B_{t−1}], γ[η]): by induction the "
        "closed form max(γ[A₀Z], γ[η]+1), max(γ[B₀], γ[η]); hence γ[δ₁], γ[δ₂] ≥ γ[δ₃].",
        (Claim("induction step of the closed form for A_tZ", "implies",
               hyp="AtZ = max(Atm1Z, eta + 1); Atm1Z = max(A0Z, eta + 1)",
               concl="AtZ = max(A0Z, eta + 1)", nullable="A0Z"),
         Claim("induction step of the closed form for B_t", "implies",
               hyp="Bt = max(Btm1, eta); Btm1 = max(B0, eta)", concl="Bt = max(B0, eta)",
               nullable="B0"),
         Claim("γ[A_tZ] ≥ γ[η] + 1 and γ[B_t] ≥ γ[η]", "implies",
               hyp="AtZ = max(Atm1Z, eta + 1); Bt = max(Btm1, eta)",
               concl="AtZ >= eta + 1; Bt >= eta", nullable="Atm1Z,Btm1"),
         Claim("γ[δ₁] ≥ γ[δ₃] and γ[δ₂] ≥ γ[δ₃]", "implies",
               hyp=f"{DELTAS}; {NORMALISED}; AtZ >= eta + 1; Bt >= eta",
               concl="d1 >= d3; d2 >= d3")),
    ),
    Statement(
        "sl-eq4-first-step", "Stable-LoRA Eq. (4) at t = 1",
        "Eq. (4) assumes γ[g_A^{t−1}Z] = 1 at every step; with B₀ = 0 the first gradient g_A⁰ "
        "is exactly 0, so γ[A₁Z] = γ[A₀Z] and γ[A₁Z] ≥ γ[η]+1 fails.",
        (Claim("B₀ = 0 ⇒ γ[A₁Z] ≥ γ[η] + 1", "implies",
               hyp="A1Z = max(A0Z, eta + gA0Z); gA0Z <= B0 + 1; gA0Z <= 1; B0 = -inf",
               concl="A1Z >= eta + 1", nullable="A0Z,B0,gA0Z", show="eta,A0Z,B0",
               expect=False, against_paper=True),
         Claim("from t = 2 on (B₁ ≠ 0) the bound holds again", "implies",
               hyp="A2Z = max(A1Z, eta + 1); A1Z = A0Z", concl="A2Z >= eta + 1",
               nullable="A0Z,A1Z")),
        note="A transient, not a flaw in the conclusions: δ₁ at t = 1 is s+η+γ[A₀Z], smaller "
             "than later steps when γ[A₀Z] < γ[η]+1 (predict() reports it as gamma_t(1)).",
    ),
    Statement(
        "sl-eq5", "Stable-LoRA Eq. (5)",
        "γ[A_tZ] = γ[η]+1 ⇔ γ[A₀Z] ≤ γ[η]+1, and γ[B_t] = γ[η] ⇔ γ[B₀] ≤ γ[η].",
        (Claim("A_tZ equivalence", "equivalent", given="AtZ = max(A0Z, eta + 1)",
               hyp="AtZ = eta + 1", concl="A0Z <= eta + 1", nullable="A0Z"),
         Claim("B_t equivalence", "equivalent", given="Bt = max(B0, eta)", hyp="Bt = eta",
               concl="B0 <= eta", nullable="B0")),
    ),
    Statement(
        "sl-cases", "Stable-LoRA Sec. 3.2, Case 1 / Case 2",
        "Eq. (3) forces Case 1; Case 2 can never meet Eq. (3), and balances δ₁ = δ₂ only on "
        "the hyperplane γ[A₀Z] = γ[B₀] + 1.",
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
        "If exactly one of the Eq. (5) conditions holds, γ[A_tZ] ≠ γ[B_t] + 1, so γ[δ₁] ≠ γ[δ₂].",
        (Claim("A in Case 1, B not ⇒ γ[δ₁] < γ[δ₂]", "implies",
               hyp=f"{CLOSED}; {DELTAS}; {NORMALISED}; A0Z <= eta + 1; B0 > eta",
               concl="d1 < d2", nullable=INITS),
         Claim("B in Case 1, A not ⇒ γ[δ₁] > γ[δ₂]", "implies",
               hyp=f"{CLOSED}; {DELTAS}; {NORMALISED}; A0Z > eta + 1; B0 <= eta",
               concl="d1 > d2", nullable=INITS)),
    ),
    Statement(
        "sl-eq6", "Stable-LoRA Eq. (6)",
        "In Case 1, γ[δ₁] = γ[δ₂] = γ[δ₃] = γ[s] + 2γ[η] + 1.",
        (Claim("Case 1 ⇒ Eq. (6)", "implies", hyp=f"{CLOSED}; {DELTAS}; {NORMALISED}; {CASE1}",
               concl="d1 = s + 2*eta + 1; d2 = s + 2*eta + 1; d3 = s + 2*eta + 1",
               nullable=INITS),),
    ),
    Statement(
        "sl-thm3.1", "Stable-LoRA Theorem 3.1",
        "γ[s] + 2γ[η] + 1 = 0 and Case 1 ⇒ γ[ΔY_t] = 0 for all t (self-stability); the "
        "converse holds for Eq. (3) but not for Definition 1 alone.",
        (Claim("t ≥ 2 (closed form of Eq. 4)", "implies",
               hyp=f"{CLOSED}; {DELTAS}; {NORMALISED}; s + 2*eta + 1 = 0; {CASE1}",
               concl="dY = 0", nullable=INITS),
         Claim("t = 1 with A₀, B₀ ≠ 0", "implies", hyp=_t1_system("A0Z", "B0"),
               concl="dY = 0", nullable=T1_NULLABLE),
         Claim("t = 1 with B₀ = 0 (g_A⁰ = 0)", "implies", hyp=_t1_system("A0Z", "-inf"),
               concl="dY = 0", nullable=T1_NULLABLE),
         Claim("t = 1 with A₀ = 0 (g_B⁰ = 0)", "implies", hyp=_t1_system("-inf", "B0"),
               concl="dY = 0", nullable=T1_NULLABLE),
         Claim("t = 1 with A₀ = B₀ = 0 (a saddle: no gradient ever)", "implies",
               hyp=_t1_system("-inf", "-inf"), concl="dY = 0", nullable=T1_NULLABLE,
               show=SHOW, expect=False, against_paper=True),
         Claim("converse: Eq. (3) ⇒ the theorem's conditions", "implies",
               hyp=f"{CLOSED}; {DELTAS}; {NORMALISED}; d1 = 0; d2 = 0; d3 = 0",
               concl=f"s + 2*eta + 1 = 0; {CASE1}", nullable=INITS),
         Claim("converse from Definition 1 alone: γ[ΔY] = 0 ⇒ the conditions", "implies",
               hyp=f"{CLOSED}; {DELTAS}; {NORMALISED}; dY = 0",
               concl=f"s + 2*eta + 1 = 0; {CASE1}", nullable=INITS, show=SHOW,
               expect=False)),
        note="The theorem holds for every exponent value except the zero-zero init, which the "
             "paper itself excludes in Sec. 4 (A = B = 0 is a saddle with zero gradient). "
             "Definition 1 (γ[ΔY] = 0) is weaker than Eq. (3): one dominant δ suffices, so a "
             "stable run need not satisfy the theorem's conditions.",
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
        "sl-shrink-bound", "Stable-LoRA Sec. 4, γ[A_NZ] after N shrink steps",
        "γ[A_NZ] = max(N·γ[1−λ] + γ[A₀Z], γ[η]+1) with L = N·γ[1−λ] ≤ 0: a fixed λ and N "
        "give L = 0 and change nothing; it takes L ≤ γ[η]+1 − γ[A₀Z], i.e. λ or N scaling "
        "with n.",
        (Claim("fixed λ, fixed N (L = 0): the bound equals the unshrunk γ[A_tZ]", "implies",
               hyp="ANZ = max(L + A0Z, eta + 1); L = 0", concl="ANZ = max(A0Z, eta + 1)",
               nullable="A0Z"),
         Claim("fixed λ, fixed N repairs Case 2 of A", "implies",
               hyp="ANZ = max(L + A0Z, eta + 1); L = 0; A0Z > eta + 1",
               concl="ANZ = eta + 1", nullable="A0Z", expect=False),
         Claim("L + γ[A₀Z] ≤ γ[η] + 1 ⇔ γ[A_NZ] = γ[η] + 1", "equivalent",
               given="ANZ = max(L + A0Z, eta + 1); L <= 0", hyp="L + A0Z <= eta + 1",
               concl="ANZ = eta + 1", nullable="A0Z")),
        note="The paper's 'with N and/or λ sufficiently large' must be read as N·ln(1/(1−λ)) "
             "growing like ln n: with (1−λ)^N = n^L, a fixed λ needs N = Θ(log n) steps. Its "
             "bound γ[ΔZ] ≤ γ[g_A Z] for the sum Δ of N − 1 terms holds up to that log factor.",
    ),
    Statement(
        "sl-stop-condition", "Stable-LoRA Sec. 4 / Algorithm 1, the stop condition",
        "‖A‖_F/n ≤ ‖B‖_F/m is γ[A] − 1/2 ≤ γ[B] − γ[m]/2 (per-entry exponents, r = Θ(1)); "
        "with m = n it is γ[A_t] ≤ γ[B_t]. After it fires with γ[B₀] ≤ γ[η], γ[A_tZ] = γ[η]+1.",
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
