"""The coordinate-check run as one dataclass (``CoordConfig``) and the names the CLI offers."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from .errors import ConfigError

OPTIMIZERS = ("adam", "adamw", "sgd")
ENGINES = ("vmap", "loop")
INITS = ("A", "B", "AB", "zero")
MODELS = ("toy", "llama")
ARMS = {"init_A": ("A", False), "init_AB": ("AB", False), "stable_lora": ("A", True)}
_DEFAULTS = {  # per model: widths, steps, record, rank, c_η
    "toy": dict(widths=(256, 512, 1024, 2048), steps=100, record=(1, 2, 5, 10, 20, 50, 100),
                rank=32, lr_coef=0.064),
    "llama": dict(widths=(64, 128, 256, 512), steps=20, record=(1, 2, 5, 10, 20), rank=4,
                  lr_coef=0.02),
}
# Run-level fields that change a unit's numbers (with the arm's own settings: its fingerprint).
UNIT_FIELDS = ("model", "seeds", "steps", "record", "rank", "fixed_batch", "pretrain_steps",
               "engine")


@dataclass
class CoordConfig:
    """One ``python -m sims.coord_check`` run; saved as ``run.json["config"]``.

    η = c_η·n^γ[η], s = c_s·n^γ[s], σ = c_σ·n^γ[σ] at width n (Stable-LoRA Sec. 2.4).
    """

    model: str = "toy"  # toy (ICML App. D.1, pretrained per width) | llama (random, PEFT)
    widths: tuple[int, ...] = ()  # widths n; () = the model's default
    arms: tuple[str, ...] = ("init_A", "init_AB", "stable_lora")  # subset of ARMS
    seeds: int = 4  # seeds 0 … S−1 per (arm, width): LoRA init and batch order
    steps: int = 0  # optimizer updates; 0 = the model's default (toy 100, llama 20)
    record: tuple[int, ...] = ()  # recorded steps k; () = the model's default
    optimizer: str = "adam"  # adam | adamw | sgd
    lr_coef: float = 0.0  # c_η; 0 = the model's default (toy: 1e-3 at n = 4096)
    lr_exp: Fraction = Fraction(-1, 2)  # γ[η]
    s_coef: float = 1.0  # c_s
    s_exp: Fraction = Fraction(0)  # γ[s]
    sigma_coef: float = 1.0  # c_σ
    sigma_exp: Fraction = Fraction(-1, 2)  # γ[σ]; −1/2 (Kaiming) gives γ[A₀Z] = 0
    shrink: float = 0.05  # Stable-LoRA λ of the stable_lora arm
    stop_condition: bool = True  # Algorithm 1's stop condition
    rank: int = 0  # LoRA rank r; 0 = the model's default (toy 32, llama 4)
    fixed_batch: bool = False  # toy: step 1's batch at every step (mup's fix_data)
    pretrain_steps: int = 2000  # toy: MNIST pretraining steps per width (cached)
    engine: str = "vmap"  # vmap (seeds as a batch dim) | loop (seed by seed)
    out: str = "results/coord_check"  # output directory
    bootstrap: int = 1000  # bootstrap resamples of the seeds
    threads: int = 1  # torch CPU threads
    progress: bool = True  # tqdm bar on a terminal

    def resolved(self) -> CoordConfig:
        """A copy with the model's defaults filled in and every field checked.

        Raises:
            ConfigError: an unknown model, arm, optimizer or engine; a bad number.
        """
        if self.model not in MODELS:
            raise ConfigError(f"unknown model {self.model!r}; valid: {', '.join(MODELS)}")
        d = _DEFAULTS[self.model]
        out = dataclasses.replace(
            self,
            widths=tuple(self.widths) or d["widths"], steps=self.steps or d["steps"],
            rank=self.rank or d["rank"], lr_coef=self.lr_coef or d["lr_coef"],
        )
        out.record = tuple(self.record) or tuple(k for k in d["record"] if k <= out.steps) or (
            out.steps,)
        if out.engine not in ENGINES or out.optimizer not in OPTIMIZERS:
            raise ConfigError(f"engine must be one of {', '.join(ENGINES)} and optimizer one of "
                              f"{', '.join(OPTIMIZERS)}, got {out.engine!r}, {out.optimizer!r}")
        bad = [a for a in out.arms if a not in ARMS]
        if bad or not out.arms or len(set(out.arms)) != len(out.arms):
            raise ConfigError(f"arms must be distinct names from {', '.join(ARMS)}, got "
                              f"{list(out.arms)}")
        if min(out.widths) < 2 or len(set(out.widths)) != len(out.widths):
            raise ConfigError(f"widths must be distinct integers >= 2, got {list(out.widths)}")
        for name in ("seeds", "steps", "rank", "bootstrap", "threads", "pretrain_steps"):
            if getattr(out, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be >= 1, got "
                                  f"{getattr(out, name)}")
        if min(out.record) < 1 or max(out.record) > out.steps:
            raise ConfigError(f"--record steps must lie in 1 … {out.steps}, got "
                              f"{list(out.record)}")
        if not 0 < out.shrink < 1:
            raise ConfigError(f"--shrink λ must lie in (0, 1), got {out.shrink}")
        for name in ("lr_coef", "s_coef", "sigma_coef"):
            if not getattr(out, name) > 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be > 0, got "
                                  f"{getattr(out, name)}")
        return out

    def to_json(self) -> dict[str, Any]:
        """JSON-ready fields (fractions as strings such as "-1/2")."""
        return {k: (str(v) if isinstance(v, Fraction) else list(v) if isinstance(v, tuple)
                    else v) for k, v in dataclasses.asdict(self).items()}
