"""figures under abuse: bounded rasters, one writer per --out, stale temporaries cleared,
incomplete runs flagged in report.md, Ctrl-C as one line (issue 11)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

import figures._render as render_mod  # noqa: E402
from atomicfile import directory_lock  # noqa: E402
from figures.__main__ import main  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _one_line(capsys: pytest.CaptureFixture) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_huge_dpi_is_refused_before_drawing(results, tmp_path, capsys):
    out = tmp_path / "f"
    assert main(["--results", str(results), "--out", str(out), "--dpi", "100000",
                 "--only", "toymodel", "--no-progress"]) == 2
    line = _one_line(capsys)
    assert "--dpi 100000" in line and "megapixels" in line and "use --dpi" in line
    assert not list(out.glob("*.png"))


def test_stale_temporaries_of_a_killed_run_are_removed(results, tmp_path, capsys):
    out = tmp_path / "f"
    out.mkdir()
    stale = out / ".toymodel.png.k3x9q1.tmp"  # what SIGKILL during savefig leaves behind
    stale.write_bytes(b"\x89PNG half")
    assert main(["--results", str(results), "--out", str(out), "--dpi", "20",
                 "--only", "toymodel", "--no-progress"]) == 0
    assert not stale.exists() and (out / "toymodel.png").is_file()
    assert not [p for p in os.listdir(out) if p.endswith(".tmp")]


def test_report_says_when_the_sweep_is_incomplete(results, tmp_path):
    (results / "width_sweep" / "run.json").write_text(json.dumps(
        {"complete": False, "finished_units": [["case1", 8], ["case1", 16]]}))
    out = tmp_path / "f"
    assert main(["--results", str(results), "--out", str(out), "--dpi", "20",
                 "--only", "toymodel", "--no-progress"]) == 0
    report = (out / "report.md").read_text()
    assert "**Incomplete:**" in report and "(2 units finished)" in report
    assert "python -m sims.width_sweep --out" in report
    (results / "width_sweep" / "run.json").write_text(json.dumps({"complete": True}))
    assert main(["--results", str(results), "--out", str(out), "--dpi", "20",
                 "--only", "toymodel", "--no-progress"]) == 0
    assert "Incomplete" not in (out / "report.md").read_text()


def test_second_process_is_refused_while_one_draws(results, tmp_path):
    out = tmp_path / "f"
    with directory_lock(out):  # this test process is the one drawing
        proc = subprocess.run([sys.executable, "-m", "figures", "--results", str(results),
                               "--out", str(out), "--no-progress"], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and f"pid {os.getpid()}" in err[0] and "in use" in err[0]
    assert not list(out.glob("*.png"))


def test_ctrl_c_while_saving_is_one_line(results, tmp_path, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(render_mod, "save_atomic", interrupted)
    assert main(["--results", str(results), "--out", str(tmp_path / "f"), "--dpi", "20",
                 "--only", "toymodel", "--no-progress"]) == 130
    assert "interrupted" in _one_line(capsys)


def test_empty_out_is_refused(results, capsys):
    with pytest.raises(SystemExit) as exit_:  # argparse's exit, with the one-line message
        main(["--results", str(results), "--out", "", "--no-progress"])
    assert exit_.value.code == 2 and "--out must not be empty" in _one_line(capsys)
