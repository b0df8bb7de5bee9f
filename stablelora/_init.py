"""LoRA init schemes Init[A], Init[B], Init[AB] and zero; σ a number or a width rule c·n^γ."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .errors import InitSchemeError, ShapeError

__all__ = ["DEFAULT_SIGMA", "DISTRIBUTIONS", "SCHEMES", "WidthRule", "init_lora_", "resolve_sigma"]

SCHEMES = ("A", "B", "AB", "zero")
DISTRIBUTIONS = ("normal", "uniform")


@dataclass(frozen=True)
class WidthRule:
    """A width-dependent scale σ = coef · n^exp (so γ[σ] = exp in the papers' notation).

    ``WidthRule(1, -0.5)`` is Kaiming's σ² = 1/n (ICML paper, σ_k); with
    ``distribution="uniform"``, ``WidthRule(1, -1)`` is Stable-LoRA's A₀ ~ U[−1/n, 1/n].

    Args:
        coef: the constant c ≥ 0.
        exp: the width exponent γ.
    """

    coef: float
    exp: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.coef) and math.isfinite(self.exp)) or self.coef < 0:
            raise InitSchemeError(
                f"WidthRule needs a finite coef >= 0 and a finite exp, got {self.coef!r}, "
                f"{self.exp!r}"
            )

    def __call__(self, n: int) -> float:
        """σ at width n."""
        return self.coef * float(n) ** self.exp


DEFAULT_SIGMA = WidthRule(1.0, -0.5)


def resolve_sigma(sigma: float | WidthRule, n: int) -> float:
    """σ as a float at width n (a WidthRule is evaluated, a number is checked).

    Raises:
        InitSchemeError: if σ is negative, not finite, or neither a number nor a WidthRule.
    """
    if isinstance(sigma, WidthRule):
        return sigma(n)
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)):
        raise InitSchemeError(f"σ must be a number or a WidthRule, got {sigma!r}")
    if not math.isfinite(sigma) or sigma < 0:
        raise InitSchemeError(f"σ must be finite and >= 0, got {sigma!r}")
    return float(sigma)


def _is_zero(sigma: float | WidthRule | None) -> bool:
    """True when σ is absent or identically zero."""
    if sigma is None:
        return True
    if isinstance(sigma, WidthRule):
        return sigma.coef == 0
    return sigma == 0


def _fill_(
    x: torch.Tensor, sigma: float, distribution: str, generator: torch.Generator | None
) -> None:
    """Draw x i.i.d. from N(0, σ²) or U[−σ, σ] in place."""
    if distribution == "normal":
        x.normal_(0.0, sigma, generator=generator)
    else:
        x.uniform_(-sigma, sigma, generator=generator)


@torch.no_grad()
def init_lora_(
    A: torch.Tensor,
    B: torch.Tensor,
    scheme: str,
    *,
    sigma_A: float | WidthRule | None = None,
    sigma_B: float | WidthRule | None = None,
    distribution: str = "normal",
    generator: torch.Generator | None = None,
) -> None:
    """Initialise a batch of LoRA pairs in place (ICML paper Sections 3.2–3.5, Stable-LoRA §5).

    Schemes: ``"A"`` is Init[A] (A₀ random, B₀ = 0), ``"B"`` is Init[B] (B₀ random,
    A₀ = 0), ``"AB"`` is Init[AB] (both random, σ_B = σ_A unless ``sigma_B`` is given),
    ``"zero"`` is A₀ = B₀ = 0. Entries are i.i.d. N(0, σ²) (``"normal"``) or U[−σ, σ]
    (``"uniform"``). A :class:`WidthRule` is evaluated at the layer's width
    n = ``A.shape[-1]`` (A's fan-in) for both A and B, so that ``exp`` is γ[A₀] and γ[B₀]
    directly and one rule gives the ICML paper's σ_A = σ_B = σ_k for Init[AB]. σ defaults
    to Kaiming's n^{-1/2}; for Init[B] an absent ``sigma_B`` falls back to ``sigma_A``.

    Args:
        A: (..., r, n) down-projections, overwritten.
        B: (..., m, r) up-projections, overwritten.
        scheme: one of ``"A"``, ``"B"``, ``"AB"``, ``"zero"``.
        sigma_A: σ of A₀ (number or WidthRule).
        sigma_B: σ of B₀ (number or WidthRule).
        distribution: ``"normal"`` or ``"uniform"``.
        generator: optional torch.Generator for reproducible draws.

    Raises:
        InitSchemeError: unknown scheme or distribution, a bad σ, or a non-zero σ for a
            factor that the scheme sets to zero (e.g. ``sigma_B`` with Init[A]).
        ShapeError: if A and B are not (..., r, n) and (..., m, r) with equal leading dims.
    """
    if scheme not in SCHEMES:
        raise InitSchemeError(f"unknown init scheme {scheme!r}; valid: {', '.join(SCHEMES)}")
    if distribution not in DISTRIBUTIONS:
        raise InitSchemeError(
            f"unknown distribution {distribution!r}; valid: {', '.join(DISTRIBUTIONS)}"
        )
    if A.dim() < 2 or B.dim() != A.dim() or B.shape[:-2] != A.shape[:-2] or (
        B.shape[-1] != A.shape[-2]
    ):
        raise ShapeError(
            f"expected A (..., r, n) and B (..., m, r), got {tuple(A.shape)} and {tuple(B.shape)}"
        )
    if scheme == "zero" and not _is_zero(sigma_A):
        raise InitSchemeError("scheme 'zero' sets A₀ = B₀ = 0; drop sigma_A or use 'A'/'AB'")
    if scheme in ("A", "zero") and not _is_zero(sigma_B):
        raise InitSchemeError(
            f"scheme {scheme!r} sets B₀ = 0, so sigma_B must be absent; use scheme 'AB'"
        )
    n = A.shape[-1]
    s_A = resolve_sigma(DEFAULT_SIGMA if sigma_A is None else sigma_A, n)
    s_B = s_A if sigma_B is None else resolve_sigma(sigma_B, n)
    if scheme in ("A", "AB"):
        _fill_(A, s_A, distribution, generator)
    else:
        A.zero_()
    if scheme in ("B", "AB"):
        _fill_(B, s_B, distribution, generator)
    else:
        B.zero_()
