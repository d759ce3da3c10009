"""Load the model named by `MODEL` onto its device and wrap it in a `DiffusersEngine`.

Every failure becomes one `ConfigError` line naming `MODEL` and what went wrong.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from bot.engine.device import pick_device, quiet_libraries
from bot.engine.engine import DiffusersEngine
from bot.engine.image_prompts import image_prompt_models
from bot.engine.source import ModelSource, resolve_model_source
from bot.engine.upscaler import find_upscaler
from bot.errors import ConfigError

if TYPE_CHECKING:
    import torch

    from bot.config import Config

__all__ = ["load_engine"]

log = logging.getLogger(__name__)


def _load_pipeline(source: ModelSource, dtype: torch.dtype):
    from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline

    pipeline_class = StableDiffusionXLPipeline if source.family.name == "sdxl" else StableDiffusionPipeline
    common = {"dtype": dtype}
    if source.kind == "tiny":
        from bot.engine.tiny import build_tiny_model

        build_tiny_model(Path(source.location))
        return StableDiffusionPipeline.from_pretrained(source.location, **common)
    if source.kind == "folder":
        from diffusers import DiffusionPipeline

        return DiffusionPipeline.from_pretrained(source.location, safety_checker=None, **common)
    if source.kind == "checkpoint":
        return pipeline_class.from_single_file(source.location, **common)
    return pipeline_class.from_pretrained(source.location, **common)


def load_engine(settings: Config, model: str | None = None) -> DiffusersEngine:
    """Load `model` (default: `settings.model`) onto the chosen device.

    Raises ConfigError with one clear line.
    """
    quiet_libraries()

    model = settings.model if model is None else model
    source = resolve_model_source(model, settings.models_dir)
    device, dtype = pick_device(settings.device)
    log.info(
        "Loading model %s (%s, family %s) on %s as %s",
        source.location,
        source.kind,
        source.family.name,
        device,
        str(dtype).removeprefix("torch."),
    )
    try:
        pipeline = _load_pipeline(source, dtype)
    except ConfigError:
        raise
    except Exception as error:  # diffusers/hub raise many types; the operator needs one line
        reason = " ".join(str(error).split())[:300] or type(error).__name__
        if source.kind == "hub":
            raise ConfigError(
                f"MODEL={model!r}: could not load it from the Hugging Face hub "
                f"(offline, gated or misspelt?): {reason}"
            ) from None
        raise ConfigError(f"MODEL={model!r}: could not load {source.location}: {reason}") from None
    upscaler = find_upscaler(settings.models_dir)
    if upscaler is not None:
        log.info("Upscaler model: %s", upscaler.name)
    return DiffusersEngine(
        pipeline,
        source=source,
        device=device,
        dtype=dtype,
        upscaler=upscaler,
        image_prompts=image_prompt_models(settings, source.family.name),
    )
