"""Crossovers and regimes of sims/: theory's envelope, a known τ* recovered, cells classified."""

import math
from fractions import Fraction as F

import numpy as np
import pytest

from sims._crossover import Bend, envelope, fit_crossover, locate
from sims._fit import ExponentFit
from sims._regime import band, band_verdict, is_converged, residual_exponent

WIDTHS = [256, 512, 1024, 2048, 4096, 8192, 16384]
TS = [2, 3, 5, 7, 10, 15, 22, 32, 45, 64, 91, 128, 181, 256, 362, 512, 724, 1024]


def _two_terms(b_before, b_after, a_after, K, tau, seeds=8, noise=0.03, seed=0):
    """log RMS of √(T_before² + T_after²), T_before = n^{b_before}, T_after equal on
    t = K·n^τ, with i.i.d. log-normal seed noise: per width, (seeds, len(TS))."""
    rng = np.random.default_rng(seed)
    out = []
    for n in WIDTHS:
        t = np.asarray(TS, dtype=float)
        before = n**b_before * np.ones_like(t)
        after = n**b_before * (t / (K * n**tau)) ** a_after  # = before at t = K n^τ
        y = np.log(np.sqrt(before**2 + after**2))
        out.append(y[None, :] + noise * rng.standard_normal((seeds, len(TS))))
    return out


def test_envelope_of_small_eta_bends_once_at_one_half():
    # A_tZ = A₀Z + learned: Θ(1) against Θ(t·n^{-1/2}) (γ[η] = -3/2, Init[A])
    bends = envelope("AtZ", [("A0Z", F(0), F(0)), ("learned", F(-1, 2), F(1))])
    assert [(b.tau, b.before_name, b.after_name) for b in bends] == [(F(1, 2), "A0Z", "learned")]
    assert bends[0].predicted and bends[0].width_signature


def test_envelope_of_case1_bends_below_zero_and_skips_zero_terms():
    terms = [("A0Z", F(0), F(0)), ("learned", F(1, 2), F(1)), ("zero", -math.inf, F(2))]
    (bend,) = envelope("AtZ", terms)
    assert bend.tau == F(-1, 2) and not bend.predicted  # a finite-width bend only


def test_envelope_checks_every_bend_by_substitution():
    rng = np.random.default_rng(1)
    for _ in range(50):
        terms = [(f"x{i}", F(int(rng.integers(-6, 7)), 2), F(int(rng.integers(0, 4))))
                 for i in range(4)]
        bends = envelope("q", terms)
        taus = [b.tau for b in bends]
        assert taus == sorted(taus)
        for b in bends:  # equal at τ*, and the envelope's maximum there
            at = b.before[0] + b.before[1] * b.tau
            assert at == b.after[0] + b.after[1] * b.tau
            assert at == max(n + a * b.tau for _, n, a in terms)
            eps = F(1, 1000)
            assert b.before[0] + b.before[1] * (b.tau - eps) == max(
                n + a * (b.tau - eps) for _, n, a in terms)


def test_envelope_refuses_float_exponents():
    with pytest.raises(TypeError):
        envelope("AtZ", [("A0Z", 0.0, 0.0), ("learned", -0.5, 1.0)])


def test_locate_finds_where_the_two_terms_are_equal():
    log_n = np.log(np.asarray(WIDTHS, float))
    n_star = 2048.0
    y = 0.5 * np.log(n_star / np.exp(log_n) + 1.0)  # n^{-1/2}·√(n* + n): slopes −1/2 … 0
    assert math.exp(locate(log_n, y, -0.5, 0.0)) == pytest.approx(n_star, rel=0.05)
    assert math.isnan(locate(log_n, np.zeros(len(WIDTHS)), -0.5, 0.0))  # flat: n* ≤ n_min
    assert math.isnan(locate(log_n, -0.5 * log_n, -0.5, 0.0))  # slope −1/2: n* ≥ n_max


