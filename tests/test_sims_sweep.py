"""run_sweep: result files as in docs/results-format.md, resume, determinism, divergence."""

import json
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
import torch

import sims._sweep as sweep_module
from sims import ProbeConfig, SweepSettings, run_sweep, validate_settings

SETTINGS = SweepSettings(
    widths=(32, 64, 128),
    seeds=3,
    steps=6,
    record=(1, 2, 6),
    batch=2,
    rank=2,
    teacher_rank=2,
    bootstrap=50,
    threads=1,
)
CONFIGS = [
    ProbeConfig("case1", eta_coef=0.05),
    ProbeConfig(
        "shrink", eta_exp=Fraction(-3, 2), eta_coef=1.0, s_exp=Fraction(2), s_coef=1e-3, shrink=0.3
    ),
]
COLUMNS = {
    "measurements": ["config", "width", "seed", "step", "quantity", "value", "diverged"],
    "trajectories": [
        "config",
        "width",
        "seed",
        "step",
        "loss",
        "normA_over_n",
        "normB_over_m",
        "stable",
    ],
    "stops": ["config", "width", "seed", "stop_step"],
    "summary": [
        "config",
        "step",
        "quantity",
        "gamma_hat",
        "ci_low",
        "ci_high",
        "gamma_pred",
        "verdict",
        "n_seeds",
        "n_diverged",
        "local_slopes",
        "regime",
        "gamma_fixed_t",
        "gamma_other",
        "reason",
    ],
    "crossovers": [
        "config",
        "quantity",
        "kind",
        "tau_pred",
        "tau_pred_exact",
        "term_before",
        "term_after",
        "gamma_before",
        "gamma_after",
        "tau_hat",
        "ci_low",
        "ci_high",
        "K_hat",
        "n_points",
        "t_min",
        "t_max",
        "verdict",
        "reason",
    ],
    "configs": [
        "config",
        "optimizer",
        "init",
        "eta_exp",
        "eta_coef",
        "etaB_exp",
        "s_exp",
        "s_coef",
        "sigma_exp",
        "A0Z_exp",
        "B0_exp",
        "shrink",
        "stop_condition",
        "fresh_batches",
        "case_pred",
        "stable_pred",
    ],
}


@pytest.fixture(autouse=True)
def restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def _files(out):
    return {
        p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()
    }


def _without_git(data):
    run = json.loads(data)
    run.pop("git_revision")
    return run


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    torch.set_num_threads(1)
    return out, run_sweep(CONFIGS, SETTINGS, out, progress=False, log=lambda _: None)


def test_result_files_follow_the_contract(first_run):
    out, result = first_run
    for name, columns in COLUMNS.items():
        frame = pd.read_csv(out / f"{name}.csv")
        assert list(frame.columns) == columns, name
    meas = pd.read_csv(out / "measurements.csv")
    assert len(meas) == 2 * 3 * 3 * 3 * 6  # config × width × seed × step × quantity
    assert set(meas["quantity"]) == {"delta1", "delta2", "delta3", "dY", "AtZ", "Bt"}
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 2 * 3 * 6
    assert set(summary["verdict"]) <= {"agree", "disagree", "n/a"}
    configs = pd.read_csv(out / "configs.csv")
    assert configs.loc[configs.config == "case1", "A0Z_exp"].item() == 0.0
    assert configs.loc[configs.config == "case1", "B0_exp"].item() == -np.inf
    stops = pd.read_csv(out / "stops.csv")
    assert stops.loc[stops.config == "case1", "stop_step"].isna().all()
    run = json.loads((out / "run.json").read_text())
    assert run["complete"] and len(run["finished_units"]) == 6
    assert run["predictions"]["case1"]["case"] == "case1"
    assert {"python", "torch", "numpy"} <= set(run["versions"])
    assert run["device"]["used"] == "cpu"


