"""Command-line parsing shared by sims' CLIs: one-line argparse errors, negative values."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable

from .errors import ConfigError

__all__ = ["Parser", "join_negative_exponents"]

# "-3/2", "−1/2" (U+2212), "-.5", "-1e-3": an exponent, not a flag
_NEGATIVE = re.compile(r"^[-\u2212](\d+(/\d+)?|\d*\.\d+(e[-+]?\d+)?)$")


class Parser(argparse.ArgumentParser):
    """argparse that raises ConfigError instead of printing usage and exiting."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        # "-1e-3" is a value (then refused or accepted by validation), not an unknown flag
        self._negative_number_matcher = re.compile(
            r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^-(inf|nan)$", re.IGNORECASE
        )

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ConfigError(f"{message} (see --help)")


def join_negative_exponents(argv: list[str], flags: Iterable[str]) -> list[str]:
    """``--eta-exp -3/2`` → ``--eta-exp=-3/2``: argparse would take "-3/2" for a flag."""
    flags = frozenset(flags)
    out: list[str] = []
    for token in argv:
        if out and out[-1] in flags and _NEGATIVE.match(token):
            out[-1] = f"{out[-1]}={token}"
        else:
            out.append(token)
    return out
