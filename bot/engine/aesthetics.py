"""Midjourney's `--exp` (experimental aesthetics): FreeU on a UNet, perturbed-attention guidance
on Stable Diffusion 3, nothing on FLUX (the reply says so, bot/prompt/mapping.py).

FreeU (Si et al., 2023; `UNet2DConditionModel.enable_freeu` in diffusers) scales the decoder's
backbone features up (b1, b2) and the skip connections' low frequencies down (s1, s2): more
detail, richer contrast and colour, a little less literal — the trade Midjourney describes for
`--exp`. It costs no extra UNet pass (perturbed-attention guidance, the other candidate, costs one
more per step and needs its own pipeline class).

`--exp e` moves every factor from 1 (FreeU off) toward the family's published values in
proportion e / 100: factor = 1 + (published − 1) × e / 100. At 0 the UNet is untouched.

SD 3 has no UNet (FreeU has nothing to scale) but diffusers has PAG pipelines for it
(`StableDiffusion3PAGPipeline`, `…PAGImg2ImgPipeline`): a third transformer pass per step with
the self-attention of the middle block made an identity, guided away from — sharper structure and
detail, the same kind of trade. `--exp e` runs them (made with `from_pipe`: the same weights) at
`pag_scale` = 3 × e / 100 (the PAG paper's scale at 100; diffusers' SD 3 example, 0.7, at about
25). SD 3 has no PAG inpainting pipeline: Vary (Region), Zoom Out and Pan run without it. FLUX
has neither (guidance-distilled, no UNet): `--exp` does nothing there and the reply says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bot.engine.family import ModelFamily

__all__ = ["FREEU_VALUES", "ExperimentalAesthetics", "experimental_aesthetics", "freeu_factors", "pag_scale"]

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


# PAG scale at --exp 100; the PAG pipeline for each SD 3 pipeline that has one.
PAG_SCALE_AT_100 = 3.0
_PAG_PIPELINES = {
    "StableDiffusion3Pipeline": "StableDiffusion3PAGPipeline",
    "StableDiffusion3Img2ImgPipeline": "StableDiffusion3PAGImg2ImgPipeline",
}


def pag_scale(exp: int) -> float:
    """Perturbed-attention guidance scale for `--exp exp` on SD 3."""
    return round(PAG_SCALE_AT_100 * exp / 100, 4)


class ExperimentalAesthetics:
    """`--exp` for one engine's pipelines: FreeU on a UNet, PAG on SD 3's txt2img / img2img (their
    PAG pipelines made on first use, sharing the weights), nothing elsewhere."""

    def __init__(self, family: ModelFamily) -> None:
        self.family = family
        self._pag: dict[int, Any] = {}

    def _pag_pipeline(self, pipe: Any) -> Any:
        if self.family.architecture != "sd3" or type(pipe).__name__ not in _PAG_PIPELINES:
            return None
        if id(pipe) not in self._pag:
            import diffusers

            pag_class = getattr(diffusers, _PAG_PIPELINES[type(pipe).__name__])
            middle = len(pipe.transformer.transformer_blocks) // 2
            pag = pag_class.from_pipe(pipe, pag_applied_layers=[f"blocks.{middle}"])
            pag.set_progress_bar_config(disable=True)
            self._pag[id(pipe)] = pag
        return self._pag[id(pipe)]

    @contextmanager
    def applied(self, pipe: Any, exp: int) -> Iterator[tuple[Any, dict[str, Any]]]:
        """(the pipeline to call, its extra arguments) for one call with `--exp exp`."""
        unet = getattr(pipe, "unet", None)
        pag = self._pag_pipeline(pipe) if exp and unet is None else None
        if pag is None:
            with experimental_aesthetics(unet, exp, self.family.base):
                yield pipe, {}
            return
        # PAG swaps the middle block's attention processor during the call and puts it back only
        # when the call ends normally: a cancelled job must not leave it on the shared transformer.
        kept = pag.transformer.attn_processors
        try:
            yield pag, {"pag_scale": pag_scale(exp)}
        finally:
            pag.transformer.set_attn_processor(kept)
