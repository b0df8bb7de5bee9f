"""Pretraining of the toy model on MNIST, its disk cache, and the frozen features of fine-tuning."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from atomicfile import atomic_open

from ._config import ToyConfig
from ._data import Dataset
from ._plan import check_fits, pretrain_bytes, weights_bytes

__all__ = ["Frozen", "Pretrained", "batch_schedule", "frozen_features", "load_or_pretrain",
           "pretrain"]


@dataclass
class Pretrained:
    """The pretrained weights of f(X) = W_out·relu(W₀·relu(W_in·X)) (ICML paper Section 3.4).

    Attributes:
        W_in: (n, d).
        W0: (n, n).
        W_out: (10, n).
        info: settings, data source, final training loss and accuracy, cache key.
    """

    W_in: torch.Tensor
    W0: torch.Tensor
    W_out: torch.Tensor
    info: dict


@dataclass
class Frozen:
    """What fine-tuning needs of the frozen model, precomputed once per data set.

    Attributes:
        W_out: (10, n).
        Z: (N, n) relu(W_in·X) of the training images used by any batch.
        H0: (N, n) W₀·relu(W_in·X) of the same images.
        y: (N,) their labels.
        Z_test: (N_test, n) relu(W_in·X) of the test images.
        H0_test: (N_test, n).
        y_test: (N_test,).
    """

    W_out: torch.Tensor
    Z: torch.Tensor
    H0: torch.Tensor
    y: torch.Tensor
    Z_test: torch.Tensor
    H0_test: torch.Tensor
    y_test: torch.Tensor


def batch_schedule(num_examples: int, steps: int, batch: int, seed: int) -> torch.Tensor:
    """Indices of the examples of each step: epochs of random permutations, seeded.

    Returns:
        (steps, batch) int64 indices into the training set.
    """
    gen = torch.Generator().manual_seed(2 * seed)
    need = steps * batch
    perms = [torch.randperm(num_examples, generator=gen) for _ in range(-(-need // num_examples))]
    return torch.cat(perms)[:need].view(steps, batch)


def _cache_key(config: ToyConfig, data: Dataset) -> str:
    """SHA-256 over the pretraining settings, the seed and the training data's bytes."""
    settings = {k: getattr(config, k) for k in ("n", "d", "pretrain_steps", "pretrain_lr",
                                                 "pretrain_batch", "pretrain_seed")}
    h = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    h.update(np.ascontiguousarray(data.x_train).tobytes())
    h.update(np.ascontiguousarray(data.y_train).tobytes())
    return h.hexdigest()[:20]


