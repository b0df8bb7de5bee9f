"""Named exceptions for bad user input to the width sweep (the CLI maps them to exit 2)."""


class SimsError(Exception):
    """Base class of every user-facing error raised by ``sims``."""


class ConfigError(SimsError, ValueError):
    """A width-sweep setting or configuration is invalid (message says the fix)."""


class SuiteFileError(ConfigError):
    """A ``--suite`` TOML file cannot be read, parsed or validated."""


class ResultsError(SimsError):
    """An ``--out`` directory cannot be written or holds unreadable unit files."""
