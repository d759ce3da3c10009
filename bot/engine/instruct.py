"""Instruction edits (the Edit model): LEDITS++ on the loaded SD / SDXL weights, no new ones.

Each image is the input inverted with a seeded generator, then re-generated with the edit concept
(the prompt) pushed in and the `--no` concepts pushed out. The pipeline comes from `from_pipe`
(shared weights) with the multistep SDE DPM-Solver++ scheduler set explicitly: LEDITS++'s DDIM
path raises IndexError in `invert()` (diffusers 0.42.1). Its intersect masks need three UNet
levels; on smaller UNets (the tiny model) the edit is applied unmasked.
"""

from __future__ import annotations

import time
from typing import Any

from PIL import Image

from bot.engine.request import GenerationRequest, StepCallback, StepProgress

__all__ = ["EDIT_GUIDANCE", "EDIT_THRESHOLD", "INVERSION_SKIP", "edit_image", "instruct_pipeline"]

EDIT_GUIDANCE = 6.0
EDIT_THRESHOLD = 0.9
# The first part of the inversion not re-noised: higher keeps more of the input.
INVERSION_SKIP = 0.15


def instruct_pipeline(base: Any, *, is_sdxl: bool) -> Any:
    """The LEDITS++ pipeline of `base` (shared weights) with the scheduler it needs."""
    from diffusers import (
        DPMSolverMultistepScheduler,
        LEditsPPPipelineStableDiffusion,
        LEditsPPPipelineStableDiffusionXL,
    )

    kind = LEditsPPPipelineStableDiffusionXL if is_sdxl else LEditsPPPipelineStableDiffusion
    pipe = kind.from_pipe(base)
    pipe.scheduler = DPMSolverMultistepScheduler.from_config(
        base.scheduler.config, algorithm_type="sde-dpmsolver++", solver_order=2, use_karras_sigmas=False
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _concepts(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def edit_image(
    pipe: Any,
    request: GenerationRequest,
    image: Image.Image,
    on_step: StepCallback | None,
    *,
    source_prompt: str = "",
) -> tuple[list[Image.Image], float]:
    """`request.batch_size` edits of `image` (one per seed), and the seconds they took."""
    started = time.perf_counter()
    source = image.convert("RGB").resize((request.width, request.height), Image.Resampling.LANCZOS)
    added = [request.prompt.strip()] if request.prompt.strip() else []
    removed = _concepts(request.negative_prompt)
    concepts = added + removed
    if not concepts:
        raise ValueError("an instruction edit needs a prompt")
    masked = len(pipe.unet.config.block_out_channels) >= 3
    total = request.steps * request.batch_size
    images = []
    # LEDITS++ installs its own attention processors (they store attention maps) on the UNet, which
    # `from_pipe` shares with every other pipeline: put the originals back after the edit, or later
    # images of any job would be computed differently (and keep maps in memory).
    processors = dict(pipe.unet.attn_processors)
    try:
        _edit_each(pipe, request, source, concepts, len(added), masked, total, on_step, images, source_prompt)
    finally:
        pipe.unet.set_attn_processor(processors)
    return images, time.perf_counter() - started


def _edit_each(
    pipe: Any,
    request: GenerationRequest,
    source: Image.Image,
    concepts: list[str],
    added: int,
    masked: bool,
    total: int,
    on_step: StepCallback | None,
    images: list[Image.Image],
    source_prompt: str,
) -> None:
    import torch

    removed = len(concepts) - added
    for number, seed in enumerate(request.seeds):
        done = number * request.steps

        def callback(_pipe: Any, index: int, _timestep: Any, tensors: dict[str, Any], done: int = done):
            if on_step is not None:
                on_step(StepProgress(step=done + index + 1, total=total, latents=None))
            return tensors

        generator = torch.Generator("cpu").manual_seed(seed)
        pipe.invert(
            image=source,
            source_prompt=source_prompt,
            num_inversion_steps=request.steps,
            skip=INVERSION_SKIP,
            generator=generator,
            height=request.height,
            width=request.width,
        )
        output = pipe(
            editing_prompt=concepts,
            reverse_editing_direction=[False] * added + [True] * removed,
            edit_guidance_scale=EDIT_GUIDANCE,
            edit_threshold=EDIT_THRESHOLD,
            use_intersect_mask=masked,
            generator=generator,
            callback_on_step_end=callback,
            output_type="pil",
        )
        images.append(output.images[0])
