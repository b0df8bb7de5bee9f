"""Catalogue entries for "Beyond Zero Initialization" (ICML 2025).

Eq. (3)–(6), footnote 7, Table 1, Theorem 1, Eq. (21) and the SGD analysis Eq. (26)–(30).
The paper's convention is kept: etaA, etaB = γ[η_A], γ[η_B]; A0, B0 = γ[A₀], γ[B₀] with
γ[A₀ Z] = γ[A₀] + 1 (its Lemma 2, an aligned contraction; see ``icml-lemma2-iid``); its
δ¹ (training A) is Stable-LoRA's δ₂ and its δ² (training B) is Stable-LoRA's δ₁.
"""

from __future__ import annotations

from ._catalogue import Claim, Statement

__all__ = ["STATEMENTS"]

INITS = "A0,B0"
EQ3_DEFS = ("Bt = max(B0, etaB); AtZ = max(A0, etaA) + 1; d1 = etaA + Bt + 1; "
            "d2 = etaB + AtZ; ZB = Bt + AtZ")  # Eq. (15): Lemma 1 over r, Lemma 2 over n
EQ3 = "d1 = 0; d2 = 0; ZB = 0"
EQ4 = ("max(B0, etaB) + etaA + 1 = 0; max(A0, etaA) + etaB + 1 = 0; "
       "max(A0, etaA) + max(B0, etaB) + 1 = 0")
EQ5 = "etaA + etaB = -1; A0 <= etaA; B0 <= etaB"
UNIFORM = "etaA = etaB"
STAB = "max(A0, etaA) + max(B0, etaB) + 1 = 0"  # Definition 3 alone (γ[Z_B] = 0)
INIT = {"Init[A]": "A0 = -1; B0 = -inf", "Init[B]": "A0 = -inf; B0 = 0",
        "Init[AB]": "A0 = -1/2; B0 = -1/2"}
#: Definition 5 for η_A, η_B ≤ γ* = −1/2: δ¹ must not depend on η_B, δ² not on η_A, Z_B on neither
ROBUST_H = ("etaA <= -1/2; etaB <= -1/2; d1 = max(B0, etaB) + etaA + 1; "
            "d2 = max(A0, etaA) + etaB + 1; ZB = max(A0, etaA) + max(B0, etaB) + 1")
ROBUST_C = ("d1 = max(B0, -1/2) + etaA + 1; d2 = max(A0, -1/2) + etaB + 1; "
            "ZB = max(A0, -1/2) + max(B0, -1/2) + 1")
TABLE1 = {"Init[B]": (True, False, False), "Init[A]": (True, True, False),
          "Init[AB]": (True, True, True)}
SGD26 = "etaA + 2*b + 1 = 0; etaB + 2*a + 2 = 0; b + a + 1 = 0"  # ICML Eq. (26)
SGD29 = "a1 = max(a0, etaA + b0); b1 = max(b0, etaB + a0 + 1); etaA = -1/2; etaB = -1/2"


def _table1_claims() -> tuple[Claim, ...]:
    out = []
    for init, (stab, eff, rob) in TABLE1.items():
        h = INIT[init]
        out.append(Claim(f"{init} stability (some uniform η with γ[Z_B] = 0)", "sat",
                         hyp=f"{h}; {UNIFORM}; {STAB}", nullable=INITS, expect=stab))
        out.append(Claim(f"{init} efficiency (Eq. 4 with a uniform η)", "sat",
                         hyp=f"{h}; {UNIFORM}; {EQ4}", nullable=INITS, expect=eff))
        out.append(Claim(f"{init} robustness (Definition 5 for all η_A, η_B ≤ −1/2)", "implies",
                         hyp=f"{h}; {ROBUST_H}", concl=ROBUST_C, nullable=INITS,
                         show="etaA,etaB", expect=rob))
    return tuple(out)


