"""Parser for the system syntax: ``lhs OP rhs; …`` over rationals, symbols, +, -, max, -inf.

Grammar (exact rationals only; a product needs a rational factor; a max cannot be negated)::

    system     := constraint (";" constraint)*
    constraint := expr ("=" | "<=" | "<" | ">=" | ">") expr
    expr       := term (("+" | "-") term)*
    term       := unary (("*" | "/") unary)*
    unary      := "-" unary | "+" unary | atom
    atom       := INTEGER | NAME | "inf" | "oo" | "max" "(" expr ("," expr)* ")" | "(" expr ")"

>>> str(parse_expr("max(A0Z, eta/2 + 1) + 2*s"))
'max(A0Z + 2*s, eta/2 + 2*s + 1)'
>>> parse_expr("1 - max(A0Z, eta)")
Traceback (most recent call last):
...
theory.errors.TheoryParseError: cannot negate max(...) at column 3: -max is a min, outside max-plus
>>> str(parse_system("s + 2*eta + 1 = 0; A0Z <= eta + 1"))
'2*eta + s + 1 = 0; A0Z <= eta + 1'
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from ._maxplus import NEG_INF, GammaExpr, gmax
from ._solver import Constraint, System, check_nullable
from .errors import NullableConflictError, TheoryInputError, TheoryLimitError, TheoryParseError

__all__ = ["MAX_DEPTH", "MAX_DIGITS", "parse_constraint", "parse_expr", "parse_nullable",
           "parse_system"]

MAX_DEPTH = 100  #: deepest nesting of parentheses and max(...) the parser accepts
MAX_DIGITS = 1000  #: longest integer literal (digits) the parser accepts

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op><=|>=|==|[-+*/(),<>=])|(?P<inf>∞)|(?P<minus>−)|(?P<bad>\S))"
)
_RELATIONS = {"=", "==", "<=", "<", ">=", ">"}


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    col: int


class _PosInf:
    """``inf`` before a unary minus turns it into −∞."""


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            break
        kind = m.lastgroup or "bad"
        tok = m.group(kind)
        col = m.start(kind) + 1
        if kind == "bad":
            raise TheoryParseError(f"unexpected character {tok!r} at column {col}")
        if kind == "num" and not tok.isdigit():
            raise TheoryParseError(
                f"{tok!r} at column {col} is not an exact rational: write it as a fraction "
                f"such as 1/2"
            )
        if kind == "num" and len(tok) > MAX_DIGITS:
            raise TheoryLimitError(
                f"the number at column {col} has {len(tok)} digits: the limit is {MAX_DIGITS}"
            )
        if kind == "inf":
            kind, tok = "name", "inf"
        if kind == "minus":
            kind, tok = "op", "-"
        out.append(_Tok(kind, tok, col))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0
        self.depth = 0
        self.negated: set[str] = set()  # symbols under a minus sign or a factor <= 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, text: str | None = None) -> _Tok:
        tok = self.peek()
        if tok is None:
            want = f"{text!r}" if text else "more input"
            raise TheoryParseError(f"unexpected end of {self.text!r}: expected {want}")
        if text is not None and tok.text != text:
            raise TheoryParseError(f"expected {text!r} at column {tok.col}, found {tok.text!r}")
        self.i += 1
        return tok

    def done(self) -> None:
        tok = self.peek()
        if tok is not None:
            raise TheoryParseError(f"unexpected {tok.text!r} at column {tok.col}")

    def expr(self) -> GammaExpr:
        left = self.finite(self.term())
        while (tok := self.peek()) is not None and tok.text in "+-" and tok.kind == "op":
            self.take()
            right = self.term()
            if tok.text == "-":
                right = self.negate(right, tok)
            left = left + self.finite(right)
        return left

    def term(self) -> GammaExpr | _PosInf:
        left = self.unary()
        while (tok := self.peek()) is not None and tok.text in ("*", "/"):
            self.take()
            right = self.finite(self.unary())
            left = self.finite(left)
            if tok.text == "*":
                left = self.times(left, right, tok)
            else:
                c = _constant(right)
                if c is None:
                    raise TheoryParseError(f"can only divide by a rational (column {tok.col})")
                if c == 0:
                    raise TheoryParseError(f"division by zero at column {tok.col}")
                if c < 0:
                    self.negated |= left.symbols
                left = left.scale(1 / c)
        return left

    def times(self, a: GammaExpr, b: GammaExpr, tok: _Tok) -> GammaExpr:
        ca, cb = _constant(a), _constant(b)
        if ca is not None:
            a, b, cb = b, a, ca
        if cb is None:
            raise TheoryParseError(
                f"product of two non-constant exponents at column {tok.col}: exponents are "
                f"multiplied only by rationals (γ of a product is a sum: use +)"
            )
        if cb <= 0:
            self.negated |= a.symbols
        try:
            return a.scale(cb)
        except TheoryInputError as err:
            raise TheoryParseError(f"{err} (column {tok.col})") from None

    def negate(self, x: GammaExpr | _PosInf, tok: _Tok) -> GammaExpr:
        if isinstance(x, _PosInf):
            return GammaExpr.const(NEG_INF)
        if x.is_neg_inf:
            raise TheoryParseError(
                f"cannot negate -oo (column {tok.col}): -(-oo) is +oo, not an exponent"
            )
        if len(x.terms) > 1:
            raise TheoryParseError(
                f"cannot negate max(...) at column {tok.col}: -max is a min, outside max-plus"
            )
        self.negated |= x.symbols
        return -x

    def unary(self) -> GammaExpr | _PosInf:
        signs: list[_Tok] = []  # a loop, not recursion: any number of signs
        while (tok := self.peek()) is not None and tok.kind == "op" and tok.text in "+-":
            self.take()
            if tok.text == "-":
                signs.append(tok)
        x = self.atom()
        for tok in reversed(signs):
            x = self.negate(x, tok)
        return x

    def nested(self, tok: _Tok) -> None:
        """Enter one level of parentheses or max(...); refuse past :data:`MAX_DEPTH`."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise TheoryLimitError(
                f"nesting deeper than {MAX_DEPTH} levels of parentheses or max(...) at column "
                f"{tok.col}"
            )

    def atom(self) -> GammaExpr | _PosInf:
        tok = self.take()
        if tok.kind == "num":
            return GammaExpr.const(Fraction(int(tok.text)))
        if tok.kind == "name":
            low = tok.text.lower()
            if low in ("inf", "oo", "infinity"):
                return _PosInf()
            if low == "max" and (nxt := self.peek()) is not None and nxt.text == "(":
                self.nested(self.take("("))
                args = [self.expr()]
                while (p := self.peek()) is not None and p.text == ",":
                    self.take(",")
                    args.append(self.expr())
                self.take(")")
                self.depth -= 1
                return gmax(*args)
            return GammaExpr.symbol(tok.text)
        if tok.text == "(":
            self.nested(tok)
            inner = self.expr()
            self.take(")")
            self.depth -= 1
            return inner
        raise TheoryParseError(f"unexpected {tok.text!r} at column {tok.col}")

    def finite(self, x: GammaExpr | _PosInf) -> GammaExpr:
        if isinstance(x, _PosInf):
            raise TheoryParseError(f"+inf in {self.text!r}: only -inf (γ of zero) is allowed")
        return x


