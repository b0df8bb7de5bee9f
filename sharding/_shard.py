"""Which share of a sweep's units one shard computes: ``--shard i/K``."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["Shard", "parse_shard"]

T = TypeVar("T")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count``: the units at positions p with p mod count = index.

    Positions index the full, deterministic list of a sweep's units (done or not), so the
    partition does not depend on what earlier runs finished: K shards started at any time
    cover every unit exactly once, and a unit always belongs to the same shard.
    """

    index: int
    count: int

    def owns(self, position: int) -> bool:
        """Whether the unit at ``position`` of the full unit list belongs to this shard."""
        return position % self.count == self.index

    def select(self, units: Sequence[T]) -> list[T]:
        """The units of this shard, in order: ``units[p]`` for every p that it owns.

        ``units`` must be the full, deterministic unit list (done or not), the same in
        every shard and in the run that combines them.
        """
        return [unit for position, unit in enumerate(units) if self.owns(position)]

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str, *, error: type[Exception] = ValueError,
                environ: Mapping[str, str] | None = None) -> Shard:
    """``"i/K"`` (0 ≤ i < K), or ``"K"`` with i taken from a SLURM job array.

    With ``"K"`` alone, i = ``SLURM_ARRAY_TASK_ID`` − ``SLURM_ARRAY_TASK_MIN``, so
    ``sbatch --array=0-3`` and ``--array=1-4`` both give i = 0 … 3.

    Args:
        text: the flag's value.
        error: the exception class to raise (each package passes its own named error).
        environ: the environment (default ``os.environ``).

    Raises:
        error: malformed text, i outside [0, K), or ``"K"`` outside a job array.
    """
    env = os.environ if environ is None else environ
    index_text, slash, count_text = str(text).partition("/")
    if not slash:
        index_text, count_text = "", index_text
    usage = f"--shard {text}: expected i/K with integers 0 ≤ i < K"
    try:
        count = int(count_text)
        if index_text:
            index = int(index_text)
        elif "SLURM_ARRAY_TASK_ID" in env:
            index = int(env["SLURM_ARRAY_TASK_ID"]) - int(env.get("SLURM_ARRAY_TASK_MIN", "0"))
        else:
            index = None
    except ValueError:
        raise error(usage) from None
    if index is None:
        raise error(f"--shard {text}: give i/K, or K alone inside a SLURM job array "
                    "(i from SLURM_ARRAY_TASK_ID)")
    if count < 1 or not 0 <= index < count:
        raise error(f"{usage}, got i = {index}, K = {count}")
    return Shard(index, count)
