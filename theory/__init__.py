"""Exact γ-calculus for LoRA width scaling: max-plus engine, predictions, the papers' catalogue."""

from ._catalogue import Claim, ClaimResult, Statement, StatementResult, catalogue, prove
from ._maxplus import NEG_INF, GammaExpr, contract, exact, fmt_value, gamma_of_sum, gmax
from ._parse import parse_constraint, parse_expr, parse_system
from ._predict import KEYS, OPTIMIZERS, Prediction, StopLaw, classify, predict
from ._solver import Cell, Constraint, Implication, System, implies, satisfiable, solve
from ._sympy import from_sympy, system_from_sympy, to_latex, to_sympy
from ._time import TIME_SUMS, Crossover, Term, crossovers
from .errors import (
    NullableConflictError,
    TheoryError,
    TheoryInputError,
    TheoryLimitError,
    TheoryParseError,
    UnknownStatementError,
)

__all__ = [
    "KEYS",
    "NEG_INF",
    "OPTIMIZERS",
    "TIME_SUMS",
    "Cell",
    "Claim",
    "ClaimResult",
    "Constraint",
    "Crossover",
    "GammaExpr",
    "Implication",
    "NullableConflictError",
    "Prediction",
    "Statement",
    "StatementResult",
    "StopLaw",
    "System",
    "Term",
    "TheoryError",
    "TheoryInputError",
    "TheoryLimitError",
    "TheoryParseError",
    "UnknownStatementError",
    "catalogue",
    "classify",
    "contract",
    "crossovers",
    "exact",
    "fmt_value",
    "from_sympy",
    "gamma_of_sum",
    "gmax",
    "implies",
    "parse_constraint",
    "parse_expr",
    "parse_system",
    "predict",
    "prove",
    "satisfiable",
    "solve",
    "system_from_sympy",
    "to_latex",
    "to_sympy",
]
