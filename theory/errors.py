"""Named exceptions for user mistakes in theory/ (the CLI turns each into one line, exit 2)."""

__all__ = [
    "NullableConflictError",
    "TheoryError",
    "TheoryInputError",
    "TheoryLimitError",
    "TheoryParseError",
    "UnknownStatementError",
]


class TheoryError(ValueError):
    """Base class of every user-facing error raised by theory/."""


class TheoryInputError(TheoryError):
    """A value that is not an exact exponent, or an unknown option (optimizer, shrink mode)."""


class TheoryParseError(TheoryInputError):
    """A malformed system, constraint or expression (bad token, 1/0, a max that is subtracted)."""


class NullableConflictError(TheoryInputError):
    """A symbol used both as nullable (may be −∞) and in a way that needs it finite."""


class UnknownStatementError(TheoryInputError):
    """A catalogue name that does not exist; the message lists the valid names."""


class TheoryLimitError(TheoryInputError):
    """A system beyond the engine's stated size limits (nesting depth, digits, search work)."""
