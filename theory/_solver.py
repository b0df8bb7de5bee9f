"""Exact solver for conjunctions of max-plus (in)equalities, with nullable (−∞) symbols.

A constraint between two maxes of affine forms is a disjunction over which forms attain
the max: ``max(lᵢ) ≤ max(rⱼ)`` ⇔ ∀i ∃j lᵢ ≤ rⱼ, and ``max(lᵢ) < max(rⱼ)`` ⇔ ∀i ∃j lᵢ < rⱼ.
Each nullable symbol is split into "= −∞" (its forms vanish) and "finite". The resulting
clauses are searched depth-first; every branch is a polyhedral cell decided exactly by
Fourier–Motzkin (:mod:`theory._linear`). No sampling, no floats.

>>> from theory._parse import parse_system
>>> s = parse_system("A0Z <= eta + 1; max(A0Z, eta + 1) = 0", nullable="A0Z")
>>> satisfiable(s)
True
>>> [c.strings() for c in solve(s)]
[['A0Z > -oo', 'A0Z <= 0', 'eta = -1'], ['A0Z = -oo', 'eta = -1']]
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from . import _linear
from ._linear import LinCon
from ._maxplus import NEG_INF, Affine, GammaExpr, Value, fmt_value
from .errors import TheoryInputError

__all__ = [
    "Cell",
    "Constraint",
    "Implication",
    "System",
    "check_nullable",
    "implies",
    "satisfiable",
    "solve",
]

_FLIP = {"<=": ">=", "<": ">", ">=": "<=", ">": "<", "=": "="}
_NEGATE = {"<=": [">"], "<": [">="], ">=": ["<"], ">": ["<="], "=": ["<", ">"]}


@dataclass(frozen=True)
class Constraint:
    """``lhs OP rhs`` with OP one of ``=``, ``<=``, ``<``, ``>=``, ``>`` over the extended reals."""

    lhs: GammaExpr
    op: str
    rhs: GammaExpr

    def __post_init__(self) -> None:
        if self.op not in _FLIP:
            raise TheoryInputError(f"unknown relation {self.op!r}: use one of = <= < >= >")

    @property
    def symbols(self) -> frozenset[str]:
        """Every symbol on either side."""
        return self.lhs.symbols | self.rhs.symbols

    def holds(self, values: Mapping[str, object]) -> bool:
        """Whether the constraint is true at an exact assignment (−∞ allowed)."""
        a, b = self.lhs.evaluate(values), self.rhs.evaluate(values)
        return {"=": a == b, "<=": a <= b, "<": a < b, ">=": a >= b, ">": a > b}[self.op]

    def negations(self) -> list[Constraint]:
        """Constraints whose disjunction is the complement (the order on ℚ ∪ {−∞} is total)."""
        return [Constraint(self.lhs, op, self.rhs) for op in _NEGATE[self.op]]

    def __str__(self) -> str:
        return f"{self.lhs} {self.op} {self.rhs}"


@dataclass(frozen=True)
class System:
    """A conjunction of constraints; symbols in ``nullable`` may also take the value −∞."""

    constraints: tuple[Constraint, ...]
    nullable: frozenset[str] = frozenset()

    @property
    def symbols(self) -> list[str]:
        """Every symbol of the constraints, sorted."""
        out: set[str] = set()
        for c in self.constraints:
            out |= c.symbols
        return sorted(out)

    def holds(self, values: Mapping[str, object]) -> bool:
        """Whether every constraint holds at an exact assignment."""
        return all(c.holds(values) for c in self.constraints)

    def __and__(self, other: System) -> System:
        return System(self.constraints + other.constraints, self.nullable | other.nullable)

    def __str__(self) -> str:
        return "; ".join(str(c) for c in self.constraints)


def _lin(a: Affine, b: Affine, strict: bool) -> LinCon:
    """``a − b ≤ 0`` (or ``< 0``) as a linear constraint."""
    d = a + b.scale(Fraction(-1))
    return LinCon.make(dict(d.coeffs), d.const, strict=strict)


Alternative = list[LinCon]  # a conjunction of linear atoms
Clause = list[Alternative]  # a disjunction of alternatives


def _clauses(c: Constraint, neg: frozenset[str]) -> list[Clause]:
    """One constraint, once the symbols in ``neg`` are −∞, as clauses (all must hold).

    ``max(lᵢ) ≤ max(rⱼ)`` gives one clause per lᵢ whose alternatives are the atoms
    ``lᵢ ≤ rⱼ``. ``max(lᵢ) = max(rⱼ)`` gives one clause whose alternatives name the terms
    that attain both maxima (``lᵢ* = rⱼ*``, every lᵢ ≤ lᵢ*, every rⱼ ≤ rⱼ*): |L|·|R|
    alternatives instead of |R|^|L|·|L|^|R| leaves, and each is a "dominant term" cell.
    """
    lhs, rhs = c.lhs.substitute_neg_inf(neg), c.rhs.substitute_neg_inf(neg)
    op = c.op
    if op in (">=", ">"):
        lhs, rhs, op = rhs, lhs, _FLIP[op]
    if lhs == rhs:  # the same max on both sides (max(x, y) = max(y, x)): no branching
        return [[]] if op == "<" else []
    if op == "=":
        if lhs.is_neg_inf or rhs.is_neg_inf:
            return [] if lhs.is_neg_inf and rhs.is_neg_inf else [[]]
        ls, rs = lhs.sorted_terms(), rhs.sorted_terms()
        alts = []
        for li in ls:
            for rj in rs:
                alt = [_lin(li, rj, False), _lin(rj, li, False)]
                alt += [_lin(x, li, False) for x in ls if x is not li]
                alt += [_lin(y, rj, False) for y in rs if y is not rj]
                if all(a.trivial() is not False for a in alt):
                    alts.append([a for a in alt if a.trivial() is None])
        return [alts]
    strict = op == "<"
    if rhs.is_neg_inf and (strict or not lhs.is_neg_inf):
        return [[]]  # x < −∞, or finite ≤ −∞: the empty disjunction, false
    if lhs.is_neg_inf:
        return []
    return [[[_lin(l, r, strict)] for r in rhs.sorted_terms()] for l in lhs.sorted_terms()]


def _fmt_lin(c: LinCon, eq: bool = False) -> str:
    """``A0Z <= eta + 1`` style: integer coefficients, positive terms left, the rest right."""
    coeffs = dict(c.coeffs)
    const = c.const
    if len(coeffs) == 1:
        scale = 1 / abs(next(iter(coeffs.values())))
    else:
        lcm = 1
        for v in coeffs.values():
            lcm = lcm * v.denominator // _gcd(lcm, v.denominator)
        nums = [abs(int(v * lcm)) for v in coeffs.values()]
        g = nums[0]
        for x in nums[1:]:
            g = _gcd(g, x)
        scale = Fraction(lcm, g)
    op = "=" if eq else ("<" if c.strict else "<=")
    if next(iter(sorted(coeffs.items())))[1] < 0:
        scale = -scale
        op = _FLIP[op]
    scaled = {k: v * scale for k, v in coeffs.items()}
    lhs = Affine.make({k: v for k, v in scaled.items() if v > 0}, Fraction(0))
    rhs = Affine.make({k: -v for k, v in scaled.items() if v < 0}, -const * scale)
    return f"{lhs} {op} {rhs}"


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return abs(a)


@dataclass(frozen=True)
class Cell:
    """One polyhedral piece of a solution set: nullable symbols at −∞ plus a simplified cell.

    ``point`` is an exact witness inside the cell (a counterexample when the cell refutes an
    implication); ``interior`` is a point of its relative interior (every inequality strict).
    """

    neg_inf: frozenset[str]
    finite_nullable: frozenset[str]
    equalities: tuple[LinCon, ...]
    inequalities: tuple[LinCon, ...]
    point: dict[str, Value] = field(compare=False, hash=False)
    interior: dict[str, Fraction] = field(default_factory=dict, compare=False, hash=False)

    def strings(self) -> list[str]:
        """The constraints as strings: ``X = -oo`` / ``X > -oo`` first, then the linear ones."""
        out = [f"{k} = -oo" for k in sorted(self.neg_inf)]
        out += [f"{k} > -oo" for k in sorted(self.finite_nullable)]
        lin = [(_fmt_lin(e, eq=True), e) for e in self.equalities]
        lin += [(_fmt_lin(i), i) for i in self.inequalities]
        return out + [s for s, _ in sorted(lin, key=lambda p: (sorted(p[1].symbols), p[0]))]

    def linear(self) -> list[LinCon]:
        """All linear constraints (each equality as two inequalities)."""
        back = [LinCon(tuple((k, -v) for k, v in e.coeffs), -e.const) for e in self.equalities]
        return [*self.equalities, *back, *self.inequalities]

    def project(self, keep: frozenset[str]) -> Cell:
        """The cell's shadow on the symbols in ``keep`` (exact Fourier–Motzkin projection)."""
        eqs, ineqs = _linear.simplify(_linear.project(self.linear(), keep))
        return Cell(self.neg_inf & keep, self.finite_nullable & keep, tuple(eqs), tuple(ineqs),
                    {k: v for k, v in self.point.items() if k in keep},
                    {k: v for k, v in self.interior.items() if k in keep})  # ri(LC) = L(ri C)

    def contains(self, values: Mapping[str, Value]) -> bool:
        """Whether an exact assignment lies in the cell (its −∞ pattern and its polyhedron)."""
        names = self.neg_inf | self.finite_nullable
        if any((values[k] is NEG_INF) != (k in self.neg_inf) for k in names):
            return False
        point = {k: v for k, v in values.items() if v is not NEG_INF}
        return all(c.holds(point) for c in self.linear())

    def point_strings(self) -> dict[str, str]:
        """The witness point as exact strings."""
        return {k: fmt_value(v) for k, v in sorted(self.point.items())}

    def to_json(self) -> dict[str, object]:
        """``{"cell": [...], "point": {...}}``."""
        return {"cell": self.strings(), "point": self.point_strings()}


