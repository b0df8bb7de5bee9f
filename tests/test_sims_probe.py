"""The batched width program of sims/ against the plain seed-by-seed reference."""

from fractions import Fraction

import numpy as np
import pytest

from sims import ProbeConfig, SweepSettings, run_width, validate_config, validate_settings
from sims._reference import reference_unit

SETTINGS = validate_settings(
    SweepSettings(
        widths=(48,),
        seeds=2,
        steps=7,
        record=(1, 2, 4, 7),
        batch=3,
        rank=2,
        m="0.75n",
        teacher_rank=2,
        dtype="float64",
    )
)
CONFIGS = [
    validate_config(c)
    for c in (
        ProbeConfig("adam_A", eta_exp=Fraction(-1, 2), eta_coef=0.05),
        ProbeConfig(
            "adamw_shrink",
            optimizer="adamw",
            eta_exp=Fraction(-3, 2),
            eta_coef=2.0,
            s_exp=Fraction(2),
            s_coef=1e-3,
            shrink=0.3,
            weight_decay=0.1,
        ),
        ProbeConfig(
            "signsgd_AB_nostop",
            optimizer="signsgd",
            init="AB",
            eta_coef=0.02,
            shrink=0.2,
            stop_condition=False,
        ),
        ProbeConfig(
            "sgd_B",
            optimizer="sgd",
            init="B",
            eta_exp=Fraction(-2),
            eta_coef=0.5,
            etaB_exp=Fraction(0),
            etaB_coef=0.05,
        ),
    )
]


@pytest.fixture(scope="module")
def batched():
    return run_width(CONFIGS, SETTINGS, 48)


@pytest.mark.parametrize("index", range(len(CONFIGS)))
def test_batched_program_matches_plain_reference(batched, index):
    config = CONFIGS[index]
    ours, ref = batched[config.name], reference_unit(config, SETTINGS, 48)
    # δ's, ΔY (the reference takes Y_{t+1} − Y_t directly), A_tZ, B_t at recorded steps.
    # stablelora's kernel forms the shrink factor 1 − λ in float32 even for float64 A
    # (relative 2e-8), so shrinking configurations agree to 1e-6, the others to 1e-8.
    rtol = 1e-6 if config.shrink is not None else 1e-8
    np.testing.assert_allclose(ours.stats, ref.stats, rtol=rtol, atol=1e-13)
    np.testing.assert_allclose(ours.traj, ref.traj, rtol=rtol, atol=1e-13)
    np.testing.assert_array_equal(ours.stable, ref.stable)
    np.testing.assert_array_equal(ours.stop_step, ref.stop_step)
    assert not ours.diverged.any()


def test_delta_sum_is_exactly_the_output_change(batched):
    # Stable-LoRA Eq. (1): ΔY = δ₁ + δ₂ + δ₃; the sum can only be as large as the parts
    stats = batched["adam_A"].stats  # (S, K, 6)
    assert (stats[:, :, 3] <= stats[:, :, 0] + stats[:, :, 1] + stats[:, :, 2] + 1e-15).all()


def test_step_one_with_zero_B0_learns_only_B(batched):
    # B₀ = 0 ⇒ g_A⁰ = 0 (Stable-LoRA Sec. 2.1): δ₂ = δ₃ = 0 exactly at step 1
    stats = batched["adam_A"].stats
    assert (stats[:, 0, 1] == 0).all() and (stats[:, 0, 2] == 0).all()
    assert (stats[:, 0, 0] > 0).all()


def test_results_do_not_depend_on_which_configs_share_the_batch(batched):
    alone = run_width([CONFIGS[1]], SETTINGS, 48)[CONFIGS[1].name]
    np.testing.assert_allclose(alone.stats, batched[CONFIGS[1].name].stats, rtol=1e-12)
    np.testing.assert_array_equal(alone.stop_step, batched[CONFIGS[1].name].stop_step)


def test_shrinking_configs_record_a_stop_step(batched):
    assert (batched["adamw_shrink"].stop_step >= 2).all()  # B₀ = 0: never stable at step 1
    assert (batched["adam_A"].stop_step == 0).all()  # no shrinkage: empty
    assert not batched["signsgd_AB_nostop"].stable.any()  # no stop condition: flag unused


