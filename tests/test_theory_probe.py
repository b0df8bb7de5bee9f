"""predict() against a real computation: a tiny seeded numpy LoRA layer trained with SignSGD.

SignSGD is the normalised optimizer of Stable-LoRA's Assumption 1 argument (Sec. 3.1).
Exponents are fitted by least squares of log RMS on log n over n = 256 … 4096.
"""

import math

import numpy as np

from theory import predict

NS = (256, 1024, 4096)
R, BATCH, SEEDS = 2, 16, 4


def probe(n, eta_exp, s_exp, a0z_exp, steps, *, shrink=0.0, seed=0):
    """(steps, 5) per-entry RMS of δ₁, δ₂, δ₃, A_tZ, B_t, and the step the stop fired."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, BATCH))  # (n, b)
    target = rng.standard_normal((n, BATCH))  # (m, b), m = n
    A = rng.standard_normal((R, n)) * n ** (a0z_exp - 0.5)  # (r, n): γ[A₀Z] = a0z_exp (CLT)
    B = np.zeros((n, R))  # (m, r): B₀ = 0
    eta, s = 0.5 * n ** eta_exp, n ** s_exp
    stable, stop, rows = shrink == 0.0, None, []
    for t in range(steps):
        A_old, B_old = A, B
        AZ = A @ Z  # (r, b)
        dY = (s * B @ AZ - target) / BATCH  # (m, b)
        gA = np.sign(s * (B.T @ dY) @ Z.T)  # (r, n)
        gB = np.sign(s * dY @ AZ.T)  # (m, r)
        if not stable:  # Stable-LoRA Algorithm 1 (m = n), after the backward pass
            if np.linalg.norm(A) / n > np.linalg.norm(B) / n:
                A = (1 - shrink) * A
            else:
                stable, stop = True, t
        A, B = A - eta * gA, B - eta * gB
        dAZ, dB = (A - A_old) @ Z, B - B_old  # the step's actual change, shrink included
        rows.append([np.sqrt(np.mean(x**2)) for x in
                     (s * dB @ AZ, s * B_old @ dAZ, s * dB @ dAZ, AZ, B_old)])
    return np.array(rows), stop


def seeded(n, *args, **kw):
    """RMS pooled over SEEDS seeds (mean of squares), and the stop steps."""
    out = [probe(n, *args, seed=k, **kw) for k in range(SEEDS)]
    return np.sqrt(np.mean([r**2 for r, _ in out], axis=0)), [s for _, s in out]


def slopes(runs, t):
    """Fitted exponents of the five quantities at step t."""
    y = np.log(np.array([r[t] for r in runs]))  # (len(NS), 5)
    return np.polyfit(np.log(NS), y, 1)[0]


def as_float(g):
    return [float(g[k]) for k in ("delta1", "delta2", "delta3", "AtZ", "Bt")]


def test_theorem_3_1_and_the_t1_transient_are_measured():
    runs = [seeded(n, -0.5, 0.0, 0.0, 4)[0] for n in NS]
    p = predict("-1/2", 0, 0, "-oo", optimizer="signsgd")
    for t in (1, 3):  # t = 1: δ₁ still −1/2 (A₁ = A₀); t = 3: the steady state
        assert np.allclose(slopes(runs, t), as_float(p.gamma_t(t)), atol=0.15), t


def test_stable_lora_stop_fires_after_theta_log_n_steps_and_repairs_delta1():
    lam = 0.2
    out = [seeded(n, -1.5, 2.0, 0.0, 70, shrink=lam) for n in NS]
    stops = [float(np.mean(s)) for _, s in out]
    # (1−λ)^N·n^{γ[A₀]} must reach n^{γ[η]}: N ≈ (γ[A₀] − γ[η])·ln n / (−ln(1−λ))
    per_factor_4 = (-0.5 + 1.5) * math.log(4) / -math.log(1 - lam)
    assert all(abs((b - a) - per_factor_4) <= 1.5 for a, b in zip(stops, stops[1:], strict=False))
    p = predict("-3/2", 2, 0, "-oo", optimizer="signsgd", shrink="stop")
    assert max(stops) < 60 and min(stops) > 10
    runs = [r for r, _ in out]
    assert np.allclose(slopes(runs, 69), as_float(p.gamma), atol=0.1)  # after the stop
    # while shrinking, ΔA = −λA_t − ηg_A: δ₂ and δ₃ follow A_tZ, not η (all 1/2 here)
    assert np.allclose(slopes(runs, 5), as_float(p.gamma_shrinking_t(5)), atol=0.1)
    plain = predict("-3/2", 2, 0, "-oo", optimizer="signsgd")
    assert float(plain.gamma["delta1"]) == 0.5 and not plain.stable  # unshrunk: mixed case