#: the most work (constraints handled by Fourier–Motzkin, summed) one solve / implies /
#: satisfiable call may do: about 3 s of one core; larger systems are refused, not searched
MAX_WORK = 100_000


def _search(clauses: list[Clause], first_only: bool) -> list[list[LinCon]]:
    """Depth-first over the disjunctions; returns the feasible leaves (cells)."""
    if any(len(cl) == 0 for cl in clauses):
        return []
    units = [a for cl in clauses if len(cl) == 1 for a in cl[0]]
    rest = sorted((cl for cl in clauses if len(cl) > 1), key=len)
    if _linear.feasible(units) is None:
        return []
    leaves: list[list[LinCon]] = []

    def rec(i: int, cur: list[LinCon]) -> bool:
        if i == len(rest):
            leaves.append(cur)
            return first_only
        clause = rest[i]
        if any(all(_linear.implies(cur, a) for a in alt) for alt in clause):
            return rec(i + 1, cur)
        for alt in clause:
            nxt = [*cur, *alt]
            if _linear.feasible(nxt) is not None and rec(i + 1, nxt):
                return True
        return False

    rec(0, units)
    return leaves


def check_nullable(system: System) -> None:
    """Nullable symbols must never carry a negative coefficient (−(−∞) is not an exponent)."""
    for c in system.constraints:
        for side in (c.lhs, c.rhs):
            side.substitute_neg_inf(system.nullable & side.symbols)


