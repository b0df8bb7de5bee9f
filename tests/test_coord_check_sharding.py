"""Coordinate-check shards: --shard i/K + --combine writes byte-identical results to one run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from atomicfile import directory_lock, shard_lock_name
from sharding import Shard
from sims.coord_check import main
from sims.errors import ResultsError

pytest.importorskip("peft")

# tiny LLaMA: 3 arms × 2 widths = 6 (arm, width) units, 2 steps, 2 seeds
ARGV = ["--model", "llama", "--widths", "16", "32", "--steps", "2", "--seeds", "2",
        "--no-progress", "--bootstrap", "20"]
UNITS = 6
RESULTS = ("coord.csv", "coord_summary.csv", "run.json")


def _results(out: Path) -> dict[str, bytes]:
    """The result files; run.json without git_revision (the shared checkout may move)."""
    files = {name: (out / name).read_bytes() for name in RESULTS}
    run = json.loads(files["run.json"])
    run.pop("git_revision")
    files["run.json"] = json.dumps(run, sort_keys=True).encode()
    return files


def _run(out: Path, *flags: str) -> int:
    return main([*ARGV, "--out", str(out), *flags])


@pytest.fixture(scope="module")
def unsharded(tmp_path_factory):
    """One unsharded run's result files, computed at the path every test then reuses."""
    root = tmp_path_factory.mktemp("coord_shards")
    assert _run(root / "run") == 0
    files = _results(root / "run")
    shutil.rmtree(root / "run")
    return root / "run", files


@pytest.fixture
def out(unsharded):
    """The run directory of the unsharded run, emptied (run.json records --out)."""
    path, _ = unsharded
    shutil.rmtree(path, ignore_errors=True)
    return path


def test_the_partition_covers_every_unit_once_whatever_is_done():
    units = [(arm, n) for arm in ("a", "b", "c") for n in (16, 32, 64, 128)]
    for K in (1, 2, 3, 5, 13):
        shares = [Shard(i, K).select(units) for i in range(K)]
        assert sorted(u for share in shares for u in share) == sorted(units)
        assert Shard(0, K).select(units) == shares[0]  # deterministic
    assert Shard(1, 3).select(units) == [units[1], units[4], units[7], units[10]]


@pytest.mark.parametrize("K", [1, 3])
def test_shards_then_combine_are_byte_identical_to_one_run(K, unsharded, out, capsys):
    _, expected = unsharded
    for i in range(K):
        assert _run(out, "--shard", f"{i}/{K}") == 0
        assert f"(shard {i}/{K})" in capsys.readouterr().out
        assert not (out / "coord.csv").exists()  # shards write unit files only
    assert len(list((out / "units").rglob("n*.csv"))) == UNITS
    assert _run(out, "--shard", f"0/{K}") == 0  # a rerun shard finds its units done
    assert f"computed 0 units, reused {len(range(0, UNITS, K))}" in capsys.readouterr().out
    assert _run(out, "--combine") == 0
    assert f"computed 0 units, reused {UNITS}" in capsys.readouterr().out
    assert _results(out) == expected
    assert _run(out) == 0  # a plain run after the shards also recomputes nothing
    assert f"computed 0 units, reused {UNITS}" in capsys.readouterr().out
    assert _results(out) == expected


def test_combine_refuses_missing_units_and_a_plain_run_computes_only_them(unsharded, out,
                                                                        capsys):
    _, expected = unsharded
    assert _run(out, "--shard", "1/3") == 0
    capsys.readouterr()
    assert _run(out, "--combine") == 2
    err = capsys.readouterr().err.strip()
    assert "--combine: 4 units are not finished" in err and "\n" not in err
    assert not (out / "coord.csv").exists()
    assert _run(out) == 0
    assert "computed 4 units, reused 2" in capsys.readouterr().out
    assert _results(out) == expected


def test_units_without_the_metadata_line_are_reused(unsharded, out, capsys):
    """Unit files written before the metadata line still count as done."""
    _, expected = unsharded
    assert _run(out) == 0
    for path in (out / "units").rglob("n*.csv"):
        head, meta, body = path.read_text().split("\n", 2)
        assert meta.startswith("# unit ") and json.loads(meta[7:])["seconds"] > 0
        path.write_text(f"{head}\n{body}")
    capsys.readouterr()
    assert _run(out) == 0
    assert f"computed 0 units, reused {UNITS}" in capsys.readouterr().out
    run = json.loads((out / "run.json").read_text())
    assert run["model"] is None and run["units"][0] == "init_A/n16"


@pytest.mark.parametrize("held, flags", [
    (".lock", ["--shard", "0/2"]),  # an unsharded run holds the directory
    (shard_lock_name(1, 2), []),  # a shard is running: no plain run or combine
    (shard_lock_name(1, 2), ["--shard", "1/2"]),  # the same shard twice
])
def test_locks_keep_shards_and_whole_runs_apart(held, flags, tmp_path, capsys):
    with directory_lock(tmp_path, name=held, error=ResultsError):
        assert _run(tmp_path, *flags) == 2
    err = capsys.readouterr().err.strip()
    assert f"{tmp_path} is in use by pid" in err and "\n" not in err
    assert not (tmp_path / "units").exists()


@pytest.mark.parametrize("flags, message", [
    (["--shard", "3/3"], "0 ≤ i < K"),
    (["--shard", "0/2", "--combine"], "give one of them"),
    (["--executor", "local"], "--shards K"),
    (["--executor", "local", "--shards", "2", "--combine"], "drop --shard"),
])
def test_bad_shard_flags_are_one_line_and_exit_2(flags, message, tmp_path, capsys):
    assert _run(tmp_path, *flags) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_local_executor_runs_the_shards_as_a_job_array(unsharded, out, capsys):
    pytest.importorskip("submitit")
    _, expected = unsharded
    assert _run(out, "--executor", "local", "--shards", "2") == 0
    assert f"computed 0 units, reused {UNITS}" in capsys.readouterr().out
    assert len(list((out / ".submitit").glob("*_log.out"))) == 2
    assert _results(out) == expected