def test_every_cell_has_a_regime_and_bends_are_listed(tmp_path):
    configs = [
        ProbeConfig("small_eta", eta_exp=Fraction(-3, 2), eta_coef=1.0, s_exp=Fraction(2),
                    s_coef=1e-3),
        ProbeConfig("small_eta", eta_exp=Fraction(-3, 2), eta_coef=1.0, s_exp=Fraction(2),
                    s_coef=1e-3, fresh_batches=True),
    ]
    run_sweep(configs, SETTINGS, tmp_path, progress=False, log=lambda _: None)
    summary = pd.read_csv(tmp_path / "summary.csv", keep_default_na=False)
    assert set(summary["regime"]) <= {"asymptotic", "crossover", "converged", "transient",
                                      "outside"}
    assert (summary.loc[summary.config == "small_eta+fresh", "regime"] == "outside").all()
    first = summary[(summary.config == "small_eta") & (summary.step == 1)]
    assert (first["regime"] == "transient").all()  # B₀ = 0: g_A⁰ = 0 at step 1
    crossovers = pd.read_csv(tmp_path / "crossovers.csv", keep_default_na=False)
    mine = crossovers[crossovers.config == "small_eta"]
    # theory: A₀Z = Θ(1) against the learned t·n^{-1/2} in A_tZ, δ₁ and ΔY, τ* = 1/2
    assert set(mine["quantity"]) == {"AtZ", "delta1", "dY"}
    assert (mine["tau_pred_exact"].astype(str) == "1/2").all()
    assert (mine["kind"] == "predicted").all()
    assert set(mine["verdict"]) <= {"agree", "disagree", "not located"}
    fresh = crossovers[crossovers.config == "small_eta+fresh"]
    assert len(fresh) == 3 and (fresh["verdict"] == "n/a").all()  # outside Assumption 1


def test_step_one_prediction_for_zero_B0_is_minus_infinity(first_run):
    out, _ = first_run
    summary = pd.read_csv(out / "summary.csv")
    row = summary[
        (summary.config == "case1") & (summary.step == 1) & (summary.quantity == "delta2")
    ].iloc[0]
    assert row.gamma_pred == -np.inf and row.gamma_hat == -np.inf and row.verdict == "agree"


def test_resume_recomputes_nothing_and_rewrites_identical_files(first_run):
    out, _ = first_run
    before = _files(out)
    again = run_sweep(CONFIGS, SETTINGS, out, progress=False, log=lambda _: None)
    assert again.computed == [] and len(again.reused) == 6
    after = _files(out)
    assert after.keys() == before.keys()
    for name in before:
        if name == "run.json":
            assert _without_git(after[name]) == _without_git(before[name])
        else:
            assert after[name] == before[name], name


def test_two_runs_with_the_same_seed_write_identical_files(first_run, tmp_path):
    out, _ = first_run
    run_sweep(CONFIGS, SETTINGS, tmp_path, progress=False, log=lambda _: None)
    ours, theirs = _files(out), _files(tmp_path)
    assert ours.keys() == theirs.keys()
    for name in ours:
        if name == "run.json":
            assert _without_git(ours[name]) == _without_git(theirs[name])
        else:
            assert ours[name] == theirs[name], name


def test_interrupted_sweep_leaves_loadable_files_and_resumes(tmp_path, monkeypatch):
    real = sweep_module.run_width

    def stop_at_third_width(configs, settings, n, **kw):
        if n == 128:
            raise KeyboardInterrupt
        return real(configs, settings, n, **kw)

    monkeypatch.setattr(sweep_module, "run_width", stop_at_third_width)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(CONFIGS, SETTINGS, tmp_path, progress=False, log=lambda _: None)
    for name in COLUMNS:
        pd.read_csv(tmp_path / f"{name}.csv")  # loads cleanly
    run = json.loads((tmp_path / "run.json").read_text())
    assert not run["complete"] and len(run["finished_units"]) == 4
    monkeypatch.setattr(sweep_module, "run_width", real)
    resumed = run_sweep(CONFIGS, SETTINGS, tmp_path, progress=False, log=lambda _: None)
    assert sorted(resumed.computed) == [("case1", 128), ("shrink", 128)]


