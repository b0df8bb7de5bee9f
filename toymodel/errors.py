"""Named exceptions for user mistakes in toymodel (the CLI maps them to one line, exit 2)."""

__all__ = [
    "ConfigError",
    "CorruptDataError",
    "DataNotFoundError",
    "ResumeError",
    "ToyModelError",
]


class ToyModelError(Exception):
    """Base class of every user-facing toymodel error."""


class ConfigError(ToyModelError):
    """A bad setting: an unknown arm or grid name, a non-positive size, a bad grid file."""


class DataNotFoundError(ToyModelError):
    """No copy of a data set in any of the places toymodel looks, and no way to fetch one."""


class CorruptDataError(ToyModelError):
    """An IDX file that is truncated, has a wrong magic number, shape or label count."""


class ResumeError(ToyModelError):
    """An ``--out`` directory holding results of a different configuration, or unreadable ones."""
