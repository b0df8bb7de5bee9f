"""The toy-model run as one flat dataclass, the quick and paper grids, and grid files."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError

__all__ = ["ARMS", "GRIDS", "ToyConfig", "apply_grid", "kaiming_sigma"]

# arm -> (init scheme, Stable-LoRA shrinkage on?)
ARMS = {
    "init_A": ("A", False),
    "init_AB": ("AB", False),
    "stable_lora": ("A", True),
    "stable_lora_AB": ("AB", True),
}
# ICML paper Appendix D.1 (lr, σ, 10 seeds); λ larger than Stable-LoRA's {5e-4..5e-3}
# because 100 steps leave little time to shrink.
PAPER_LRS = (3e-4, 4e-4, 5e-4, 6e-4, 7e-4, 8e-4, 9e-4, 1e-3, 2e-3, 3e-3)
PAPER_SIGMAS = (2e-5, 5e-5, 8e-5, 1e-4, 4e-4, 7e-4, 1e-3, 3e-3, 6e-3, 9e-3, 2e-2, 5e-2)
PAPER_SHRINKS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.05)
GRIDS = {
    "paper": dict(lrs=PAPER_LRS, sigmas=PAPER_SIGMAS, shrinks=PAPER_SHRINKS,
                  seeds=tuple(range(10)), arms=("init_A", "init_AB", "stable_lora")),
    "quick": dict(lrs=(3e-4, 6e-4, 1e-3, 3e-3), sigmas=(5e-5, 1e-3, 1e-2, 5e-2),
                  shrinks=(0.002, 0.01, 0.05), seeds=(0, 1, 2),
                  arms=("init_A", "init_AB", "stable_lora")),
}
GRID_FIELDS = ("lrs", "sigmas", "shrinks", "seeds", "arms", "stable_sigmas")
MAX_GRID_BYTES = 2**20
MAX_SEED = 2**62  # torch generators take 64-bit seeds; batches use 2·seed


def kaiming_sigma(n: int) -> float:
    """Kaiming's σ_k = n^{-1/2} for A ∈ ℝ^{r×n} (ICML paper Appendix D.2, σ_k² = 1/n)."""
    return float(n) ** -0.5


