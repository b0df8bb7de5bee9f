"""Named exceptions for figures/: bad result files and runs with nothing to draw."""

__all__ = ["FiguresError", "NothingToDrawError", "ResultsFormatError"]


class FiguresError(Exception):
    """Base class of every error figures/ raises on bad input; the CLI prints it on one line."""


class ResultsFormatError(FiguresError):
    """A result file exists but breaks docs/results-format.md (missing columns, bad values)."""


class NothingToDrawError(FiguresError):
    """No figure could be drawn: every input was missing or malformed.

    Attributes:
        notes: one line per missing or malformed input, naming the command that makes it.
    """

    def __init__(self, message: str, notes: list[str]) -> None:
        super().__init__(message)
        self.notes = notes