def _raw_cells(system: System, first_only: bool) -> Iterable[tuple[frozenset[str], list[LinCon]]]:
    check_nullable(system)
    nullable = sorted(system.nullable & set(system.symbols))
    for k in range(len(nullable) + 1):
        for combo in itertools.combinations(nullable, k):
            neg = frozenset(combo)
            _linear.charge(len(system.constraints))  # 2^k splits for k nullable symbols
            clauses: list[Clause] = []
            for c in system.constraints:
                clauses.extend(_clauses(c, neg))
            for leaf in _search(clauses, first_only):
                yield neg, leaf
                if first_only:
                    return


def _make_cell(system: System, neg: frozenset[str], leaf: list[LinCon]) -> Cell:
    symbols = system.symbols
    _linear.charge(len(symbols) + len(leaf))  # the witness is checked on every symbol
    eqs, ineqs = _linear.simplify(leaf)
    point: dict[str, Value] = dict(_linear.feasible(leaf) or {})
    for s in symbols:
        point.setdefault(s, NEG_INF if s in neg else Fraction(0))
    nullable = frozenset(system.nullable & set(symbols))
    assert system.holds(point), "solver witness does not satisfy the system"
    back = [LinCon(tuple((k, -v) for k, v in e.coeffs), -e.const) for e in eqs]
    inner = _linear.feasible([*eqs, *back, *(c.strict_version() for c in ineqs)])
    assert inner is not None, "a simplified cell has a relative interior"
    return Cell(neg, nullable - neg, tuple(eqs), tuple(ineqs), point, inner)


