"""python -m sims.width_sweep: --help, one-line errors with exit 2, a real tiny run."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sims import (
    ConfigError,
    ProbeConfig,
    SuiteFileError,
    SweepSettings,
    load_suite,
    validate_config,
    validate_settings,
)
from sims.width_sweep import main

ROOT = Path(__file__).resolve().parents[1]
TINY = [
    "--widths",
    "32",
    "64",
    "--seeds",
    "2",
    "--steps",
    "3",
    "--record",
    "1",
    "3",
    "--batch",
    "2",
    "--rank",
    "2",
    "--bootstrap",
    "20",
    "--no-progress",
]


def _env():
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _fails(capsys, argv, out):
    code = main([*argv, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1, err  # one line, no traceback
    assert not out.exists()  # nothing written for bad input
    return err


def test_help_is_fast_documents_every_flag_and_imports_nothing_heavy():
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "sims.width_sweep", "--help"],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0
    assert time.perf_counter() - start < 5.0
    for flag in (
        "--widths",
        "--seeds",
        "--steps",
        "--record",
        "--eta-exp",
        "--eta-coef",
        "--etaB-exp",
        "--s-exp",
        "--s-coef",
        "--init",
        "--sigma-exp",
        "--sigma-coef",
        "--optimizer",
        "--shrink",
        "--no-stop",
        "--batch",
        "--rank",
        "--m",
        "--fresh-batches",
        "--dtype",
        "--out",
        "--device",
        "--suite",
    ):
        assert flag in proc.stdout, flag
    assert "γ[η]" in proc.stdout and "Assumption 1" in proc.stdout
    probe = (
        "import sys, sims.width_sweep as w; w.build_parser().format_help(); "
        "print(sorted(m for m in ('torch', 'pandas', 'sympy') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("width", ["1", "0", "-4"])
def test_width_below_two_is_rejected(capsys, tmp_path, width):
    assert "width n must be an integer ≥ 2" in _fails(
        capsys, ["--widths", "64", width], tmp_path / "o"
    )
    with pytest.raises(ConfigError, match="width"):
        validate_settings(SweepSettings(widths=(int(width),)))


@pytest.mark.parametrize("width", ["2.5", "abc", "1e3"])
def test_width_that_is_not_an_integer_is_rejected(capsys, tmp_path, width):
    assert "integer" in _fails(capsys, ["--widths", width], tmp_path / "o")
    with pytest.raises(ConfigError, match="width"):
        validate_settings(SweepSettings(widths=(2.5,)))


def test_unknown_init_is_rejected(capsys, tmp_path):
    assert "--init" in _fails(capsys, ["--init", "C"], tmp_path / "o")
    with pytest.raises(ConfigError, match="unknown init 'C'; choose one of A, B, AB, zero"):
        validate_config(ProbeConfig("x", init="C"))


def test_unknown_optimizer_is_rejected(capsys, tmp_path):
    assert "--optimizer" in _fails(capsys, ["--optimizer", "lion"], tmp_path / "o")
    with pytest.raises(ConfigError, match="unknown optimizer 'lion'"):
        validate_config(ProbeConfig("x", optimizer="lion"))


def test_malformed_toml_is_rejected(capsys, tmp_path):
    suite = tmp_path / "bad.toml"
    suite.write_text("[[config]\nname = 'x'\n")
    assert "not valid TOML" in _fails(capsys, ["--suite", str(suite)], tmp_path / "o")
    with pytest.raises(SuiteFileError, match="not valid TOML"):
        load_suite(suite)


def test_toml_with_unknown_keys_or_missing_file_is_rejected(capsys, tmp_path):
    suite = tmp_path / "typo.toml"
    suite.write_text("[[config]]\nname = 'x'\neta_exponent = '-1/2'\n")
    assert "unknown key(s) eta_exponent" in _fails(capsys, ["--suite", str(suite)], tmp_path / "o")
    with pytest.raises(SuiteFileError, match="does not exist"):
        load_suite(tmp_path / "missing.toml")


@pytest.mark.parametrize("lam", ["0", "1", "1.5", "-0.1"])
def test_shrink_outside_zero_one_is_rejected(capsys, tmp_path, lam):
    assert "λ must lie in (0, 1)" in _fails(capsys, ["--shrink", lam], tmp_path / "o")
    with pytest.raises(ConfigError, match=r"λ must lie in \(0, 1\)"):
        validate_config(ProbeConfig("x", shrink=float(lam)))


def test_recorded_step_beyond_steps_is_rejected(capsys, tmp_path):
    err = _fails(capsys, ["--steps", "200", "--record", "1", "300"], tmp_path / "o")
    assert "recorded step 300 is beyond --steps 200" in err
    with pytest.raises(ConfigError, match="beyond --steps"):
        validate_settings(SweepSettings(steps=10, record=(1, 11)))


def test_bad_exponent_and_flag_mixing_are_rejected(capsys, tmp_path):
    assert "--eta-exp" in _fails(capsys, ["--eta-exp", "half"], tmp_path / "o")
    suite = tmp_path / "ok.toml"
    suite.write_text("[[config]]\nname = 'x'\n")
    assert "cannot be combined with --suite" in _fails(
        capsys, ["--suite", str(suite), "--shrink", "0.1"], tmp_path / "o"
    )


def test_one_configuration_from_flags_runs_and_prints_the_table(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sims.width_sweep",
            *TINY,
            "--eta-exp",
            "-3/2",
            "--s-exp",
            "2",
            "--s-coef",
            "1e-3",
            "--eta-coef",
            "1",
            "--shrink",
            "0.3",
            "--name",
            "tiny",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "== tiny: adam  Init[A]" in proc.stdout and "λ=0.3 stop" in proc.stdout
    assert "γ̂ (theory's γ)" in proc.stdout
    for name in ("measurements", "trajectories", "stops", "summary", "configs"):
        assert (out / f"{name}.csv").is_file()
    assert (out / "run.json").is_file()


def test_toml_suite_runs_with_its_sweep_table(capsys, tmp_path):
    suite = tmp_path / "suite.toml"
    suite.write_text(
        "[sweep]\nwidths = [32, 64]\nseeds = 2\nsteps = 3\nrecord = [1, 3]\nbootstrap = 20\n"
        "[[config]]\nname = 'a'\neta_exp = '-1/2'\n"
        "[[config]]\nname = 'b'\noptimizer = 'signsgd'\ninit = 'AB'\neta_coef = 0.01\n"
    )
    code = main(["--suite", str(suite), "--out", str(tmp_path / "o"), "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0
    assert "== a: adam" in out and "== b: signsgd  Init[AB]" in out
    assert "computed 4 units" in out


def test_cuda_request_without_a_gpu_is_one_line(capsys, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert "no CUDA device" in _fails(capsys, ["--device", "cuda", *TINY], tmp_path / "o")


@pytest.mark.parametrize(
    "flags",
    [
        ["--init", "zero"],
        ["--init", "B", "--m", "24"],
        ["--optimizer", "adamw", "--weight-decay", "0.1", "--m", "0.5n"],
        ["--dtype", "float64", "--sigma-exp", "-1", "--sigma-coef", "2"],
        ["--fresh-batches", "--shrink", "0.2", "--no-stop"],
        ["--optimizer", "sgd", "--eta-exp", "-2", "--etaB-exp", "0", "--etaB-coef", "0.05"],
    ],
)
def test_flag_combinations_run(capsys, tmp_path, flags):
    assert main([*TINY, *flags, "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "computed 2 units" in out
    if "--fresh-batches" in flags:
        assert "custom+fresh" in out and "outside Assumption 1" in out
    if flags[:2] == ["--init", "zero"]:
        assert "A₀=B₀=0" in out
