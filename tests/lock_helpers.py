"""Domain assertion for the directory lock: a second process on a held --out is refused."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def assert_second_is_refused(first: list[str], second: list[str], out: Path) -> None:
    """Start ``first``; once it holds ``out``'s lock (its owner file exists: a barrier, not a
    timer) stop it there, run ``second``: it must exit 2 with one line naming the first
    process's pid; then the first must finish with exit 0.
    """
    proc = subprocess.Popen(first, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        owner = out / ".lock.owner"
        while not owner.exists():  # barrier: the first holds the lock
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.01)
        proc.send_signal(signal.SIGSTOP)  # keep it holding the lock while the second tries
        try:
            refused = subprocess.run(second, cwd=ROOT, capture_output=True, text=True,
                                     timeout=120)
        finally:
            proc.send_signal(signal.SIGCONT)
        assert refused.returncode == 2
        err = refused.stderr.strip().splitlines()
        assert len(err) == 1 and f"pid {proc.pid}" in err[0] and "in use" in err[0]
        assert proc.wait(timeout=120) == 0
    finally:
        proc.kill()
        proc.wait()
