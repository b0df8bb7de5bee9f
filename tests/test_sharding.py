"""Shards: --shard i/K partitions, shard + combine byte-identical to one run, job arrays."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from atomicfile import directory_lock, shard_lock_name
from sharding import Shard, parse_shard, without_submit_flags
from sims.width_sweep import main as sims_main

SUITE = """
[sweep]
widths = [8, 16]
seeds = 2
steps = 3
record = [1, 3]
bootstrap = 50

[[config]]
name = "adam"
eta_coef = 0.05

[[config]]
name = "sign"
optimizer = "signsgd"
eta_coef = 0.02

[[config]]
name = "fresh"
eta_coef = 0.05
fresh_batches = true
"""
UNITS = 6  # 3 configurations × 2 widths; 4 work items (per width: fixed group, fresh group)


def _result_files(out: Path) -> dict[str, bytes]:
    """Every result file under ``out`` (locks and job logs aside); run.json without git_revision.

    The checkout may move between two runs in a shared working tree (docs/sims.md).
    """
    files = {}
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out).as_posix()
        if path.is_file() and not rel.startswith((".lock", ".submitit")):
            data = path.read_bytes()
            if rel == "run.json":
                run = json.loads(data)
                run.pop("git_revision")
                data = json.dumps(run).encode()
            files[rel] = data
    return files


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    path = tmp_path_factory.mktemp("suite") / "suite.toml"
    path.write_text(SUITE, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def unsharded(suite, tmp_path_factory):
    out = tmp_path_factory.mktemp("full")
    assert sims_main(["--suite", str(suite), "--out", str(out), "--threads", "1",
                      "--no-progress"]) == 0
    return _result_files(out)


def _sims(suite: Path, out: Path, *extra: str) -> list[str]:
    return ["--suite", str(suite), "--out", str(out), "--threads", "1", "--no-progress", *extra]


@pytest.mark.parametrize("count", [1, 3])
def test_sims_shards_then_combine_equal_one_run_byte_for_byte(count, suite, unsharded, tmp_path,
                                                               capsys):
    out = tmp_path / "sharded"
    computed = 0
    for i in range(count):
        assert sims_main(_sims(suite, out, "--shard", f"{i}/{count}")) == 0
        line = capsys.readouterr().out.strip().splitlines()[-1]
        assert f"(shard {i}/{count})" in line
        computed += int(line.split()[1])
        assert not (out / "summary.csv").exists()  # shards write unit files only
    assert computed == UNITS  # every unit exactly once
    assert sims_main(_sims(suite, out, "--combine")) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith(
        f"computed 0 units, reused {UNITS};")
    assert _result_files(out) == unsharded
    assert sims_main(_sims(suite, out)) == 0  # a plain run finds everything done
    assert f"computed 0 units, reused {UNITS};" in capsys.readouterr().out


def test_sims_local_executor_runs_the_shards_as_a_job_array(suite, unsharded, tmp_path, capsys):
    out = tmp_path / "array"
    assert sims_main(_sims(suite, out, "--executor", "local", "--shards", "2")) == 0
    assert f"computed 0 units, reused {UNITS};" in capsys.readouterr().out
    assert _result_files(out) == unsharded
    assert len(list((out / ".submitit").glob("*_log.out"))) == 2  # one job log per shard


def test_combine_refuses_missing_units(suite, tmp_path, capsys):
    out = tmp_path / "partial"
    assert sims_main(_sims(suite, out, "--shard", "0/2")) == 0
    capsys.readouterr()
    assert sims_main(_sims(suite, out, "--combine")) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after the note on reused units
    assert err.startswith("error: --combine: 2 units are not finished")


def test_a_running_shard_blocks_the_combine_but_not_other_shards(suite, tmp_path, capsys):
    out = tmp_path / "locked"
    with directory_lock(out, name=shard_lock_name(0, 2)):
        assert sims_main(_sims(suite, out, "--shard", "1/2")) == 0
        capsys.readouterr()
        assert sims_main(_sims(suite, out)) == 2
        assert "is in use" in capsys.readouterr().err
        assert sims_main(_sims(suite, out, "--shard", "0/2")) == 2  # the same shard twice


@pytest.mark.parametrize(("argv", "message"), [
    (["--shard", "3/3"], "0 ≤ i < K"),
    (["--shard", "x"], "expected i/K"),
    (["--shard", "0/2", "--combine"], "give one of them"),
    (["--executor", "local"], "--shards K"),
    (["--shards", "2"], "needs --executor"),
    (["--executor", "local", "--shards", "2", "--shard", "0/2"], "drop --shard"),
])
def test_bad_shard_flags_are_one_line_and_exit_2(argv, message, suite, tmp_path, capsys):
    assert sims_main(_sims(suite, tmp_path / "bad", *argv)) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


@pytest.mark.skipif(shutil.which("srun") is not None, reason="this machine has SLURM")
def test_slurm_executor_off_a_cluster_is_one_line(suite, tmp_path, capsys):
    assert sims_main(_sims(suite, tmp_path / "o", "--executor", "slurm", "--shards", "2")) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --executor slurm:") and "srun" in err and "\n" not in err


def test_parse_shard_reads_a_slurm_array_index():
    assert parse_shard("2/5") == Shard(2, 5)
    assert parse_shard("4", environ={"SLURM_ARRAY_TASK_ID": "3"}) == Shard(3, 4)
    # --array=1-4: the first task is shard 0
    env = {"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "1"}
    assert parse_shard("4", environ=env) == Shard(3, 4)
    with pytest.raises(ValueError, match="SLURM job array"):
        parse_shard("4", environ={})
    with pytest.raises(KeyError):
        parse_shard("1/0", error=KeyError)


def test_shards_cover_every_position_once():
    owners = [[k for k in range(3) if Shard(k, 3).owns(p)] for p in range(10)]
    assert owners == [[p % 3] for p in range(10)]


def test_a_shard_command_line_drops_the_submission_flags():
    argv = ["--widths", "8", "--executor", "slurm", "--shards=4", "--partition", "gpu",
            "--time", "30", "--cpus-per-task", "2", "--out", "x"]
    assert without_submit_flags(argv) == ["--widths", "8", "--out", "x"]


# --- toymodel: the same over the grid's chunks (phase two planned from phase one) ---

TOY = ["--n", "16", "--r", "2", "--pretrain-steps", "20", "--steps", "4", "--batch", "8",
       "--chunk-rows", "3", "--threads", "1", "--no-download", "--no-progress"]
TOY_FILES = ("runs.csv", "curves.csv", "summary.csv", "fingerprint.json")


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """(common flags, the files of an unsharded run)."""
    from test_toymodel_helpers import make_data_dir

    from toymodel.__main__ import main as toy_main

    root = tmp_path_factory.mktemp("toy")
    grid = root / "grid.json"
    grid.write_text(json.dumps({"lrs": [1e-3, 1e-2], "sigmas": [1e-3, 1e-1],
                                "shrinks": [0.1, 0.5], "seeds": [0, 1]}))
    common = ["--grid", str(grid), *TOY, "--data-dir", str(make_data_dir(root)),
              "--cache-dir", str(root / "cache")]
    assert toy_main(["run", "--out", str(root / "full"), *common]) == 0
    return common, {name: (root / "full" / name).read_bytes() for name in TOY_FILES}


@pytest.mark.parametrize("count", [1, 3])
def test_toymodel_shards_then_combine_equal_one_run_byte_for_byte(count, toy, tmp_path, capsys):
    from toymodel.__main__ import main as toy_main

    common, unsharded = toy
    out = tmp_path / "sharded"
    trained = 0
    for _ in range(2):  # phase one, then phase two (the last shard of round one may start it)
        for i in range(count):
            assert toy_main(["run", "--out", str(out), "--shard", f"{i}/{count}", *common]) == 0
            trained += int(capsys.readouterr().out.split()[1])
    assert not (out / "runs.csv").exists()
    assert trained == 32  # 16 runs of phase one, 16 of phase two, each exactly once
    assert toy_main(["run", "--out", str(out), "--combine", *common]) == 0
    assert {name: (out / name).read_bytes() for name in TOY_FILES} == unsharded
    assert not list((out / "shards").iterdir())  # merged chunk files are removed


def test_toymodel_local_executor_and_combine_refusal(toy, tmp_path, capsys):
    from toymodel.__main__ import main as toy_main

    common, unsharded = toy
    partial = tmp_path / "partial"
    assert toy_main(["run", "--out", str(partial), "--shard", "0/2", *common]) == 0
    capsys.readouterr()
    assert toy_main(["run", "--out", str(partial), "--combine", *common]) == 2
    err = capsys.readouterr().err.strip()
    assert "--combine:" in err and "runs of phase 1 are not finished" in err and "\n" not in err
    out = tmp_path / "array"
    assert toy_main(["run", "--out", str(out), "--executor", "local", "--shards", "2",
                     *common]) == 0
    assert {name: (out / name).read_bytes() for name in TOY_FILES} == unsharded