def test_changed_settings_recompute_the_units(first_run, tmp_path):
    out, _ = first_run
    changed = SweepSettings(**{**SETTINGS.__dict__, "steps": 7, "record": (1, 7)})
    result = run_sweep(CONFIGS[:1], changed, tmp_path, progress=False, log=lambda _: None)
    assert len(result.computed) == 3  # nothing reused from a different protocol


def test_diverged_seeds_are_counted_and_left_out(tmp_path):
    # plain SGD with a huge η_B overflows; the sweep goes on and reports the count
    blowup = ProbeConfig("blowup", optimizer="sgd", eta_exp=Fraction(0), eta_coef=50.0)
    settings = SweepSettings(**{**SETTINGS.__dict__, "steps": 40, "record": (1, 40)})
    result = run_sweep([blowup, CONFIGS[0]], settings, tmp_path, progress=False, log=lambda _: None)
    summary = result.tables["summary"]
    late = summary[(summary.config == "blowup") & (summary.step == 40)]
    assert (late["n_diverged"] == 9).all()  # 3 widths × 3 seeds
    assert (late["verdict"] == "n/a").all()
    meas = pd.read_csv(tmp_path / "measurements.csv")
    assert meas.loc[(meas.config == "blowup") & (meas.step == 40), "diverged"].all()
    assert not meas.loc[meas.config == "case1", "diverged"].any()


def test_fresh_batches_are_labelled_outside_assumption_1(tmp_path):
    fresh = ProbeConfig("case1", eta_coef=0.05, fresh_batches=True)
    result = run_sweep([fresh], SETTINGS, tmp_path, progress=False, log=lambda _: None)
    assert result.configs[0].name == "case1+fresh"
    configs = pd.read_csv(tmp_path / "configs.csv")
    assert configs["fresh_batches"].all()
    assert (
        "Assumption 1"
        in json.loads((tmp_path / "run.json").read_text())["protocol"]["fresh_batches"]
    )


