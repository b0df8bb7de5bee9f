"""toymodel under abuse: resume never mixes runs, damaged files are repaired or refused,
two processes never share an --out, bad input is one line and exit 2 (issue 11)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from lock_helpers import assert_second_is_refused
from test_toymodel_helpers import make_data_dir, write_dataset

import toymodel._plan as plan_mod
import toymodel._results as results_mod
from toymodel.__main__ import main

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--n", "16", "--r", "2", "--pretrain-steps", "20", "--steps", "4", "--batch", "8",
        "--no-download", "--no-progress", "--threads", "1"]
KEY = ["arm", "lr", "sigma", "shrink", "seed"]


@pytest.fixture
def env(tmp_path):
    data = make_data_dir(tmp_path)
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({"lrs": [1e-3, 1e-2], "sigmas": [1e-3, 1e-1],
                                "shrinks": [0.1, 0.5], "seeds": [0, 1]}))
    common = TINY + ["--data-dir", str(data), "--cache-dir", str(tmp_path / "cache"),
                     "--grid", str(grid)]
    return tmp_path, common


def _run(out: Path, common: list[str], *extra: str) -> int:
    return main(["run", "--out", str(out), *common, *extra])


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_deleted_run_json_does_not_let_other_settings_reuse_runs(env, capsys):
    tmp_path, common = env
    out = tmp_path / "out"
    assert _run(out, common) == 0
    (out / "run.json").unlink()
    capsys.readouterr()
    assert _run(out, common + ["--steps", "6"]) == 2
    line = _one_line_error(capsys)
    assert "config.steps" in line and "another --out" in line
    (out / "fingerprint.json").unlink()  # no fingerprint at all: refused, not trusted
    assert _run(out, common + ["--steps", "6"]) == 2
    assert "without fingerprint.json" in _one_line_error(capsys)


def test_other_data_is_refused(env, capsys):
    tmp_path, common = env
    out = tmp_path / "out"
    assert _run(out, common) == 0
    other = tmp_path / "other"
    write_dataset(other / "mnist", 80, 20, seed=1)
    write_dataset(other / "fashion-mnist", 120, 40, seed=3)  # different images
    capsys.readouterr()
    assert _run(out, common + ["--data-dir", str(other)]) == 2
    line = _one_line_error(capsys)
    assert "data.fashion-mnist" in line and "data.mnist" not in line


def _interrupt_after_first_chunk(monkeypatch):
    real = results_mod.ResultStore.add
    calls = []

    def add(self, rows, result):
        real(self, rows, result)
        calls.append(len(rows))
        if len(calls) == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(results_mod.ResultStore, "add", add)
    return calls


def test_summary_is_byte_identical_uninterrupted_resumed_and_rerun(env, monkeypatch, capsys):
    tmp_path, common = env
    full, part = tmp_path / "full", tmp_path / "part"
    assert _run(full, common) == 0
    first = (full / "summary.csv").read_bytes()
    assert _run(full, common) == 0  # a finished run, run again
    assert (full / "summary.csv").read_bytes() == first
    with monkeypatch.context() as m:
        calls = _interrupt_after_first_chunk(m)
        assert _run(part, common) == 130
        assert len(calls) == 1
    assert len(pd.read_csv(part / "runs.csv")) == calls[0]
    assert not (part / "summary.csv").exists()
    assert _run(part, common) == 0
    assert (part / "summary.csv").read_bytes() == first
    a = pd.read_csv(full / "runs.csv").sort_values(KEY, ignore_index=True)
    b = pd.read_csv(part / "runs.csv").sort_values(KEY, ignore_index=True)
    pd.testing.assert_frame_equal(a, b)


def test_truncated_runs_csv_is_repaired_not_appended_to(env, capsys):
    tmp_path, common = env
    out = tmp_path / "out"
    assert _run(out, common) == 0
    expected = pd.read_csv(out / "runs.csv").sort_values(KEY, ignore_index=True)
    size = (out / "runs.csv").stat().st_size
    os.truncate(out / "runs.csv", size // 2)  # `truncate -s 50%`: a partial last line
    assert not (out / "runs.csv").read_text().endswith("\n")
    capsys.readouterr()
    assert _run(out, common) == 0
    assert "recomputed" in capsys.readouterr().err
    got = pd.read_csv(out / "runs.csv")
    assert not got.duplicated(KEY).any() and got.shape[1] == 10
    pd.testing.assert_frame_equal(got.sort_values(KEY, ignore_index=True), expected)
    assert _run(out, common) == 0  # and the run after that is fine too


def test_deleted_curves_csv_is_rebuilt(env):
    tmp_path, common = env
    out = tmp_path / "out"
    assert _run(out, common) == 0
    runs = len(pd.read_csv(out / "runs.csv"))
    (out / "curves.csv").unlink()
    assert _run(out, common) == 0
    curves = pd.read_csv(out / "curves.csv")
    assert len(curves) == 4 * runs and not curves.duplicated(KEY + ["step"]).any()
    assert len(pd.read_csv(out / "runs.csv")) == runs


@pytest.mark.parametrize("damage, needle", [
    ("duplicate", "the same run twice"),
    ("extra_fields", "fields, expected 10"),
    ("not_a_number", "is not a number"),
    ("unknown_arm", "unknown arm"),
])
def test_invalid_rows_are_refused_with_the_line(env, capsys, damage, needle):
    tmp_path, common = env
    out = tmp_path / "out"
    assert _run(out, common) == 0
    lines = (out / "runs.csv").read_text().splitlines(keepends=True)
    if damage == "duplicate":  # what two concurrent runs used to leave
        lines.append(lines[3])
    elif damage == "extra_fields":
        lines[3] = lines[3].rstrip("\n") + ",1,2,3,4\n"
    elif damage == "not_a_number":
        lines[3] = lines[3].replace(lines[3].split(",")[5], "abc", 1)
    else:
        lines[3] = "init_X" + lines[3][lines[3].index(","):]
    (out / "runs.csv").write_text("".join(lines))
    capsys.readouterr()
    assert _run(out, common) == 2
    line = _one_line_error(capsys)
    assert needle in line and "runs.csv" in line


def test_two_processes_into_one_out(env, tmp_path):
    """The second process is refused, naming the first; the first finishes intact."""
    _, common = env
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "toymodel", "run", "--out", str(out), *common]
    assert_second_is_refused(cmd, cmd, out)
    runs = pd.read_csv(out / "runs.csv")
    assert not runs.duplicated(KEY).any() and not (out / ".lock.owner").exists()


@pytest.mark.parametrize("extra, needle", [
    (["--arms", "foo"], "invalid choice"),
    (["--threads", "x"], "invalid int value"),
    (["--scale", "inf"], "scale"),
    (["--weight-decay", "nan"], "weight_decay"),
    (["--pretrain-seed", "-1"], "seeds must lie in"),
])
def test_bad_flags_are_one_line_exit_2(env, capsys, extra, needle):
    tmp_path, common = env
    assert _run(tmp_path / "o", common + extra) == 2
    line = _one_line_error(capsys)
    assert line.startswith("toymodel: error:") and needle in line


def test_negative_learning_rate_is_a_value_not_a_flag(env, capsys):
    tmp_path, common = env
    common = [a for a in common if not a.startswith("--grid") and not a.endswith("grid.json")]
    argv = ["finetune", "--lrs", "-1e-3", "--out", str(tmp_path / "o"), *common]
    assert main(argv) == 2
    assert "lrs must be non-empty positive numbers" in _one_line_error(capsys)


def test_out_that_is_a_file_or_unwritable(env, capsys):
    tmp_path, common = env
    (tmp_path / "file").write_text("x")
    assert _run(tmp_path / "file", common) == 2
    assert "not a directory" in _one_line_error(capsys)
    assert _run(Path("/proc/toymodel_out"), common) == 2
    assert "cannot be written" in _one_line_error(capsys)


@pytest.mark.parametrize("content, needle", [
    (b"\xff\xfe lrs = [1]", "not UTF-8"),
    (b'{"seeds": [1.5]}', "seeds must be a list of integers"),
    (b'{"lrs": ["0.001"]}', "lrs must be a list of numbers"),
    (b'{"arms": "init_A"}', "arms must be a list of names"),
])
def test_bad_grid_files(env, capsys, content, needle):
    tmp_path, common = env
    path = tmp_path / ("g.toml" if content.startswith(b"\xff") else "g.json")
    path.write_bytes(content)
    assert _run(tmp_path / "o", common + ["--grid", str(path)]) == 2
    assert needle in _one_line_error(capsys)


def test_memory_plan_refuses_before_allocating(env, monkeypatch, capsys):
    tmp_path, common = env
    monkeypatch.setattr(plan_mod, "available_bytes", lambda device: 8 * 2**30)
    pre = [a for a in common if a not in ("--r", "2", "--steps", "4", "--batch", "8")
           and not a.startswith("--grid") and not a.endswith("grid.json")]
    assert main(["pretrain", *pre, "--n", "100000"]) == 2
    line = _one_line_error(capsys)
    # 4 copies (weight, gradient, two Adam moments) of 4·(nd + n² + 10n) bytes
    need = 16 * (100000 * 784 + 100000**2 + 10 * 100000) / 2**30
    assert f"needs {need:.1f} GiB" in line and "8.0 GiB free" in line and "--n" in line
    assert _run(tmp_path / "o", common + ["--steps", "400000000"]) == 2
    assert "fine-tuning" in _one_line_error(capsys)


def test_ctrl_c_during_heavy_imports_is_one_line(tmp_path):
    """KeyboardInterrupt raised where torch is imported: no traceback, exit 130."""
    hook = (
        "import sys, runpy\n"
        "class Stop:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name in ('torch', 'pandas'):\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Stop())\n"
        "sys.argv = ['toymodel', 'run', '--out', sys.argv[1]]\n"
        "runpy.run_module('toymodel', run_name='__main__', alter_sys=True)\n"
    )
    proc = subprocess.run([sys.executable, "-c", hook, str(tmp_path / "o")], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 130
    assert proc.stderr.strip().splitlines() == [
        "toymodel: interrupted; rerun with the same --out to resume"]


def test_unbounded_inputs_are_refused(env, capsys):
    """Classes found beyond the issue: a grid file that never ends, 100000 threads (torch
    hangs starting them), an empty --out (silently "."), an unwritable cache."""
    tmp_path, common = env
    endless = tmp_path / "zero.json"
    endless.symlink_to("/dev/zero")
    assert _run(tmp_path / "o", common + ["--grid", str(endless)]) == 2
    assert "over 1 MiB" in _one_line_error(capsys)
    assert _run(tmp_path / "o", common + ["--threads", "100000"]) == 2
    assert f"this machine has {os.cpu_count()} CPUs" in _one_line_error(capsys)
    assert main(["run", "--out", "", *common]) == 2
    assert "--out: must not be empty" in _one_line_error(capsys)
    cache = [a if not a.endswith("cache") else "/proc/toymodel_cache" for a in common]
    assert _run(tmp_path / "o", cache) == 2
    assert "/proc/toymodel_cache" in _one_line_error(capsys)


def test_a_width_sweep_directory_is_not_overwritten(env, capsys):
    """Class found beyond the issue: toymodel and the sweep both write run.json and
    summary.csv, so one --out for both used to lose the other's files."""
    tmp_path, common = env
    out = tmp_path / "sweep"
    (out / "units").mkdir(parents=True)
    (out / "run.json").write_text('{"tool": "python -m sims.width_sweep"}')
    assert _run(out, common) == 2
    assert "holds units of `python -m sims.width_sweep`" in _one_line_error(capsys)
    assert json.loads((out / "run.json").read_text())["tool"] == "python -m sims.width_sweep"
