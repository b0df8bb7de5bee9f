"""The probe's forward and backward pass at one step, over seeds × configurations.

Two implementations of one contract (:class:`ProbeGradients`): for rank r = 4 and batch
b = 4 (the sweep's defaults) on the CPU, a numba kernel that makes one pass over each of
A, Bᵀ and Zᵀ per problem with every r × b quantity in registers; otherwise torch batched
products (any device, any r and b). On the CPU the five skinny products (inner or outer
size 4) run 2–4× below memory speed in MKL, which spent half of the sweep's time there
(docs/sims.md, Performance).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

KERNEL_SHAPE = (4, 4)  # (r, b) the CPU kernel is written for


@cache
def _kernel():  # noqa: ANN202 - a numba dispatcher
    """Compile (or load from numba's on-disk cache) the CPU kernel on first use.

    Written out for r = b = 4: the sixteen entries of A_tZ, of s·A_tZ, of (s/b)·A_tZ and of
    (s/b)·BᵀE are named scalars, so each pass keeps them in registers and LLVM vectorises
    along n (or m) with reassociated sums (``fastmath`` reassoc/contract only: no
    assumption that values are finite, so a diverged problem shows up as inf/NaN).
    """
    import numpy as np
    from numba import njit, prange

    @njit(parallel=True, fastmath={"reassoc", "contract"}, cache=True)
    def probe_gradients(A, Bt, Zt, Rt, s, g, AZ, gA, gBt, traj):  # pragma: no cover - numba
        S, C, _, n = A.shape
        m = Bt.shape[3]
        for p in prange(S * C):
            si = p // C
            c = p - si * C
            a, z, bt, R = A[si, c], Zt[si], Bt[si, c], Rt[si]
            ga, gb = gA[si, c], gBt[si, c]
            zero = np.zeros(1, dtype=A.dtype)[0]
            # pass over n: A_tZ (q_ij = Σ_x A_ix Z_xj) and ‖A‖²
            na = zero
            q00 = q01 = q02 = q03 = q10 = q11 = q12 = q13 = zero
            q20 = q21 = q22 = q23 = q30 = q31 = q32 = q33 = zero
            for x in range(n):
                a0, a1, a2, a3 = a[0, x], a[1, x], a[2, x], a[3, x]
                z0, z1, z2, z3 = z[0, x], z[1, x], z[2, x], z[3, x]
                na += a0 * a0 + a1 * a1 + a2 * a2 + a3 * a3
                q00 += a0 * z0
                q01 += a0 * z1
                q02 += a0 * z2
                q03 += a0 * z3
                q10 += a1 * z0
                q11 += a1 * z1
                q12 += a1 * z2
                q13 += a1 * z3
                q20 += a2 * z0
                q21 += a2 * z1
                q22 += a2 * z2
                q23 += a2 * z3
                q30 += a3 * z0
                q31 += a3 * z1
                q32 += a3 * z2
                q33 += a3 * z3
            az = AZ[si, c]
            az[0, 0], az[0, 1], az[0, 2], az[0, 3] = q00, q01, q02, q03
            az[1, 0], az[1, 1], az[1, 2], az[1, 3] = q10, q11, q12, q13
            az[2, 0], az[2, 1], az[2, 2], az[2, 3] = q20, q21, q22, q23
            az[3, 0], az[3, 1], az[3, 2], az[3, 3] = q30, q31, q32, q33
            # pass over m: E_j = s·Σ_i q_ij·Bᵀ_i − R_j, ‖E‖², ‖B‖², d_ij = Σ_y Bᵀ_iy E_jy and
            # ∇_{Bᵀ} L_i = (s/b)·Σ_j q_ij E_j
            sc, gc = s[c], g[c]
            s00, s01, s02, s03 = q00 * sc, q01 * sc, q02 * sc, q03 * sc
            s10, s11, s12, s13 = q10 * sc, q11 * sc, q12 * sc, q13 * sc
            s20, s21, s22, s23 = q20 * sc, q21 * sc, q22 * sc, q23 * sc
            s30, s31, s32, s33 = q30 * sc, q31 * sc, q32 * sc, q33 * sc
            g00, g01, g02, g03 = q00 * gc, q01 * gc, q02 * gc, q03 * gc
            g10, g11, g12, g13 = q10 * gc, q11 * gc, q12 * gc, q13 * gc
            g20, g21, g22, g23 = q20 * gc, q21 * gc, q22 * gc, q23 * gc
            g30, g31, g32, g33 = q30 * gc, q31 * gc, q32 * gc, q33 * gc
            ne = zero
            nb = zero
            d00 = d01 = d02 = d03 = d10 = d11 = d12 = d13 = zero
            d20 = d21 = d22 = d23 = d30 = d31 = d32 = d33 = zero
            for y in range(m):
                b0, b1, b2, b3 = bt[0, y], bt[1, y], bt[2, y], bt[3, y]
                e0 = s00 * b0 + s10 * b1 + s20 * b2 + s30 * b3 - R[0, y]
                e1 = s01 * b0 + s11 * b1 + s21 * b2 + s31 * b3 - R[1, y]
                e2 = s02 * b0 + s12 * b1 + s22 * b2 + s32 * b3 - R[2, y]
                e3 = s03 * b0 + s13 * b1 + s23 * b2 + s33 * b3 - R[3, y]
                ne += e0 * e0 + e1 * e1 + e2 * e2 + e3 * e3
                nb += b0 * b0 + b1 * b1 + b2 * b2 + b3 * b3
                d00 += b0 * e0
                d01 += b0 * e1
                d02 += b0 * e2
                d03 += b0 * e3
                d10 += b1 * e0
                d11 += b1 * e1
                d12 += b1 * e2
                d13 += b1 * e3
                d20 += b2 * e0
                d21 += b2 * e1
                d22 += b2 * e2
                d23 += b2 * e3
                d30 += b3 * e0
                d31 += b3 * e1
                d32 += b3 * e2
                d33 += b3 * e3
                gb[0, y] = g00 * e0 + g01 * e1 + g02 * e2 + g03 * e3
                gb[1, y] = g10 * e0 + g11 * e1 + g12 * e2 + g13 * e3
                gb[2, y] = g20 * e0 + g21 * e1 + g22 * e2 + g23 * e3
                gb[3, y] = g30 * e0 + g31 * e1 + g32 * e2 + g33 * e3
            # pass over n: ∇_A L_i = (s/b)·Σ_j d_ij Zᵀ_j
            d00, d01, d02, d03 = d00 * gc, d01 * gc, d02 * gc, d03 * gc
            d10, d11, d12, d13 = d10 * gc, d11 * gc, d12 * gc, d13 * gc
            d20, d21, d22, d23 = d20 * gc, d21 * gc, d22 * gc, d23 * gc
            d30, d31, d32, d33 = d30 * gc, d31 * gc, d32 * gc, d33 * gc
            for x in range(n):
                z0, z1, z2, z3 = z[0, x], z[1, x], z[2, x], z[3, x]
                ga[0, x] = d00 * z0 + d01 * z1 + d02 * z2 + d03 * z3
                ga[1, x] = d10 * z0 + d11 * z1 + d12 * z2 + d13 * z3
                ga[2, x] = d20 * z0 + d21 * z1 + d22 * z2 + d23 * z3
                ga[3, x] = d30 * z0 + d31 * z1 + d32 * z2 + d33 * z3
            traj[0, si, c] = ne / 8  # L = ‖E‖²/(2b)
            traj[1, si, c] = np.sqrt(na) / n
            traj[2, si, c] = np.sqrt(nb) / m

    return probe_gradients


def az_t(Zt: torch.Tensor, X: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """(XZ)ᵀ = Zᵀ·Xᵀ for X = A or ΔA (S, C, r, n) and Zᵀ (S, b, n): all configurations of a
    seed in one product, into ``out`` (S, b, C·r), returned as a (S, C, b, r) view."""
    import torch

    S, C, r, n = X.shape
    torch.bmm(Zt, X.view(S, C * r, n).transpose(1, 2), out=out)
    return out.view(S, Zt.shape[1], C, r).transpose(1, 2)


def bmm(x: torch.Tensor, y: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """Batched product over the (S, C) problems: 3-D bmm on views, no broadcast copies."""
    import torch

    S, C = x.shape[:2]
    out = torch.bmm(x.reshape(S * C, *x.shape[-2:]), y.reshape(S * C, *y.shape[-2:]), out=out)
    return out.view(S, C, *out.shape[-2:])


class ProbeGradients:
    """One step's forward and backward pass of the probe, into buffers reused every step.

    For every seed and configuration, with A (r×n), Bᵀ (r×m), the batch Zᵀ (b×n), the
    target residual Rᵀ = (T − W₀Z)ᵀ (b×m) and the multiplier s, the loss of Stable-LoRA
    Eq. (1)'s probe L = (1/2b)·‖E‖² with E = s·B·A·Z − R has the gradients

        ∇_A L = (s/b)·Bᵀ·E·Zᵀ,    ∇_{Bᵀ} L = (s/b)·A·Z·Eᵀ.

    A call returns (A_tZ)ᵀ (S, C, b, r), ∇_A L (S, C, r, n), ∇_{Bᵀ} L (S, C, r, m) and the
    trajectory row (L, ‖A‖_F/n, ‖B‖_F/m) (3, S, C). The tensors are the object's buffers:
    the next call overwrites them.

    Args:
        shape: (S, C, r, b, n, m).
        s: the multiplier per configuration (C,), in ``dtype`` on ``device``.
        dtype, device: of every tensor passed in.
        kernel: the numba kernel (default: on the CPU when (r, b) = ``KERNEL_SHAPE``) or
            torch batched products.

    Raises:
        ValueError: ``kernel=True`` off the CPU or for another (r, b).
    """

    def __init__(
        self,
        shape: tuple[int, int, int, int, int, int],
        s: torch.Tensor,
        dtype: torch.dtype,
        device: str = "cpu",
        kernel: bool | None = None,
    ) -> None:
        import torch

        S, C, r, b, n, m = shape
        fits = torch.device(device).type == "cpu" and (r, b) == KERNEL_SHAPE
        if kernel and not fits:
            raise ValueError(f"the CPU kernel needs device cpu and (r, b) = {KERNEL_SHAPE}, "
                             f"got {device} and ({r}, {b})")
        self.shape = shape
        self.kernel = fits if kernel is None else kernel
        self.s = s.to(dtype=dtype, device=device).contiguous()  # (C,)
        self.g = self.s / b  # dY = E / b, and every gradient carries one factor s
        self.traj = torch.empty(3, S, C, dtype=dtype, device=device)
        self.grad_A = torch.empty(S, C, r, n, dtype=dtype, device=device)
        self.grad_Bt = torch.empty(S, C, r, m, dtype=dtype, device=device)
        if self.kernel:
            self.AZ = torch.empty(S, C, r, b, dtype=dtype, device=device)
            self._arrays = [t.numpy() for t in (self.s, self.g, self.AZ, self.grad_A,
                                                self.grad_Bt, self.traj)]
            self._views: tuple[list[torch.Tensor], list[object]] | None = None
            self._threads = 0  # torch's thread count numba was last set to
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
        return AZt, self.grad_A, self.grad_Bt, self.traj

    def _call_kernel(self, *tensors: torch.Tensor) -> None:
        import numba
        import torch

        kernel = _kernel()
        threads = torch.get_num_threads()
        if threads != self._threads:  # numba keeps the count for this thread once set
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            # numba's OpenMP pool shares torch's OpenMP runtime: starting it sets the
            # runtime's thread count to numba's (a 1-thread run became 2-threaded)
            if torch.get_num_threads() != threads:
                torch.set_num_threads(threads)
            self._threads = threads
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
        AZt = az_t(Zt, A, self.AZt)  # (S, C, b, r)
        sAZt = torch.mul(AZt, s4, out=self.sAZt)
        Et = bmm(sAZt, Bt, out=self.Et).sub_(Rt.unsqueeze(1))  # (S, C, b, m) (Y − T)ᵀ
        self.traj[0] = torch.linalg.vector_norm(Et, dim=(-2, -1)).square_() / (2 * b)
        self.traj[1] = torch.linalg.vector_norm(A, dim=(-2, -1)) / n
        self.traj[2] = torch.linalg.vector_norm(Bt, dim=(-2, -1)) / m
        # the factor s/b goes on the small (r, b) operands, not on E (m, b)
        gAZ = torch.mul(AZt.transpose(-1, -2), g4, out=self.gAZ)  # (S, C, r, b)
        bmm(gAZ, Et, out=self.grad_Bt.view(S * C, r, m))  # (s/b)·AZ·Eᵀ
        BtdY = bmm(Bt, Et.transpose(-1, -2), out=self.BtdY).mul_(g4)  # (s/b)·Bᵀ·E
        torch.bmm(BtdY.view(S, C * r, b), Zt, out=self.grad_A.view(S, C * r, n))
        return AZt
