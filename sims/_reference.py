"""The straightforward implementation of the probe: a loop over seeds, nn.Linear, torch.optim.

It is the yardstick for the batched program in ``_probe.py``: the tests check that both
give the same numbers, and ``benchmarks/bench_width_sweep.py`` times one against the other.
Everything here is deliberately plain: a dense frozen W₀ (n×m ``nn.Linear``), autograd,
``torch.optim``, Algorithm 1 written with ``.item()``, and ``.item()`` for every statistic.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ._config import ProbeConfig, SweepSettings
from ._probe import QUANTITIES, UnitResult, _draw_data, _init_params

if TYPE_CHECKING:
    import torch


def _optimizer(
    config: ProbeConfig, A: torch.Tensor, B: torch.Tensor, eta_A: float, eta_B: float
) -> torch.optim.Optimizer:
    import torch

    groups = [{"params": [A], "lr": eta_A}, {"params": [B], "lr": eta_B}]
    if config.optimizer == "adam":
        return torch.optim.Adam(groups)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(groups, weight_decay=config.weight_decay)
    return torch.optim.SGD(groups)  # sgd, and signsgd after grad.sign_()


def reference_unit(config: ProbeConfig, settings: SweepSettings, n: int) -> UnitResult:
    """Run one (configuration, width) unit seed by seed, the plain way.

    Same data, initialisation and protocol as :func:`sims.run_width` (same Z, target,
    A₀, B₀), but with a materialised W₀, autograd, ``torch.optim`` and ΔY measured
    directly as Y_{t+1} − Y_t on the same Z.
    """
    import torch

    dtype = getattr(torch, settings.dtype)
    seeds = [settings.seed + i for i in range(settings.seeds)]
    m, r, b = settings.m_at(n), settings.rank, settings.batch
    Z_all, U_all, V_all = _draw_data(settings, seeds, n, m, dtype)
    A0, B0 = _init_params([config], seeds, n, m, r, dtype)
    scale = config.at_width(n)
    s = scale["s"]
    K, T = len(settings.record), settings.steps
    stats = np.zeros((len(seeds), K, len(QUANTITIES)))
    traj = np.zeros((len(seeds), T, 3))
    stable_traj = np.zeros((len(seeds), T), dtype=bool)
    stop = np.zeros(len(seeds), dtype=np.int64)
    if config.fresh_batches:
        raise ValueError("the reference implementation covers the fixed-batch protocol only")
    for i in range(len(seeds)):
        gen = torch.Generator().manual_seed(seeds[i])
        base = torch.nn.Linear(n, m, bias=False, dtype=dtype)
        with torch.no_grad():
            base.weight.normal_(0.0, 1.0 / math.sqrt(n), generator=gen)  # frozen W₀
        base.weight.requires_grad_(False)
        Z = Z_all[i]  # (n, b)
        R = U_all[i] @ (V_all[i] @ Z) / math.sqrt(settings.teacher_rank)
        target = base(Z.T).T + R  # T = W₀Z + residual, (m, b)
        A = torch.nn.Parameter(A0[i, 0].clone())
        B = torch.nn.Parameter(B0[i, 0].clone())
        opt = _optimizer(config, A, B, scale["eta_A"], scale["eta_B"])
        stable = False
        for k in range(1, T + 1):
            Y = base(Z.T).T + s * (B @ (A @ Z))  # (m, b)
            loss = 0.5 * ((Y - target) ** 2).sum() / b
            traj[i, k - 1] = [loss.item(), A.norm().item() / n, B.norm().item() / m]
            opt.zero_grad()
            loss.backward()
            if config.optimizer == "signsgd":
                A.grad.sign_()
                B.grad.sign_()
            A_old, B_old = A.detach().clone(), B.detach().clone()
            with torch.no_grad():  # Algorithm 1
                if config.shrink is not None:
                    above = A.norm().item() / n > B.norm().item() / m
                    if (config.stop_condition and not stable and above) or (
                        not config.stop_condition and above
                    ):
                        A.mul_(1.0 - config.shrink)
                    else:
                        if stop[i] == 0:
                            stop[i] = k
                        stable = stable or config.stop_condition
            stable_traj[i, k - 1] = stable
            opt.step()
            if k in settings.record:
                with torch.no_grad():
                    dA, dB = A - A_old, B - B_old
                    Y_new = base(Z.T).T + s * (B @ (A @ Z))
                    values = {
                        "delta1": s * dB @ (A_old @ Z),
                        "delta2": s * B_old @ (dA @ Z),
                        "delta3": s * dB @ (dA @ Z),
                        "dY": Y_new - Y.detach(),
                        "AtZ": A_old @ Z,
                        "Bt": B_old,
                    }
                    row = settings.record.index(k)
                    for q, name in enumerate(QUANTITIES):
                        stats[i, row, q] = values[name].pow(2).mean().sqrt().item()
    finite = np.isfinite(traj[:, :, 0])
    bad = np.logical_or.accumulate(~finite, axis=1)[:, np.asarray(settings.record) - 1]
    diverged = np.logical_or.accumulate(bad | ~np.isfinite(stats).all(axis=-1), axis=1)
    return UnitResult(stats, diverged, traj, stable_traj, stop)
