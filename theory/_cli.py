"""``python -m theory predict|crossovers|solve|implies|prove``: a thin CLI over the γ-calculus.

    python -m theory predict --eta -1/2 --s 0 --A0Z 0 --B0 -inf --json
    python -m theory crossovers --eta -3/2 --s 2 --A0Z 0 --B0 -inf
    python -m theory solve "A0Z <= eta + 1; max(A0Z, eta + 1) = 0" --nullable A0Z
    python -m theory implies "A0Z <= eta + 1" "max(A0Z, eta + 1) = eta + 1" --nullable A0Z
    python -m theory prove --all

Exit codes: 0 success (``implies``: it holds), 1 ``implies`` refuted or a ``prove`` failure,
2 bad input (one line on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any, NoReturn

__all__ = ["main"]

_VALUE_FLAGS = {"--eta", "--s", "--A0Z", "--B0", "--eta-B", "--m-exp", "--dY-exp", "--nullable",
                "--tau"}
_NEGATIVE = re.compile(r"^[-\u2212](\d|inf|oo|∞)", re.IGNORECASE)  # also U+2212 (−)
#: the options of the commands whose positionals are systems ("-x <= 1" is not an option)
_SYSTEM_OPTIONS = {"solve": {"-h", "--help", "--nullable", "--latex", "--json"},
                   "implies": {"-h", "--help", "--nullable", "--json"}}


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _join_negative_values(argv: list[str]) -> list[str]:
    """``--eta -1/2`` → ``--eta=-1/2`` (argparse would read -1/2 as an option), and a system
    that starts with a minus (``solve "-x <= 1"``) is moved behind ``--``."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        tok = argv[i]
        if tok in _VALUE_FLAGS and i + 1 < len(argv) and _NEGATIVE.match(argv[i + 1]):
            out.append(f"{tok}={argv[i + 1]}")
            i += 2
        else:
            out.append(tok)
            i += 1
    return _systems_as_positionals(out)


def _is_option(tok: str, options: set[str]) -> bool:
    name = tok.split("=", 1)[0]
    return name in options or (name.startswith("--") and len(name) > 2
                               and any(o.startswith(name) for o in options))


def _systems_as_positionals(argv: list[str]) -> list[str]:
    """``solve "-x<=1" --json`` → ``solve --json -- "-x<=1"`` (order of systems kept)."""
    cmd = next((k for k, tok in enumerate(argv) if tok in _SYSTEM_OPTIONS), None)
    if cmd is None or "--" in argv:
        return argv
    options = _SYSTEM_OPTIONS[argv[cmd]]
    opts: list[str] = []
    systems: list[str] = []
    k = cmd + 1
    while k < len(argv):
        tok = argv[k]
        if _is_option(tok, options):
            opts.append(tok)
            if tok == "--nullable" and k + 1 < len(argv):
                opts.append(argv[k + 1])
                k += 1
        else:
            systems.append(tok)
        k += 1
    if not any(t.startswith(("-", "\u2212")) for t in systems):
        return argv
    return [*argv[:cmd + 1], *opts, "--", *systems]


def _config_flags(pr: argparse.ArgumentParser) -> None:
    """The flags of one configuration (predict, crossovers)."""
    pr.add_argument("--eta", required=True, help="γ[η] (= γ[η_A]), e.g. -1/2")
    pr.add_argument("--s", required=True, help="γ[s], the LoRA scaling exponent")
    pr.add_argument("--A0Z", required=True, help="γ[A₀Z] (σ-exponent + 1/2 for i.i.d. A₀; "
                                                 "-inf for A₀ = 0)")
    pr.add_argument("--B0", required=True, help="γ[B₀] per entry (-inf for B₀ = 0)")
    pr.add_argument("--eta-B", default=None, help="γ[η_B] (default: γ[η_B] = γ[η])")
    pr.add_argument("--optimizer", default="adam", help="adam | adamw | signsgd | sgd "
                                                        "(default adam: γ[g] = 0, Assumption 1)")
    pr.add_argument("--shrink", default=None, help="stop | nostop: Stable-LoRA shrinkage "
                                                   "(Algorithm 1), predicted after the stop")
    pr.add_argument("--m-exp", default="1", help="γ[m], output width (SGD only; default 1, m = n)")
    pr.add_argument("--dY-exp", default="0", help="γ[dY] per entry (SGD only; default 0)")
    pr.add_argument("--time-sum", default="aligned",
                    help="aligned | clt: a sum of t per-step updates is Θ(t·n^γ) (aligned, "
                         "default, the papers' fixed Z) or Θ(t^(1/2)·n^γ) (random signs)")