@pytest.mark.parametrize("n_boot", [1, 7, 9, 100])
def test_locate_in_blocks_is_each_resample_located_alone(n_boot):
    """Bootstrap resamples are located a block at a time; every one lands exactly where it
    lands on its own, and where the whole (B, T, U) array of the first version put it."""
    log_n = np.log(np.asarray(WIDTHS, float))
    logs = _two_terms(0.0, -1.0, 1.0, 0.02, 1.0, seed=n_boot)
    rng = np.random.default_rng(n_boot)
    boot = np.stack([lv[rng.integers(0, 8, size=(n_boot, 8))].mean(axis=1) for lv in logs],
                    axis=-1)  # (B, T, W)
    alone = np.stack([locate(log_n, boot[i], -1.0, 0.0) for i in range(n_boot)])
    assert np.array_equal(locate(log_n, boot, -1.0, 0.0), alone, equal_nan=True)
    grid = np.linspace(log_n[0], log_n[-1], 241)
    shape = 0.5 * np.logaddexp(0.0 * log_n, 2 * grid[:, None] - 2 * log_n)  # b: −1 → 0
    shape = shape - shape.mean(axis=-1, keepdims=True)
    y = boot - boot.mean(axis=-1, keepdims=True)
    best = ((shape * shape).sum(axis=-1) - 2 * y @ shape.T).argmin(axis=-1)
    first = np.where((best == 0) | (best == 240), np.nan, grid[best])
    assert np.isfinite(first).mean() > 0.5
    assert np.array_equal(locate(log_n, boot, -1.0, 0.0), first, equal_nan=True)


@pytest.mark.parametrize(("b_after", "tau"), [(F(-1, 2), F(1, 2)), (F(-1), F(1))])
def test_fit_recovers_a_known_crossover_exponent(b_after, tau):
    K = 2.0 if tau == F(1, 2) else 0.02
    bend = Bend("AtZ", tau, (F(0), F(0)), (b_after, F(1)))
    covered = 0
    for seed in range(10):  # a 95% interval covers τ* in about 19 of 20 realisations
        logs = _two_terms(0.0, float(b_after), 1.0, K, float(tau), seed=seed)
        fit = fit_crossover(WIDTHS, logs, TS, bend, n_boot=100, key=str(seed))
        assert fit.tau_hat == pytest.approx(float(tau), rel=0.1)
        assert fit.log_K == pytest.approx(math.log(K), abs=0.5)
        assert fit.ci_high - fit.ci_low < 0.3 * float(tau)
        covered += fit.ci_low <= float(tau) <= fit.ci_high
        wrong = F(3, 2) * tau  # an interval that covers everything would not exclude this
        assert not fit.ci_low <= float(wrong) <= fit.ci_high
    assert covered >= 8


def test_a_window_before_the_bend_is_not_located():
    logs = _two_terms(0.0, -0.5, 1.0, 1e6, 0.5)  # t* = 10⁶·√n: far beyond the steps
    bend = Bend("AtZ", F(1, 2), (F(0), F(0)), (F(-1, 2), F(1)))
    fit = fit_crossover(WIDTHS, logs, TS, bend, n_boot=50, key="t")
    assert math.isnan(fit.tau_hat) and fit.side == "high" and not fit.points


SMALL_ETA = Bend("AtZ", F(1, 2), (F(0), F(0)), (F(-1, 2), F(1)))


def test_band_classifies_cells_before_inside_and_past_the_bend():
    log_k = math.log(2.0)  # t* = 2·√n: 32 at n = 256, 256 at n = 16384
    early = band(WIDTHS, 2, [(SMALL_ETA, log_k)])
    assert early.regime == "asymptotic" and early.gamma_pred == 0.0  # the fixed-t term
    middle = band(WIDTHS, 90, [(SMALL_ETA, log_k)])
    assert middle.regime == "crossover"
    assert {middle.gamma_pred, middle.gamma_other} == {0.0, -0.5}
    late = band(WIDTHS, 200_000, [(SMALL_ETA, log_k)])
    assert late.regime == "asymptotic" and late.gamma_pred == -0.5  # τ > τ* everywhere
    assert band(WIDTHS, 90, [(SMALL_ETA, math.nan)]) is None  # not placed: no band


