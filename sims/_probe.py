"""The single-layer LoRA probe at one width: one tensor program over seeds × configurations."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ._config import ProbeConfig, SweepSettings

if TYPE_CHECKING:
    import torch

    from batchedoptim import BatchedOptimizer

QUANTITIES = ("delta1", "delta2", "delta3", "dY", "AtZ", "Bt")
TRAJ_COLUMNS = ("loss", "normA_over_n", "normB_over_m")
_STREAM_DATA, _STREAM_INIT, _STREAM_FRESH = 1, 2, 3
# Every random number is drawn in float32 and then cast: torch draws other normals for
# float64 (tensors of 16 entries or more), so `--dtype float64` would otherwise be another
# sample; this way it is the same sample at a higher precision.
DRAW_DTYPE = "float32"


@dataclass
class UnitResult:
    """Everything measured for one (configuration, width) unit, on the host.

    Arrays are indexed by seed first (S seeds), then recorded step (K) or step (T).
    """

    stats: np.ndarray  # (S, K, 6) per-entry RMS of QUANTITIES at each recorded step
    diverged: np.ndarray  # (S, K) bool: non-finite loss, statistic or optimizer state by then
    traj: np.ndarray  # (S, T, 3) TRAJ_COLUMNS at the start of every step k (paper's t = k−1)
    stable: np.ndarray  # (S, T) bool: Stable-LoRA's flag after the check of step k
    stop_step: np.ndarray  # (S,) int: first step whose check found ‖A‖/n ≤ ‖B‖/m; 0: never/none


def rng_seed(seed: int, n: int, stream: int, *extra: int) -> int:
    """A 63-bit generator seed that depends only on (seed, width, stream, extra)."""
    state = np.random.SeedSequence([seed, n, stream, *extra]).generate_state(2, np.uint32)
    return int(state[0]) << 31 | int(state[1]) >> 1


def _generator(seed: int) -> torch.Generator:
    import torch

    return torch.Generator().manual_seed(seed)


def _rms(x: torch.Tensor) -> torch.Tensor:
    """Per-entry RMS over the last two dims: (..., p, q) -> (...)."""
    import torch

    return torch.linalg.vector_norm(x, dim=(-2, -1)) / math.sqrt(x.shape[-2] * x.shape[-1])


def _draw_data(
    settings: SweepSettings, seeds: list[int], n: int, m: int, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Input batch Z and the target residual's factors U, V, per seed (on the host).

    Z has i.i.d. N(0, 1) entries; the residual T − W₀Z = U·V·Z/√k has Θ(1) entries with
    U ~ N(0, 1) (m×k), V ~ N(0, 1/n) (k×n): the frozen W₀ never needs to exist. The
    normals are drawn in float32 whatever ``dtype`` (see ``DRAW_DTYPE``).
    """
    import torch

    b, k = settings.batch, settings.teacher_rank
    Z = torch.empty(len(seeds), n, b, dtype=dtype)  # (S, n, b)
    U = torch.empty(len(seeds), m, k, dtype=dtype)  # (S, m, k)
    V = torch.empty(len(seeds), k, n, dtype=dtype)  # (S, k, n)
    draw = getattr(torch, DRAW_DTYPE)
    for i, seed in enumerate(seeds):
        gen = _generator(rng_seed(seed, n, _STREAM_DATA))
        Z[i] = torch.randn(n, b, generator=gen, dtype=draw)
        U[i] = torch.randn(m, k, generator=gen, dtype=draw)
        V[i] = torch.randn(k, n, generator=gen, dtype=draw).to(dtype) / math.sqrt(n)
    return Z, U, V


def _fresh_z(
    seeds: list[int], n: int, b: int, step: int, dtype: torch.dtype, out: torch.Tensor | None = None
) -> torch.Tensor:
    """Step ``step``'s fresh batch Z (S, n, b), drawn (in float32) into ``out`` when given."""
    import torch

    if out is None:
        out = torch.empty(len(seeds), n, b, dtype=dtype)
    draw = getattr(torch, DRAW_DTYPE)
    for i, seed in enumerate(seeds):
        gen = _generator(rng_seed(seed, n, _STREAM_FRESH, step))
        if out.dtype == draw:
            torch.randn(n, b, generator=gen, dtype=draw, out=out[i])
        else:
            out[i] = torch.randn(n, b, generator=gen, dtype=draw)
    return out


