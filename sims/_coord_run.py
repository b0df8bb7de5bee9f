"""``lora_coord_check``: train a real model's LoRA pairs at several widths and measure each update.

Two engines run the same protocol. ``vmap`` trains every seed of a width as one program:
the LoRA factors are stacked along a seed dim S and the model is called through
``torch.func.functional_call`` under ``vmap(grad_and_value(...))``; Adam, AdamW and SGD are
elementwise, so one ``torch.optim`` optimizer over the stacked (S, …) tensors is S independent
optimizers. ``loop`` runs the seeds one after another on the module itself (ordinary
autograd, hooks, ``torch.optim``): for models that ``torch.func`` cannot trace (see
docs/coord_check.md).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from stablelora import WidthRule, init_lora_, stable_shrink_

from ._coord_config import ENGINES, INITS, OPTIMIZERS
from ._coord_measure import COORD_QUANTITIES, update_stats
from ._coord_sites import InputCapture, LoRASite, find_sites
from .errors import ConfigError

Rule = float | WidthRule
COLUMNS = ("width", "seed", "step", "module", "quantity", "value")
DEFAULT_RECORD = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
KAIMING = WidthRule(1.0, -0.5)  # σ_k = n^{-1/2} (ICML Appendix D.2)
LOSS_MODULE = "(model)"  # the module name of the per-seed loss rows


def rule_at(rule: Rule, n: int) -> float:
    """A learning rate, scaling or σ at width n: a number as is, a WidthRule as c·n^γ."""
    return rule(n) if isinstance(rule, WidthRule) else float(rule)


def rule_exponent(rule: Rule) -> Fraction:
    """γ of a rule, exactly: a plain number is width-independent (γ = 0)."""
    return Fraction(str(rule.exp)) if isinstance(rule, WidthRule) else Fraction(0)


def _check_rule(rule: object, what: str, *, positive: bool = True) -> None:
    if isinstance(rule, WidthRule):
        ok = rule.coef > 0 if positive else True
    else:
        ok = (isinstance(rule, (int, float)) and not isinstance(rule, bool)
              and math.isfinite(rule) and (rule > 0 if positive else rule >= 0))
    if not ok:
        raise ConfigError(f"{what} must be a positive number or a WidthRule(coef > 0, exp), "
                          f"got {rule!r}")


def _default_loss(model: nn.Module, batch: Any) -> torch.Tensor:
    """``model(**batch).loss`` for a dict batch, cross-entropy of ``model(x)`` for ``(x, y)``."""
    if isinstance(batch, dict):
        return model(**batch).loss
    x, y = batch
    return nn.functional.cross_entropy(model(x), y)


class _LossModule(nn.Module):
    """``loss(model, batch)`` as a module, so ``functional_call`` can swap the LoRA factors."""

    def __init__(self, model: nn.Module, loss: Callable[[nn.Module, Any], torch.Tensor]) -> None:
        super().__init__()
        self.model = model
        self.loss = loss

    def forward(self, batch: Any) -> torch.Tensor:
        return self.loss(self.model, batch)


def _stack(items: list[Any]) -> Any:
    """Stack per-seed batches (tensors, tuples/lists, dicts of them) along a new dim 0."""
    first = items[0]
    if isinstance(first, torch.Tensor):
        return torch.stack(items)
    if isinstance(first, dict):
        return {k: _stack([it[k] for it in items]) for k in first}
    if isinstance(first, (tuple, list)):
        return type(first)(_stack(list(parts)) for parts in zip(*items, strict=True))
    raise ConfigError(f"a batch must be a tensor, a tuple/list or a dict of tensors, got "
                      f"{type(first).__name__}")


def _to(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, dict):
        return {k: _to(v, device) for k, v in batch.items()}
    if isinstance(batch, (tuple, list)):
        return type(batch)(_to(v, device) for v in batch)
    return batch


def _seed_init(model: nn.Module, sites: list[LoRASite], seed: int, width: int, init: str,
               sigma: float) -> dict[str, torch.Tensor]:
    """Seed ``seed``'s A₀, B₀ of every site (stablelora's ``init_lora_``), keyed by (seed, n)."""
    gen = torch.Generator().manual_seed(zlib.crc32(f"coord/{seed}/{width}".encode()))
    out = {}
    for site in sites:
        a, b = model.get_parameter(site.a_name), model.get_parameter(site.b_name)
        A, B = torch.empty(a.shape, dtype=a.dtype), torch.empty(b.shape, dtype=b.dtype)
        sigma_A = None if init == "zero" else sigma
        sigma_B = sigma if init == "AB" else None
        init_lora_(A, B, init, sigma_A=sigma_A, sigma_B=sigma_B, generator=gen)
        out[site.a_name], out[site.b_name] = A.to(a.device), B.to(b.device)
    return out


def _optimizer(A: list[torch.Tensor], B: list[torch.Tensor], name: str, lr_A: float,
               lr_B: float, weight_decay: float) -> torch.optim.Optimizer:
    groups = [{"params": A, "lr": lr_A}, {"params": B, "lr": lr_B}]
    if name == "adam":
        return torch.optim.Adam(groups)
    if name == "adamw":
        return torch.optim.AdamW(groups, weight_decay=weight_decay)
    return torch.optim.SGD(groups)


class _Recorder:
    """Collects the long-format rows of one width."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.cols: dict[str, list] = {c: [] for c in COLUMNS}

    def add(self, seeds: Sequence[int], step: int, module: str, quantity: str,
            values: torch.Tensor | np.ndarray) -> None:
        values = np.asarray(torch.as_tensor(values).detach().cpu(), dtype=np.float64)
        for seed, value in zip(seeds, values.reshape(-1), strict=True):
            for c, v in zip(COLUMNS, (self.width, seed, step, module, quantity, float(value)),
                            strict=True):
                self.cols[c].append(v)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.cols)


