"""The fingerprint of a toy-model run directory: everything that determines its numbers.

A run directory belongs to one fingerprint, stored in ``DIR/fingerprint.json`` (and in
``run.json``): the configuration fields that change results, the SHA-256 of both data sets
as loaded, and a hash of the source of the numerical code (engine, optimizer, model).
Resuming with anything else is refused with the list of what differs.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from atomicfile import write_text_once

from ._config import ToyConfig
from .errors import ResumeError

__all__ = ["FINGERPRINT_FILE", "NOT_COMPARED", "check_fingerprint", "run_fingerprint"]

FINGERPRINT_FILE = "fingerprint.json"
# files only the width sweep writes (toymodel also writes run.json and summary.csv)
FOREIGN = ("measurements.csv", "trajectories.csv", "units")
# Config fields that do not change any number of runs.csv or curves.csv.
NOT_COMPARED = ("device", "chunk_rows", "threads", "extra", "grid")
# Modules whose source determines the numbers; any edit to them changes the fingerprint.
NUMERICS_MODULES = ("toymodel/_engine.py", "toymodel/_model.py", "batchedoptim/_blocks.py",
                    "batchedoptim/_optimizers.py")
FORMAT_VERSION = 1  # layout of runs.csv / curves.csv


def numerics_version() -> str:
    """SHA-256 (16 hex digits) of the source of the modules that compute the numbers."""
    h = hashlib.sha256()
    root = Path(__file__).parent.parent  # toymodel/ and batchedoptim/ sit side by side
    for name in NUMERICS_MODULES:
        h.update(name.encode())
        h.update((root / name).read_bytes())
    return h.hexdigest()[:16]


def run_fingerprint(config: ToyConfig, data_checksums: dict[str, str]) -> dict:
    """The fingerprint of a run of ``config`` on data with the given SHA-256s.

    Args:
        config: the run's configuration.
        data_checksums: data set name → :meth:`Dataset.checksum`.

    Returns:
        JSON-ready data: ``format``, ``numerics``, ``data``, ``config``.
    """
    fields = {k: v for k, v in config.to_json().items() if k not in NOT_COMPARED}
    return {"format": FORMAT_VERSION, "numerics": numerics_version(),
            "data": dict(sorted(data_checksums.items())), "config": fields}


def _differences(old: dict, new: dict) -> list[str]:
    """Dotted names of the entries that differ between two fingerprints."""
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += [f"{key}.{sub}" for sub in _differences(a, b)]
        elif a != b:
            out.append(key)
    return out


def check_fingerprint(out: Path, fingerprint: dict) -> None:
    """Make ``out`` the directory of ``fingerprint``, or refuse if it holds another run.

    Creates ``out/fingerprint.json`` if it does not exist (atomically; of two processes
    creating it at once exactly one wins and the other compares against it).

    Raises:
        ResumeError: ``out`` holds results of a different fingerprint, results without a
            fingerprint, or an unreadable fingerprint file; the message names what differs
            and the fix (another ``--out``, or deleting the directory).
    """
    path = Path(out) / FINGERPRINT_FILE
    text = json.dumps(fingerprint, indent=2, sort_keys=True) + "\n"
    for name in FOREIGN:
        if (Path(out) / name).exists():
            raise ResumeError(f"{out} holds {name} of `python -m sims.width_sweep`, whose "
                              "run.json and summary.csv this run would overwrite; use another "
                              "--out")
    if not path.exists():
        stray = [n for n in ("runs.csv", "curves.csv") if (Path(out) / n).exists()]
        if stray:
            raise ResumeError(f"{out} holds {', '.join(stray)} without {FINGERPRINT_FILE} "
                              "(unknown settings and data); delete them or use another --out")
        try:
            if write_text_once(path, text):
                return
        except OSError as exc:
            raise ResumeError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ResumeError(f"{path} is unreadable ({exc}); delete {out} or use another "
                          "--out") from None
    if not isinstance(old, dict):
        raise ResumeError(f"{path} is not a fingerprint; delete {out} or use another --out")
    diff = _differences(old, fingerprint)
    if diff:
        raise ResumeError(f"{out} holds a run with different settings or data (differs in: "
                          f"{', '.join(diff)}); use another --out, or delete {out} to start "
                          "over")
