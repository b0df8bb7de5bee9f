"""The papers' statements as named catalogue entries, each decided by the engine for all values.

A :class:`Statement` is a list of :class:`Claim` s; each claim is an implication, an
equivalence, a (un)satisfiability question or a symbolic-algebra identity, with the outcome
the engine must find (``expect``). ``against_paper`` marks claims whose outcome contradicts
what the paper says: the statement's status is then ``refuted`` and the counterexample cell
is shown. A claim whose outcome differs from ``expect`` makes the statement ``FAILED``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ._parse import parse_system
from ._solver import Cell, implies, satisfiable, solve
from .errors import UnknownStatementError

__all__ = ["Claim", "ClaimResult", "Statement", "StatementResult", "catalogue", "prove"]


@dataclass(frozen=True)
class Claim:
    """One decidable claim.

    kind: ``implies`` (hyp ⇒ concl), ``equivalent`` (both ways, under ``given``),
    ``sat`` (hyp has a solution), ``algebra`` (``check()`` returns (holds, detail)),
    ``steps`` (``check()`` returns (holds, detail, counterexample cell); claims decided at
    every step of the unrolled recursion, :mod:`theory._steps`).
    ``show``: symbols a counterexample cell is projected onto (all when empty).
    """

    text: str
    kind: str
    hyp: str = ""
    concl: str = ""
    given: str = ""
    nullable: str = ""
    show: str = ""
    expect: bool = True
    against_paper: bool = False
    check: Callable[[], tuple[bool, str] | tuple[bool, str, Cell | None]] | None = field(
        default=None, compare=False)


@dataclass(frozen=True)
class Statement:
    """A catalogued statement of one of the papers."""

    name: str
    source: str
    summary: str
    claims: tuple[Claim, ...]
    note: str = ""


@dataclass(frozen=True)
class ClaimResult:
    """What the engine found for one claim."""

    claim: Claim
    holds: bool
    counterexample: Cell | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        """Whether the engine's outcome is the catalogued one."""
        return self.holds == self.claim.expect


@dataclass(frozen=True)
class StatementResult:
    """A statement with its claims' results and a status."""

    statement: Statement
    results: tuple[ClaimResult, ...]

    @property
    def status(self) -> str:
        """``proved``, ``refuted`` (a documented counterexample to the paper) or ``FAILED``."""
        if not all(r.ok for r in self.results):
            return "FAILED"
        if any(r.claim.against_paper for r in self.results):
            return "refuted"
        return "proved"

    def to_json(self) -> dict[str, object]:
        """A JSON-ready summary with every claim and its counterexample cell, if any."""
        return {
            "name": self.statement.name,
            "source": self.statement.source,
            "summary": self.statement.summary,
            "status": self.status,
            "note": self.statement.note,
            "claims": [
                {"text": r.claim.text, "holds": r.holds, "expected": r.claim.expect,
                 "against_paper": r.claim.against_paper,
                 **({"counterexample": r.counterexample.to_json()} if r.counterexample else {}),
                 **({"detail": r.detail} if r.detail else {})}
                for r in self.results
            ],
        }


def _shown(claim: Claim, cell: Cell | None) -> Cell | None:
    if cell is None or not claim.show:
        return cell
    return cell.project(frozenset(x.strip() for x in claim.show.split(",")))


def _run(claim: Claim) -> ClaimResult:
    if claim.kind in ("algebra", "steps"):
        assert claim.check is not None
        holds, detail, *cell = claim.check()
        return ClaimResult(claim, holds, cell[0] if cell else None, detail)
    hyp = parse_system(claim.hyp, claim.nullable)
    if claim.kind == "sat":
        if satisfiable(hyp):
            return ClaimResult(claim, True, detail="; ".join(solve(hyp)[0].strings()))
        return ClaimResult(claim, False)
    concl = parse_system(claim.concl, claim.nullable)
    if claim.kind == "implies":
        res = implies(hyp, concl)
        return ClaimResult(claim, res.holds, _shown(claim, res.counterexample))
    assert claim.kind == "equivalent", claim.kind
    given = parse_system(claim.given, claim.nullable) if claim.given else None
    left = hyp if given is None else given & hyp
    right = concl if given is None else given & concl
    for a, b in ((left, concl), (right, hyp)):
        res = implies(a, b)
        if not res.holds:
            return ClaimResult(claim, False, _shown(claim, res.counterexample))
    return ClaimResult(claim, True)


def catalogue() -> dict[str, Statement]:
    """Every catalogued statement by name (Stable-LoRA first, then the ICML paper)."""
    from ._catalogue_icml import STATEMENTS as ICML
    from ._catalogue_stable import STATEMENTS as STABLE

    return {s.name: s for s in (*STABLE, *ICML)}


def prove(name: str | None = None) -> list[StatementResult]:
    """Decide one named statement (or all of them, ``name=None``) with the engine.

    Raises:
        UnknownStatementError: an unknown name; the message lists the valid names.
    """
    cat = catalogue()
    if name is not None and name not in cat:
        raise UnknownStatementError(
            f"no catalogued statement {name!r}; valid names: {', '.join(cat)}"
        )
    chosen = list(cat.values()) if name is None else [cat[name]]
    return [StatementResult(s, tuple(_run(c) for c in s.claims)) for s in chosen]