class _Setup:
    """Everything fixed across widths: validated arguments of ``lora_coord_check``."""

    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)


def _record_step(rec: _Recorder, seeds: Sequence[int], k: int, sites: list[LoRASite],
                 Z: dict[str, torch.Tensor], old: dict[str, torch.Tensor],
                 new: dict[str, torch.Tensor], stopped: dict[str, torch.Tensor] | None) -> None:
    """Rows of recorded step k for every site; tensors carry the seed dim S first."""
    for site in sites:
        if site.name not in Z:
            raise ConfigError(f"LoRA pair {site.name} was not called in the forward pass, so "
                              "its input is unknown; leave it out of the model or call it")
        stats = update_stats(Z[site.name], old[site.a_name], old[site.b_name],
                             new[site.a_name], new[site.b_name], site.scale)
        for q in COORD_QUANTITIES:
            rec.add(seeds, k, site.name, q, stats[q])
        if stopped is not None:
            rec.add(seeds, k, site.name, "stopped", stopped[site.name].double())


def _run_vmap(model: nn.Module, sites: list[LoRASite], width: int, cfg: _Setup,
              rec: _Recorder) -> None:
    """All seeds of one width as one program over stacked LoRA factors (seed dim S)."""
    from torch.func import functional_call, grad_and_value, vmap

    seeds, dev = cfg.seeds, cfg.device
    inits = [_seed_init(model, sites, s, width, cfg.init, cfg.sigma_n) for s in seeds]
    P = {k: torch.stack([d[k] for d in inits]) for k in inits[0]}  # (S, …) per factor
    opt = _optimizer([P[s.a_name] for s in sites], [P[s.b_name] for s in sites], cfg.optimizer,
                     cfg.lr_n, cfg.lr_B_n, cfg.weight_decay)
    wrapper = _LossModule(model, cfg.loss)
    capture = InputCapture(sites)

    def loss_and_inputs(params: dict[str, torch.Tensor], batch: Any):
        value = functional_call(wrapper, {"model." + k: v for k, v in params.items()}, (batch,))
        return value, capture.take()

    fixed = not callable(cfg.batches)
    step_fn = vmap(grad_and_value(loss_and_inputs, has_aux=True),
                   in_dims=(0, None if fixed else 0), randomness="different")
    stable = {s.name: torch.zeros(len(seeds), dtype=torch.bool, device=dev) for s in sites}
    stopped = {s.name: torch.zeros(len(seeds), dtype=torch.bool, device=dev) for s in sites}
    try:
        for k in range(1, cfg.steps + 1):
            batch = cfg.fixed_batch if fixed else _to(
                _stack([cfg.batches(width, s, k) for s in seeds]), dev)
            capture.active = k in cfg.record
            with torch.no_grad():
                grads, (loss, Z) = step_fn(P, batch)
                capture.active = False
                old = {k_: v.clone() for k_, v in P.items()} if k in cfg.record else None
                for name, g in grads.items():
                    P[name].grad = g
                _shrink(sites, P, stable, stopped, cfg)
                opt.step()
            if old is not None:
                rec.add(seeds, k, LOSS_MODULE, "loss", loss)
                _record_step(rec, seeds, k, sites, Z, old, P,
                             stopped if cfg.shrink is not None else None)
            cfg.tick()
    finally:
        capture.remove()


