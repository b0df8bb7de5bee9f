"""Device-side Stable-LoRA state and the multi-tensor Algorithm 1 step for a group of LoRA pairs."""

from __future__ import annotations

import torch

from ._pairs import LoRAPair

__all__ = ["PairGroup"]


class PairGroup:
    """LoRA pairs that share a device and dtypes, shrunk together with ``torch._foreach_*``.

    Holds, on the pairs' device, P stable flags, P stop steps (valid where stable), P
    factors, a few (P,) scratch buffers and one step counter: a few scalars per pair.
    :meth:`shrink_` launches a fixed number of kernels whatever P is, writes into
    preallocated buffers, and never reads a device value on the host. Once every pair is
    stable only the step counter advances (one launch): the all-stable flag is copied to
    pinned host memory without blocking and is read only after the copy is known to be
    complete (``Event.query()``), one or more steps later; until then the (then idle)
    kernels keep running, harmlessly. The counter counts every step taken, in every group,
    so all groups agree on it whichever of them stopped first.

    Args:
        pairs: the pairs, all with A and B on one device and of one dtype each.
    """

    def __init__(self, pairs: list[LoRAPair]) -> None:
        A0, B0 = pairs[0].A, pairs[0].B
        self.device = A0.device
        self.names = [p.name for p in pairs]
        self.As = [p.A for p in pairs]
        self.Bs = [p.B for p in pairs]
        pair_dtype = torch.promote_types(A0.dtype, B0.dtype)
        self.norm_dtype = torch.promote_types(pair_dtype, torch.float32)
        P = len(pairs)
        kw = {"device": self.device}
        self.dims = torch.tensor(  # (2, P): n over m
            [[p.n for p in pairs], [p.m for p in pairs]], dtype=self.norm_dtype, **kw
        )
        self.stable = torch.zeros(P, dtype=torch.bool, **kw)  # (P,)
        self.stop_step = torch.full((P,), -1, dtype=torch.int64, **kw)  # (P,)
        self.step = torch.zeros((), dtype=torch.int64, **kw)
        # (P,) 1 or 1 − λ, in ≥ float32 so a low-precision A is rounded once, after the product
        self.factor = torch.ones(P, dtype=self.norm_dtype, **kw)
        self._factor_views = list(self.factor.unbind())  # P 0-d views, for _foreach_mul_
        self._norms = torch.empty(2 * P, dtype=self.norm_dtype, **kw)  # (2P,) scratch
        self._norms_2d = self._norms.view(2, P)  # (2, P): ‖A‖_F over ‖B‖_F
        self._ratio = torch.empty(2, P, dtype=self.norm_dtype, **kw)  # (2, P) scratch
        self._ratio_A, self._ratio_B = self._ratio.unbind()  # (P,) views, made once
        self._cond = torch.empty(P, dtype=torch.bool, **kw)  # (P,) scratch
        self._mask = torch.empty(P, dtype=torch.bool, **kw)  # (P,) scratch
        self._one = torch.ones((), dtype=self.norm_dtype, **kw)
        self._kept: tuple[float, torch.Tensor] | None = None  # (λ, 1 − λ on the device)
        self._active_masks: dict[tuple[bool, ...], torch.Tensor] = {}
        self._tracks_done = self.device.type in ("cpu", "cuda")
        on_cuda = self.device.type == "cuda"
        self._done_host = torch.zeros((), dtype=torch.bool, pin_memory=on_cuda)
        self._done_view = self._done_host.numpy()  # host memory, read without a Tensor call
        self._done_event = torch.cuda.Event() if on_cuda else None
        self.done = False

    def reset_done(self) -> None:
        """Forget the host's all-stable knowledge (after flags were loaded or changed)."""
        self.done = False
        self._done_host.fill_(False)

    def _keep(self, shrink: float) -> torch.Tensor:
        """1 − λ as a 0-d device tensor, made again only when λ changes."""
        if self._kept is None or self._kept[0] != shrink:
            self._kept = (shrink, torch.full((), 1.0 - shrink, dtype=self.factor.dtype,
                                             device=self.device))
        return self._kept[1]

    def _active(self) -> torch.Tensor | None:
        """(P,) bool: the pairs whose A has a gradient this step, or None when all do."""
        pattern = tuple(A.grad is not None for A in self.As)
        if all(pattern):
            return None
        if pattern not in self._active_masks:  # built once per pattern, not per step
            mask = torch.tensor(pattern)  # (P,) on the host
            if self.device.type == "cuda":  # pinned + non_blocking: no sync for the upload
                mask = mask.pin_memory()
            self._active_masks[pattern] = mask.to(self.device, non_blocking=True)
        return self._active_masks[pattern]

    def _publish_done(self) -> None:
        """Start a non-blocking copy of all(stable) to host memory; read at a later step."""
        if not self._tracks_done:
            return
        if self._done_event is None:  # CPU: the flags are host memory already
            torch.all(self.stable, out=self._done_host)
            return
        self._done_host.copy_(self.stable.all(), non_blocking=True)
        with torch.cuda.device(self.device):  # the pairs' device, not the current one
            self._done_event.record()

    def _done_arrived(self) -> bool:
        """Whether a finished copy says every pair is stable (host memory only, never waits)."""
        if not self._tracks_done or (
            self._done_event is not None and not self._done_event.query()
        ):
            return False
        return bool(self._done_view)

    @torch.no_grad()
    def shrink_(
        self, shrink: float, stop_condition: bool, ok: torch.Tensor | None = None
    ) -> None:
        """One step of Stable-LoRA Algorithm 1 on every pair of the group, in place.

        cond = ‖A‖_F/n > ‖B‖_F/m per pair; with the stop condition A ← (1−λ)A where
        cond & ~stable and stable |= ~cond (the step number is kept where a pair stops);
        without it A ← (1−λ)A where cond. Pairs whose A has no gradient this step are left
        as they are, as the optimizer leaves them; so is everything when ``ok`` is False.

        Args:
            shrink: λ.
            stop_condition: Algorithm 1's stop condition (False: the paper's ablation).
            ok: 0-d bool on the device, False for a step that the optimizer skips
                (AMP found inf); None when the step is known to happen.
        """
        if ok is not None:
            ok = ok.to(self.device, non_blocking=True)
        self.step.add_(1 if ok is None else ok)  # every step taken, also once done
        if self.done or (stop_condition and self._done_arrived()):
            self.done = True
            return
        go = self._active()
        if ok is not None:
            go = ok if go is None else go & ok
        norms = torch._foreach_norm(self.As + self.Bs, 2, dtype=self.norm_dtype)  # 2P x ()
        torch.stack(norms, out=self._norms)  # (2P,)
        torch.div(self._norms_2d, self.dims, out=self._ratio)  # (2, P): ‖A‖_F/n, ‖B‖_F/m
        torch.gt(self._ratio_A, self._ratio_B, out=self._cond)  # (P,) cond
        if stop_condition:
            # stop_step follows the step while a pair is unstable and freezes when it stops
            torch.where(self.stable, self.stop_step, self.step, out=self.stop_step)
            torch.gt(self._cond, self.stable, out=self._mask)  # cond & ~stable
            if go is None:
                torch.logical_not(self._mask, out=self.stable)  # stable | ~cond
            else:
                self._mask.logical_and_(go)
                self.stable.logical_or_(go & ~self._cond)
            self._publish_done()
            mask = self._mask
        else:
            mask = self._cond if go is None else self._cond & go
        torch.where(mask, self._keep(shrink), self._one, out=self.factor)
        torch._foreach_mul_(self.As, self._factor_views)
