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