STATEMENTS = (
    Statement(
        "icml-eq3-eq4", "ICML Eq. (3) → (4), Appendix B.1",
        "With γ[g] = 0, Lemma 1 (over r) and Lemma 2 (over n), the stability/efficiency "
        "conditions Eq. (3) are exactly Eq. (4).",
        (Claim("Eq. (3) ⇔ Eq. (4)", "equivalent", given=EQ3_DEFS, hyp=EQ3, concl=EQ4,
               nullable=INITS),),
    ),
    Statement(
        "icml-eq4-eq5", "ICML Eq. (4) → (5), Eq. (17)–(19)",
        "Eq. (4) ⇔ γ[η_A] + γ[η_B] = −1, γ[A₀] ≤ γ[η_A], γ[B₀] ≤ γ[η_B]; A₀ = B₀ = 0 is "
        "allowed by the γ-system and excluded only by an extra (non-γ) argument.",
        (Claim("Eq. (4) ⇔ Eq. (5)", "equivalent", hyp=EQ4, concl=EQ5, nullable=INITS),
         Claim("Eq. (5) with A₀ = B₀ = 0 is a solution of the γ-system", "sat",
               hyp=f"{EQ5}; A0 = -inf; B0 = -inf", nullable=INITS)),
        note="Eq. (5) in the paper reads γ[A₀] ≤ η_A (a γ is missing).",
    ),
    Statement(
        "icml-eq6", "ICML Eq. (6)",
        "With a uniform η: γ[η] = −1/2, γ[A₀] ≤ −1/2, γ[B₀] ≤ −1/2.",
        (Claim("Eq. (5) ∧ η_A = η_B ⇔ Eq. (6)", "equivalent", given=UNIFORM, hyp=EQ5,
               concl="etaA = -1/2; etaB = -1/2; A0 <= -1/2; B0 <= -1/2", nullable=INITS),),
    ),
    Statement(
        "icml-fn7", "ICML footnote 7 and LoRA+",
        "Init[B] with a uniform η is stable (γ[Z_B] = 0) only when γ[η] = −1 and never "
        "efficient; LoRA+'s γ[η_A] = −1, γ[η_B] = 0 makes it stable and efficient.",
        (Claim("Init[B], uniform η: γ[Z_B] = 0 ⇔ γ[η] = −1", "equivalent",
               given=f"{INIT['Init[B]']}; {UNIFORM}", hyp=STAB, concl="etaA = -1",
               nullable=INITS),
         Claim("Init[B], uniform η: Eq. (4) is satisfiable", "sat",
               hyp=f"{INIT['Init[B]']}; {UNIFORM}; {EQ4}", nullable=INITS, expect=False),
         Claim("Init[B] with LoRA+ rates satisfies Eq. (4)", "implies",
               hyp=f"{INIT['Init[B]']}; etaA = -1; etaB = 0", concl=EQ4, nullable=INITS)),
    ),
    Statement(
        "icml-table1", "ICML Table 1",
        "Init[B]: stable ✓ efficient × robust ×; Init[A]: ✓ ✓ ×; Init[AB]: ✓ ✓ ✓.",
        _table1_claims(),
        note="Init values in the paper's own convention: Init[A] γ[A₀] = −1 (from σ² = 1/n, "
             "i.e. the exponent of the variance), Init[B] γ[B₀] = 0, Init[AB] γ[A₀] = γ[B₀] = "
             "−1/2 (Theorem 1: A₀ = Θ(n^{−1/2}) per entry). The two readings of γ[A₀] are "
             "inconsistent (σ² = 1/n is per-entry Θ(n^{−1/2}) in both Init[A] and Init[AB]); "
             "see icml-lemma2-iid.",
    ),
    Statement(
        "icml-thm1", "ICML Theorem 1 (informal)",
        "γ[A₀] = γ[B₀] = −1/2 gives robustness for all η_A, η_B ≤ −1/2; a common value "
        "c < −1/2 loses it (fn. 9), c > −1/2 loses efficiency.",
        (Claim("Init[AB] is robust", "implies", hyp=f"{INIT['Init[AB]']}; {ROBUST_H}",
               concl=ROBUST_C, nullable=INITS),
         Claim("c < −1/2: δ¹ at η_B = −1/2 differs from δ¹ at η_B = c", "implies",
               hyp="c < -1/2; etaA <= -1/2",
               concl="max(c, -1/2) + etaA + 1 > max(c, c) + etaA + 1"),
         Claim("c > −1/2: not efficient at γ[η] = −1/2", "sat",
               hyp=f"A0 = c; B0 = c; c > -1/2; etaA = -1/2; etaB = -1/2; {EQ4}",
               expect=False)),
    ),
    Statement(
        "icml-eq21", "ICML Eq. (21), Appendix B.2 (internal stability, LoRA+)",
        "Eq. (4) plus γ[Z_A] = 0 ⇔ γ[η_A] = −1, γ[η_B] = 0, γ[A₀] ≤ −1, γ[B₀] ≤ 0.",
        (Claim("Eq. (4) ∧ internal stability ⇔ Eq. (21)", "equivalent",
               hyp=f"{EQ4}; max(A0, etaA) + 1 = 0",
               concl="etaA = -1; etaB = 0; A0 <= -1; B0 <= 0", nullable=INITS),),
    ),
    Statement(
        "icml-sgd-eq27-28", "ICML Eq. (26)–(28), SGD",
        "The SGD conditions Eq. (26) imply γ[η_a] + γ[η_b] = −1 (Eq. 27) and, with a uniform "
        "η, γ[η] = −1/2, γ[a] = −3/4, γ[b] = −1/4 (Eq. 28).",
        (Claim("Eq. (26) ⇒ Eq. (27)", "implies", hyp=SGD26, concl="etaA + etaB = -1"),
         Claim("Eq. (26) ∧ uniform η ⇔ Eq. (28)", "equivalent", given=UNIFORM, hyp=SGD26,
               concl="etaA = -1/2; a = -3/4; b = -1/4")),
    ),
    Statement(
        "icml-sgd-eq29-30", "ICML Eq. (29)–(30), SGD initialisation",
        "γ[a₁] = −3/4, γ[b₁] = −1/4 ⇔ γ[a₀] ≤ −3/4, γ[b₀] ≤ −1/4 with at least one equality; "
        "the fixed point persists; neither Init[A] nor Init[B] qualifies.",
        (Claim("Eq. (29) ⇔ Eq. (30) (at least one equality)", "equivalent", given=SGD29,
               hyp="a1 = -3/4; b1 = -1/4",
               concl="a0 <= -3/4; b0 <= -1/4; max(a0 + 3/4, b0 + 1/4) = 0",
               nullable="a0,b0"),
         Claim("t = 2 stays at Eq. (28)", "implies",
               hyp="a1 = -3/4; b1 = -1/4; a2 = max(a1, -1/2 + b1); b2 = max(b1, -1/2 + a1 + 1)",
               concl="a2 = -3/4; b2 = -1/4"),
         Claim("Init[A] (γ[a₀] = −1, b₀ = 0) meets Eq. (29)", "sat",
               hyp=f"{SGD29}; a1 = -3/4; b1 = -1/4; a0 = -1; b0 = -inf", nullable="a0,b0",
               expect=False),
         Claim("Init[B] (a₀ = 0, γ[b₀] = 0) meets Eq. (29)", "sat",
               hyp=f"{SGD29}; a1 = -3/4; b1 = -1/4; a0 = -inf; b0 = 0", nullable="a0,b0",
               expect=False)),
        note="The SGD model of Appendix C is f(x) = b·aᵀx with one output (m = 1); for a LoRA "
             "layer with m = n outputs the raw gradient g_A = s·Bᵀ·dY·Zᵀ contracts over m, "
             "which predict(..., optimizer='sgd') takes into account (m_exp, default 1).",
    ),
    Statement(
        "icml-lemma2-iid", "ICML Lemma 2 applied to A₀Z",
        "Lemma 2 (+1 over n) needs entries of one sign; for zero-mean i.i.d. A₀ the "
        "contraction A₀Z adds 1/2 (CLT), so Eq. (5)'s γ[A₀] ≤ γ[η_A] read per entry is "
        "sufficient but not necessary.",
        (Claim("per-entry a₀ with A₀Z = a₀ + 1/2: Case 1 ⇒ a₀ ≤ γ[η_A]", "implies",
               hyp="a0 + 1/2 <= etaA + 1", concl="a0 <= etaA", nullable="a0", expect=False,
               against_paper=True),
         Claim("Init[A] per entry (σ² = 1/n, a₀ = −1/2) satisfies Case 1 at γ[η] = −1/2", "sat",
               hyp="a0 = -1/2; a0 + 1/2 <= etaA + 1; etaA = -1/2", nullable="a0")),
        note="The paper's conclusions about Init[A] survive because it also writes γ[A₀] = −1 "
             "for σ² = 1/n, i.e. uses γ[A₀Z] − 1; Theorem 1's Θ(n^{−1/2}) is per entry.",
    ),
)
