"""Memory plan of the toy model: every large allocation, checked before it is made.

Sizes in bytes of float32 tensors (n width, d = 784 inputs, r rank, b batch, G runs of a
chunk, T fine-tuning steps, N images):

- pretraining: W_in (n×d), W₀ (n×n), W_out (10×n) as parameter, gradient and two Adam
  moments, 4·4·(nd + n² + 10n); a cached model needs the weights once, 4·(nd + n² + 10n);
- frozen features: Z and H₀ for every training image a batch touches and every test
  image, 2·4·n·(N_used + N_test);
- batch schedules: T·b int64 indices per seed, twice (global and local);
- fine-tuning one chunk: :func:`rows_per_chunk` rows of A, Bᵀ, gradients, moments and
  activations, plus the G·T curves (three float32 values per step).
"""

from __future__ import annotations

from ._config import ToyConfig
from .errors import ConfigError

__all__ = ["available_bytes", "check_fits", "finetune_bytes", "pretrain_bytes", "weights_bytes"]

GiB = 2**30


def weights_bytes(config: ToyConfig) -> int:
    """The pretrained weights W_in, W₀, W_out in float32."""
    n, d = config.n, config.d
    return 4 * (n * d + n * n + 10 * n)


def pretrain_bytes(config: ToyConfig, num_train: int) -> int:
    """Peak of pretraining: weights, gradients, two Adam moments, the data, the schedule."""
    steps = config.pretrain_steps
    return (4 * weights_bytes(config) + 4 * 785 * num_train
            + 8 * steps * config.pretrain_batch + 4 * steps)


def finetune_bytes(config: ToyConfig, num_train: int, num_test: int, chunk_rows: int) -> int:
    """Peak of a run: weights, frozen features, schedules and one chunk in training."""
    n, T, b = config.n, config.steps, config.batch
    used = min(num_train, len(config.seeds) * T * b)
    test = min(num_test, config.test_size) if config.test_size else num_test
    features = 2 * 4 * n * (used + test)
    schedules = 2 * 8 * len(config.seeds) * T * b + 8 * num_train
    chunk = chunk_rows * (4 * (8 * config.r * n + 2 * b * n) + 3 * 4 * T)
    return weights_bytes(config) + features + schedules + chunk


def available_bytes(device: str) -> int | None:
    """Free memory on ``device`` ("cpu" or "cuda"): MemAvailable or CUDA's free memory."""
    if device == "cuda":
        import torch

        return int(torch.cuda.mem_get_info()[0])
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            info = {line.split(":")[0]: line.split()[1] for line in fh}
        return int(info["MemAvailable"]) * 1024
    except (OSError, KeyError, IndexError, ValueError):
        return None


def check_fits(need: int, device: str, what: str, fix: str) -> None:
    """Refuse, before allocating, a step that needs more than the free memory.

    Raises:
        ConfigError: naming the step, the bytes it needs, what is free, and the fix.
    """
    free = available_bytes(device)
    if free is not None and need > free:
        raise ConfigError(f"{what} needs {need / GiB:.1f} GiB but {device} has "
                          f"{free / GiB:.1f} GiB free; {fix}")
