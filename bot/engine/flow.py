"""What the transformer families (Stable Diffusion 3.x, FLUX.1) need beside the shared engine recipe.

The engine (`engine.py`) runs every family through the same steps; for SD 3 and FLUX three
things differ, and live here:

- **Prompts**: compel knows only CLIP UNet models, so prompts are encoded by the pipeline's own
  `encode_prompt` (CLIP + T5). Midjourney weights (`a::2 b`) blend the parts' embeddings (every
  part pads to the same length, so the weighted mean is exact); parts with negative weight and
  `--no` become the negative prompt on SD 3. FLUX has no negative prompt (its guidance is
  distilled): there they are left out, and the README says so.
- **Latents** of FLUX are packed 2x2 into a sequence; previews unpack them to (B, 16, H/8, W/8).
- **What a family cannot do** answers with one line: `--tile` (no convolutions to wrap in a
  transformer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from PIL import Image

from bot.engine.conditioning import chaos_batch
from bot.engine.family import ModelFamily
from bot.engine.request import GenerationRequest, WeightedPrompt
from bot.errors import JobFailed

__all__ = [
    "FlowConditioning",
    "FlowPromptEncoder",
    "check_supported",
    "dedicated_guidance",
    "denoiser",
    "per_image",
    "spatial_latents",
]

# T5 tokens per prompt (SD 3 and FLUX schnell were trained with 256; longer prompts are cut).
MAX_SEQUENCE_LENGTH = 256


def denoiser(pipe: Any) -> Any:
    """The pipeline's denoising network: the UNet, or the transformer of SD 3 / FLUX."""
    unet = getattr(pipe, "unet", None)
    return unet if unet is not None else pipe.transformer


def check_supported(family: ModelFamily, request: GenerationRequest) -> None:
    """Raise JobFailed (one Midjourney-style line) for what `family` cannot do."""
    if family.is_flow and request.tile:
        raise JobFailed(f"--tile is not available for this model ({family.name}).")


# FLUX.1 Fill-dev's distilled guidance (Black Forest Labs' default), for FLUX.1 dev's 3.5.
FILL_GUIDANCE = 30.0


def dedicated_guidance(family: ModelFamily, guidance: float) -> float:
    """The guidance for an INPAINT_MODEL: FLUX Fill runs at 30 where FLUX dev runs at 3.5 (scaled
    with --stylize); other families' inpainting checkpoints take the job's own CFG."""
    if family.architecture != "flux":
        return guidance
    if family.default_guidance <= 0:
        return FILL_GUIDANCE
    return round(FILL_GUIDANCE * guidance / family.default_guidance, 3)


def spatial_latents(pipe: Any, latents: Any, height: int, width: int) -> Any:
    """Latents as (B, C, H, W): FLUX's packed (B, tokens, 64) sequence unpacked; others as they are."""
    if latents is None or latents.ndim != 3:
        return latents
    return pipe._unpack_latents(latents, height, width, pipe.vae_scale_factor)


def per_image(inputs: dict[str, Any], count: int) -> dict[str, Any]:
    """The pipeline inputs with `image` and `mask_image` repeated once per image of the batch
    (SD 3 / FLUX img2img and inpaint encode image i with generator i)."""
    return {
        key: [value] * count if key in ("image", "mask_image") and isinstance(value, Image.Image) else value
        for key, value in inputs.items()
    }


@dataclass
class FlowConditioning:
    """One prompt's pipeline arguments (batch of 1) for SD 3 or FLUX."""

    prompt_embeds: torch.Tensor
    pooled_prompt_embeds: torch.Tensor
    negative_prompt_embeds: torch.Tensor | None = None
    negative_pooled_prompt_embeds: torch.Tensor | None = None

    def for_batch(self, batch_size: int, chaos: float, seeds: list[int]) -> dict[str, Any]:
        """Repeat for a batch; with chaos > 0 each image gets its own seeded nudge of the prompt."""
        embeds = chaos_batch(self.prompt_embeds, batch_size, chaos, seeds)
        kwargs: dict[str, Any] = {
            "prompt_embeds": embeds,
            "pooled_prompt_embeds": self.pooled_prompt_embeds.repeat(batch_size, 1),
        }
        if self.negative_prompt_embeds is not None:
            kwargs["negative_prompt_embeds"] = self.negative_prompt_embeds.repeat(batch_size, 1, 1)
            kwargs["negative_pooled_prompt_embeds"] = self.negative_pooled_prompt_embeds.repeat(batch_size, 1)
        return kwargs


def _weighted_parts(request: GenerationRequest) -> tuple[list[tuple[str, float]], str]:
    """(positive parts with weights summing to 1, the negative prompt text)."""
    parts = request.weighted_prompts or (WeightedPrompt(request.prompt, 1.0),)
    positive = [(part.text.strip(), part.weight) for part in parts if part.weight > 0]
    total = sum(weight for _, weight in positive)
    positive = [(text, weight / total) for text, weight in positive] if total else [("", 1.0)]
    negative = [request.negative_prompt.strip()] if request.negative_prompt.strip() else []
    negative += [part.text.strip() for part in parts if part.weight < 0 and part.text.strip()]
    return positive, ", ".join(negative)


class FlowPromptEncoder:
    """Encodes a request's prompt with an SD 3 or FLUX pipeline's own text encoders."""

    def __init__(self, pipeline: Any, family: ModelFamily) -> None:
        self.pipeline = pipeline
        self.family = family

    def _encode(self, text: str) -> tuple[torch.Tensor, torch.Tensor]:
        pipe = self.pipeline
        if self.family.architecture == "flux":
            embeds, pooled, _ids = pipe.encode_prompt(
                prompt=text, prompt_2=text, num_images_per_prompt=1, max_sequence_length=MAX_SEQUENCE_LENGTH
            )
            return embeds, pooled
        embeds, _, pooled, _ = pipe.encode_prompt(
            prompt=text,
            prompt_2=text,
            prompt_3=text,
            do_classifier_free_guidance=False,
            num_images_per_prompt=1,
            max_sequence_length=MAX_SEQUENCE_LENGTH,
        )
        return embeds, pooled

    def _blend(self, parts: list[tuple[str, float]]) -> tuple[torch.Tensor, torch.Tensor]:
        encoded = [(self._encode(text), weight) for text, weight in parts]
        embeds = sum(pair[0] * weight for pair, weight in encoded)
        pooled = sum(pair[1] * weight for pair, weight in encoded)
        return embeds, pooled

    @torch.no_grad()
    def encode(self, request: GenerationRequest) -> FlowConditioning:
        positive, negative = _weighted_parts(request)
        embeds, pooled = self._blend(positive)
        if not self.family.negative_prompts:
            return FlowConditioning(embeds, pooled)
        negative_embeds, negative_pooled = self._encode(negative)
        return FlowConditioning(embeds, pooled, negative_embeds, negative_pooled)
