"""Eq. (4)'s recursion unrolled symbolically from t = 0, so catalogue claims cover every step.

The normalised-optimizer recursion of :mod:`theory._predict` (Stable-LoRA Eq. 1–4 with
Assumption 1; ICML Eq. 3, 15–16), run on γ-expressions instead of numbers:

    γ[g_A^t Z] = 1 unless B_t = 0 (then g_A^t = 0),   γ[g_B^t] = 0 unless A_t = 0,
    γ[A_{t+1}Z] = max(γ[A_tZ], γ[η_A] + γ[g_A^t Z]),  γ[B_{t+1}] = max(γ[B_t], γ[η_B] + γ[g_B^t]),
    δ₁ = s + η_B + g_B + A_tZ,  δ₂ = s + η_A + B_t + g_A Z,  δ₃ = s + η_A + η_B + g_B + g_A Z.

Which gradients vanish depends only on which of A₀, B₀ is exactly 0, so each zero pattern is
unrolled on its own. The unrolling stops at the first T whose state (A_TZ, B_T) is
syntactically the state of T + 1: the recursion is a function of the state, so every later
step repeats row T (induction), and a claim checked at t = t₀ … T holds for every t ≥ t₀.

>>> rows = unroll(Model(zero_B=True))
>>> [str(r["AtZ"]) for r in rows]
['A0Z', 'A0Z', 'max(A0Z, eta + 1)', 'max(A0Z, eta + 1)']
"""

from __future__ import annotations

from dataclasses import dataclass

from ._maxplus import GammaExpr, gmax
from ._parse import parse_expr, parse_system
from ._solver import Cell, implies, satisfiable, solve

__all__ = ["PATTERNS", "Model", "check_steps", "unroll"]

_HORIZON = 6  # the recursion is stationary from t = 2; more means a bug, not a slow case
_NEG = GammaExpr.const("-oo")

#: zero patterns of (A₀, B₀): (A₀ = 0, B₀ = 0, words)
PATTERNS = ((False, False, "A₀ ≠ 0, B₀ ≠ 0"), (False, True, "B₀ = 0"),
            (True, False, "A₀ = 0"), (True, True, "A₀ = B₀ = 0"))
NOT_BOTH_ZERO = PATTERNS[:3]


@dataclass(frozen=True)
class Model:
    """One configuration as γ-expressions (strings in the system syntax).

    ``a0``/``b0`` name the init symbols the zero pattern constrains; ``A0Z``/``B0`` are
    γ[A₀Z] and γ[B₀] in terms of them (the ICML paper's Lemma 2 gives A0Z = "A0 + 1").
    ``start`` replaces the state at the first step (labelled ``t0``), e.g. after shrinkage.
    """

    etaA: str = "eta"
    etaB: str = "eta"
    s: str = "s"
    A0Z: str = "A0Z"
    B0: str = "B0"
    a0: str = "A0Z"
    b0: str = "B0"
    zero_A: bool = False
    zero_B: bool = False
    start: tuple[str, str] | None = None
    t0: int = 0

    def with_zeros(self, zero_A: bool, zero_B: bool) -> Model:
        """The same model with another zero pattern of the inits."""
        return Model(self.etaA, self.etaB, self.s, self.A0Z, self.B0, self.a0, self.b0,
                     zero_A, zero_B, self.start, self.t0)

    @property
    def pattern(self) -> str:
        """The zero pattern as constraints on the nullable init symbols."""
        return (f"{self.a0} {'=' if self.zero_A else '>'} -inf; "
                f"{self.b0} {'=' if self.zero_B else '>'} -inf")


def unroll(m: Model) -> list[dict[str, GammaExpr]]:
    """Rows for t = t0 … T + 1 (T the first step whose state the next step repeats).

    Keys: AtZ, Bt, gAZ, gB, d1, d2, d3, dY (Stable-LoRA Eq. 1 terms) and ZB = γ[B_tA_tZ]
    (ICML Eq. 3, Lemma 1 over r).
    """
    etaA, etaB, s = parse_expr(m.etaA), parse_expr(m.etaB), parse_expr(m.s)
    if m.start is not None:
        aZ, b = parse_expr(m.start[0]), parse_expr(m.start[1])
    else:
        aZ = _NEG if m.zero_A else parse_expr(m.A0Z)
        b = _NEG if m.zero_B else parse_expr(m.B0)
    rows: list[dict[str, GammaExpr]] = []
    for _ in range(_HORIZON):
        gAZ = GammaExpr.const(1) if not b.is_neg_inf else _NEG  # Assumption 1
        gB = GammaExpr.const(0) if not aZ.is_neg_inf else _NEG  # Sec. 2.4
        d1, d2, d3 = s + etaB + gB + aZ, s + etaA + b + gAZ, s + etaA + etaB + gB + gAZ
        rows.append({"AtZ": aZ, "Bt": b, "gAZ": gAZ, "gB": gB, "d1": d1, "d2": d2, "d3": d3,
                     "dY": gmax(d1, d2, d3), "ZB": b + aZ})
        if len(rows) > 1 and (rows[-1]["AtZ"], rows[-1]["Bt"]) == (rows[-2]["AtZ"], rows[-2]["Bt"]):
            return rows
        aZ, b = gmax(aZ, etaA + gAZ), gmax(b, etaB + gB)
    raise AssertionError(f"the recursion of {m} is not stationary within {_HORIZON} steps")


