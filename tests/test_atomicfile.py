"""atomicfile: a write either replaces the file whole or leaves the old one untouched."""

import os

import pytest

from atomicfile import atomic_open, write_bytes_atomic, write_text_atomic


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path) -> None:
    target = tmp_path / "runs.csv"
    write_text_atomic(target, "old\n")
    with pytest.raises(RuntimeError), atomic_open(target, "w") as fh:
        fh.write("half a new file")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["runs.csv"]


def test_written_file_gets_a_normal_mode_and_missing_parents(tmp_path) -> None:
    target = tmp_path / "a" / "b" / "unit.npz"
    write_bytes_atomic(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask


def test_write_text_once_never_replaces(tmp_path) -> None:
    from atomicfile import write_text_once

    target = tmp_path / "fingerprint.json"
    assert write_text_once(target, "first\n") is True
    assert write_text_once(target, "second\n") is False
    assert target.read_text() == "first\n" and os.listdir(tmp_path) == ["fingerprint.json"]


def test_directory_lock_refuses_a_second_holder_and_names_the_first(tmp_path) -> None:
    from atomicfile import DirectoryBusyError, directory_lock

    with directory_lock(tmp_path / "out") as lock:
        assert lock.name == ".lock" and (tmp_path / "out" / ".lock.owner").is_file()
        with pytest.raises(DirectoryBusyError, match=rf"in use by pid {os.getpid()} on "):
            with directory_lock(tmp_path / "out"):
                pass
    assert not (tmp_path / "out" / ".lock.owner").exists()
    with directory_lock(tmp_path / "out"):  # released: free again
        pass


def test_shards_cooperate_but_exclude_copies_of_themselves_and_unsharded_runs(tmp_path) -> None:
    from atomicfile import DirectoryBusyError, directory_lock, shard_lock_name

    out = tmp_path / "out"
    with directory_lock(out, name=shard_lock_name(0, 2), conflicts=".lock"):
        with directory_lock(out, name=shard_lock_name(1, 2), conflicts=".lock"):
            pass  # two different shards at once
        with pytest.raises(DirectoryBusyError, match="in use"):
            with directory_lock(out, name=shard_lock_name(0, 2), conflicts=".lock"):
                pass
        with pytest.raises(DirectoryBusyError, match=r"lock \.lock\.shard-0-of-2"):
            with directory_lock(out, conflicts=".lock.shard-*"):  # an unsharded run
                pass
        with directory_lock(out):  # combining the shards' results takes .lock alone
            pass
    with directory_lock(out, conflicts=".lock.shard-*"):
        with pytest.raises(DirectoryBusyError, match="in use"):
            with directory_lock(out, name=shard_lock_name(1, 2), conflicts=".lock"):
                pass


def test_remove_stale_temporaries_only_touches_temporaries(tmp_path) -> None:
    from atomicfile import remove_stale_temporaries

    (tmp_path / ".runs.csv.abc.tmp").write_text("half")
    (tmp_path / "runs.csv").write_text("whole")
    (tmp_path / ".lock").write_text("")
    assert [p.name for p in remove_stale_temporaries(tmp_path)] == [".runs.csv.abc.tmp"]
    assert sorted(os.listdir(tmp_path)) == [".lock", "runs.csv"]
