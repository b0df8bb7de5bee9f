"""Directory locks for result directories: one writer per directory (or per shard), named owners.

A run that writes into an output directory takes ``DIR/.lock`` (an OS file lock through
``filelock``: released by the kernel when the process dies, even by SIGKILL) and writes
``DIR/.lock.owner`` (pid, host, command line, start time) so that a second process can be
refused with a message naming the first. A sharded run takes ``DIR/.lock.shard-i-of-K``
instead, so that different shards cooperate while two copies of one shard are refused;
whatever combines the shards takes ``DIR/.lock`` again.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["DirectoryBusyError", "directory_lock", "remove_stale_temporaries", "shard_lock_name"]

LOCK_NAME = ".lock"


class DirectoryBusyError(Exception):
    """Another process holds the lock of a result directory (the message names it)."""


def shard_lock_name(index: int, count: int) -> str:
    """The lock name of shard ``index`` of ``count`` (``.lock.shard-i-of-K``)."""
    return f"{LOCK_NAME}.shard-{index}-of-{count}"


def _owner_text() -> str:
    """This process as one JSON line: pid, host, command line, start time (UTC)."""
    command = " ".join([os.path.basename(sys.executable)] + sys.argv).replace("\n", " ")
    return json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "command": command,
                       "since": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}) + "\n"


def _describe_owner(path: Path) -> str:
    """'pid P on HOST (COMMAND), since T' from an owner file, or a fallback when unreadable."""
    try:
        owner = json.loads(path.read_text(encoding="utf-8"))
        return (f"pid {owner['pid']} on {owner['host']} ({owner['command'][:200]}), "
                f"since {owner['since']}")
    except (OSError, ValueError, KeyError, TypeError):
        return "another process (its owner file is not written yet)"


def _held_by_other(path: Path) -> bool:
    """Whether another process holds the lock file ``path`` (probed without waiting)."""
    from filelock import FileLock, Timeout

    probe = FileLock(path, timeout=0, thread_local=False)
    try:
        probe.acquire()
    except Timeout:
        return True
    probe.release()
    return False


@contextlib.contextmanager
def directory_lock(directory: str | os.PathLike[str], *, name: str = LOCK_NAME,
                   conflicts: str | None = None, error: type[Exception] = DirectoryBusyError,
                   hint: str = "wait for it to finish, or use another --out") -> Iterator[Path]:
    """Hold the exclusive lock ``directory/name`` for the duration of the block.

    Never waits: when another process holds the lock, raises at once with one line that
    names it (read from ``directory/name.owner``). The directory is created if missing.
    The lock file itself stays (on Unix, filelock never deletes it: deleting a lock file
    races with a process opening it); the owner file is removed on release.

    ``conflicts`` names other locks that must be free too, as a glob: an unsharded run
    passes ``".lock.shard-*"`` (no shard may be running), a shard passes ``".lock"`` (no
    unsharded run may be). Each side takes its own lock first and then probes the other,
    so of two processes starting at once at least one sees the other.

    Args:
        directory: the result directory.
        name: the lock file's name: ``.lock`` for the whole directory, or
            :func:`shard_lock_name` for one shard of a sharded run.
        conflicts: glob of lock names (in ``directory``) that must not be held by others.
        error: the exception class to raise (each package passes its own named error).
        hint: what the user should do, appended to the message.

    Yields:
        The lock file's path.

    Raises:
        error: the lock is held by another process (or another lock object in this one),
            or the directory cannot be created or written.
    """
    from filelock import FileLock, Timeout

    directory = Path(directory)
    path = directory / name
    owner = directory / f"{name}.owner"
    lock = FileLock(path, timeout=0, thread_local=False)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except Timeout:
        raise error(f"{directory} is in use by {_describe_owner(owner)}; {hint}") from None
    except OSError as exc:
        raise error(f"cannot lock {directory}: {exc.strerror or exc}") from None
    try:
        for other in sorted(directory.glob(conflicts)) if conflicts else ():
            if other.name != name and not other.name.endswith(".owner") \
                    and _held_by_other(other):
                other_owner = other.with_name(f"{other.name}.owner")
                raise error(f"{directory} is in use by {_describe_owner(other_owner)} "
                            f"(lock {other.name}); {hint}")
        from . import write_text_atomic

        try:
            write_text_atomic(owner, _owner_text())
        except OSError as exc:
            raise error(f"cannot write {owner}: {exc.strerror or exc}") from None
        yield path
    finally:
        with contextlib.suppress(OSError):
            owner.unlink()
        lock.release()


def remove_stale_temporaries(directory: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files (``.<name>.*.tmp``) that interrupted writers left behind.

    :func:`atomicfile.atomic_open` removes its temporary on any exception, but a process
    killed by SIGKILL (or a power cut) leaves it. Call this only while holding the
    directory's exclusive lock (:func:`directory_lock` with the default name): then no
    other writer can be using them.

    Returns:
        The removed paths.
    """
    removed = []
    for path in Path(directory).glob(".*.tmp"):
        if path.is_file():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
    return removed