def _constant(x: GammaExpr) -> Fraction | None:
    """The rational value of a constant expression, else ``None``."""
    if len(x.terms) == 1:
        (t,) = x.terms
        if not t.coeffs:
            return t.const
    return None


def parse_expr(text: str) -> GammaExpr:
    """Parse one γ-expression.

    Raises:
        TheoryParseError: malformed input, a non-rational number, 1/0, a negated max.
        TheoryLimitError: nesting or a literal beyond the parser's limits.
    """
    p = _Parser(text)
    if p.peek() is None:
        raise TheoryParseError("empty expression")
    e = p.expr()
    p.done()
    return e


def parse_constraint(text: str) -> Constraint:
    """Parse ``lhs OP rhs``.

    Raises:
        TheoryParseError: no relation, several relations, or a malformed side.
        TheoryLimitError: nesting deeper than :data:`MAX_DEPTH`, a literal longer than
            :data:`MAX_DIGITS` digits.
    """
    return _constraint(text)[0]


def _constraint(text: str) -> tuple[Constraint, set[str]]:
    """The constraint and the symbols that appear under a minus sign (or a factor ≤ 0)."""
    p = _Parser(text)
    if p.peek() is None:
        raise TheoryParseError("empty constraint")
    lhs = p.expr()
    tok = p.peek()
    if tok is None or tok.text not in _RELATIONS:
        where = f"found {tok.text!r} at column {tok.col}" if tok else "found the end"
        raise TheoryParseError(
            f"constraint {text.strip()!r} needs one of = <= < >= >: {where}"
        )
    p.take()
    rhs = p.expr()
    p.done()
    return Constraint(lhs, "=" if tok.text == "==" else tok.text, rhs), p.negated


def parse_nullable(names: str | Iterable[str]) -> frozenset[str]:
    """``"A0Z,B0"`` (or an iterable of names) → the set of nullable symbols.

    Raises:
        TheoryParseError: a name that is not an identifier.
    """
    items = names.split(",") if isinstance(names, str) else list(names)
    out = set()
    for raw in items:
        name = raw.strip()
        if not name:
            continue
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or name.lower() in ("max", "inf"):
            raise TheoryParseError(f"nullable name {name!r} is not a symbol name")
        out.add(name)
    return frozenset(out)


def parse_system(text: str, nullable: str | Iterable[str] = ()) -> System:
    """Parse ``c₁; c₂; …`` with the given nullable symbols.

    A nullable symbol may never stand under a minus sign or a factor ≤ 0, even where the
    terms cancel: at −∞, ``2*x - x`` is −∞ + ∞ and ``0*x`` is 0·(−∞), both undefined.

    Raises:
        TheoryParseError: malformed input (the message names the constraint and column).
        TheoryLimitError: nesting or a literal beyond the parser's limits.
        NullableConflictError: a nullable symbol subtracted, negated or scaled by c ≤ 0.
    """
    parts = [part for part in text.split(";") if part.strip()]
    if not parts:
        raise TheoryParseError("empty system: give constraints separated by ';'")
    names = parse_nullable(nullable)
    cons = []
    for part in parts:
        con, negated = _constraint(part)
        if bad := sorted(negated & names):
            raise NullableConflictError(
                f"nullable symbol {bad[0]} appears under a minus sign or a factor <= 0 in "
                f"{part.strip()!r}: at {bad[0]} = -oo that is +oo or -oo + oo, not an exponent"
            )
        cons.append(con)
    system = System(tuple(cons), names)
    check_nullable(system)
    return system
