"""Catalogue entries for "Beyond Zero Initialization" (ICML 2025).

Eq. (3)–(6), footnote 7, Table 1, Theorem 1, Eq. (21) and the SGD analysis Eq. (26)–(30).
The paper's convention is kept: etaA, etaB = γ[η_A], γ[η_B]; A0, B0 = γ[A₀], γ[B₀] with
γ[A₀ Z] = γ[A₀] + 1 (its Lemma 2, an aligned contraction; see ``icml-lemma2-iid``); its
δ¹ (training A) is Stable-LoRA's δ₂ and its δ² (training B) is Stable-LoRA's δ₁.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from ._catalogue import Claim, Statement
from ._solver import Cell
from ._steps import NOT_BOTH_ZERO, PATTERNS, Model, check_steps

__all__ = ["STATEMENTS"]

INITS = "A0,B0"
EQ3_DEFS = ("Bt = max(B0, etaB); AtZ = max(A0, etaA) + 1; d1 = etaA + Bt + 1; "
            "d2 = etaB + AtZ; ZB = Bt + AtZ")  # Eq. (15): Lemma 1 over r, Lemma 2 over n
EQ3 = "d1 = 0; d2 = 0; ZB = 0"
EQ4 = ("max(B0, etaB) + etaA + 1 = 0; max(A0, etaA) + etaB + 1 = 0; "
       "max(A0, etaA) + max(B0, etaB) + 1 = 0")
EQ5 = "etaA + etaB = -1; A0 <= etaA; B0 <= etaB"
UNIFORM = "etaA = etaB"
EQ6 = "etaA = -1/2; etaB = -1/2; A0 <= -1/2; B0 <= -1/2"
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

#: ICML's model unrolled from t = 0 (γ[s] = 0; γ[A₀Z] = γ[A₀] + 1 by Lemma 2, as the paper
#: derives; ``PER_ENTRY``: i.i.d. A₀ entries, γ[A₀Z] = γ[A₀] + 1/2). Its step t uses the
#: state t − 1 (Eq. 3, 15), so the paper's "t > 1" is the unrolled t ≥ 1; its δ¹ (training
#: A) is the unrolled d2, its δ² is d1.
ICML = Model(etaA="etaA", etaB="etaB", s="0", A0Z="A0 + 1", a0="A0", b0="B0")
PER_ENTRY = Model(etaA="etaA", etaB="etaB", s="0", A0Z="A0 + 1/2", a0="A0", b0="B0")
EQ3T = "{d2} = 0; {d1} = 0; {ZB} = 0"  # Eq. (3) at one step
#: Definition 5: δ¹ independent of η_B, δ² of η_A, Z_B of both (rates ≤ γ* = −1/2)
ROBUST = "{d2} = {ra_d2}; {d1} = {rb_d1}; {ZB} = {rab_ZB}"


def _refs(m: Model, at: str = "-1/2") -> dict[str, Model]:
    """The model and its copies at η_B = γ* (ra), η_A = γ* (rb), both (rab)."""
    def at_rates(a: str, b: str) -> Model:
        return Model(a, b, m.s, m.A0Z, m.B0, m.a0, m.b0)

    return {"": m, "ra": at_rates(m.etaA, at), "rb": at_rates(at, m.etaB),
            "rab": at_rates(at, at)}


def _every(patterns: tuple[tuple[bool, bool, str], ...], t_from: int, concl: str = "",
           hyp: str = "", mode: str = "each", models: dict[str, Model] | None = None,
           show: str = "etaA,etaB,A0,B0") -> Callable[[], tuple[bool, str, Cell | None]]:
    """The check of a claim over the unrolled steps (see :func:`theory._steps.check_steps`)."""
    return partial(check_steps, models or {"": ICML}, patterns, hyp=hyp, concl=concl,
                   t_from=t_from, mode=mode, show=show)


PATTERN_OF = {"Init[A]": (False, True), "Init[B]": (True, False), "Init[AB]": (False, False)}


def _table1_claims() -> tuple[Claim, ...]:
    out = []
    for init, (stab, eff, rob) in TABLE1.items():
        h, pat = INIT[init], tuple(p for p in PATTERNS if p[:2] == PATTERN_OF[init])
        late = init == "Init[A]"  # B₀ = 0: A₁ = A₀, so t = 2 still sees the init
        for what, cond, holds in (("stability", "{ZB} = 0", stab),
                                  ("efficiency", EQ3T, eff)):
            out.append(Claim(f"{init} {what} (some uniform η, every t > 1)", "steps",
                             check=_every(pat, 1, hyp=f"{h}; {UNIFORM}; {cond}", mode="sat"),
                             expect=holds and not late, against_paper=holds and late))
            if late:
                out.append(Claim(f"{init} {what} (some uniform η, every t > 2)", "steps",
                                 check=_every(pat, 2, hyp=f"{h}; {UNIFORM}; {cond}",
                                              mode="sat")))
        out.append(Claim(f"{init} robustness (Definition 5: all η_A, η_B ≤ −1/2, every t > 1)",
                         "steps", check=_every(pat, 1, ROBUST, f"{h}; etaA <= -1/2; "
                                               f"etaB <= -1/2", models=_refs(ICML)),
                         expect=rob))
    return tuple(out)


STATEMENTS = (
    Statement(
        "icml-eq3-eq4", "ICML Eq. (3) → (4), Definitions 3–4, Appendix B.1",
        "“A LoRA fine-tuning process is considered efficient if it is stable and, … for all "
        "t > 1, δ¹_t = Θ(1) and δ²_t = Θ(1)”; “the conditions for LoRA to achieve stability "
        "and efficiency [Eq. (3)] can be expressed as [Eq. (4)]” (with γ[g] = 0, Lemmas 1–2).",
        (Claim("Eq. (4) ⇒ Eq. (3) at every t > 1 (A₀, B₀ not both 0)", "steps",
               check=_every(NOT_BOTH_ZERO, 1, EQ3T, EQ4), expect=False, against_paper=True),
         Claim("Eq. (4) ⇒ Eq. (3) at every t > 2 (A₀, B₀ not both 0)", "steps",
               check=_every(NOT_BOTH_ZERO, 2, EQ3T, EQ4)),
         Claim("Eq. (3) at every t > 1 ⇒ Eq. (4) (A₀, B₀ not both 0)", "steps",
               check=_every(NOT_BOTH_ZERO, 1, EQ4, EQ3T, mode="hyp"))),
        note="Eq. (15) replaces B_{t−1} by max(γ[B₀], γ[η_B]) at every t > 1, but with A₀ = 0 "
             "g_B⁰ = 0 and B₁ = B₀ (with B₀ = 0, A₁ = A₀): at t = 2 δ² = γ[η_B] + γ[A₀] + 1 "
             "< 0 when γ[A₀] < γ[η_A] — e.g. Init[A] at γ[η] = −1/2. From t = 3 on, and for "
             "the converse, Eq. (4) is exact.",
    ),
    Statement(
        "icml-eq4-eq5", "ICML Eq. (4) → (5), Eq. (17)–(19)",
        "“[Eq. (4)] further leads to the following conditions: γ[η_A] + γ[η_B] = −1, γ[A₀] ≤ "
        "η_A, γ[B₀] ≤ η_B (5)” (Eq. 19 restores the γ's). A₀ = B₀ = 0 solves the γ-system and "
        "is excluded only by an extra (non-γ) argument.",
        (Claim("Eq. (4) ⇔ Eq. (5)", "equivalent", hyp=EQ4, concl=EQ5, nullable=INITS),
         Claim("Eq. (5) with A₀ = B₀ = 0 is a solution of the γ-system", "sat",
               hyp=f"{EQ5}; A0 = -inf; B0 = -inf", nullable=INITS)),
        note="Eq. (5) in the paper reads γ[A₀] ≤ η_A (a γ is missing).",
    ),
    Statement(
        "icml-eq6", "ICML Eq. (6)",
        "“By default, a uniform learning rate is used … η_A = η_B. Based on this condition, "
        "the solution to the above equations is γ[η_A] = γ[η_B] = −1/2, γ[A₀] ≤ −1/2, "
        "γ[B₀] ≤ −1/2 (6), where γ[A₀] and γ[B₀] cannot both be equal to −∞” — stability "
        "and efficiency (Eq. 3) for all t > 1.",
        (Claim("Eq. (6) ⇒ Eq. (3) at every t > 1", "steps",
               check=_every(NOT_BOTH_ZERO, 1, EQ3T, f"{UNIFORM}; {EQ6}"), expect=False,
               against_paper=True),
         Claim("Eq. (6) ⇒ Eq. (3) at every t > 2", "steps",
               check=_every(NOT_BOTH_ZERO, 2, EQ3T, f"{UNIFORM}; {EQ6}")),
         Claim("uniform η and Eq. (3) at every t > 1 ⇒ Eq. (6)", "steps",
               check=_every(NOT_BOTH_ZERO, 1, EQ6, f"{UNIFORM}; {EQ3T}", mode="hyp"))),
        note="The same first-step gap as icml-eq3-eq4: Init[A] (γ[A₀] = −1, B₀ = 0) meets "
             "Eq. (6) but at t = 2 still has A₁ = A₀, so γ[δ²] = γ[Z_B] = −1/2.",
    ),
    Statement(
        "icml-fn7", "ICML footnote 7 and LoRA+",
        "“In the case where η_A = η_B = η, Init[B] can only achieve stability when γ[η] = −1. "
        "LoRA+ … (i.e., γ[η_A] = −1 and γ[η_B] = 0), thereby enabling LoRA to achieve both "
        "stability and efficiency when using Init[B].” (fn. 7, on Eq. 4)",
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
        "“Init[B]: Stability ✓ Efficiency × Robustness ×; Init[A]: ✓ ✓ ×; Init[AB]: ✓ ✓ ✓” "
        "— Definitions 3–5 quantify over all t > 1.",
        _table1_claims(),
        note="Init values in the paper's own convention: Init[A] γ[A₀] = −1 (from σ² = 1/n, "
             "i.e. the exponent of the variance), Init[B] γ[B₀] = 0, Init[AB] γ[A₀] = γ[B₀] = "
             "−1/2 (Theorem 1: A₀ = Θ(n^{−1/2}) per entry). Init[A]'s ✓ ✓ hold from t = 3 on: "
             "at t = 2, A₁ = A₀ (g_A⁰ = 0 since B₀ = 0), so γ[Z_B¹] = γ[δ²₂] = γ[η], which "
             "no uniform η makes 0 together with the later steps. See icml-lemma2-iid and "
             "icml-thm1 for the per-entry reading.",
    ),
    Statement(
        "icml-thm1", "ICML Theorem 1 (informal) and footnote 9",
        "“A LoRA fine-tuning process optimized with Adam exhibits optimal robustness "
        "(Definition 5) to the learning rate when A₀ = Θ(n^{−1/2}) and B₀ = Θ(n^{−1/2})”; "
        "fn. 9: “Setting γ[A₀] = γ[B₀] = s < −1/2 ensures robustness only for learning rates "
        "that satisfy γ[η] ≤ s.”",
        (Claim("Lemma-2 reading (γ[A₀Z] = γ[A₀] + 1): Init[AB] robust, every t > 1", "steps",
               check=_every(NOT_BOTH_ZERO[:1], 1, ROBUST, f"{INIT['Init[AB]']}; "
                            "etaA <= -1/2; etaB <= -1/2", models=_refs(ICML))),
         Claim("per-entry reading (i.i.d. entries, γ[A₀Z] = γ[A₀] + 1/2): Init[AB] robust",
               "steps", check=_every(NOT_BOTH_ZERO[:1], 1, ROBUST, f"{INIT['Init[AB]']}; "
                                     "etaA <= -1/2; etaB <= -1/2", models=_refs(PER_ENTRY)),
               expect=False, against_paper=True),
         Claim("optimal: γ[B₀] < −1/2 (or B₀ = 0) ⇒ every γ[η_B] in (γ[B₀], −1/2) moves δ¹",
               "steps", check=_every(NOT_BOTH_ZERO, 1, "{d2} < {ra_d2}",
                                     "B0 < -1/2; B0 < etaB; etaB < -1/2; etaA <= -1/2",
                                     mode="fixed", models=_refs(ICML))),
         Claim("optimal: γ[A₀] < −1/2 (or A₀ = 0) ⇒ every γ[η_A] in (γ[A₀], −1/2) moves δ²",
               "steps", check=_every(NOT_BOTH_ZERO, 1, "{d1} < {rb_d1}",
                                     "A0 < -1/2; A0 < etaA; etaA < -1/2; etaB <= -1/2",
                                     mode="fixed", models=_refs(ICML))),
         Claim("optimal: γ[A₀] > −1/2 or γ[B₀] > −1/2 ⇒ not efficient at γ[η] = −1/2", "steps",
               check=_every(NOT_BOTH_ZERO, 1, "max({d1}, {d2}) > 0",
                            "max(A0, B0) > -1/2; etaA = -1/2; etaB = -1/2", mode="fixed")),
         Claim("fn. 9: γ[A₀] = γ[B₀] = c < −1/2 is robust for γ[η_A], γ[η_B] ≤ c", "steps",
               check=_every(NOT_BOTH_ZERO[:1], 1, ROBUST, "A0 = c; B0 = c; c < -1/2; "
                            "etaA <= c; etaB <= c", models=_refs(ICML, "c")))),
        note="In the paper's Lemma-2 convention Theorem 1 holds at every t > 1, and −1/2 is "
             "the only init that is efficient at γ[η] = −1/2 and robust (the three 'optimal' "
             "claims, for every γ[A₀], γ[B₀], not only equal ones). Read per entry, as "
             "Theorem 1 writes it (A₀ = Θ(n^{−1/2}) i.i.d., so A₀Z is a CLT sum), γ[A₀Z] = 0 "
             "and δ² = γ[η_B] + max(0, γ[η_A] + 1) moves with every γ[η_A] < −1/2 (at the "
             "reference γ[η_A] = −1/2 it is γ[η_B] + 1/2): not robust.",
    ),
    Statement(
        "icml-eq21", "ICML Eq. (21), Appendix B.2 (internal stability, LoRA+)",
        "“we additionally consider the internal stability by introducing the condition "
        "Z_A^{t−1} = A_{t−1}Z = Θ(1) … the solution set … γ[η_A] = −1, γ[η_B] = 0, γ[A₀] ≤ "
        "γ[η_A] = −1, γ[B₀] ≤ γ[η_B] = 0 (21)” (on the closed forms of Eq. 4).",
        (Claim("Eq. (4) ∧ internal stability ⇔ Eq. (21)", "equivalent",
               hyp=f"{EQ4}; max(A0, etaA) + 1 = 0",
               concl="etaA = -1; etaB = 0; A0 <= -1; B0 <= 0", nullable=INITS),),
    ),
    Statement(
        "icml-sgd-eq27-28", "ICML Eq. (26)–(28), SGD",
        "“γ[δ¹_t] + γ[δ²_t] − 2γ[f_{t−1}(x)] = γ[η_a] + γ[η_b] + 1 = 0 (27) … Using a uniform "
        "learning rate for both a and b, we have γ[η_a] = γ[η_b] = −1/2, γ[a_{t−1}] = −3/4, "
        "γ[b_{t−1}] = −1/4 (t > 1) (28)”, from the conditions (26).",
        (Claim("Eq. (26) ⇒ Eq. (27)", "implies", hyp=SGD26, concl="etaA + etaB = -1"),
         Claim("Eq. (26) ∧ uniform η ⇔ Eq. (28)", "equivalent", given=UNIFORM, hyp=SGD26,
               concl="etaA = -1/2; a = -3/4; b = -1/4")),
    ),
    Statement(
        "icml-sgd-eq29-30", "ICML Eq. (29)–(30), SGD initialisation",
        "“Solving this system of equations [(29)] yields γ[a₀] ≤ −3/4, γ[b₀] ≤ −1/4 (30), where "
        "at least one of the inequalities must hold with equality … neither Init[A] nor "
        "Init[B] can satisfy the desired conditions when using the SGD optimizer.”",
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
        "“Lemma 2. Let U ∈ ℝ^{1×n} and V ∈ ℝ^n. If U = Θ(n^α) and V = Θ(n^β), then UV = "
        "Θ(n^{α+β+1})”, applied in Eq. (15)–(16) to A₀Z. It needs entries of one sign; for "
        "zero-mean i.i.d. A₀ the contraction adds 1/2 (CLT), so Eq. (5)'s γ[A₀] ≤ γ[η_A] read "
        "per entry is sufficient but not necessary.",
        (Claim("per-entry a₀ with A₀Z = a₀ + 1/2: Case 1 ⇒ a₀ ≤ γ[η_A]", "implies",
               hyp="a0 + 1/2 <= etaA + 1", concl="a0 <= etaA", nullable="a0", expect=False,
               against_paper=True),
         Claim("Init[A] per entry (σ² = 1/n, a₀ = −1/2) satisfies Case 1 at γ[η] = −1/2", "sat",
               hyp="a0 = -1/2; a0 + 1/2 <= etaA + 1; etaA = -1/2", nullable="a0")),
        note="The paper's conclusions about Init[A] survive because it also writes γ[A₀] = −1 "
             "for σ² = 1/n, i.e. uses γ[A₀Z] − 1; Theorem 1's Θ(n^{−1/2}) is per entry.",
    ),
)