def _run_loop(model: nn.Module, sites: list[LoRASite], width: int, cfg: _Setup,
              rec: _Recorder) -> None:
    """The seeds of one width one after another on the module itself (plain autograd)."""
    dev = cfg.device
    params = {}
    for site in sites:
        for name in (site.a_name, site.b_name):
            params[name] = model.get_parameter(name).requires_grad_(True)
    capture = InputCapture(sites)
    try:
        for seed in cfg.seeds:
            with torch.no_grad():
                for name, value in _seed_init(model, sites, seed, width, cfg.init,
                                              cfg.sigma_n).items():
                    params[name].copy_(value)
            opt = _optimizer([params[s.a_name] for s in sites], [params[s.b_name] for s in sites],
                             cfg.optimizer, cfg.lr_n, cfg.lr_B_n, cfg.weight_decay)
            view = {k: v.unsqueeze(0) for k, v in params.items()}  # (1, …) views
            stable = {s.name: torch.zeros(1, dtype=torch.bool, device=dev) for s in sites}
            stopped = {s.name: torch.zeros(1, dtype=torch.bool, device=dev) for s in sites}
            for k in range(1, cfg.steps + 1):
                batch = cfg.fixed_batch if not callable(cfg.batches) else _to(
                    cfg.batches(width, seed, k), dev)
                capture.active = k in cfg.record
                loss = cfg.loss(model, batch)
                capture.active = False
                opt.zero_grad(set_to_none=True)
                loss.backward()
                Z = {name: z.unsqueeze(0) for name, z in capture.take().items()}
                with torch.no_grad():
                    old = {k_: v.clone() for k_, v in view.items()} if k in cfg.record else None
                    _shrink(sites, view, stable, stopped, cfg)
                    opt.step()
                if old is not None:
                    rec.add([seed], k, LOSS_MODULE, "loss", loss.detach().reshape(1))
                    _record_step(rec, [seed], k, sites, Z, old, view,
                                 stopped if cfg.shrink is not None else None)
                cfg.tick()
    finally:
        capture.remove()


def _shrink(sites: list[LoRASite], P: dict[str, torch.Tensor], stable: dict[str, torch.Tensor],
            stopped: dict[str, torch.Tensor], cfg: _Setup) -> None:
    """Stable-LoRA Algorithm 1's shrink of every pair before the update (stablelora kernel).

    ``stopped`` marks the seeds whose check has found ‖A‖_F/n ≤ ‖B‖_F/m at least once.
    """
    if cfg.shrink is None:
        return
    for site in sites:
        mask = stable_shrink_(P[site.a_name], P[site.b_name], stable[site.name], cfg.shrink,
                              stop_condition=cfg.stop_condition)
        stopped[site.name] |= ~mask


