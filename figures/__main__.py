"""python -m figures [--results DIR] [--out DIR] [--format F]: redraw every plot and report.md."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from figures._render import KINDS

if TYPE_CHECKING:
    from figures._render import Outcome

_DESCRIPTION = """\
Redraw every analysis plot from the result files of `python -m sims.width_sweep` and
`python -m toymodel run`, and write report.md beside them. Never trains anything.

Figures (file stems):
  width_<config>      per-entry RMS of δ₁, δ₂, δ₃, ΔY against width n (log₂ n), seeds as
                      a band, theory's slope n^γ dashed through the points
  exponents_<config>  fitted γ̂ over steps t with its 95% interval, against predicted γ
  agreement           configs × quantities at the last recorded step, coloured by verdict
                      (agree / disagree / n/a), γ̂ (γ) and the 95% interval written in
  agreement_steps     the verdict of every config × quantity × recorded step
  norms, stop_steps   ‖A‖_F/n and ‖B‖_F/m over steps with and without shrinkage λ;
                      the Stable-LoRA stop step N against n, theory's stop law
  toymodel            test loss over η × σ for Init[A] and Init[AB], the improvement
                      ratio (L_A − L_AB)/L_A, convergence curves (ICML paper Fig. 2)
  toymodel_stable     Stable-LoRA against the best-σ Init[A] over η × λ, and curves
  phase               Case 1 / Case 2 / mixed on the (γ[η], γ[A₀Z]) plane with
                      γ[s] + 2γ[η] + 1 = 0, measured configs marked by verdict

Missing inputs are named on stderr, one line each, with the command that makes them.
Exit status: 0 if any figure was drawn, 2 if none could be or on a bad flag."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag on one line (exit 2) instead of usage + message."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"python -m figures: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The CLI; every flag maps onto an argument of ``figures.render_all``."""
    p = _Parser(
        prog="python -m figures", description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--results", default="results", metavar="DIR",
                   help="directory holding width_sweep/ and toymodel/ (default: results)")
    p.add_argument("--out", default="results/figures", metavar="DIR",
                   help="where the figures and report.md go (default: results/figures)")
    p.add_argument("--format", default="png", choices=("png", "pdf", "svg"),
                   help="figure file format (default: png)")
    p.add_argument("--dpi", type=int, default=150,
                   help="resolution of png figures, dots per inch (default: 150)")
    p.add_argument("--only", nargs="+", choices=KINDS, metavar="KIND", default=list(KINDS),
                   help=f"draw only these kinds, of: {', '.join(KINDS)}; report.md then "
                   "shows only them (default: all)")
    p.add_argument("--no-progress", action="store_true",
                   help="do not show the progress bar over figure kinds")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit status (0 drawn, 2 nothing drawn or bad input, 130 Ctrl-C).

    Ctrl-C is one line: the figures and report.md already written are complete files
    (atomic writes), the others keep their previous version.
    """
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("python -m figures: interrupted; finished figures are saved", file=sys.stderr)
        return 130


def _render_locked(args: argparse.Namespace) -> Outcome:
    """render_all while holding --out's directory lock, after clearing stale temporaries.

    A --out this call creates is removed again when nothing is drawn.

    Raises:
        FiguresError: another process draws into --out, or render_all's errors.
    """
    import shutil

    from atomicfile import directory_lock, remove_stale_temporaries
    from figures._render import render_all
    from figures.errors import FiguresError, NothingToDrawError

    created = not os.path.exists(args.out)
    try:
        with directory_lock(args.out, error=FiguresError):
            remove_stale_temporaries(args.out)  # left by a run killed with SIGKILL
            return render_all(args.results, args.out, fmt=args.format, dpi=args.dpi,
                              kinds=tuple(dict.fromkeys(args.only)),
                              progress=not args.no_progress)
    except NothingToDrawError:
        if created and set(os.listdir(args.out)) <= {".lock"}:
            shutil.rmtree(args.out, ignore_errors=True)
        raise


def _main(argv: list[str] | None) -> int:
    """:func:`main` without the Ctrl-C handling."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.dpi <= 0:
        parser.error(f"--dpi must be positive, got {args.dpi}")
    for flag in ("results", "out"):  # an empty value ("$UNSET") would silently mean "."
        if not getattr(args, flag).strip():
            parser.error(f"--{flag} must not be empty")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        parser.error(f"--out {args.out} exists and is not a directory")
    from figures.errors import FiguresError, NothingToDrawError

    try:
        outcome = _render_locked(args)
    except NothingToDrawError as exc:
        for note in exc.notes:
            print(note, file=sys.stderr)
        print(f"python -m figures: error: {exc}", file=sys.stderr)
        return 2
    except (FiguresError, OSError) as exc:
        print(f"python -m figures: error: {exc}", file=sys.stderr)
        return 2
    for note in outcome.notes:
        print(note, file=sys.stderr)
    print(f"wrote {len(outcome.written)} files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
