"""Shards of a sweep: ``--shard i/K`` partitions, and K shards submitted as one job array."""

from ._lock import hold_out
from ._shard import Shard, parse_shard
from ._submit import (
    SubmitOptions,
    add_shard_arguments,
    run_module,
    submit_options,
    submit_shards,
    without_submit_flags,
)

__all__ = [
    "Shard",
    "SubmitOptions",
    "add_shard_arguments",
    "hold_out",
    "parse_shard",
    "run_module",
    "submit_options",
    "submit_shards",
    "without_submit_flags",
]
