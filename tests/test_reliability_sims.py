"""The width sweep under abuse: one writer per --out, a strict suite schema, safe names,
checked unit shapes, memory planned before allocating, one-line errors (issue 11)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from lock_helpers import assert_second_is_refused

import sims._sweep as sweep_mod
from sims.width_sweep import main

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--widths", "8", "16", "--seeds", "2", "--steps", "3", "--record", "1", "3",
        "--bootstrap", "10", "--no-progress", "--threads", "1"]


def _fails(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_two_sweeps_into_one_out(tmp_path):
    """The second sweep (another --seed) is refused naming the first; no mixed files."""
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "sims.width_sweep", "--out", str(out), "--widths", "8", "16",
           "--seeds", "2", "--steps", "200", "--record", "1", "200", "--bootstrap", "10",
           "--no-progress", "--threads", "1", "--eta-coef", "0.02"]
    assert_second_is_refused(cmd, cmd + ["--seed", "7"], out)
    assert json.loads((out / "run.json").read_text())["settings"]["seed"] == 0
    assert not (out / ".lock.owner").exists()


@pytest.mark.parametrize("line, needle", [
    ('stop_condition = "no"', "stop_condition must be true/false, got 'no'"),
    ("fresh_batches = 1", "fresh_batches must be true/false, got 1"),
    ('eta_coef = "0.1"', "eta_coef must be an integer or a number, got '0.1'"),
    ("shrink = true", "shrink must be an integer or a number, got True"),
    ("colour = 1", "valid keys: name, optimizer"),
])
def test_suite_schema_is_strict(capsys, tmp_path, line, needle):
    suite = tmp_path / "s.toml"
    suite.write_text(f'[[config]]\nname = "a"\n{line}\n')
    assert needle in _fails(capsys, ["--suite", str(suite), "--out", str(tmp_path / "o")])
    assert not (tmp_path / "o").exists()


def test_suite_sweep_table_types_and_non_utf8(capsys, tmp_path):
    suite = tmp_path / "s.toml"
    suite.write_text('[sweep]\nwidths = 8\n[[config]]\nname = "a"\n')
    assert "widths must be a list of an integer" in _fails(capsys, ["--suite", str(suite)])
    suite.write_bytes(b'[[config]]\nname = "\xff\xfe"\n')
    assert "not UTF-8" in _fails(capsys, ["--suite", str(suite)])


@pytest.mark.parametrize("name", ["..", ".", ".hidden", "-x"])
def test_names_that_leave_units_are_refused(capsys, tmp_path, name):
    out = tmp_path / "o"
    assert "config name" in _fails(capsys, [*TINY, f"--name={name}", "--out", str(out)])
    assert not out.exists() and not (tmp_path / "n8.npz").exists()


def test_negative_coefficient_is_a_value(capsys, tmp_path):
    line = _fails(capsys, [*TINY, "--eta-coef", "-1e-3", "--out", str(tmp_path / "o")])
    assert "eta_coef" in line and "positive" in line


def test_unit_with_valid_fingerprint_but_wrong_shapes(capsys, tmp_path):
    from sims._config import ProbeConfig, SweepSettings, validate_config, validate_settings
    from sims._probe import UnitResult
    from sims._store import save_unit

    settings = validate_settings(SweepSettings(widths=(8, 16), seeds=2, steps=3, record=(1, 3)))
    fingerprint = sweep_mod.fingerprint(validate_config(ProbeConfig("custom")), settings,
                                        sweep_mod.numerics_version())
    S, K, T = 2, 2, 2  # one step short of --steps 3
    unit = UnitResult(np.zeros((S, K, 6)), np.zeros((S, K), bool), np.zeros((S, T, 3)),
                      np.zeros((S, T), bool), np.zeros(S, np.int64))
    out = tmp_path / "o"
    save_unit(out, "custom", 8, fingerprint, unit)
    line = _fails(capsys, [*TINY, "--name", "custom", "--out", str(out)])
    assert "n8.npz" in line and "traj has shape (2, 2, 3), expected (2, 3, 3)" in line


def test_step_buffers_are_planned(monkeypatch):
    """--widths 256 512 --steps 20000000 --record 1 used to pass the plan, then allocate."""
    from sims import ResultsError
    from sims._config import ProbeConfig, SweepSettings, validate_settings

    settings = validate_settings(SweepSettings(widths=(256, 512), steps=20_000_000, record=(1,)))
    per_config = sweep_mod.bytes_per_config_steps(settings, 4)
    assert per_config >= 8 * 20_000_000 * 3 * 4  # the (T, 3, S) trajectory alone
    with pytest.raises(ResultsError, match="lower --seeds"):
        sweep_mod.plan_chunks([ProbeConfig("a")], settings, 512, 8 * 2**30)
    monkeypatch.setattr(sweep_mod, "_meminfo", lambda key: 16 * 2**30)
    with pytest.raises(ResultsError, match="320,000,000 rows of trajectories.csv"):
        sweep_mod.check_table_memory([ProbeConfig("a")], settings)


def test_max_memory_above_physical_memory_is_refused(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(sweep_mod, "_meminfo", lambda key: 16 * 2**30)
    line = _fails(capsys, [*TINY, "--max-memory", "64", "--out", str(tmp_path / "o")])
    assert "--max-memory 64 GiB exceeds the 16.0 GiB" in line
    assert not (tmp_path / "o").exists()


def test_ctrl_c_while_torch_imports_is_one_line(tmp_path):
    """KeyboardInterrupt where the entry point imports torch (the package is imported
    first: a Ctrl-C inside ``sims/__init__``'s own imports happens before any handler)."""
    hook = (
        "import sys, runpy, sims\n"
        "[sys.modules.pop(m) for m in list(sys.modules) if m.split('.')[0] == 'torch']\n"
        "class Stop:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'torch':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Stop())\n"
        "sys.argv = ['width_sweep', '--widths', '8', '--out', sys.argv[1]]\n"
        "runpy.run_module('sims.width_sweep', run_name='__main__', alter_sys=True)\n"
    )
    proc = subprocess.run([sys.executable, "-c", hook, str(tmp_path / "o")], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 130
    assert len(proc.stderr.strip().splitlines()) == 1 and "interrupted" in proc.stderr


def test_unbounded_inputs_are_refused(capsys, tmp_path):
    """Classes found beyond the issue: a suite that never ends, 100000 threads (torch hangs
    starting them), a billion bootstrap resamples, an empty --out (silently ".")."""
    import os

    assert "over 1 MiB" in _fails(capsys, ["--suite", "/dev/zero"])
    line = _fails(capsys, [*TINY, "--threads", "100000", "--out", str(tmp_path / "o")])
    assert f"this machine has {os.cpu_count()} CPUs" in line
    assert "at most 1,000,000" in _fails(capsys, [*TINY, "--bootstrap", "1000000000"])
    assert "--out must not be empty" in _fails(capsys, [*TINY, "--out", ""])
    assert not (tmp_path / "o").exists()


def test_units_of_other_numerical_code_are_not_reused(tmp_path):
    """The unit fingerprint holds the source hash of the code that computed it."""
    from sims._config import ProbeConfig, SweepSettings, validate_config, validate_settings
    from sims._probe import UnitResult
    from sims._store import load_unit, save_unit

    settings = validate_settings(SweepSettings(widths=(8,), seeds=1, steps=1, record=(1,)))
    config = validate_config(ProbeConfig("a"))
    unit = UnitResult(np.zeros((1, 1, 6)), np.zeros((1, 1), bool), np.zeros((1, 1, 3)),
                      np.zeros((1, 1), bool), np.zeros(1, np.int64))
    save_unit(tmp_path, "a", 8, sweep_mod.fingerprint(config, settings, "code-v1"), unit)
    assert load_unit(tmp_path, "a", 8, sweep_mod.fingerprint(config, settings, "code-v1"))
    assert load_unit(tmp_path, "a", 8, sweep_mod.fingerprint(config, settings, "code-v2")) is None
    version = sweep_mod.numerics_version()
    assert len(version) == 16 and version == sweep_mod.numerics_version()


def test_a_toymodel_directory_is_not_overwritten(capsys, tmp_path):
    out = tmp_path / "toy"
    out.mkdir()
    (out / "runs.csv").write_text("arm,lr\n")
    (out / "run.json").write_text("{}")
    line = _fails(capsys, [*TINY, "--out", str(out)])
    assert "holds runs.csv of `python -m toymodel run`" in line
    assert (out / "run.json").read_text() == "{}"


@pytest.mark.parametrize("flags, needle", [
    (["--eta-exp", "1e400"], "|γ| must be at most 16"),  # OverflowError in n^γ before
    (["--seed", "99999999999999999999999"], "exceed 2^62"),  # OverflowError in torch
    (["--rank", "1000000"], "exceeds the narrowest width 8"),  # crashed in the fits
])
def test_values_beyond_what_the_numerics_hold(capsys, tmp_path, flags, needle):
    """Classes found beyond the issue: tracebacks on values no float or seed can hold."""
    assert needle in _fails(capsys, [*TINY, *flags, "--out", str(tmp_path / "o")])