def test_band_verdict_wants_the_slope_between_the_two_terms():
    def fit(g, lo, hi):
        return ExponentFit(g, lo, hi, (), 7)

    assert band_verdict(fit(-0.2, -0.3, -0.1), 0.0, -0.5) == "agree"
    assert band_verdict(fit(0.08, 0.0, 0.15), 0.0, -0.5) == "agree"  # within the tolerance
    assert band_verdict(fit(0.4, 0.3, 0.5), 0.0, -0.5) == "disagree"
    assert band_verdict(fit(-0.75, -0.9, -0.6), 0.0, -0.5) == "disagree"


def test_converged_needs_a_fallen_and_width_dependent_residual():
    ratios = [np.full(8, 0.5 * (n / 256) ** -0.3) for n in WIDTHS]  # falls faster at large n
    slope, smallest = residual_exponent(WIDTHS, ratios)
    assert slope == pytest.approx(-0.3) and is_converged(slope, smallest)
    same = [np.full(8, 0.01) for _ in WIDTHS]  # fallen alike at every width: still Θ(1) in n
    assert not is_converged(*residual_exponent(WIDTHS, same))
    grown = [np.full(8, (n / 256) ** 0.5 + 1) for n in WIDTHS]  # blow-up, not convergence
    assert not is_converged(*residual_exponent(WIDTHS, grown))


def test_judge_classifies_constructed_cells_and_measures_the_bend():
    from sims import ProbeConfig, SweepSettings, predict_config
    from sims._config import log_grid
    from sims._judge import judge_config
    from sims._probe import QUANTITIES, UnitResult

    config = ProbeConfig("small_eta", eta_exp=F(-3, 2), eta_coef=1.0, s_exp=F(2), s_coef=3e-5)
    settings = SweepSettings(widths=tuple(WIDTHS), seeds=8, steps=512, record=log_grid(512),
                             bootstrap=200)
    rng = np.random.default_rng(3)
    t = np.asarray(settings.record, float) - 1  # the paper's t at each recorded step
    units = []
    for n in WIDTHS:
        noise = np.exp(0.03 * rng.standard_normal((8, len(t), 1)))
        atz = np.sqrt(1 + (t / (2.0 * n**0.5)) ** 2)  # t* = 2·n^{1/2}
        stats = np.stack([n**0.5 * atz * 1e-3, 1e-3 * (t + 1), 1e-4 * np.ones_like(t),
                          n**0.5 * atz * 1e-3, atz, (t + 1) * n**-1.5], axis=-1)
        stats = np.broadcast_to(stats, (8, len(t), len(QUANTITIES))) * noise
        loss = np.ones((8, 512, 3))
        loss[:, 300:, 0] = 1e-2 * (n / 256) ** -0.5  # converged, faster at large n
        units.append(UnitResult(stats, np.zeros((8, len(t)), bool), loss,
                                np.zeros((8, 512), bool), np.zeros(8, int)))
    cells, bends = judge_config(config, settings, WIDTHS, units, predict_config(config))
    regime = {(c.step, c.quantity): c.regime.regime for c in cells}
    assert all(regime[1, q] == "transient" for q in QUANTITIES)
    assert all(regime[k, q] == "converged" for k in (362, 512) for q in QUANTITIES)
    assert regime[2, "AtZ"] == "asymptotic"
    assert "crossover" in {regime[k, "AtZ"] for k in settings.record}
    (atz,) = [b for b in bends if b.bend.quantity == "AtZ"]
    assert atz.verdict == "agree" and atz.fit.tau_hat == pytest.approx(0.5, abs=0.1)
    early = next(c for c in cells if c.step == 2 and c.quantity == "AtZ")
    assert early.regime.gamma_pred == 0.0 and early.verdict == "agree"
    for c in cells:  # a crossover cell is judged by the band between the two terms
        if c.regime.regime == "crossover" and c.quantity == "AtZ":
            assert {c.regime.gamma_pred, c.regime.gamma_other} == {0.0, -0.5}
            assert c.verdict == "agree"


