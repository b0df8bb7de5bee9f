"""python -m sims.coord_check: --help, one-line errors (exit 2), a real run, resume."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from test_toymodel_helpers import make_data_dir

from sims.coord_check import main

LLAMA = ["--model", "llama", "--widths", "32", "64", "--steps", "2", "--seeds", "2",
         "--arms", "init_A", "stable_lora", "--no-progress", "--bootstrap", "50"]


def test_help_names_the_quantities_without_loading_the_coordinate_check():
    code = ("import sys; from sims.coord_check import build_parser; "
            "print(build_parser().format_help()); "
            "print(sorted(m for m in ('pandas', 'sims._coord_run', 'sims._coord_fit', "
            "'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "s·ΔB·A_tZ" in out and "--lr-exp" in out
    assert out.strip().endswith("[]")  # heavy modules load on first use only


@pytest.mark.parametrize("argv, message", [
    (["--widths", "1", "4"], "widths"),
    (["--widths", "x"], "invalid int"),
    (["--arms", "init_C"], "invalid choice"),
    (["--steps", "3", "--record", "4"], "--record"),
    (["--lr-exp", "1/0"], "exponent"),
    (["--shrink", "1.5"], "shrink"),
    (["--seeds", "0"], "--seeds"),
    (["--model", "bert"], "invalid choice"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys, tmp_path):
    assert main([*argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and message in err and "\n" not in err


def test_llama_run_writes_the_contract_and_resumes(tmp_path, capsys):
    pytest.importorskip("peft")
    out = tmp_path / "run"
    assert main([*LLAMA, "--lr-exp", "-1/2", "--out", str(out)]) == 0
    first = capsys.readouterr().out
    assert "computed 4 units, reused 0" in first
    coord = pd.read_csv(out / "coord.csv")
    assert list(coord.columns) == ["arm", "width", "seed", "step", "module", "quantity", "value"]
    assert set(coord["quantity"]) == {"delta1", "delta2", "delta3", "dY", "AtZ", "Bt", "Z", "loss",
                                      "stopped"}
    assert coord["module"].str.contains("q_proj|v_proj|up_proj|down_proj|model").all()
    summary = pd.read_csv(out / "coord_summary.csv", keep_default_na=False)
    assert set(summary["verdict"]) <= {"agree", "disagree", "n/a"}
    assert {"gamma_hat", "ci_low", "ci_high", "gamma_pred", "local_slopes"} <= set(summary)
    run = json.loads((out / "run.json").read_text())
    assert run["theory"]["init_A"]["exponents"]["eta"] == "-1/2"
    assert run["theory"]["init_A"]["case"] == "case1"
    # the same command again recomputes nothing and writes the same files
    before = (out / "coord.csv").read_bytes()
    assert main([*LLAMA, "--lr-exp", "-1/2", "--out", str(out)]) == 0
    assert "computed 0 units, reused 4" in capsys.readouterr().out
    assert (out / "coord.csv").read_bytes() == before
    # a changed setting recomputes only the affected units
    assert main([*LLAMA, "--lr-exp", "-1/2", "--shrink", "0.1", "--out", str(out)]) == 0
    assert "computed 2 units, reused 2" in capsys.readouterr().out


def test_toy_run_on_idx_files_with_a_tiny_pretraining(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LORA_WIDTH_CACHE", str(tmp_path / "cache"))  # pretraining cache
    make_data_dir(tmp_path / "cache")  # synthetic MNIST and Fashion-MNIST IDX files, offline
    out = tmp_path / "toy"
    argv = ["--model", "toy", "--widths", "16", "32", "--steps", "2", "--seeds", "2",
            "--pretrain-steps", "1", "--rank", "2", "--no-progress", "--bootstrap", "20",
            "--out", str(out)]
    status = main(argv)
    printed = capsys.readouterr()
    assert status == 0 and "computed 6 units" in printed.out
    coord = pd.read_csv(out / "coord.csv")
    assert set(coord["arm"]) == {"init_A", "init_AB", "stable_lora"}
    assert set(coord["module"]) == {"lora", "(model)"}
    run = json.loads((out / "run.json").read_text())
    assert run["model"]["finetune_data"] and set(run["model"]["pretrain"]) == {"16", "32"}
