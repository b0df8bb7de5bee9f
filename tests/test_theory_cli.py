"""``python -m theory``: JSON shapes, exit codes, one-line errors, fast lazy --help."""

import json
import subprocess
import sys
import time

import pytest

from theory._cli import main


def run(capsys, *argv):
    """Run the CLI in-process: (exit code, stdout, stderr)."""
    try:
        code = main(list(argv))
    except SystemExit as e:  # argparse (--help, usage errors)
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_predict_json(capsys):
    code, out, _ = run(capsys, "predict", "--eta", "-1/2", "--s", "0", "--A0Z", "0",
                       "--B0", "-inf", "--json")
    j = json.loads(out)
    assert code == 0 and j["case"] == "case1" and j["stable"] is True
    assert j["gamma"]["AtZ"] == "1/2" and j["gamma_step0"]["delta2"] == "-oo"
    code, out, _ = run(capsys, "predict", "--eta", "-1", "--eta-B", "0", "--s", "0",
                       "--A0Z", "-inf", "--B0", "0", "--optimizer", "sgd", "--m-exp", "0",
                       "--json")
    assert code == 0 and set(json.loads(out)["gamma"]) == {"delta1", "delta2", "delta3", "dY",
                                                           "AtZ", "Bt"}


def test_predict_text_shows_transient_steps(capsys):
    code, out, _ = run(capsys, "predict", "--eta", "-1/2", "--s", "0", "--A0Z", "0",
                       "--B0", "-inf")
    assert code == 0 and "t = 1" in out and "t >= 2" in out and "g_A⁰ = 0" in out


def test_solve_json_and_latex(capsys):
    code, out, _ = run(capsys, "solve", "A0Z <= eta + 1; max(A0Z, eta + 1) = 0",
                       "--nullable", "A0Z", "--json")
    assert code == 0 and json.loads(out) == {
        "satisfiable": True,
        "cells": [["A0Z > -oo", "A0Z <= 0", "eta = -1"], ["A0Z = -oo", "eta = -1"]]}
    code, out, _ = run(capsys, "solve", "x < 0; x > 0", "--json")
    assert json.loads(out) == {"satisfiable": False, "cells": []}
    code, out, _ = run(capsys, "solve", "x <= 1; x >= 1", "--latex")
    assert code == 0 and "x = 1" in out


def test_implies_exit_codes(capsys):
    code, out, _ = run(capsys, "implies", "A0Z <= eta + 1", "max(A0Z, eta + 1) = eta + 1",
                       "--nullable", "A0Z", "--json")
    assert code == 0 and json.loads(out) == {"holds": True}
    code, out, _ = run(capsys, "implies", "A0Z <= eta + 2", "max(A0Z, eta + 1) = eta + 1",
                       "--nullable", "A0Z", "--json")
    j = json.loads(out)
    assert code == 1 and j["holds"] is False
    assert j["counterexample"]["cell"] == ["A0Z > -oo", "A0Z <= eta + 2", "A0Z > eta + 1"]


def test_prove_one_statement(capsys):
    code, out, _ = run(capsys, "prove", "sl-eq5")
    assert code == 0 and out.startswith("[proved] sl-eq5")
    code, out, _ = run(capsys, "prove", "icml-lemma2-iid", "--json")
    assert code == 0 and json.loads(out)[0]["status"] == "refuted"


def test_prove_exits_1_on_a_failure(capsys, monkeypatch):
    import theory._catalogue as cat

    bad = cat.Statement("bad", "t", "s", (cat.Claim("c", "sat", hyp="x < x"),))
    monkeypatch.setattr(cat, "catalogue", lambda: {"bad": bad})
    code, out, _ = run(capsys, "prove", "--all")
    assert code == 1 and "[FAILED] bad" in out


@pytest.mark.parametrize("argv", [
    ["frobnicate"],
    ["predict", "--eta", "-1/2"],
    ["predict", "--eta", "0.5", "--s", "0", "--A0Z", "0", "--B0", "0"],
    ["predict", "--eta", "-1/2", "--s", "0", "--A0Z", "0", "--B0", "0", "--optimizer", "lion"],
    ["predict", "--eta", "-1/2", "--s", "0", "--A0Z", "0", "--B0", "0", "--shrink", "yes"],
    ["solve", "1/0 <= x"],
    ["solve", "x <= sqrt(2)"],
    ["solve", "x*y <= 1"],
    ["solve", "x <= 1", "--bogus"],
    ["solve", "eta - B0 <= 0", "--nullable", "B0"],
    ["implies", "x <= 1"],
    ["prove", "no-such-statement"],
    ["prove", "sl-eq5", "--all"],
])
def test_bad_input_is_one_line_and_exit_2(capsys, argv):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_help_is_fast_and_does_not_import_sympy():
    for sub in ([], ["predict"], ["solve"], ["implies"], ["prove"]):
        t = time.perf_counter()
        p = subprocess.run([sys.executable, "-m", "theory", *sub, "--help"],
                           capture_output=True, text=True, check=False)
        assert p.returncode == 0 and "usage" in p.stdout
        assert time.perf_counter() - t < 5.0  # generous: shared CI cores; ~0.1 s when idle
    code = ("import sys; sys.argv = ['theory', 'predict', '--help']\n"
            "from theory._cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('sympy' in sys.modules)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert p.stdout.strip().endswith("False")


def test_help_documents_the_flags_in_the_papers_notation():
    p = subprocess.run([sys.executable, "-m", "theory", "predict", "--help"],
                       capture_output=True, text=True, check=True)
    for token in ("γ[η]", "γ[s]", "γ[A₀Z]", "γ[B₀]", "γ[η_B]", "signsgd", "nostop"):
        assert token in p.stdout