def satisfiable(system: System) -> bool:
    """Whether some assignment (nullable symbols may be −∞) satisfies every constraint.

    Raises:
        NullableConflictError: a nullable symbol appears with a negative coefficient.
        TheoryLimitError: the search would exceed :data:`MAX_WORK` units of work.
    """
    with _linear.metered(MAX_WORK, "the system"):
        return next(iter(_raw_cells(system, True)), None) is not None


def _contains(outer: Cell, inner: Cell) -> bool:
    """Whether ``inner`` ⊆ ``outer``: first cheap necessary tests (outer constrains no symbol
    that inner leaves free; inner's relative-interior point lies in outer), then one exact
    implication per constraint of outer."""
    if outer.neg_inf != inner.neg_inf or len(outer.equalities) > len(inner.equalities):
        return False  # a cell of higher dimension is never inside one of lower dimension
    outer_lin = outer.linear()
    if not _symbols(outer_lin) <= _symbols(inner.linear()):
        return False  # inner is unbounded along a symbol that outer constrains
    if not all(c.holds(inner.interior) for c in outer_lin):
        return False
    lin = inner.linear()
    return all(_linear.implies(lin, c) for c in outer_lin)


def _symbols(cons: list[LinCon]) -> frozenset[str]:
    return frozenset().union(*(c.symbols for c in cons))


def solve(system: System) -> list[Cell]:
    """The whole solution set as a union of simplified cells (none when unsatisfiable).

    Each cell has its redundant constraints dropped and its implicit equalities made
    explicit; a cell contained in another one is absorbed. Cells are compared
    highest-dimensional first, each only against the cells kept so far.

    Raises:
        NullableConflictError: a nullable symbol appears with a negative coefficient.
        TheoryLimitError: the search would exceed :data:`MAX_WORK` units of work.
    """
    with _linear.metered(MAX_WORK, "the system"):
        cells = [_make_cell(system, neg, leaf) for neg, leaf in _raw_cells(system, False)]
        order = sorted(range(len(cells)), key=lambda i: len(cells[i].equalities))
        kept: list[int] = []
        for i in order:
            c = cells[i]
            _linear.charge(len(kept))  # the interior-point filter, one test per kept cell
            if any(_contains(cells[j], c) for j in kept):
                continue
            kept = [j for j in kept if not _contains(c, cells[j])] + [i]
    return [cells[i] for i in sorted(kept)]


@dataclass(frozen=True)
class Implication:
    """Result of ``hypotheses ⇒ conclusion``: holds, or a counterexample cell."""

    holds: bool
    counterexample: Cell | None = None
    violated: Constraint | None = None

    def to_json(self) -> dict[str, object]:
        """``{"holds": true}`` or ``{"holds": false, "counterexample": {...}}``."""
        if self.holds:
            return {"holds": True}
        assert self.counterexample is not None and self.violated is not None
        ce = self.counterexample.to_json()
        ce["violates"] = str(self.violated)
        return {"holds": False, "counterexample": ce}


def implies(hypotheses: System, conclusion: System) -> Implication:
    """Prove ``hypotheses ⇒ conclusion`` for every value of the symbols, or refute it.

    For each conclusion constraint, each branch of its negation is conjoined with the
    hypotheses; the implication holds iff all of these systems are unsatisfiable. Otherwise
    the first satisfiable one gives a simplified counterexample cell with a witness point.

    Raises:
        NullableConflictError: a nullable symbol appears with a negative coefficient.
        TheoryLimitError: the search would exceed :data:`MAX_WORK` units of work.
    """
    nullable = hypotheses.nullable | conclusion.nullable
    with _linear.metered(MAX_WORK, "the implication"):
        for c in conclusion.constraints:
            for neg in c.negations():
                sys = System((*hypotheses.constraints, neg), nullable)
                leaf = next(iter(_raw_cells(sys, True)), None)
                if leaf is not None:
                    return Implication(False, _make_cell(sys, *leaf), c)
    return Implication(True)