def _residual_t(
    Zt: torch.Tensor,
    U: torch.Tensor,
    V: torch.Tensor,
    k_teacher: int,
    out: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """The transposed residual (T − W₀Z)ᵀ = (Zᵀ·Vᵀ)·Uᵀ/√k (S, b, m), from Zᵀ (S, b, n).

    ``out``: buffers (S, b, k) and (S, b, m) to compute into (the latter is returned).
    """
    import torch

    ZVt, Rt = out if out is not None else (None, None)
    ZVt = torch.bmm(Zt, V.transpose(-1, -2), out=ZVt)  # (S, b, k) (V·Z)ᵀ
    return torch.bmm(ZVt, U.transpose(-1, -2), out=Rt).div_(math.sqrt(k_teacher))


def _init_params(
    configs: list[ProbeConfig], seeds: list[int], n: int, m: int, r: int, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    """A₀ (S, C, r, n) and B₀ (S, C, m, r) through ``stablelora.init_lora_``.

    The generator depends only on (seed, width): configurations with the same init scheme
    and σ start from the same A₀, B₀ (common random numbers across configurations). They
    are drawn in float32 whatever ``dtype`` (see ``DRAW_DTYPE``).
    """
    import torch

    from stablelora import init_lora_

    draw = getattr(torch, DRAW_DTYPE)
    A = torch.empty(len(seeds), len(configs), r, n, dtype=dtype)
    B = torch.empty(len(seeds), len(configs), m, r, dtype=dtype)
    A_draw, B_draw = (A, B) if dtype == draw else (A.to(draw), B.to(draw))
    for c, config in enumerate(configs):
        scale = config.at_width(n)
        for i, seed in enumerate(seeds):
            init_lora_(
                A_draw[i, c],
                B_draw[i, c],
                config.init,
                sigma_A=scale["sigma_A"],
                sigma_B=scale["sigma_B"],
                generator=_generator(rng_seed(seed, n, _STREAM_INIT)),
            )
    if dtype != draw:
        A.copy_(A_draw)
        B.copy_(B_draw)
    return A, B


def bytes_per_config(settings: SweepSettings, n: int, m: int, dtype_bytes: int) -> int:
    """Working-set bytes one configuration adds at width n (all seeds).

    A and B each live as parameter, gradient, two Adam moments, a pre-step copy and the
    step difference, with room for two temporaries (8 copies); the output-side buffers
    (E, ΔY, δ) are m×b.
    """
    r, b = settings.rank, settings.batch
    per_seed = 8 * (r * n + m * r) + 6 * m * b + 8 * r * b
    return settings.seeds * per_seed * dtype_bytes


def bytes_shared(settings: SweepSettings, n: int, m: int, dtype_bytes: int) -> int:
    """Working-set bytes shared by all configurations at width n (Z, U, V, residual)."""
    b, k = settings.batch, settings.teacher_rank
    return settings.seeds * (2 * n * b + m * k + k * n + 2 * m * b) * dtype_bytes


def _last_level_cache_bytes() -> int:
    """The largest CPU cache of this machine (Linux sysfs); 32 MiB where it cannot be read."""
    sizes = []
    for path in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*/size"):
        try:
            text = path.read_text().strip()
            sizes.append(int(text[:-1]) * {"K": 2**10, "M": 2**20}[text[-1]])
        except (OSError, ValueError, KeyError, IndexError):
            continue
    return max(sizes, default=32 * 2**20)


def step_bytes_per_seed(settings: SweepSettings, n: int, m: int, configs: int, item: int) -> int:
    """Bytes one step streams per seed: A, g_A, Adam's m and v (r×n each), the same four
    for Bᵀ (r×m), Eᵀ (b×m) per configuration, and the shared Zᵀ (b×n) and residual (b×m)."""
    r, b = settings.rank, settings.batch
    return item * (configs * (4 * r * n + 4 * r * m + b * m) + b * n + b * m)


def seeds_per_group(
    settings: SweepSettings, n: int, configs: int, device: str, threads: int = 1
) -> int:
    """How many seeds :func:`run_width` trains as one tensor program on ``device``.

    On the CPU with one thread, as many as keep one step's working set within 3/4 of the
    last-level cache: every pass after the first then reads from the cache instead of
    memory (at n = 16384, 9 configurations: 22 MB a seed; one seed at a time, 100 steps
    took 2.21 s instead of 2.71 s, medians of 8 interleaved runs, 32 MB L3). With several
    threads every op is split between them, and 8 times as many ops, 8 times smaller,
    wait at 8 times as many barriers: 1.4–4.0 s against 1.6–2.4 s on 2 threads, so all
    seeds run at once there. Every seed's numbers are the same whichever seeds share the
    program (tested), so the grouping is a matter of speed only.
    """
    if device != "cpu" or threads > 1:
        return settings.seeds
    item = 8 if settings.dtype == "float64" else 4
    per_seed = step_bytes_per_seed(settings, n, settings.m_at(n), configs, item)
    return max(1, min(settings.seeds, (3 * _last_level_cache_bytes() // 4) // per_seed))


def run_width(
    configs: list[ProbeConfig],
    settings: SweepSettings,
    n: int,
    *,
    device: str = "cpu",
    on_step: Callable[[], None] | None = None,
    seeds_at_once: int | None = None,
) -> dict[str, UnitResult]:
    """Train every (seed, configuration) at width n and measure δ₁, δ₂, δ₃, ΔY.

    The seeds run in groups of :func:`seeds_per_group` (``seeds_at_once`` when given),
    each group one tensor program over its seeds × the configurations (see
    :func:`_run_seeds`); a seed's numbers do not depend on the grouping.

    Args:
        configs: configurations sharing this width (C of them).
        settings: run-level settings (seeds, steps, recorded steps, b, r, m, dtype).
        n: the input width.
        device: torch device string.
        on_step: called once per optimizer step of the whole width (progress bars).
        seeds_at_once: seeds per group (default: :func:`seeds_per_group`).

    Returns:
        One ``UnitResult`` per configuration name, seeds in order.
    """
    import torch

    seeds = [settings.seed + i for i in range(settings.seeds)]
    threads = torch.get_num_threads()
    size = seeds_at_once or seeds_per_group(settings, n, len(configs), device, threads)
    groups = [seeds[i : i + size] for i in range(0, len(seeds), size)]
    if len(groups) == 1:
        return _run_seeds(configs, settings, n, seeds, device, on_step)
    calls = iter(range(len(groups) * settings.steps))

    def tick() -> None:  # the caller sees one step per step of all the groups
        if next(calls) % len(groups) == len(groups) - 1 and on_step is not None:
            on_step()

    parts = [_run_seeds(configs, settings, n, group, device, tick) for group in groups]
    return {
        name: UnitResult(**{
            field: np.concatenate([getattr(part[name], field) for part in parts])
            for field in ("stats", "diverged", "traj", "stable", "stop_step")
        })
        for name in parts[0]
    }


def _run_seeds(
    configs: list[ProbeConfig],
    settings: SweepSettings,
    n: int,
    seeds: list[int],
    device: str = "cpu",
    on_step: Callable[[], None] | None = None,
) -> dict[str, UnitResult]:
    """Train every (seed, configuration) of ``seeds`` at width n at once; measure δ₁…ΔY.

    Implements the measurement of Stable-LoRA Eq. (1): with ΔA = A_{t+1} − A_t and
    ΔB = B_{t+1} − B_t the actual change of one step (shrinkage included),
    ΔY = s·ΔB·A_tZ + s·B_t·ΔA·Z + s·ΔB·ΔA·Z = δ₁ + δ₂ + δ₃ exactly, on the step's Z.
    The loss is L = (1/2b)·‖s·BAZ − (T − W₀Z)‖_F², so dY = (Y − T)/b has Θ(1) entries.
    Statistics stay on ``device`` until the width is done.

    Args:
        configs: configurations sharing this width (C of them).
        settings: run-level settings (steps, recorded steps, b, r, m, dtype).
        n: the input width.
        seeds: the seeds to train (S of them).
        device: torch device string.
        on_step: called after every optimizer step (progress bars).

    Returns:
        One ``UnitResult`` per configuration name.
    """
    import torch

    from batchedoptim import make_optimizer
    from stablelora import stable_shrink_

    from ._probe_kernel import ProbeGradients, az_t, bmm

    dtype = getattr(torch, settings.dtype)
    order = sorted(range(len(configs)), key=lambda c: configs[c].optimizer)
    configs = [configs[c] for c in order]
    S, C, r, b = len(seeds), len(configs), settings.rank, settings.batch
    m = settings.m_at(n)
    k_teacher = settings.teacher_rank
    fresh = [c.fresh_batches for c in configs]
    if any(fresh) and not all(fresh):
        raise ValueError("fixed-batch and fresh-batch configurations must run separately")

    Z, U, V = _draw_data(settings, seeds, n, m, dtype)
    A, B = _init_params(configs, seeds, n, m, r, dtype)
    # B is kept transposed, Bt = Bᵀ (S, C, r, m), and so are Z and the residual: every
    # product then has its long side (n or m) along memory rows, "wide" rather than tall
    # (m × r)·(r × b), which CPU BLAS runs several times faster (docs/sims.md, Performance).
    Bt = B.transpose(-1, -2).contiguous()
    Zt = Z.transpose(-1, -2).contiguous()  # (S, b, n)
    Zt, U, V, A, Bt = (t.to(device) for t in (Zt, U, V, A, Bt))
    Rt = _residual_t(Zt, U, V, k_teacher)  # (S, b, m) (T − W₀Z)ᵀ

    def col(key: str) -> torch.Tensor:  # per-config scalar as (1, C, 1, 1)
        vals = [c.at_width(n)[key] for c in configs]
        return torch.tensor(vals, dtype=dtype, device=device).view(1, C, 1, 1)

    s4 = col("s")
    gradients = ProbeGradients((S, C, r, b, n, m), s4.view(C), dtype, device)
    eta_A, eta_B = col("eta_A"), col("eta_B")
    wd = torch.tensor([c.weight_decay for c in configs], dtype=dtype, device=device).view(
        1, C, 1, 1
    )
    optimizers: list[tuple[slice, BatchedOptimizer]] = []  # one per optimizer kind
    start = 0
    while start < C:
        stop = start
        while stop < C and configs[stop].optimizer == configs[start].optimizer:
            stop += 1
        sl = slice(start, stop)
        params, lrs = [A[:, sl], Bt[:, sl]], [eta_A[:, sl], eta_B[:, sl]]
        kind = configs[start].optimizer
        options = {"weight_decay": wd[:, sl]} if kind == "adamw" else {}
        optimizers.append((sl, make_optimizer(kind, params, lrs, **options)))
        start = stop
    shrinkers = [c for c in range(C) if configs[c].shrink is not None]
    stable = torch.zeros(S, C, dtype=torch.bool, device=device)  # Algorithm 1's flag

    K, T = len(settings.record), settings.steps
    record_index = {k: i for i, k in enumerate(settings.record)}
    stats = torch.zeros(K, S, C, len(QUANTITIES), dtype=dtype, device=device)
    traj = torch.zeros(T, 3, S, C, dtype=dtype, device=device)
    stable_traj = torch.zeros(T, S, C, dtype=torch.bool, device=device)
    shrunk = torch.zeros(T, S, C, dtype=torch.bool, device=device)  # A shrunk at step k
    # optimizer state (Adam's m, v) not finite at a recorded step: it stays so once it is
    bad_state = torch.zeros(K, S, C, dtype=torch.bool, device=device)

    SC = S * C

    # Work buffers reused by every step: fresh multi-MB tensors each step would cost
    # page faults comparable to the arithmetic itself on the CPU.
    if settings.record:  # the recorded steps' buffers: pre-step copies, changes, δ's
        A_old, Bt_old, dBt = torch.empty_like(A), torch.empty_like(Bt), torch.empty_like(Bt)
        buf_sAZt = torch.empty(S, C, b, r, dtype=dtype, device=device)
        buf_dAZt = torch.empty(S, b, C * r, dtype=dtype, device=device)
        buf_sdAZt = torch.empty_like(buf_sAZt)
        buf_dY = torch.empty(SC, b, m, dtype=dtype, device=device)
        buf_delta = torch.empty_like(buf_dY)
    if fresh[0]:
        z_host = torch.empty(S, n, b, dtype=dtype)
        buf_ZVt = torch.empty(S, b, k_teacher, dtype=dtype, device=device)
    for k in range(1, T + 1):
        if fresh[0] and k > 1:  # drawn on the host (the generator's stream), then moved
            Zt.copy_(_fresh_z(seeds, n, b, k, dtype, out=z_host).transpose(-1, -2))
            Rt = _residual_t(Zt, U, V, k_teacher, out=(buf_ZVt, Rt))
        # (A_tZ)ᵀ (S, C, b, r), both gradients, and (L, ‖A‖/n, ‖B‖/m) into the trajectory
        AZt, grad_A, grad_Bt, traj[k - 1] = gradients(A, Bt, Zt, Rt)
        recording = k in record_index
        if recording:
            A_old.copy_(A)
            Bt_old.copy_(Bt)
        for c in shrinkers:
            shrunk[k - 1, :, c] = stable_shrink_(
                A[:, c], Bt[:, c].transpose(-1, -2), stable[:, c], configs[c].shrink,
                stop_condition=configs[c].stop_condition,
            )  # fmt: skip
        stable_traj[k - 1] = stable
        for sl, opt in optimizers:
            opt.step([grad_A[:, sl], grad_Bt[:, sl]])
        if recording:
            # the actual change of the step, shrink included (ΔA overwrites the copy of A_t)
            dA = torch.sub(A, A_old, out=A_old)
            torch.sub(Bt, Bt_old, out=dBt)
            sdAZt = torch.mul(az_t(Zt, dA, buf_dAZt), s4, out=buf_sdAZt)  # (s·ΔA·Z)ᵀ
            sAZt = torch.mul(AZt, s4, out=buf_sAZt)  # (s·A_tZ)ᵀ
            row = stats[record_index[k]]  # (S, C, 6)
            dY = bmm(sAZt, dBt, out=buf_dY)  # (S, C, b, m) δ₁ᵀ = (s·ΔB·A_tZ)ᵀ
            row[..., 0] = _rms(dY)
            delta = bmm(sdAZt, Bt_old, out=buf_delta)  # δ₂ᵀ = (s·B_t·ΔA·Z)ᵀ
            row[..., 1] = _rms(delta)
            dY.add_(delta)
            delta = bmm(sdAZt, dBt, out=buf_delta)  # δ₃ᵀ = (s·ΔB·ΔA·Z)ᵀ
            row[..., 2] = _rms(delta)
            row[..., 3] = _rms(dY.add_(delta))  # ΔY = δ₁ + δ₂ + δ₃
            row[..., 4], row[..., 5] = _rms(AZt), _rms(Bt_old)
            for sl, opt in optimizers:
                bad_state[record_index[k], :, sl] = ~opt.finite_state(2)
        if on_step is not None:
            on_step()

    return _to_host(configs, settings, stats, traj, stable_traj, shrunk, bad_state)


def _to_host(
    configs: list[ProbeConfig],
    settings: SweepSettings,
    stats: torch.Tensor,
    traj: torch.Tensor,
    stable_traj: torch.Tensor,
    shrunk: torch.Tensor,
    bad_state: torch.Tensor,
) -> dict[str, UnitResult]:
    """Move a width's statistics to the host once and split them per configuration.

    A (seed, configuration) has diverged at a recorded step when its loss was not finite at
    or before that step, a statistic of the step is not finite, or its optimizer state is
    not finite (Adam's v overflowed to inf: the parameters freeze while the loss stays
    finite).

    The stop step of a shrinking configuration is the first step whose check found
    ‖A‖_F/n ≤ ‖B‖_F/m (A not shrunk); with ``stop_condition=False`` shrinking pauses there
    and resumes whenever the condition fails again.
    """
    stats_np = stats.cpu().numpy().astype(np.float64)  # (K, S, C, 6)
    traj_np = traj.cpu().numpy().astype(np.float64)  # (T, 3, S, C)
    stable_np = stable_traj.cpu().numpy()  # (T, S, C)
    bad_step = ~np.isfinite(traj_np[:, 0])  # (T, S, C) non-finite loss
    bad_by_step = np.logical_or.accumulate(bad_step, axis=0)
    steps = np.asarray(settings.record) - 1
    diverged = bad_by_step[steps] | ~np.isfinite(stats_np).all(axis=-1)  # (K, S, C)
    diverged |= bad_state.cpu().numpy()
    diverged = np.logical_or.accumulate(diverged, axis=0)
    held = ~shrunk.cpu().numpy()  # (T, S, C) check passed (or already stable)
    has_shrink = np.array([c.shrink is not None for c in configs])  # (C,)
    fired = held.any(axis=0) & has_shrink  # (S, C)
    stop_step = np.where(fired, held.argmax(axis=0) + 1, 0)
    out = {}
    for c, config in enumerate(configs):
        out[config.name] = UnitResult(
            stats=np.ascontiguousarray(stats_np[:, :, c].transpose(1, 0, 2)),
            diverged=np.ascontiguousarray(diverged[:, :, c].T),
            traj=np.ascontiguousarray(traj_np[:, :, :, c].transpose(2, 0, 1)),
            stable=np.ascontiguousarray(stable_np[:, :, c].T),
            stop_step=stop_step[:, c].astype(np.int64),
        )
    return out