def _build() -> _Parser:
    p = _Parser(prog="python -m theory",
                description="Exact γ-calculus (max-plus over ℚ ∪ {−∞}) for LoRA width scaling: "
                            "predictions, a solver, and the papers' statements proved.")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)

    pr = sub.add_parser("predict", help="γ of δ₁, δ₂, δ₃, ΔY, A_tZ, B_t for one configuration",
                        description="Predict the width exponents (per-entry RMS, Z = Θ(1), "
                                    "m = n, r = Θ(1)) at the paper's steps t ≥ 1 and t = 0, "
                                    "and at t = Θ(n^τ).")
    _config_flags(pr)
    pr.add_argument("--tau", default=None, help="evaluate every exponent at t = Θ(n^tau), "
                                                "tau a rational >= 0 (e.g. 1/2)")
    pr.add_argument("--json", action="store_true", help="print one JSON object")

    cr = sub.add_parser("crossovers", help="crossover steps t*(n) = Θ(n^τ*) per quantity",
                        description="Where the dominant term of each quantity changes as t "
                                    "grows with n: t*(n) = Θ(n^τ*), the two competing terms "
                                    "and why. Same flags as predict.")
    _config_flags(cr)
    cr.add_argument("--json", action="store_true", help="print a JSON object")

    so = sub.add_parser("solve", help="the solution set of a system, as polyhedral cells",
                        description="Solve a ';'-separated system of max-plus (in)equalities "
                                    "exactly. Example: \"A0Z <= eta + 1; s + 2*eta + 1 = 0\".")
    so.add_argument("system", help="constraints 'lhs OP rhs' (OP: = <= < >= >) joined by ';'")
    so.add_argument("--nullable", default="", help="symbols that may be -oo, e.g. A0Z,B0")
    so.add_argument("--latex", action="store_true", help="print cells as LaTeX")
    so.add_argument("--json", action="store_true",
                    help='print {"satisfiable": bool, "cells": [[constraint, ...], ...]}')

    im = sub.add_parser("implies", help="prove hypotheses ⇒ conclusion or show a counterexample",
                        description="Exit 0 if the implication holds for every value of the "
                                    "symbols, 1 with a counterexample cell if not.")
    im.add_argument("hypotheses", help="system of hypotheses")
    im.add_argument("conclusion", help="system that should follow")
    im.add_argument("--nullable", default="", help="symbols that may be -oo, e.g. A0Z,B0")
    im.add_argument("--json", action="store_true",
                    help='print {"holds": true} or {"holds": false, "counterexample": ...}')

    pv = sub.add_parser("prove", help="decide the catalogued statements of both papers",
                        description="Decide catalogued statements for all exponent values; "
                                    "exit 1 if any result differs from the catalogue.")
    pv.add_argument("name", nargs="?", default=None, help="one statement (default: all)")
    pv.add_argument("--all", action="store_true", help="every statement (the default)")
    pv.add_argument("--json", action="store_true", help="print a JSON list of results")
    return p


def _prediction(a: argparse.Namespace) -> Any:
    from ._predict import predict

    return predict(a.eta, a.s, a.A0Z, a.B0, eta_B=a.eta_B, optimizer=a.optimizer,
                   shrink=a.shrink, m_exp=a.m_exp, dY_exp=a.dY_exp, time_sum=a.time_sum)


def _predict(a: argparse.Namespace) -> int:
    from ._maxplus import fmt_value
    from ._predict import KEYS
    from ._time import exact_tau

    tau = None if a.tau is None else exact_tau(a.tau)
    p = _prediction(a)
    j = p.to_json()
    if tau is not None:
        j["tau"] = str(tau)
        j["gamma_tau"] = {k: None if v is None else fmt_value(v)
                          for k, v in p.gamma_tau(tau).items()}
    if a.json:
        print(json.dumps(j, ensure_ascii=False))
        return 0
    print(f"case: {j['case']}\nstable: {'yes' if j['stable'] else 'no'}")
    if j["steady_from"]:
        steady = f"t >= {j['steady_from']}"
    else:
        steady = "after the stop" if a.shrink else "late t (grows)"
    cols = [("t = 0", j["gamma_by_t"][0])]
    cols += [(f"t = {t}", g) for t, g in enumerate(j["gamma_by_t"]) if t > 0]
    cols.append((steady, j["gamma"]))
    if tau is not None:
        cols.append((f"t = n^{tau}" if tau.denominator == 1 else f"t = n^({tau})",
                     j["gamma_tau"]))
    print("quantity" + "".join(f"{c:>16}" for c, _ in cols))
    for k in KEYS:
        print(f"{k:<8}" + "".join(f"{str(g[k] if g[k] is not None else 'n/a'):>16}"
                                  for _, g in cols))
    print("breakpoints τ* (t*(n) = Θ(n^τ*)): " + "; ".join(
        f"{k} {', '.join(j['breakpoints'][k]) or '-'}" for k in KEYS))
    if "stop_law" in j:
        law = j["stop_law"]
        print(f"stop step N = Θ(log n): N·ln(1/(1−λ)) + {law['b_growth']}·ln N = "
              f"{law['drop']}·ln n + O(1), so dN/d ln n = {law['drop']}/(ln(1/(1−λ)) + "
              f"{law['b_growth']}/N)")
    beyond = {k: v for k, v in j["no_exponent_beyond"].items() if v is not None}
    if beyond:
        print("no exponent for τ beyond (see crossovers): " + "; ".join(
            f"{k} {v}" for k, v in beyond.items()))
    for k, why in j["reasons"].items():
        print(f"  {k}: {why}")
    return 0


