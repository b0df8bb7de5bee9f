"""Split stacked parameters into blocks on which every hyper-parameter is one number."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["Index", "blocks"]

Index = tuple  # an index into a parameter: integers for the leading dims, then one slice


def _contiguous_from(shape: torch.Size, strides: tuple[int, ...]) -> int:
    """The first dimension t such that dimensions t, t+1, … are laid out contiguously."""
    expected, t = 1, len(shape)
    for j in reversed(range(len(shape))):
        if shape[j] != 1 and strides[j] != expected:
            break
        expected *= shape[j]
        t = j
    return t


def blocks(param: torch.Tensor, hypers: Sequence[torch.Tensor]) -> list[tuple[tuple[float, ...],
                                                                              Index]]:
    """The largest contiguous blocks of ``param`` on which every hyper-parameter is constant.

    Each hyper-parameter is a tensor broadcastable to the parameter that varies only over
    leading "problem" dimensions (e.g. (1, C, 1, 1) against a (S, C, rows, cols)
    parameter: one value per configuration). Let d be the last dimension along which any
    of them has more than one entry. The blocks are ``p[i₀, …, i_{d−1}, a:b]``: for every
    index of the dimensions before d, the maximal runs a:b along d of equal values. When
    the parameter is a view whose leading dimensions are not contiguous (a slice of the
    configurations, say), d moves right until the blocks are, so torch's fused kernels can
    take them and a problem is updated by the same kernel whatever shares its tensor.

    Args:
        param: the parameter.
        hypers: hyper-parameter tensors (learning rate, weight decay, …).

    Returns:
        ``(values, index)`` per block, ``values`` the hyper-parameters as Python floats in
        the order given, in row-major order of the blocks.

    Raises:
        ValueError: a hyper-parameter does not broadcast to ``shape``.
    """
    shape, dim = param.shape, param.dim()
    aligned = []
    for h in hypers:
        try:
            fits = h.dim() <= dim and torch.broadcast_shapes(h.shape, shape) == shape
        except RuntimeError:
            fits = False
        if not fits:
            raise ValueError(f"a hyper-parameter of shape {tuple(h.shape)} does not broadcast "
                             f"to the parameter's shape {tuple(shape)}")
        aligned.append(h.detach().reshape((1,) * (dim - h.dim()) + tuple(h.shape)))
    varying = [d for d in range(dim) if any(h.shape[d] > 1 for h in aligned)]
    last = varying[-1] if varying else -1
    t = _contiguous_from(shape, param.stride())
    if t < dim:  # blocks p[i₀, …, i_{t−1}] are contiguous: never cut coarser than that
        last = max(last, t - 1)
    single = 0 <= last < t  # dim `last` itself is not contiguous: runs of length one
    lead = tuple(shape[: last + 1])
    ones = (1,) * (dim - last - 1)
    values = np.stack([  # (H, *lead): float64 holds every float32/float16 value exactly
        h.expand(lead + ones).reshape(lead).to("cpu", torch.float64).numpy() for h in aligned
    ])
    if last < 0:
        return [(tuple(float(v) for v in values), ())]
    out = []
    for prefix in np.ndindex(*lead[:-1]):
        row = values[(slice(None), *prefix)]  # (H, lead[-1])
        start = 0
        for stop in range(1, lead[-1] + 1):
            if single or stop == lead[-1] or not np.array_equal(row[:, stop], row[:, start]):
                out.append((tuple(float(v) for v in row[:, start]),
                            (*prefix, slice(start, stop))))
                start = stop
    return out