def test_memory_plan_splits_configs_and_refuses_what_cannot_fit():
    from sims import ResultsError
    from sims._config import validate_settings, validate_suite
    from sims._probe import bytes_per_config, bytes_shared
    from sims._sweep import bytes_per_config_steps, plan_chunks

    settings = validate_settings(SETTINGS)
    configs = validate_suite(
        [ProbeConfig(f"c{i}") for i in range(5)] + [ProbeConfig("f", fresh_batches=True)]
    )
    n, m = 1024, settings.m_at(1024)
    per = bytes_per_config(settings, n, m, 4) + bytes_per_config_steps(settings, 4)
    shared = bytes_shared(settings, n, m, 4)
    chunks = plan_chunks(configs, settings, n, shared + 2 * per)
    assert [len(c) for c in chunks] == [2, 2, 1, 1]  # fresh-batch configs run apart
    assert [c.name for c in chunks[-1]] == ["f+fresh"]
    assert len(plan_chunks(configs, settings, n, 2**40)) == 2
    with pytest.raises(ResultsError, match="lower --seeds"):
        plan_chunks(configs, settings, n, shared + per // 2)


def test_frame_csv_writes_the_bytes_of_pandas_to_csv():
    from sims._store import frame_csv

    rng = np.random.default_rng(0)
    floats = np.concatenate([
        rng.normal(size=200) * 10.0 ** rng.integers(-30, 30, size=200),
        rng.normal(size=50).astype(np.float32).astype(np.float64),  # what the units hold
        [0.0, -0.0, np.nan, np.inf, -np.inf, 1e16, 1e-5, 1e-4, 123456789.0, 0.1, 5e-324],
    ])
    k = floats.size
    frame = pd.DataFrame({
        "config": np.resize(["case1", 'say "hi"', "a,b", "line\nbreak", ""], k),
        "width": np.arange(k, dtype=np.int64) * 2**40,
        "value": floats,
        "flag": np.arange(k) % 3 == 0,
        "stop_step": pd.array(np.where(np.arange(k) % 4 == 0, None, np.arange(k)), dtype="Int64"),
        "mixed": np.resize(np.array([1.5, "x", None, float("nan"), 2], dtype=object), k),
        "name": pd.Series(np.resize(np.array(["x", None, "y,z", ""], dtype=object), k),
                          dtype="string"),
    })
    assert frame_csv(frame) == frame.to_csv(index=False)
    assert frame_csv(frame.iloc[:0]) == frame.iloc[:0].to_csv(index=False)
    assert frame_csv(frame[["config"]]) == frame[["config"]].to_csv(index=False)


def test_long_tables_are_the_concat_of_one_frame_per_unit():
    """The long tables are built column by column; they are the frames (dtypes, index, CSV
    bytes) that concatenating one DataFrame per unit gave."""
    from sims._store import frame_csv
    from sims._tables import _stack

    rng = np.random.default_rng(0)
    parts = [
        {"config": name, "width": w, "seed": np.arange(3) + 7,
         "value": rng.normal(size=3) if w != 512 else np.array([np.nan, 1.0, -0.0]),
         "flag": rng.random(3) < 0.5,
         "stop_step": np.array([np.nan, 2.0, 5.0])}
        for name in ("case1", "a,b", "x") for w in (256, 512)
    ]
    columns = ["config", "width", "seed", "value", "flag", "stop_step"]
    expected = pd.concat([pd.DataFrame(p) for p in parts], ignore_index=True)[columns]
    got = _stack(parts, columns)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert list(got.dtypes) == list(expected.dtypes) and got.index.equals(expected.index)
    got["stop_step"] = got["stop_step"].astype("Int64")
    expected["stop_step"] = expected["stop_step"].astype("Int64")
    assert frame_csv(got) == frame_csv(expected)
    assert frame_csv(_stack([], columns)) == pd.DataFrame(columns=columns).to_csv(index=False)


def test_checkpoints_come_every_30_s_unless_the_sweep_ends_sooner_or_they_cost_too_much():
    due = sweep_module._checkpoint_due
    assert due(elapsed=40, since_write=31, write_cost=0, done=1, left=1)  # 40 s still to go
    assert not due(elapsed=40, since_write=29, write_cost=0, done=1, left=1)  # too soon
    assert not due(elapsed=40, since_write=40, write_cost=0, done=4, left=1)  # ends in 10 s
    assert not due(elapsed=40, since_write=40, write_cost=0, done=1, left=0)  # last group
    assert not due(elapsed=400, since_write=35, write_cost=5, done=1, left=1)  # > 10% of time
    assert due(elapsed=400, since_write=50, write_cost=5, done=1, left=1)


def test_stop_row_spans_half_step_medians_with_whole_steps():
    """A median over an even number of seeds can be 10.5; crossovers.csv's t_min/t_max are
    Int64 steps, and a half step there crashed a sweep at a mid-run checkpoint."""
    from sims import DEFAULT_SUITE
    from sims._config import log_grid
    from sims._predict import predict_config
    from sims._probe import UnitResult
    from sims._tables import _stop_row

    config = next(c for c in DEFAULT_SUITE if c.name == "small_eta_shrink")
    settings = validate_settings(SweepSettings(seeds=4, steps=64, record=log_grid(64)))
    widths = [256, 512, 1024]
    K = len(settings.record)
    units = {
        (config.name, w): UnitResult(
            stats=np.ones((4, K, 6)), diverged=np.zeros((4, K), bool),
            traj=np.ones((4, 64, 3)), stable=np.zeros((4, 64), bool),
            stop_step=np.array([10, 11, 10, 11]) + 2 * i,
        )
        for i, w in enumerate(widths)
    }
    row = _stop_row(config, settings, widths, units, predict_config(config))
    assert (row["t_min"], row["t_max"]) == (10, 15)  # medians 10.5, 12.5, 14.5
    assert pd.Series([row["t_min"], row["t_max"]]).astype("Int64").tolist() == [10, 15]
