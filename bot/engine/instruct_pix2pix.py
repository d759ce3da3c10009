"""Instruction edits with a dedicated InstructPix2Pix-style model (`INSTRUCT_MODEL`).

When INSTRUCT_MODEL is set, Edit / `--edit <link>` / `python -m bot edit instruct` run diffusers'
`StableDiffusionInstructPix2PixPipeline` (its UNet takes 8 input channels: the noisy latents and
the source image's latents) instead of LEDITS++ on the loaded model (bot/engine/instruct.py).
The pipeline is loaded on the worker thread on the first edit, once, and kept; `tiny` builds an
embedded one in code (bot/engine/tiny_editing.py). The default model is timbrooks/instruct-pix2pix
(SD 1.5 based, its own text encoder and VAE: it does not share the loaded model's weights).

`instruct_model_problem` is what the admission checks before an Edit is queued: a folder that does
not exist or holds no InstructPix2Pix model, or a cached repo whose UNet is not one, is refused with
one line naming the setting.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from PIL import Image

from bot.engine.request import GenerationRequest, StepCallback, StepProgress
from bot.errors import JobFailed

__all__ = [
    "IMAGE_GUIDANCE",
    "PIX2PIX_CHANNELS",
    "instruct_model_problem",
    "pix2pix_edit",
    "pix2pix_pipeline",
]

log = logging.getLogger(__name__)

# How closely the edit keeps to the source image (diffusers' `image_guidance_scale`; ≥ 1).
IMAGE_GUIDANCE = 1.5
# An InstructPix2Pix UNet's input: 4 noisy latent channels + 4 of the source image.
PIX2PIX_CHANNELS = 8
TINY = "tiny"


def _unet_channels(config_file: Path) -> int | None:
    try:
        return int(json.loads(config_file.read_text())["in_channels"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _cached_unet_config(name: str) -> Path | None:
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(name, "unet/config.json")
    except Exception:  # not a repo id
        return None
    return Path(found) if isinstance(found, str) else None


def instruct_model_problem(name: str, models_dir: Path) -> str | None:
    """Why INSTRUCT_MODEL `name` cannot run instruction edits (one sentence), or None when it can
    or cannot be told before loading (a repo id not in the local cache: the worker downloads it)."""
    name = name.strip()
    if not name or name.lower() == TINY:
        return None
    path = Path(name).expanduser()
    looks_local = path.is_absolute() or name.startswith((".", "~")) or name.count("/") != 1
    folder = next((each for each in (path, models_dir / name) if each.is_dir()), None)
    if folder is None and looks_local:
        return f"Edit is not available: the INSTRUCT_MODEL folder `{name}` does not exist."
    config = folder / "unet" / "config.json" if folder is not None else _cached_unet_config(name)
    if config is None:
        return None
    channels = _unet_channels(config)
    if channels != PIX2PIX_CHANNELS:
        what = "has no readable UNet" if channels is None else f"has a UNet of {channels} input channels"
        return (
            f"Edit is not available: INSTRUCT_MODEL `{name}` is not an InstructPix2Pix model "
            f"(it {what}, not {PIX2PIX_CHANNELS})."
        )
    return None


def _unloadable(model: str) -> str:
    return (
        f"Edit could not load its model: INSTRUCT_MODEL `{model}` is not a loadable InstructPix2Pix "
        "model. Its operator can point the setting at one (or leave it empty for LEDITS++)."
    )


def pix2pix_pipeline(model: str, *, tiny_folder: Path | None, device: Any, dtype: Any) -> Any:
    """The InstructPix2Pix pipeline of INSTRUCT_MODEL `model` on `device` (built first for tiny)."""
    from diffusers import StableDiffusionInstructPix2PixPipeline

    location = model
    if tiny_folder is not None:
        from bot.engine.tiny_editing import build_tiny_instruct

        location = str(build_tiny_instruct(tiny_folder))
    log.info("Loading the instruction-edit model %s", location)
    try:
        pipe = StableDiffusionInstructPix2PixPipeline.from_pretrained(
            location, torch_dtype=dtype, safety_checker=None, requires_safety_checker=False
        )
    except Exception as error:  # hub/IO errors come in many types: the reason goes to the log only
        log.warning("INSTRUCT_MODEL=%s could not be loaded: %s", model, error)
        raise JobFailed(_unloadable(model)) from None
    if pipe.unet.config.in_channels != PIX2PIX_CHANNELS:
        log.warning("INSTRUCT_MODEL=%s has a UNet of %s input channels", model, pipe.unet.config.in_channels)
        raise JobFailed(_unloadable(model))
    pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def pix2pix_edit(
    pipe: Any, request: GenerationRequest, image: Image.Image, on_step: StepCallback | None
) -> tuple[list[Image.Image], float]:
    """`request.batch_size` edits of `image` by the instruction `request.prompt` (one per seed: a
    CPU generator each, so an image depends only on its seed), and the seconds they took."""
    import torch

    if not request.prompt.strip():
        raise ValueError("an instruction edit needs a prompt")
    started = time.perf_counter()
    source = image.convert("RGB").resize((request.width, request.height), Image.Resampling.LANCZOS)
    generators = [torch.Generator("cpu").manual_seed(seed) for seed in request.seeds]

    def callback(_pipe: Any, index: int, _timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
        if on_step is not None:
            on_step(StepProgress(step=index + 1, total=request.steps, latents=None))
        return tensors

    with torch.inference_mode():
        output = pipe(
            prompt=request.prompt,
            negative_prompt=request.negative_prompt or None,
            image=source,
            num_inference_steps=request.steps,
            guidance_scale=request.guidance_scale,
            image_guidance_scale=IMAGE_GUIDANCE,
            num_images_per_prompt=len(generators),
            generator=generators,
            callback_on_step_end=callback,
            output_type="pil",
        )
    return list(output.images), time.perf_counter() - started