def lora_coord_check(
    make_model: Callable[[int], nn.Module],
    widths: Sequence[int],
    batches: Any,
    *,
    loss: Callable[[nn.Module, Any], torch.Tensor] | None = None,
    optimizer: str = "adam",
    lr: Rule = 1e-3,
    lr_B: Rule | None = None,
    steps: int = 10,
    seeds: int | Sequence[int] = 4,
    init: str = "A",
    sigma: Rule = KAIMING,
    scale: Rule | None = None,
    shrink: float | None = None,
    stop_condition: bool = True,
    weight_decay: float = 0.01,
    record: Sequence[int] | None = None,
    engine: str = "vmap",
    device: str | torch.device = "cpu",
    on_step: Callable[[], None] | None = None,
) -> pd.DataFrame:
    """Coordinate check of every LoRA pair of a model across widths (Stable-LoRA Eq. (1)).

    At each width n, ``make_model(n)`` builds the model (frozen base + LoRA pairs:
    ``stablelora.LoRALinear`` or PEFT ``LoraLayer``, every adapter); each seed draws A₀, B₀
    with ``init_lora_`` (scheme ``init``, σ at width n) and trains only the LoRA factors for
    ``steps`` updates. At the recorded steps k it measures, per pair, from the change the
    step actually made (shrinkage and weight decay included) on the input that pair's A
    actually saw in step k's forward pass: δ₁ = s·ΔB·A_tZ, δ₂ = s·B_t·ΔA·Z, δ₃ = s·ΔB·ΔA·Z,
    ΔY = δ₁ + δ₂ + δ₃, A_tZ and B_t, each as per-entry RMS. Step k is the k-th update (the
    papers' t = k − 1 → k).

    Args:
        make_model: width -> model; called once per width (the base must not depend on
            the seed; the LoRA factors are re-drawn per seed).
        widths: the widths n, as passed to ``make_model`` and to the rules.
        batches: one batch used at every step and width (mup's ``fix_data``), or a
            callable ``(width, seed, step) -> batch`` (e.g. the seed's data order).
        loss: ``(model, batch) -> scalar``; default ``model(**batch).loss`` for dicts,
            cross-entropy of ``model(x)`` against ``y`` for ``(x, y)``.
        optimizer: ``adam``, ``adamw`` or ``sgd`` (torch.optim, default hyper-parameters).
        lr: η_A (and η_B), a number or ``WidthRule(c, γ)`` = c·n^γ.
        lr_B: η_B when it differs (ICML Eq. (5), LoRA+).
        steps: optimizer updates.
        seeds: a count S (seeds 0 … S−1) or the seed numbers.
        init: ``A`` (Init[A]), ``B``, ``AB`` (Init[AB], σ_B = σ_A) or ``zero``.
        sigma: σ of the non-zero factor(s), number or rule (default n^{-1/2}).
        scale: s, number or rule; None keeps each pair's own scaling.
        shrink: Stable-LoRA's λ (Algorithm 1, ``stablelora.stable_shrink_`` before each
            update); None for no shrinkage. Adds a ``stopped`` quantity per pair.
        stop_condition: stop shrinking a pair for good once ‖A‖_F/n ≤ ‖B‖_F/m.
        weight_decay: AdamW's decoupled decay.
        record: steps to measure (default 1, 2, 5, 10, 20, 50, … up to ``steps``).
        engine: ``vmap`` (seeds as a batch dimension) or ``loop`` (seed by seed).
        device: where to run.
        on_step: called after every optimizer update (progress bars).

    Returns:
        Long frame ``width, seed, step, module, quantity, value``: quantities
        ``delta1 delta2 delta3 dY AtZ Bt`` per LoRA pair (``module`` = its name), ``stopped``
        (1.0 once the stop condition has held, with ``shrink``) and ``loss`` (module
        ``(model)``: the batch loss before the update).

    Raises:
        ConfigError: bad arguments (the message says which), or a model without LoRA pairs.
    """
    cfg = _validate(widths=widths, batches=batches, loss=loss, optimizer=optimizer, lr=lr,
                    lr_B=lr_B, steps=steps, seeds=seeds, init=init, sigma=sigma, scale=scale,
                    shrink=shrink, stop_condition=stop_condition, weight_decay=weight_decay,
                    record=record, engine=engine, device=device, on_step=on_step)
    frames = []
    for n in cfg.widths:
        model = make_model(n).to(cfg.device)
        sites = find_sites(model)
        if cfg.scale is not None:
            for site in sites:
                site.set_scale(rule_at(cfg.scale, n))
        cfg.lr_n = rule_at(cfg.lr, n)
        cfg.lr_B_n = cfg.lr_n if cfg.lr_B is None else rule_at(cfg.lr_B, n)
        cfg.sigma_n = rule_at(cfg.sigma, n)
        rec = _Recorder(n)
        (_run_vmap if cfg.engine == "vmap" else _run_loop)(model, sites, n, cfg, rec)
        frames.append(rec.frame())
    return pd.concat(frames, ignore_index=True)


