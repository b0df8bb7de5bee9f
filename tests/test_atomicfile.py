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
