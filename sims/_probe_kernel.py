"""The probe's forward and backward pass at one step, over seeds × configurations.

Two implementations of one contract (:class:`ProbeGradients`): a numba kernel for the CPU
that makes one cache-blocked pass per problem, and the same arithmetic as torch batched
products for any other device. On the CPU the five skinny products (inner or outer size
r = b = 4) run 2–4× below memory speed in MKL, which spent half of the sweep's time there
(docs/sims.md, Performance); the kernel reads A and Bᵀ once each and keeps the residual
in the first-level cache.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

_CHUNK = 512  # elements of a row per block: a (b × 512) residual block fits L1


@cache
def _kernel():  # noqa: ANN202 - a numba dispatcher
    """Compile (or load from numba's on-disk cache) the CPU kernel on first use."""
    import numpy as np
    from numba import njit, prange

    index = np.uint64  # unsigned indices: no negative-index wrap-around, so loops vectorise

    @njit(parallel=True, fastmath={"reassoc", "contract"}, cache=True)
    def probe_gradients(A, Bt, Zt, Rt, s, g, AZ, gA, gBt, sq):  # pragma: no cover - numba
        S, C, r, n = A.shape
        m = Bt.shape[3]
        b = Zt.shape[1]
        L = _CHUNK
        for p in prange(S * C):
            si = p // C
            c = p - si * C
            a, z, bt, R = A[si, c], Zt[si], Bt[si, c], Rt[si]
            ga, gb = gA[si, c], gBt[si, c]
            zero = np.zeros(1, dtype=A.dtype)[0]
            # A_tZ (r × b) and ‖A‖², block by block along n
            az = np.zeros((r, b), dtype=A.dtype)
            na = zero
            for x0 in range(0, n, L):
                x1 = x0 + L if x0 + L < n else n
                for i in range(r):
                    q = zero
                    for x in range(x0, x1):
                        q += a[i, index(x)] * a[i, index(x)]
                    na += q
                    for j in range(b):
                        acc = zero
                        for x in range(x0, x1):
                            acc += a[i, index(x)] * z[j, index(x)]
                        az[i, j] += acc
            AZ[si, c] = az
            # per block of m: Eᵀ = s·(A_tZ)ᵀBᵀ − Rᵀ, ‖E‖², ‖B‖², BᵀE and g_Bᵀ = (s/b)·AZ·Eᵀ
            sc, gc = s[c], g[c]
            e = np.empty((b, L), dtype=A.dtype)
            btdy = np.zeros((r, b), dtype=A.dtype)
            ne = zero
            nb = zero
            for y0 in range(0, m, L):
                w = L if y0 + L < m else m - y0
                for j in range(b):
                    f = az[0, j] * sc
                    for y in range(w):
                        e[j, index(y)] = f * bt[0, index(y0 + y)] - R[j, index(y0 + y)]
                    for i in range(1, r):
                        f = az[i, j] * sc
                        for y in range(w):
                            e[j, index(y)] += f * bt[i, index(y0 + y)]
                    q = zero
                    for y in range(w):
                        q += e[j, index(y)] * e[j, index(y)]
                    ne += q
                for i in range(r):
                    q = zero
                    for y in range(w):
                        q += bt[i, index(y0 + y)] * bt[i, index(y0 + y)]
                    nb += q
                    for j in range(b):
                        acc = zero
                        for y in range(w):
                            acc += bt[i, index(y0 + y)] * e[j, index(y)]
                        btdy[i, j] += acc
                    f = az[i, 0] * gc
                    for y in range(w):
                        gb[i, index(y0 + y)] = f * e[0, index(y)]
                    for j in range(1, b):
                        f = az[i, j] * gc
                        for y in range(w):
                            gb[i, index(y0 + y)] += f * e[j, index(y)]
            # g_A = (s/b)·BᵀE·Zᵀ, block by block along n
            for x0 in range(0, n, L):
                x1 = x0 + L if x0 + L < n else n
                for i in range(r):
                    f = btdy[i, 0] * gc
                    for x in range(x0, x1):
                        ga[i, index(x)] = f * z[0, index(x)]
                    for j in range(1, b):
                        f = btdy[i, j] * gc
                        for x in range(x0, x1):
                            ga[i, index(x)] += f * z[j, index(x)]
            sq[si, c, 0] = ne
            sq[si, c, 1] = na
            sq[si, c, 2] = nb

    return probe_gradients


class ProbeGradients:
    """One step's forward and backward pass of the probe, into buffers reused every step.

    For every seed and configuration, with A (r×n), Bᵀ (r×m), the batch Zᵀ (b×n), the
    target residual Rᵀ = (T − W₀Z)ᵀ (b×m) and the multiplier s, the loss of Stable-LoRA
    Eq. (1)'s probe L = (1/2b)·‖E‖² with E = s·B·A·Z − R has the gradients

        ∇_A L = (s/b)·Bᵀ·E·Zᵀ,    ∇_{Bᵀ} L = (s/b)·A·Z·Eᵀ.

    A call returns (A_tZ)ᵀ (S, C, b, r), ∇_A L (S, C, r, n), ∇_{Bᵀ} L (S, C, r, m) and the
    squared norms ‖E‖², ‖A‖², ‖B‖² (S, C, 3). The tensors are the object's buffers: the
    next call overwrites them.

    Args:
        shape: (S, C, r, b, n, m).
        s: the multiplier per configuration (C,).
        dtype, device: of every tensor passed in.
        kernel: the numba kernel (default: on the CPU) or torch batched products.
    """

    def __init__(
        self,
        shape: tuple[int, int, int, int, int, int],
        s: list[float],
        dtype: torch.dtype,
        device: str = "cpu",
        kernel: bool | None = None,
    ) -> None:
        import torch

        S, C, r, b, n, m = shape
        self.shape = shape
        self.kernel = (torch.device(device).type == "cpu") if kernel is None else kernel
        self.s = torch.tensor(s, dtype=dtype, device=device)  # (C,)
        self.g = self.s / b  # dY = E / b, and every gradient carries one factor s
        self.sq = torch.empty(S, C, 3, dtype=dtype, device=device)
        self.grad_A = torch.empty(S, C, r, n, dtype=dtype, device=device)
        self.grad_Bt = torch.empty(S, C, r, m, dtype=dtype, device=device)
        if self.kernel:
            self.AZ = torch.empty(S, C, r, b, dtype=dtype, device=device)
            self._arrays = [t.numpy() for t in (self.s, self.g, self.AZ, self.grad_A,
                                                self.grad_Bt, self.sq)]
            self._views: tuple[list[torch.Tensor], list[object]] | None = None
        else:
            self.AZt = torch.empty(S, b, C * r, dtype=dtype, device=device)
            self.sAZt = torch.empty(S, C, b, r, dtype=dtype, device=device)
            self.gAZ = torch.empty(S, C, r, b, dtype=dtype, device=device)
            self.Et = torch.empty(S * C, b, m, dtype=dtype, device=device)
            self.BtdY = torch.empty(S * C, r, b, dtype=dtype, device=device)

    def __call__(
        self, A: torch.Tensor, Bt: torch.Tensor, Zt: torch.Tensor, Rt: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Gradients at (A, Bᵀ) on the batch Zᵀ with residual Rᵀ (see the class)."""
        if self.kernel:
            self._call_kernel(A, Bt, Zt, Rt)
            AZt = self.AZ.transpose(-1, -2)
        else:
            AZt = self._call_torch(A, Bt, Zt, Rt)
        return AZt, self.grad_A, self.grad_Bt, self.sq

    def _call_kernel(self, *tensors: torch.Tensor) -> None:
        import torch

        import numba

        kernel = _kernel()
        threads = torch.get_num_threads()
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        # numba's OpenMP pool shares torch's OpenMP runtime: starting it sets the runtime's
        # thread count to numba's (a 1-thread run became 2 threads after one call)
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        # numpy views of the same memory, made again only when a tensor is another one
        if self._views is None or any(
            t is not v for t, v in zip(tensors, self._views[0], strict=True)
        ):
            self._views = (list(tensors), [t.numpy() for t in tensors])
        kernel(*self._views[1], *self._arrays)

    def _call_torch(
        self, A: torch.Tensor, Bt: torch.Tensor, Zt: torch.Tensor, Rt: torch.Tensor
    ) -> torch.Tensor:
        import torch

        S, C, r, b, n, m = self.shape
        s4, g4 = self.s.view(1, C, 1, 1), self.g.view(1, C, 1, 1)
        # (A·Z)ᵀ = Zᵀ·Aᵀ for all configurations of a seed at once: (S, b, C·r)
        torch.bmm(Zt, A.view(S, C * r, n).transpose(1, 2), out=self.AZt)
        AZt = self.AZt.view(S, b, C, r).transpose(1, 2)  # (S, C, b, r)
        sAZt = torch.mul(AZt, s4, out=self.sAZt)
        Et = torch.bmm(sAZt.view(S * C, b, r), Bt.view(S * C, r, m), out=self.Et)
        Et = Et.view(S, C, b, m).sub_(Rt.unsqueeze(1))  # (Y − T)ᵀ
        self.sq[..., 0] = torch.linalg.vector_norm(Et, dim=(-2, -1)).square_()
        self.sq[..., 1] = torch.linalg.vector_norm(A, dim=(-2, -1)).square_()
        self.sq[..., 2] = torch.linalg.vector_norm(Bt, dim=(-2, -1)).square_()
        # the factor s/b goes on the small (r, b) operands, not on E (m, b)
        gAZ = torch.mul(AZt.transpose(-1, -2), g4, out=self.gAZ)  # (S, C, r, b)
        torch.bmm(gAZ.view(S * C, r, b), Et.view(S * C, b, m),
                  out=self.grad_Bt.view(S * C, r, m))  # (s/b)·AZ·Eᵀ
        BtdY = torch.bmm(Bt.view(S * C, r, m), Et.view(S * C, b, m).transpose(1, 2),
                         out=self.BtdY)  # Bᵀ·E
        BtdY.view(S, C, r, b).mul_(g4)
        torch.bmm(BtdY.view(S, C * r, b), Zt, out=self.grad_A.view(S, C * r, n))
        return AZt


def loss_and_norms(sq: torch.Tensor, b: int, n: int, m: int) -> torch.Tensor:
    """Trajectory columns (loss, ‖A‖_F/n, ‖B‖_F/m) (3, S, C) from the squared norms."""
    import torch

    return torch.stack((sq[..., 0] / (2 * b), sq[..., 1].sqrt() / n, sq[..., 2].sqrt() / m))