@dataclass
class ToyConfig:
    """Everything that defines a toy-model run; saved as ``run.json["config"]``.

    Notation of the ICML paper (Section 3.4, Appendix D.1):
    f(X) = W_out·relu((W₀ + s·BA)·relu(W_in·X)), X ∈ ℝ^d, A ∈ ℝ^{r×n}, B ∈ ℝ^{n×r}.
    """

    grid: str = "quick"  # name of the grid ("quick", "paper") or the grid file it came from
    lrs: tuple[float, ...] = GRIDS["quick"]["lrs"]  # Adam learning rates η of fine-tuning
    sigmas: tuple[float, ...] = GRIDS["quick"]["sigmas"]  # init std σ (σ_A; σ_B = σ_A in Init[AB])
    shrinks: tuple[float, ...] = GRIDS["quick"]["shrinks"]  # Stable-LoRA shrink rates λ
    seeds: tuple[int, ...] = GRIDS["quick"]["seeds"]  # fine-tuning seeds (LoRA init, batches)
    arms: tuple[str, ...] = GRIDS["quick"]["arms"]  # subset of ARMS
    stable_sigmas: tuple[str, ...] = ("kaiming", "best")  # σ of Stable-LoRA: σ_k, best Init σ
    n: int = 4096  # width n (W₀ is n×n)
    r: int = 32  # LoRA rank r
    scale: float = 1.0  # LoRA scaling s (the paper's toy model has none: s = 1)
    d: int = 784  # input dimension d (28×28 images, fixed by the data)
    pretrain_steps: int = 2000  # Adam steps of pretraining on MNIST
    pretrain_lr: float = 1e-3  # pretraining learning rate
    pretrain_batch: int = 64  # pretraining batch size
    pretrain_seed: int = 0  # seed of the Kaiming init and batches of pretraining
    steps: int = 100  # fine-tuning steps on Fashion-MNIST
    batch: int = 64  # fine-tuning batch size b
    beta1: float = 0.9  # Adam β₁
    beta2: float = 0.999  # Adam β₂
    eps: float = 1e-8  # Adam ε
    weight_decay: float = 0.0  # decoupled weight decay w (AdamW); the paper uses 0
    subtract_init: bool = False  # Init[AB]: use W₀ − s·B₀A₀ so that f starts at the pretrained f
    stop_condition: bool = True  # Stable-LoRA: stop shrinking once ‖A‖_F/n ≤ ‖B‖_F/m
    test_size: int = 0  # evaluate on the first test_size test images (0: all 10,000)
    chunk_rows: int = 0  # runs trained together as one batched tensor program (0: automatic)
    device: str = "auto"  # "auto" (CUDA when present), "cpu" or "cuda"
    threads: int = 0  # torch intra-op CPU threads (0: torch's default)
    extra: dict = field(default_factory=dict)  # free-form notes saved with the config

    def validate(self) -> None:
        """Check every field.

        Raises:
            ConfigError: an unknown arm or σ choice, or a value out of range, with the fix.
        """
        unknown = [a for a in self.arms if a not in ARMS]
        if unknown or not self.arms:
            raise ConfigError(f"unknown arm(s) {unknown or '(none given)'}; valid: "
                              f"{', '.join(ARMS)}")
        bad_sig = [s for s in self.stable_sigmas if s not in ("kaiming", "best")]
        if bad_sig:
            raise ConfigError(f"stable_sigmas must be 'kaiming' and/or 'best', got {bad_sig}")
        for name in ("n", "r", "d", "pretrain_steps", "pretrain_batch", "steps", "batch"):
            if int(getattr(self, name)) <= 0:
                raise ConfigError(f"{name} must be a positive integer, got {getattr(self, name)}")
        if self.r > self.n:
            raise ConfigError(f"rank r = {self.r} exceeds width n = {self.n}")
        for name in ("lrs", "sigmas"):
            values = getattr(self, name)
            if not values or any(not (math.isfinite(v) and v > 0) for v in values):
                raise ConfigError(f"{name} must be non-empty positive numbers, got {values}")
        needs_shrink = any(ARMS[a][1] for a in self.arms)
        if needs_shrink and (not self.shrinks or any(not 0 < x < 1 for x in self.shrinks)):
            raise ConfigError(f"shrinks λ must lie in (0, 1), got {self.shrinks}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"seeds must be distinct, got {self.seeds}")
        if any(not 0 <= s < MAX_SEED for s in (*self.seeds, self.pretrain_seed)):
            raise ConfigError(f"seeds must lie in [0, 2^62), got {self.seeds} and pretrain "
                              f"seed {self.pretrain_seed}")
        for name in ("scale", "pretrain_lr", "eps"):  # NaN and ±inf fail every comparison
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"{name} must be a positive finite number, got {value}")
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(f"Adam needs 0 <= {name} < 1, got {getattr(self, name)}")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ConfigError(f"weight_decay must be a finite number >= 0, got "
                              f"{self.weight_decay}")
        for name in ("test_size", "chunk_rows", "threads"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        cpus = os.cpu_count() or 1
        if self.threads > cpus:  # torch would try to start them all (a hang at 100000)
            raise ConfigError(f"threads: this machine has {cpus} CPUs, got {self.threads}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"device must be auto, cpu or cuda, got {self.device!r}")

    def to_json(self) -> dict:
        """The config as JSON-ready data (tuples become lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))


def _read_grid_file(path: Path) -> dict:
    """The grid fields of a JSON or TOML grid file."""
    try:
        with open(path, "rb") as fh:  # bounded: --grid /dev/zero must not read forever
            raw = fh.read(MAX_GRID_BYTES + 1)
        if len(raw) > MAX_GRID_BYTES:
            raise ConfigError(f"grid file {path} is over {MAX_GRID_BYTES // 2**20} MiB; a grid "
                              "is a few lists")
        text = raw.decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read grid file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"grid file {path} is not UTF-8 text ({exc.reason} at byte "
                          f"{exc.start})") from None
    try:
        if path.suffix == ".toml":
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                import tomli as tomllib
            data = tomllib.loads(text)
        else:
            data = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"grid file {path} does not parse: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"grid file {path} must hold a table/object of grid fields")
    unknown = sorted(set(data) - set(GRID_FIELDS))
    if unknown:
        raise ConfigError(f"grid file {path}: unknown field(s) {unknown}; valid: "
                          f"{', '.join(GRID_FIELDS)}")
    return data


def _typed_list(grid: str, name: str, values: object) -> tuple:
    """A grid field as a tuple of its exact type: floats, ints (seeds) or names.

    Raises:
        ConfigError: not a list, or an element of the wrong type (a string for a number,
            true/false, 1.5 for a seed).
    """
    kind = {"seeds": "integers", "arms": "names", "stable_sigmas": "names"}.get(name, "numbers")
    if not isinstance(values, list | tuple):
        raise ConfigError(f"grid {grid!r}: {name} must be a list of {kind}, got {values!r}")
    for v in values:
        ok = {"integers": isinstance(v, int), "names": isinstance(v, str),
              "numbers": isinstance(v, int | float)}[kind] and not isinstance(v, bool)
        if not ok:
            raise ConfigError(f"grid {grid!r}: {name} must be a list of {kind}, got {v!r}")
    return tuple(float(v) for v in values) if kind == "numbers" else tuple(values)


def apply_grid(config: ToyConfig, grid: str) -> ToyConfig:
    """A copy of ``config`` with the grid ``"quick"``, ``"paper"`` or a JSON/TOML file applied.

    A grid file gives any of ``lrs, sigmas, shrinks, seeds, arms, stable_sigmas``; the
    others keep the quick grid's values.

    Raises:
        ConfigError: an unknown grid name, an unreadable file, or bad values.
    """
    if grid in GRIDS:
        fields = dict(GRIDS[grid])
    else:
        path = Path(grid)
        if not path.suffix:
            raise ConfigError(f"unknown grid {grid!r}; valid: {', '.join(GRIDS)} or a "
                              ".json/.toml file")
        fields = {**GRIDS["quick"], **_read_grid_file(path)}
    fields = {k: _typed_list(grid, k, v) for k, v in fields.items()}
    out = dataclasses.replace(config, grid=grid, **fields)
    out.validate()
    return out