def _crossovers(a: argparse.Namespace) -> int:
    from ._predict import KEYS

    p = _prediction(a)
    found = p.crossovers()
    div = p.no_exponent_beyond
    if a.json:
        print(json.dumps({"crossovers": [c.to_json() for c in found],
                          "no_exponent_beyond": {k: None if div[k] is None else str(div[k])
                                              for k in KEYS},
                          "time_sum": a.time_sum}, ensure_ascii=False))
        return 0
    if not found:
        print("no crossovers: no quantity changes its dominant term at any τ > 0 where it has "
              "an exponent (t = Θ(n^τ))")
    for c in found:
        print(f"{c.quantity}, τ* = {c.tau}: {c.reason}")
    for k in KEYS:
        if div[k] is None:
            continue
        if p.gamma_tau(0)[k] is None:
            print(f"{k}: no single exponent already at fixed t: a feedback loop of the "
                  f"recursion has gain ≫ 1 per step, so it grows with t at every width")
        else:
            when = "t ≫ 1" if div[k] == 0 else f"t ≫ n^({div[k]})"
            print(f"{k}: no single exponent for τ > {div[k]} ({when}): a feedback loop has "
                  f"gain ≫ 1 over t steps, so the Θ(1) residual the calculus assumes fails "
                  f"(the loss converges, or blows up)")
    for k, t in p.overtaken_at.items():
        if t is not None:
            print(f"{k}: at fixed steps the learned part overtakes the initialisation at t = {t}")
    return 0


def _solve(a: argparse.Namespace) -> int:
    from ._parse import parse_system
    from ._solver import solve

    cells = solve(parse_system(a.system, a.nullable))
    if a.json:
        print(json.dumps({"satisfiable": bool(cells), "cells": [c.strings() for c in cells]}))
        return 0
    print("satisfiable" if cells else "unsatisfiable")
    for i, c in enumerate(cells, 1):
        if a.latex:
            from ._sympy import to_latex

            print(f"cell {i}: {to_latex(c)}")
        else:
            print(f"cell {i}: " + "; ".join(c.strings()))
    return 0


def _implies(a: argparse.Namespace) -> int:
    from ._parse import parse_system
    from ._solver import implies

    res = implies(parse_system(a.hypotheses, a.nullable), parse_system(a.conclusion, a.nullable))
    if a.json:
        print(json.dumps(res.to_json()))
    elif res.holds:
        print("holds for every value of the symbols")
    else:
        ce: Any = res.to_json()["counterexample"]
        print(f"does not hold: {ce['violates']} fails on the cell {'; '.join(ce['cell'])}, "
              f"e.g. at {', '.join(f'{k} = {v}' for k, v in ce['point'].items())}")
    return 0 if res.holds else 1


def _prove(a: argparse.Namespace) -> int:
    from ._catalogue import prove

    if a.all and a.name:
        raise _UsageError(f"give a statement NAME or --all, not both (got {a.name!r})")
    results = prove(a.name)
    if a.json:
        print(json.dumps([r.to_json() for r in results], ensure_ascii=False))
    else:
        for r in results:
            st = r.statement
            print(f"[{r.status}] {st.name}: {st.source}. {st.summary}")
            for c in r.results:
                mark = "ok " if c.ok else "BAD"
                print(f"    {mark} {'true ' if c.holds else 'false'} {c.claim.text}")
                if c.counterexample is not None:
                    ce = c.counterexample
                    pt = ", ".join(f"{k} = {v}" for k, v in ce.point_strings().items())
                    print(f"          counterexample cell: {'; '.join(ce.strings())} (e.g. {pt})")
            if st.note and r.status != "proved":
                print(f"    note: {st.note}")
        counts = {s: sum(r.status == s for r in results) for s in ("proved", "refuted", "FAILED")}
        print(f"{counts['proved']} proved, {counts['refuted']} refuted as documented, "
              f"{counts['FAILED']} failed")
    return 1 if any(r.status == "FAILED" for r in results) else 0


class _UsageError(Exception):
    """A usage mistake found after parsing."""


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0, 1, or 2 for bad input)."""
    parser = _build()
    args = parser.parse_args(_join_negative_values(list(sys.argv[1:] if argv is None else argv)))
    from .errors import TheoryError

    try:
        return {"predict": _predict, "crossovers": _crossovers, "solve": _solve,
                "implies": _implies, "prove": _prove}[args.cmd](args)
    except (TheoryError, TypeError, _UsageError) as err:
        print(f"python -m theory {args.cmd}: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `python -m theory prove --all | head`: stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"python -m theory {args.cmd}: interrupted", file=sys.stderr)
        return 130
