"""Midjourney's `--exp` (experimental aesthetics) as FreeU on the UNet.

FreeU (Si et al., 2023; `UNet2DConditionModel.enable_freeu` in diffusers) scales the decoder's
backbone features up (b1, b2) and the skip connections' low frequencies down (s1, s2): more
detail, richer contrast and colour, a little less literal — the trade Midjourney describes for
`--exp`. It costs no extra UNet pass (perturbed-attention guidance, the other candidate, costs one
more per step and needs its own pipeline class).

`--exp e` moves every factor from 1 (FreeU off) toward the family's published values in
proportion e / 100: factor = 1 + (published − 1) × e / 100. At 0 the UNet is untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["FREEU_VALUES", "experimental_aesthetics", "freeu_factors"]

# The FreeU authors' recommended (b1, b2, s1, s2) per architecture.
FREEU_VALUES: dict[str, tuple[float, float, float, float]] = {
    "sd1": (1.5, 1.6, 0.9, 0.2),
    "tiny": (1.5, 1.6, 0.9, 0.2),
    "sd2": (1.4, 1.6, 0.9, 0.2),
    "sdxl": (1.3, 1.4, 0.9, 0.2),
}


def freeu_factors(exp: int, family_base: str) -> dict[str, float] | None:
    """`enable_freeu` keyword arguments for `--exp exp` on a `family_base` UNet; None when off."""
    if not 0 <= exp <= 100:
        raise ValueError(f"exp must be 0..100, got {exp}")
    if exp == 0 or family_base not in FREEU_VALUES:
        return None
    published = FREEU_VALUES[family_base]
    b1, b2, s1, s2 = (round(1 + (value - 1) * exp / 100, 4) for value in published)
    return {"b1": b1, "b2": b2, "s1": s1, "s2": s2}


@contextmanager
def experimental_aesthetics(unet: Any, exp: int, family_base: str) -> Iterator[None]:
    """FreeU on `unet` for the duration of one call when `exp` > 0 (the UNet is shared by every
    pipeline, so it is switched off again afterwards)."""
    factors = freeu_factors(exp, family_base)
    if factors is None or not hasattr(unet, "enable_freeu"):
        yield
        return
    unet.enable_freeu(**factors)
    try:
        yield
    finally:
        unet.disable_freeu()