def test_recorded_steps_default_to_a_sqrt2_log_grid_up_to_the_horizon():
    from sims._config import HORIZONS, SweepSettings, log_grid, validate_settings
    from sims.width_sweep import build_parser, settings_from_args

    grid = log_grid(512)
    assert grid[:8] == (1, 2, 3, 4, 6, 8, 11, 16) and grid[-1] == 512
    assert all(b / a <= 2 for a, b in zip(grid, grid[1:], strict=False))
    assert validate_settings(SweepSettings(steps=100, record=())).record == log_grid(100)
    args = build_parser().parse_args(["--horizon", "long"])
    settings = validate_settings(settings_from_args(args, SweepSettings()))
    assert settings.steps == HORIZONS["long"] == 2048 and settings.record == log_grid(2048)
    args = build_parser().parse_args(["--steps", "40", "--record", "1", "40"])
    assert validate_settings(settings_from_args(args, SweepSettings())).record == (1, 40)


def test_dy_is_judged_by_the_components_that_make_it_up():
    from sims._regime import CellRegime, compose_dy

    log_n = np.log(np.asarray(WIDTHS, float))
    d1_band = CellRegime("crossover", 0.0, -0.5)  # δ₁ between its A₀Z and learned terms
    point = CellRegime("asymptotic", 0.0)
    own = CellRegime("asymptotic", 0.0)
    # δ₁ ∝ n^{-1/2} with a large constant beats δ₂ ∝ n^0 at the small widths only
    switching = np.stack([np.log(50.0) - 0.5 * log_n, np.zeros(7), np.full(7, -3.0)])
    dy = compose_dy(switching, [d1_band, point, point], own)
    assert dy.regime == "crossover" and {dy.gamma_pred, dy.gamma_other} == {0.0, -0.5}
    # δ₂ dominates at every width: ΔY keeps its own point prediction
    flat = np.stack([-2.0 - 0.5 * log_n, np.zeros(7), np.full(7, -3.0)])
    assert compose_dy(flat, [d1_band, point, point], own) is own
    # a component without a finite prediction, or a width with no component: no say
    assert compose_dy(switching, [CellRegime("asymptotic", None), point, point], own) is None
    assert compose_dy(np.full((3, 7), -np.inf), [point] * 3, own) is None


def test_stop_lag_shifts_the_slope_by_the_log_n_stop_step():
    from sims._regime import stop_lag

    stops = [16.0, 18.0, 21.0, 24.0, 26.0, 29.0, 32.0]  # N(n) ≈ 2.9·ln n, as measured
    early = stop_lag(WIDTHS, 45, stops, -0.5)
    x = np.log(np.asarray(WIDTHS, float))
    shift = np.polyfit(x, np.log(45 - np.asarray(stops)), 1)[0]
    assert early.regime == "crossover" and early.gamma_pred == -0.5
    assert early.gamma_other == pytest.approx(-0.5 + shift) and shift < -0.1
    late = stop_lag(WIDTHS, 512, stops, -0.5)  # t ≫ N(n): the log n start is invisible
    assert late.regime == "asymptotic" and late.gamma_pred == -0.5
    assert stop_lag(WIDTHS, 20, stops, -0.5) is None  # some width has not stopped yet
    assert stop_lag(WIDTHS, 45, [math.nan] + stops[1:], -0.5) is None


def test_shrink_decay_places_the_log_n_crossover_of_the_remnant():
    """A₀Z·(1 − λ)^t against a learned part c·n^{-1/2}: the remnant governs early, the
    learned part late, and in between the widths straddle t* = 2·ln n/ln(1/(1 − λ))."""
    from sims._regime import shrink_decay

    log_n = np.log(np.asarray(WIDTHS, float))

    def at(t, lam=0.2, c=1.0):
        remnant = t * math.log1p(-lam) + np.zeros_like(log_n)  # A₀Z = Θ(1), exact decay
        total = np.log(np.exp(remnant) + c * np.exp(-0.5 * log_n))  # aligned: a linear sum
        return shrink_decay(WIDTHS, remnant, total, 0.0, -0.5)

    early, late = at(1), at(60)
    assert early.regime == "asymptotic" and early.gamma_pred == 0.0
    assert late.regime == "asymptotic" and late.gamma_pred == -0.5
    middle = at(16)  # 0.8^16 = 0.028 against n^{-1/2} = 0.0625 … 0.0078: both sides
    assert middle.regime == "crossover"
    assert (middle.gamma_pred, middle.gamma_other) == (-0.5, 0.0)
    assert "learned share" in middle.why
    # nothing learned yet (A_tZ is the remnant alone), or exponents not finite: no say
    flat = np.zeros_like(log_n)
    assert shrink_decay(WIDTHS, flat, flat, 0.0, -0.5) is None
    assert shrink_decay(WIDTHS, flat, flat + 0.1, 0.0, -math.inf) is None