def _fill(template: str, rows: dict[str, dict[str, GammaExpr]]) -> str:
    """``{d1}`` → the row's δ₁ in parentheses; ``{ref_d1}`` → the same from the row ``ref``."""
    values = {k: f"({v})" for k, v in rows[""].items()}
    values.update({f"{name}_{k}": f"({v})" for name, row in rows.items() if name
                   for k, v in row.items()})
    return template.format(**values)


def _rows_at(models: dict[str, Model], t: int) -> dict[str, dict[str, GammaExpr]]:
    out = {}
    for name, m in models.items():
        rows = unroll(m)
        out[name] = rows[min(t - m.t0, len(rows) - 1)]
    return out


def _last(models: dict[str, Model]) -> int:
    return max(m.t0 + len(unroll(m)) - 2 for m in models.values())


def check_steps(
    models: dict[str, Model],
    patterns: tuple[tuple[bool, bool, str], ...],
    *,
    hyp: str = "",
    concl: str = "",
    t_from: int,
    mode: str = "each",
    nullable: str = "",
    show: str = "",
) -> tuple[bool, str, Cell | None]:
    """Decide a claim at every step t ≥ ``t_from`` for each zero pattern, exactly.

    ``models`` maps "" (the main model) and optional names (``ref``: the same configuration
    at other rates) to models; templates refer to ``{d1}``, ``{ref_d1}``, …. Modes:
    ``each``: hyp ⇒ concl at every t (concl filled per t); ``hyp``: (hyp at every t) ⇒
    concl; ``sat``: (hyp at every t) is satisfiable for some pattern; ``fixed``: hyp ⇒
    concl at the stationary step only (a claim that some step breaks a property).

    Returns:
        (holds, detail naming the first failing step and pattern, counterexample cell).
    """
    nulls = ",".join(x for x in (nullable, *{m.a0 for m in models.values()},
                                 *{m.b0 for m in models.values()}) if x)
    checked = []
    for zero_A, zero_B, words in patterns:
        ms = {k: m.with_zeros(zero_A, zero_B) for k, m in models.items()}
        last = _last(ms)
        end = max(t_from, last)  # rows past the stationary step repeat it (_rows_at clamps)
        steps = range(end if mode == "fixed" else t_from, end + 1)
        pattern = ms[""].pattern
        if mode in ("hyp", "sat"):
            every = "; ".join(_fill(hyp, _rows_at(ms, t)) for t in steps)
            system = parse_system(f"{pattern}; {every}", nulls)
            if mode == "sat":
                if satisfiable(system):
                    cell = solve(system)[0]
                    return True, f"{words}: {'; '.join(cell.strings())}", None
                checked.append(words)
                continue
            res = implies(system, parse_system(concl, nulls))
            if not res.holds:
                return False, f"fails for {words} (hypotheses at t = {t_from}…)", _show(
                    res.counterexample, show)
            checked.append(words)
            continue
        for t in steps:
            rows = _rows_at(ms, t)
            h = "; ".join(x for x in (pattern, _fill(hyp, rows)) if x.strip())
            res = implies(parse_system(h, nulls), parse_system(_fill(concl, rows), nulls))
            if not res.holds:
                return False, f"fails at t = {t} for {words}", _show(res.counterexample, show)
        checked.append(f"{words} (t = {steps.start}…{end}, stationary from t = {last})")
    if mode == "sat":
        return False, f"unsatisfiable for {', '.join(checked)}", None
    return True, "checked " + "; ".join(checked) + "; later steps repeat the last", None


def _show(cell: Cell | None, show: str) -> Cell | None:
    if cell is None or not show:
        return cell
    return cell.project(frozenset(x.strip() for x in show.split(",")))

