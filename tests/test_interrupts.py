"""Ctrl-C during the heavy imports of every CLI is one line and exit 130 (issue 11).

The interrupt is triggered by progress, not by time: stand-ins for numpy, pandas, torch,
matplotlib and scipy, first on PYTHONPATH, send the process a real SIGINT while the first
of them is being imported. The same stand-ins show that importing the packages and every
``--help`` import none of them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("numpy", "pandas", "torch", "matplotlib", "scipy")
SHIM = '''\
"""Stand-in for a heavy module: Ctrl-C arrives while it is being imported."""
import os, signal, time
with open(os.environ["INTERRUPT_MARK"], "a") as mark:
    mark.write(__name__ + "\\n")
os.kill(os.getpid(), signal.SIGINT)
time.sleep(60)  # Python's SIGINT handler raises KeyboardInterrupt here at the latest
raise SystemExit("the SIGINT did not interrupt the import")
'''

# (module run with -m, arguments that get past parsing to the first heavy import)
ENTRY_POINTS = {
    "width_sweep": ("sims.width_sweep", ["--widths", "8", "16", "--seeds", "2", "--steps", "3",
                                         "--record", "1", "3", "--no-progress", "--out", "{out}"]),
    "coord_check": ("sims.coord_check", ["--widths", "8", "16", "--seeds", "1", "--steps", "2",
                                         "--no-progress", "--out", "{out}"]),
    "figures": ("figures", ["--results", "{out}", "--out", "{out}/figures", "--no-progress"]),
    "toymodel": ("toymodel", ["run", "--no-progress", "--out", "{out}"]),
}


@pytest.fixture
def shims(tmp_path: Path) -> Path:
    """A PYTHONPATH directory whose numpy, pandas, torch, … interrupt their own import."""
    shim_dir = tmp_path / "shims"
    shim_dir.mkdir()
    for name in HEAVY:
        (shim_dir / f"{name}.py").write_text(SHIM)
    return shim_dir


def _run(shims: Path, mark: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(shims), str(ROOT)]),
           "INTERRUPT_MARK": str(mark)}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


def test_the_stand_ins_interrupt_an_import(shims, tmp_path):
    """The mechanism itself: `import numpy` under the stand-ins dies of Ctrl-C."""
    mark = tmp_path / "mark"
    proc = _run(shims, mark, "-c", "import numpy")
    assert mark.read_text() == "numpy\n"
    # uncaught, Python prints the traceback and dies of the signal itself
    assert proc.returncode == -signal.SIGINT and "KeyboardInterrupt" in proc.stderr


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_ctrl_c_during_heavy_imports_is_one_line(shims, tmp_path, entry):
    module, args = ENTRY_POINTS[entry]
    mark, out = tmp_path / "mark", tmp_path / "out"
    proc = _run(shims, mark, "-m", module, *(a.format(out=out) for a in args))
    assert mark.exists(), proc.stderr  # a heavy import was reached, and interrupted
    assert mark.read_text().splitlines()[0] in HEAVY
    err = proc.stderr.strip().splitlines()
    assert proc.returncode == 130, proc.stderr
    assert len(err) == 1 and "interrupted" in err[0], err
    assert "Traceback" not in proc.stderr and not proc.stdout


@pytest.mark.parametrize("argv", [
    ["-m", "sims.width_sweep", "--help"],
    ["-m", "sims.coord_check", "--help"],
    ["-m", "figures", "--help"],
    ["-m", "toymodel", "--help"],
    ["-m", "toymodel", "run", "--help"],
    ["-c", "import sims, figures, toymodel, sims.width_sweep, sims.coord_check, "
           "figures.__main__, toymodel.__main__"],
], ids=lambda argv: " ".join(argv[1:])[:40])
def test_help_and_package_imports_need_no_heavy_module(shims, tmp_path, argv):
    mark = tmp_path / "mark"
    proc = _run(shims, mark, *argv)
    assert not mark.exists(), f"{argv} imported {mark.read_text().split()}"
    assert proc.returncode == 0, proc.stderr
    assert argv[0] == "-c" or "usage:" in proc.stdout


def test_lazy_names_are_the_implementing_objects():
    """Every name in __all__ resolves, is the object of its module, and dir() lists it."""
    import figures
    import sims
    from figures._tidy_toy import toy_grid
    from sims import fit_coord_data, lora_coord_check, run_sweep
    from sims._coord_fit import fit_coord_data as fit_impl
    from sims._coord_run import lora_coord_check as check_impl
    from sims._sweep import run_sweep as sweep_impl

    for pkg in (sims, figures):
        assert set(pkg.__all__) <= set(dir(pkg))
        assert all(getattr(pkg, name) is not None for name in pkg.__all__)
        with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
            pkg.nonexistent  # noqa: B018
    assert (fit_coord_data, lora_coord_check, run_sweep) == (fit_impl, check_impl, sweep_impl)
    assert figures.toy_grid is toy_grid
