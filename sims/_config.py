"""Dataclasses that describe a width sweep: one probe configuration and the run-level settings."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, fields, replace
from fractions import Fraction

from .errors import ConfigError

OPTIMIZERS = ("adam", "adamw", "signsgd", "sgd")
INITS = ("A", "B", "AB", "zero")
DTYPES = ("float32", "float64")
DEVICES = ("auto", "cpu", "cuda")
NEG_INF = float("-inf")
FRESH_SUFFIX = "+fresh"
# a name is a directory under units/: no "." or ".." (path traversal), no hidden names
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,79}$")
_M_RE = re.compile(r"^(?:(\d+)|((?:\d+(?:\.\d*)?|\.\d+))?n)$")


MAX_EXPONENT = 16  # width exponents in the papers are within ±2
MAX_SEED = 2**62  # seeds go into torch generators (64-bit)


def parse_exponent(value: object, what: str) -> Fraction:
    """Read a width exponent γ (``"-3/2"``, ``-1.5``, ``0``) as an exact fraction.

    Args:
        value: a string, int, float or Fraction.
        what: the flag or key name, used in the error message.

    Returns:
        The exponent as a ``Fraction``.

    Raises:
        ConfigError: when the value is not a finite rational number in
            [-MAX_EXPONENT, MAX_EXPONENT].
    """
    if isinstance(value, bool):
        raise ConfigError(f"{what}: expected an exponent such as -1/2, got {value!r}")
    try:
        if isinstance(value, Fraction):
            exponent = value
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise ValueError
            exponent = Fraction(str(value))
        else:
            exponent = Fraction(str(value).strip().replace("\u2212", "-"))
    except (ValueError, ZeroDivisionError):
        raise ConfigError(
            f"{what}: expected a finite exponent such as -1/2, -1.5 or 0, got {value!r}"
        ) from None
    if abs(exponent) > MAX_EXPONENT:  # n^γ must stay a float: 2^16^16 = 2^256
        raise ConfigError(f"{what}: |γ| must be at most {MAX_EXPONENT}, got {value!r}")
    return exponent


def format_exponent(value: Fraction | float) -> str:
    """Write an exponent the way the result files do: ``"-1/2"``, ``"0"``, ``"-oo"``."""
    if isinstance(value, float) and value == NEG_INF:
        return "-oo"
    return str(Fraction(value))


HORIZONS = {"default": 512, "long": 2048}  # --horizon: steps of the built-in suite


def log_grid(steps: int) -> tuple[int, ...]:
    """Recorded steps 1, 2, 3, 4, 6, 8, 11, 16, 23, … , ``steps``: ⌊2^{j/2}⌉, √2 apart.

    A crossover t*(n) = K·n^{τ*} moves by a factor 2^{τ*} per doubling of n; steps √2 apart
    resolve it at every width doubling for τ* ≥ 1/2 and keep the count logarithmic.
    """
    grid = {min(steps, round(2 ** (j / 2))) for j in range(2 * max(1, steps).bit_length() + 2)}
    return tuple(sorted(grid | {steps}))


@dataclass(frozen=True)
class ProbeConfig:
    """One configuration of the single LoRA layer Y = W₀Z + s·BAZ (Stable-LoRA Sec. 2.1).

    Learning rates, scaling and init scales follow η = c_η·n^{γ[η]}, s = c_s·n^{γ[s]},
    σ = c_σ·n^{γ[σ]} (DESIGN.md, "The width-sweep measurement").
    """

    name: str  # label in every output file; FRESH_SUFFIX is added for fresh batches
    optimizer: str = "adam"  # adam | adamw | signsgd | sgd (processed gradient g)
    init: str = "A"  # Init[A] (B₀ = 0) | Init[B] (A₀ = 0) | Init[AB] | zero (A₀ = B₀ = 0)
    eta_exp: Fraction = Fraction(-1, 2)  # γ[η_A] (and γ[η_B] unless etaB_exp is set)
    eta_coef: float = 0.1  # c_η in η_A = c_η·n^{γ[η_A]}
    etaB_exp: Fraction | None = None  # γ[η_B]; None: same as γ[η_A] (ICML Eq. (5))
    etaB_coef: float | None = None  # c for η_B; None: same as eta_coef
    s_exp: Fraction = Fraction(0)  # γ[s]
    s_coef: float = 1.0  # c_s in s = c_s·n^{γ[s]}
    sigma_exp: Fraction = Fraction(-1, 2)  # γ[σ] of the non-zero init; -1/2 gives γ[A₀Z] = 0
    sigma_coef: float = 1.0  # c_σ in σ = c_σ·n^{γ[σ]}
    shrink: float | None = None  # Stable-LoRA λ ∈ (0, 1) (Algorithm 1); None: no shrinkage
    stop_condition: bool = True  # stop shrinking once ‖A‖_F/n ≤ ‖B‖_F/m (Algorithm 1)
    weight_decay: float = 0.01  # AdamW's decoupled weight decay w; other optimizers ignore it
    fresh_batches: bool = False  # new Z every step: outside Stable-LoRA's Assumption 1

    @property
    def eta_B_exp(self) -> Fraction:
        """γ[η_B] after defaulting to γ[η_A]."""
        return self.eta_exp if self.etaB_exp is None else self.etaB_exp

    @property
    def eta_B_coef(self) -> float:
        """c for η_B after defaulting to c_η."""
        return self.eta_coef if self.etaB_coef is None else self.etaB_coef

    @property
    def a_nonzero(self) -> bool:
        """Whether A₀ is drawn at scale σ (Init[A], Init[AB])."""
        return self.init in ("A", "AB")

    @property
    def b_nonzero(self) -> bool:
        """Whether B₀ is drawn at scale σ (Init[B], Init[AB])."""
        return self.init in ("B", "AB")

    @property
    def A0Z_exp(self) -> Fraction | float:
        """γ[A₀Z] = γ[σ] + 1/2 for i.i.d. A₀ on Θ(1) inputs; −∞ when A₀ = 0."""
        return self.sigma_exp + Fraction(1, 2) if self.a_nonzero else NEG_INF

    @property
    def B0_exp(self) -> Fraction | float:
        """γ[B₀] = γ[σ]; −∞ when B₀ = 0."""
        return self.sigma_exp if self.b_nonzero else NEG_INF

    def at_width(self, n: int) -> dict[str, float]:
        """The concrete η_A, η_B, s, σ_A, σ_B at width n."""
        sigma = self.sigma_coef * float(n) ** float(self.sigma_exp)
        return {
            "eta_A": self.eta_coef * float(n) ** float(self.eta_exp),
            "eta_B": self.eta_B_coef * float(n) ** float(self.eta_B_exp),
            "s": self.s_coef * float(n) ** float(self.s_exp),
            "sigma_A": sigma if self.a_nonzero else 0.0,
            "sigma_B": sigma if self.b_nonzero else 0.0,
        }


@dataclass(frozen=True)
class SweepSettings:
    """Run-level settings shared by every configuration of one sweep."""

    widths: tuple[int, ...] = (256, 512, 1024, 2048, 4096, 8192, 16384)  # n (input width)
    seeds: int = 8  # S independent seeds per (config, width): draws of Z, target, A₀, B₀
    seed: int = 0  # first seed; seeds are seed, seed+1, …, seed+S−1
    steps: int = 512  # optimizer updates; step k is the paper's update t = k−1 → k
    record: tuple[int, ...] = log_grid(512)  # steps k where δ's are measured; (): log_grid(steps)
    batch: int = 4  # b, columns of the input batch Z ∈ ℝ^{n×b}
    rank: int = 4  # r, LoRA rank
    m: str = "n"  # output width: "n" (m = n), "0.5n" (m = ρ·n) or an integer (fixed m)
    teacher_rank: int = 4  # k, rank of the target residual T − W₀Z = U·V·Z/√k
    dtype: str = "float32"
    device: str = "auto"  # auto: cuda when available
    bootstrap: int = 1000  # bootstrap resamples over seeds for the 95% interval
    max_memory_gb: float | None = None  # per-width working-set cap; None: from the device
    threads: int | None = None  # torch CPU threads during the sweep; None: torch's default

    @property
    def m_exp(self) -> int:
        """γ[m]: 1 when m grows with n ("n", "0.5n"), 0 for a fixed m."""
        return 0 if _parse_m(self.m)[0] is not None else 1

    def m_at(self, n: int) -> int:
        """Output width m at input width n."""
        fixed, ratio = _parse_m(self.m)
        return fixed if fixed is not None else max(1, round(ratio * n))


def _parse_m(spec: str) -> tuple[int | None, float]:
    match = _M_RE.match(str(spec).replace(" ", ""))
    if match is None:
        raise ConfigError(f"--m: expected 'n', a ratio such as '0.5n' or an integer, got {spec!r}")
    if match.group(1) is not None:
        value = int(match.group(1))
        if value < 1:
            raise ConfigError(f"--m: a fixed output width must be ≥ 1, got {value}")
        return value, 0.0
    ratio = float(match.group(2)) if match.group(2) else 1.0
    if ratio <= 0:
        raise ConfigError(f"--m: the ratio m/n must be > 0, got {spec!r}")
    return None, ratio


def _positive_finite(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{what}: expected a positive number, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{what}: expected a positive finite number, got {value!r}")
    return float(value)


def _int_at_least(value: object, low: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{what}: expected an integer ≥ {low}, got {value!r}")
    if value < low:
        raise ConfigError(f"{what}: expected an integer ≥ {low}, got {value}")
    return value


def validate_config(config: ProbeConfig) -> ProbeConfig:
    """Check one configuration and return it normalised (exact exponents, fresh-batch label).

    Raises:
        ConfigError: naming the bad field and the valid choices.
    """
    if not isinstance(config.name, str) or not _NAME_RE.match(config.name):
        raise ConfigError(
            f"config name {config.name!r}: use 1-80 characters from letters, digits and _.+-, "
            "starting with a letter, digit or _"
        )
    if config.optimizer not in OPTIMIZERS:
        raise ConfigError(
            f"unknown optimizer {config.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}"
        )
    if config.init not in INITS:
        raise ConfigError(f"unknown init {config.init!r}; choose one of {', '.join(INITS)}")
    changes: dict[str, object] = {
        "eta_exp": parse_exponent(config.eta_exp, "eta_exp"),
        "s_exp": parse_exponent(config.s_exp, "s_exp"),
        "sigma_exp": parse_exponent(config.sigma_exp, "sigma_exp"),
        "eta_coef": _positive_finite(config.eta_coef, "eta_coef"),
        "s_coef": _positive_finite(config.s_coef, "s_coef"),
        "sigma_coef": _positive_finite(config.sigma_coef, "sigma_coef"),
    }
    if config.etaB_exp is not None:
        changes["etaB_exp"] = parse_exponent(config.etaB_exp, "etaB_exp")
    if config.etaB_coef is not None:
        changes["etaB_coef"] = _positive_finite(config.etaB_coef, "etaB_coef")
    if config.shrink is not None:
        lam = config.shrink
        if isinstance(lam, bool) or not isinstance(lam, int | float) or not 0 < lam < 1:
            raise ConfigError(f"shrink λ must lie in (0, 1), got {lam!r}")
        changes["shrink"] = float(lam)
    wd = config.weight_decay
    if isinstance(wd, bool) or not isinstance(wd, int | float) or not 0 <= wd < 1:
        raise ConfigError(f"weight_decay w must lie in [0, 1), got {wd!r}")
    changes["weight_decay"] = float(wd)
    for flag in ("stop_condition", "fresh_batches"):
        if not isinstance(getattr(config, flag), bool):
            raise ConfigError(f"{flag} must be true or false, got {getattr(config, flag)!r}")
    if config.fresh_batches and not config.name.endswith(FRESH_SUFFIX):
        changes["name"] = config.name + FRESH_SUFFIX
    return replace(config, **changes)


MAX_BOOTSTRAP = 1_000_000  # each fit holds (resamples × seeds × widths) floats


def _bootstrap(value: object) -> int:
    """The bootstrap resample count, 10 … MAX_BOOTSTRAP."""
    count = _int_at_least(value, 10, "bootstrap")
    if count > MAX_BOOTSTRAP:
        raise ConfigError(f"bootstrap: at most {MAX_BOOTSTRAP:,} resamples, got {count:,}")
    return count


def validate_settings(settings: SweepSettings) -> SweepSettings:
    """Check the run-level settings and return them normalised (sorted, de-duplicated).

    Raises:
        ConfigError: for a width below 2 or not an integer, a recorded step outside
            1…steps, a bad dtype or device, and the like.
    """
    widths = []
    for w in settings.widths:
        if isinstance(w, bool) or not isinstance(w, int) or w < 2:
            raise ConfigError(f"width n must be an integer ≥ 2, got {w!r}")
        widths.append(w)
    if not widths:
        raise ConfigError("give at least one width n")
    steps = _int_at_least(settings.steps, 1, "steps")
    record = []
    for k in settings.record or log_grid(steps):
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ConfigError(f"recorded step must be an integer ≥ 1, got {k!r}")
        if k > steps:
            raise ConfigError(f"recorded step {k} is beyond --steps {steps}")
        record.append(k)
    if not record:
        raise ConfigError("give at least one recorded step")
    if settings.dtype not in DTYPES:
        raise ConfigError(f"unknown dtype {settings.dtype!r}; choose one of {', '.join(DTYPES)}")
    if settings.device not in DEVICES:
        raise ConfigError(f"unknown device {settings.device!r}; choose one of {', '.join(DEVICES)}")
    _parse_m(settings.m)
    if settings.max_memory_gb is not None:
        _positive_finite(settings.max_memory_gb, "max_memory_gb")
    if settings.threads is not None:
        _int_at_least(settings.threads, 1, "threads")
        cpus = os.cpu_count() or 1
        if settings.threads > cpus:  # torch would try to start them all (a hang at 100000)
            raise ConfigError(f"threads: this machine has {cpus} CPUs, got {settings.threads}")
    seed = _int_at_least(settings.seed, 0, "seed")
    seeds = _int_at_least(settings.seeds, 1, "seeds")
    if seed + seeds > MAX_SEED:
        raise ConfigError(f"seed: seeds {seed} … {seed + seeds - 1} exceed 2^62")
    rank = _int_at_least(settings.rank, 1, "rank")
    narrowest = min(min(widths), settings.m_at(min(widths)))
    if rank > narrowest:
        raise ConfigError(f"rank r = {rank} exceeds the narrowest width {narrowest}: LoRA "
                          "needs r ≤ min(n, m)")
    return replace(
        settings,
        widths=tuple(sorted(set(widths))),
        record=tuple(sorted(set(record))),
        steps=steps,
        seeds=seeds,
        seed=seed,
        batch=_int_at_least(settings.batch, 1, "batch"),
        rank=rank,
        teacher_rank=_int_at_least(settings.teacher_rank, 1, "teacher_rank"),
        bootstrap=_bootstrap(settings.bootstrap),
    )


def validate_suite(configs: list[ProbeConfig]) -> list[ProbeConfig]:
    """Validate every configuration and check that names are unique."""
    if not configs:
        raise ConfigError("the suite holds no configuration")
    out = [validate_config(c) for c in configs]
    names = [c.name for c in out]
    dup = sorted({x for x in names if names.count(x) > 1})
    if dup:
        raise ConfigError(f"configuration names must be unique; repeated: {', '.join(dup)}")
    return out


CONFIG_KEYS = tuple(f.name for f in fields(ProbeConfig))
SETTINGS_KEYS = tuple(f.name for f in fields(SweepSettings))