def test_shrinking_cells_of_the_default_suite_follow_the_remnant():
    """Algorithm 1 before its stop: A_tZ and δ₁ move from the while-shrinking exponent to
    the after-stop one where the remnant gives way; δ₂, δ₃ keep the fixed-step one."""
    from sims import DEFAULT_SUITE
    from sims._judge import _while_shrinking
    from sims._predict import predict_config
    from sims._regime import CellRegime

    config = next(c for c in DEFAULT_SUITE if c.name == "small_eta_shrink")
    pred = predict_config(config)
    before = pred.for_step(11, "before")
    band_ = CellRegime("crossover", -0.5, 0.0, "why")
    learned = CellRegime("asymptotic", -0.5)
    remnant = CellRegime("asymptotic", 0.0)
    assert _while_shrinking(pred, "AtZ", 11, before["AtZ"], band_).regime == "crossover"
    d1 = _while_shrinking(pred, "delta1", 11, before["delta1"], band_)
    assert (d1.gamma_pred, d1.gamma_other) == (0.0, 0.5)
    assert _while_shrinking(pred, "delta1", 11, before["delta1"], learned).gamma_pred == 0.0
    assert _while_shrinking(pred, "delta1", 11, before["delta1"], remnant).gamma_pred == 0.5
    for q in ("delta2", "delta3", "dY", "Bt"):
        kept = _while_shrinking(pred, q, 11, before[q], band_)
        assert kept.regime == "asymptotic" and kept.gamma_pred == before[q]


def test_stop_slope_recovers_the_law_and_b_growth():
    """Stop steps drawn from N·ln(1/(1−λ)) + ln N = ln n + c (± one step of seed noise):
    the measured dN/d ln n covers the law's slope, a wrong law is refused, and B_t ∝ t^0.7
    is measured as 0.7."""
    from fractions import Fraction

    from sims._stop_step import measure_stop_slope
    from theory._predict import StopLaw

    lam, rng = 0.2, np.random.default_rng(3)

    def root(log_n: float) -> float:
        lo, hi = 1e-6, 1e4
        for _ in range(100):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if mid * -math.log1p(-lam) + math.log(mid) < log_n else (lo, mid)
        return lo

    stops = [np.round(root(math.log(n) + 1.0) + rng.integers(-1, 2, 64)) for n in WIDTHS]
    record = tuple(range(1, 60))
    t = np.asarray(record, float) - 1
    b_rms = [np.tile(np.maximum(t, 1.0) ** 0.7, (64, 1)) for _ in WIDTHS]
    law = StopLaw(Fraction(1), Fraction(1))
    got = measure_stop_slope(WIDTHS, stops, law, lam, n_boot=300, key="t", b_rms=b_rms,
                             record=record)
    assert got.verdict == "agree", got
    assert got.growth == pytest.approx([0.7] * len(WIDTHS), abs=1e-9)
    assert "t^0.70" in got.reason(WIDTHS)
    assert got.with_growth == pytest.approx(law.slope(lam, np.mean(got.medians), 0.7))
    wrong = measure_stop_slope(WIDTHS, stops, StopLaw(Fraction(2), Fraction(1)), lam,
                               n_boot=300, key="t")
    assert wrong.verdict == "disagree" and wrong.growth == ()
    never = [s if i else np.zeros(64) for i, s in enumerate(stops)]  # n = 256 never stopped
    assert measure_stop_slope(WIDTHS, never, law, lam, n_boot=10, key="t") is None
