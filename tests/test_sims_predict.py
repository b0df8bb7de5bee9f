"""Which theory prediction sims compares with, phase by phase of Stable-LoRA's shrinkage."""

from fractions import Fraction

from sims import ProbeConfig
from sims._predict import predict_config

SMALL_ETA = {"eta_exp": Fraction(-3, 2), "s_exp": Fraction(2), "eta_coef": 1.0}


def test_shrinking_steps_carry_the_shrink_in_delta2_and_delta3() -> None:
    """While A shrinks, ΔA ∋ −λA_t puts s + γ[B_t] + γ[A_tZ] = 1/2 into δ₂ (plain theory: 0)."""
    pred = predict_config(ProbeConfig(name="x", shrink=0.2, **SMALL_ETA))
    plain = pred.for_step(3, "none")
    shrinking = pred.for_step(3, "before")
    assert plain["delta2"] == 0.0
    assert shrinking["delta2"] == 0.5
    assert shrinking["delta3"] == 0.5


def test_after_the_stop_the_stable_exponents_apply() -> None:
    pred = predict_config(ProbeConfig(name="x", shrink=0.2, **SMALL_ETA))
    after = pred.for_step(100, "after")
    assert after["dY"] == 0.0 and after["AtZ"] == -0.5
    assert pred.for_step(100, "mixed") is None


def test_fraction_route_matches_the_sympy_route_for_the_default_suite(monkeypatch) -> None:
    """predict_config asks theory for Fraction exponents (no sympy import); the floats, the
    run.json strings and the bends are those of theory's sympy exponents."""
    import theory
    from sims import DEFAULT_SUITE

    exact = {c.name: predict_config(c) for c in DEFAULT_SUITE}
    plain_predict = theory.predict
    monkeypatch.setattr(theory, "predict",
                        lambda *a, values="sympy", **kw: plain_predict(*a, **kw))
    for c in DEFAULT_SUITE:
        p, q = exact[c.name], predict_config(c)
        assert type(q.plain.gamma_t(0)["dY"]).__module__.startswith("sympy")
        assert p.to_json() == q.to_json() and p.bends == q.bends
        assert (p.case, p.stable, p.steady_from) == (q.case, q.stable, q.steady_from)
        phases = ("none",) if c.shrink is None else ("before", "after", "mixed")
        for step in range(1, 14):
            for phase in phases:
                assert p.for_step(step, phase) == q.for_step(step, phase)