def pretrain(config: ToyConfig, data: Dataset, device: torch.device,
             progress: bool = True) -> Pretrained:
    """Pretrain W_in, W₀, W_out on ``data`` (ICML paper Appendix D.1).

    Kaiming-normal init (He et al., fan-in, ReLU gain), Adam with lr ``pretrain_lr``,
    batch ``pretrain_batch``, ``pretrain_steps`` steps, cross-entropy, no biases.

    Returns:
        The weights, on ``device``.
    """
    gen = torch.Generator().manual_seed(2 * config.pretrain_seed + 1)
    n, d = config.n, config.d
    weights = []
    for shape in ((n, d), (n, n), (10, n)):
        w = torch.randn(shape, generator=gen) * math.sqrt(2.0 / shape[1])
        weights.append(w.to(device).requires_grad_(True))
    W_in, W0, W_out = weights
    try:  # torch's fused kernel: one pass over the 20M parameters instead of several
        opt = torch.optim.Adam(weights, lr=config.pretrain_lr, fused=True)
    except (RuntimeError, TypeError):  # a torch or device without it
        opt = torch.optim.Adam(weights, lr=config.pretrain_lr)
    x = torch.as_tensor(data.x_train, device=device)  # (N, d)
    y = torch.as_tensor(data.y_train, device=device)  # (N,)
    schedule = batch_schedule(len(x), config.pretrain_steps, config.pretrain_batch,
                              config.pretrain_seed).to(device)
    losses = torch.empty(config.pretrain_steps, device=device)
    correct = torch.zeros((), device=device)
    for k in tqdm(range(config.pretrain_steps), desc="pretrain (MNIST)", disable=not progress,
                  leave=False):
        xb, yb = x[schedule[k]], y[schedule[k]]  # (b, d), (b,)
        logits = torch.relu(torch.relu(xb @ W_in.T) @ W0.T) @ W_out.T  # (b, 10)
        loss = torch.nn.functional.cross_entropy(logits, yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses[k] = loss.detach()
        if k >= config.pretrain_steps - 100:
            correct += (logits.argmax(1) == yb).sum()
    last = min(100, config.pretrain_steps)
    info = {
        "data_source": data.source,
        "num_train": len(x),
        "final_train_loss": float(losses[-last:].mean()),
        "train_acc_last_100_steps": float(correct) / (last * config.pretrain_batch),
    }
    return Pretrained(W_in.detach(), W0.detach(), W_out.detach(), info)


def load_or_pretrain(config: ToyConfig, data: Dataset, cache_dir: Path, device: torch.device,
                     progress: bool = True) -> Pretrained:
    """The pretrained weights from ``cache_dir/pretrained/<key>.pt``, pretraining if absent.

    The key hashes the pretraining settings, ``pretrain_seed`` and the training data, so
    a change of any of them pretrains anew; the file is written atomically.

    Raises:
        ConfigError: loading or pretraining would need more memory than is free.
    """
    key = _cache_key(config, data)
    path = Path(cache_dir) / "pretrained" / f"{key}.pt"
    fix = "lower --n"
    if path.is_file():
        check_fits(weights_bytes(config), device.type, f"loading the weights at n = {config.n}",
                   fix)
        try:
            blob = torch.load(path, map_location=device, weights_only=True)
            blob["info"]["cache"] = str(path)
            blob["info"]["cache_hit"] = True
            return Pretrained(blob["W_in"], blob["W0"], blob["W_out"], blob["info"])
        except Exception:  # torch.load of a damaged file raises many kinds: pretrain again
            pass
    check_fits(pretrain_bytes(config, len(data.y_train)), device.type,
               f"pretraining at n = {config.n} (weights, gradients, Adam moments)", fix)
    model = pretrain(config, data, device, progress)
    model.info["cache"] = str(path)
    with atomic_open(path, "wb") as fh:
        torch.save({"W_in": model.W_in.cpu(), "W0": model.W0.cpu(), "W_out": model.W_out.cpu(),
                    "info": model.info}, fh)
    model.info["cache_hit"] = False
    return model


@torch.no_grad()
def frozen_features(model: Pretrained, data: Dataset, train_index: torch.Tensor,
                    test_size: int, device: torch.device, tile: int = 4096) -> Frozen:
    """Precompute relu(W_in·X) and W₀·relu(W_in·X) for the images fine-tuning will touch.

    Args:
        model: the pretrained weights.
        data: Fashion-MNIST (with a test split).
        train_index: (N,) sorted unique training indices used by any batch.
        test_size: number of test images to keep (0: all).
        device: where the features live.
        tile: images per matmul (bounds temporary memory).
    """

    def features(x: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        Z = torch.empty(len(x), model.W0.shape[0], device=device)  # (N, n)
        H0 = torch.empty_like(Z)  # (N, n)
        for i in range(0, len(x), tile):
            xb = torch.as_tensor(x[i:i + tile], device=device)  # (t, d)
            torch.mm(xb, model.W_in.T, out=Z[i:i + tile]).relu_()
            torch.mm(Z[i:i + tile], model.W0.T, out=H0[i:i + tile])
        return Z, H0

    idx = train_index.numpy()
    Z, H0 = features(data.x_train[idx])
    x_test, y_test = data.x_test, data.y_test
    if test_size:
        x_test, y_test = x_test[:test_size], y_test[:test_size]
    Z_test, H0_test = features(x_test)
    return Frozen(model.W_out, Z, H0, torch.as_tensor(data.y_train[idx], device=device),
                  Z_test, H0_test, torch.as_tensor(y_test, device=device))