def _validate(**kw: Any) -> _Setup:
    """Check the arguments of ``lora_coord_check``; fill defaults."""
    widths = [int(w) for w in kw["widths"]]
    if not widths or min(widths) < 1 or len(set(widths)) != len(widths):
        raise ConfigError(f"widths must be distinct positive integers, got {kw['widths']!r}")
    if kw["optimizer"] not in OPTIMIZERS:
        raise ConfigError(f"unknown optimizer {kw['optimizer']!r}; valid: {', '.join(OPTIMIZERS)}")
    if kw["engine"] not in ENGINES:
        raise ConfigError(f"unknown engine {kw['engine']!r}; valid: {', '.join(ENGINES)}")
    if kw["init"] not in INITS:
        raise ConfigError(f"unknown init {kw['init']!r}; valid: {', '.join(INITS)}")
    steps = int(kw["steps"])
    if steps < 1:
        raise ConfigError(f"steps must be >= 1, got {kw['steps']!r}")
    seeds = kw["seeds"]
    seeds = list(range(int(seeds))) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ConfigError(f"seeds must be a positive count or distinct integers, got "
                          f"{kw['seeds']!r}")
    record = kw["record"]
    record = [k for k in DEFAULT_RECORD if k <= steps] if record is None else sorted(
        {int(k) for k in record})
    if not record or record[0] < 1 or record[-1] > steps:
        raise ConfigError(f"recorded steps must lie in 1 … steps = {steps}, got {kw['record']!r}")
    _check_rule(kw["lr"], "lr")
    if kw["lr_B"] is not None:
        _check_rule(kw["lr_B"], "lr_B")
    _check_rule(kw["sigma"], "sigma", positive=kw["init"] != "zero")
    if kw["scale"] is not None:
        _check_rule(kw["scale"], "scale")
    shrink = kw["shrink"]
    if shrink is not None and not (isinstance(shrink, (int, float)) and 0 < shrink < 1):
        raise ConfigError(f"shrink λ must lie in (0, 1), got {shrink!r}")
    device = torch.device(kw["device"])
    batches = kw["batches"]
    on_step = kw["on_step"]
    return _Setup(
        widths=widths, seeds=seeds, steps=steps, record=set(record), optimizer=kw["optimizer"],
        engine=kw["engine"], init=kw["init"], lr=kw["lr"], lr_B=kw["lr_B"], sigma=kw["sigma"],
        scale=kw["scale"], shrink=None if shrink is None else float(shrink),
        stop_condition=bool(kw["stop_condition"]), weight_decay=float(kw["weight_decay"]),
        loss=kw["loss"] or _default_loss, batches=batches, device=device,
        fixed_batch=None if callable(batches) else _to(batches, device),
        tick=on_step or (lambda: None),
    )