def test_overflowed_adam_state_is_divergence_though_the_loss_is_finite():
    # η = 1e12: at step 2 g_A² overflows v_A to inf, A freezes (m/√v = 0, δ₂ = δ₃ = 0)
    # while B keeps moving and the loss stays finite (~1e25): only the state shows it.
    settings = validate_settings(SweepSettings(**{**SETTINGS.__dict__, "dtype": "float32",
                                                  "steps": 5, "record": (1, 2, 5)}))
    huge = validate_config(ProbeConfig("huge", eta_exp=Fraction(0), eta_coef=1e12))
    units = run_width([huge, CONFIGS[0]], settings, 48)
    unit = units["huge"]
    assert np.isfinite(unit.traj).all()
    assert (unit.stats[:, 1:, 1] == 0).all()  # δ₂ vanishes: what once read as γ̂ = −∞
    assert unit.diverged.tolist() == [[False, True, True]] * 2
    assert not units[CONFIGS[0].name].diverged.any()


@pytest.mark.parametrize("size", [1, 2])
def test_seed_groups_give_every_seed_the_same_numbers(size):
    # run_width trains the seeds in cache-sized groups; a seed's arithmetic must not
    # depend on which seeds share its tensor program, bit for bit (byte-identical files)
    settings = validate_settings(SweepSettings(**{**SETTINGS.__dict__, "seeds": 3}))
    whole = run_width(CONFIGS, settings, 48, seeds_at_once=3)
    ticks = []
    grouped = run_width(CONFIGS, settings, 48, seeds_at_once=size,
                        on_step=lambda: ticks.append(1))
    assert len(ticks) == settings.steps  # progress counts the width's steps once
    for name, unit in whole.items():
        for field in ("stats", "diverged", "traj", "stable", "stop_step"):
            np.testing.assert_array_equal(getattr(grouped[name], field), getattr(unit, field))


def test_seed_groups_fit_the_cache_on_one_cpu_thread_only(monkeypatch):
    import sims._probe as probe

    settings = validate_settings(SweepSettings())  # 8 seeds, r = b = 4, float32
    monkeypatch.setattr(probe, "_last_level_cache_bytes", lambda: 32 * 2**20)
    per_seed = probe.step_bytes_per_seed(settings, 16384, 16384, 9, 4)
    assert 20 * 2**20 < per_seed < 24 * 2**20  # the suite's largest width: 22 MB a seed
    assert probe.seeds_per_group(settings, 16384, 9, "cpu") == 1
    assert probe.seeds_per_group(settings, 4096, 9, "cpu") == 4
    assert probe.seeds_per_group(settings, 256, 9, "cpu") == 8
    assert probe.seeds_per_group(settings, 16384, 9, "cuda") == 8
    assert probe.seeds_per_group(settings, 16384, 9, "cpu", threads=2) == 8


def test_float64_runs_the_float32_sample_at_a_higher_precision():
    """torch draws other normals for float64; the probe draws in float32 and casts, so
    `--dtype float64` changes the precision of the arithmetic, not the sample."""
    import torch

    from sims import DEFAULT_SUITE
    from sims._probe import _draw_data, _fresh_z, _init_params

    settings = validate_settings(SweepSettings(seeds=2, steps=3, record=(3,)))
    configs = [c for c in DEFAULT_SUITE if c.name in ("case1", "init_AB")]
    seeds, n, m = [0, 1], 1024, 1024
    for f32, f64 in (
        (_draw_data(settings, seeds, n, m, torch.float32),
         _draw_data(settings, seeds, n, m, torch.float64)),
        (_init_params(configs, seeds, n, m, 4, torch.float32),
         _init_params(configs, seeds, n, m, 4, torch.float64)),
        ((_fresh_z(seeds, n, 4, 7, torch.float32),), (_fresh_z(seeds, n, 4, 7, torch.float64),)),
    ):
        for a, b in zip(f32, f64, strict=True):
            assert b.dtype == torch.float64 and a.abs().sum() > 0
            assert torch.allclose(a.double(), b, rtol=1e-6, atol=0)  # V: /√n in float64
