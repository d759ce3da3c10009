"""Load the model named by `MODEL` onto its device and wrap it in a `DiffusersEngine`.

Every failure becomes one `ConfigError` line naming `MODEL` and what went wrong.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.engine.compiled import compile_unet
from bot.engine.device import Precision, pick_device, pick_precision, quiet_libraries, speed_up_cuda
from bot.engine.edits import edit_models
from bot.engine.engine import DiffusersEngine
from bot.engine.family import ModelFamily
from bot.engine.image_prompts import image_prompt_models
from bot.engine.memory import apply_offload, load_options
from bot.engine.preview import TinyPreviewDecoder, find_preview_decoder
from bot.engine.segment import segmenter_for
from bot.engine.source import AUTO_MODEL, ModelSource, auto_candidates, resolve_model_source
from bot.engine.upscaler import Upscaler, make_upscaler
from bot.engine.video import VideoEngine, resolve_video_source
from bot.engine.warmup import warm_up
from bot.errors import ConfigError

if TYPE_CHECKING:
    import torch

    from bot.config import Config

__all__ = ["load_engine"]

log = logging.getLogger(__name__)


def _pipeline_class(family: ModelFamily) -> Any:
    import diffusers

    names = {"sdxl": "StableDiffusionXLPipeline", "sd3": "StableDiffusion3Pipeline", "flux": "FluxPipeline"}
    return getattr(diffusers, names.get(family.architecture, "StableDiffusionPipeline"))


def _load_pipeline(source: ModelSource, dtype: torch.dtype, options: dict[str, Any] | None = None):
    from diffusers import StableDiffusionPipeline

    pipeline_class = _pipeline_class(source.family)
    common = {"dtype": dtype, **(options or {})}
    if source.kind == "tiny" and source.family.is_flow:
        from diffusers import DiffusionPipeline

        from bot.engine.tiny_flow import build_tiny_flow_model

        build_tiny_flow_model(Path(source.location), source.family.architecture)
        return DiffusionPipeline.from_pretrained(source.location, **common)
    if source.kind == "tiny":
        from bot.engine.tiny import build_tiny_model

        build_tiny_model(Path(source.location), turbo=source.family.distilled)
        return StableDiffusionPipeline.from_pretrained(source.location, **common)
    if source.kind == "folder":
        from diffusers import DiffusionPipeline

        return DiffusionPipeline.from_pretrained(source.location, safety_checker=None, **common)
    if source.kind == "checkpoint":
        if source.family.is_flow:  # a transformer-only file: the text encoders and VAE are elsewhere
            raise ConfigError(
                f"MODEL={source.location!r} is a single-file {source.family.name} checkpoint: use the "
                "model's diffusers folder or Hugging Face repo id (it brings its text encoders and VAE)"
            )
        return pipeline_class.from_single_file(source.location, **common)
    return pipeline_class.from_pretrained(source.location, **common)


def _load_fill_pipeline(source: ModelSource, base: Any, dtype: torch.dtype):
    """A FLUX.1 Fill model's pipeline that borrows the base model's text encoders and VAE (only its
    transformer is loaded)."""
    from diffusers import FluxFillPipeline

    if source.kind == "tiny":
        from bot.engine.tiny_flow import build_tiny_flow_model

        build_tiny_flow_model(Path(source.location), "flux-fill")
    names = ("vae", "text_encoder", "tokenizer", "text_encoder_2", "tokenizer_2")
    shared = {name: getattr(base, name) for name in names}
    return FluxFillPipeline.from_pretrained(source.location, dtype=dtype, **shared)


def _load_inpaint_pipeline(source: ModelSource, base: Any, dtype: torch.dtype):
    """An inpainting checkpoint's pipeline that borrows the base model's text encoders and VAE
    (only its UNet is loaded)."""
    from diffusers import StableDiffusionInpaintPipeline, StableDiffusionXLInpaintPipeline

    if source.family.architecture == "flux":
        return _load_fill_pipeline(source, base, dtype)

    sdxl = source.family.is_sdxl
    pipeline_class = StableDiffusionXLInpaintPipeline if sdxl else StableDiffusionInpaintPipeline
    names = ("vae", "text_encoder", "tokenizer", *(("text_encoder_2", "tokenizer_2") if sdxl else ()))
    shared = {name: getattr(base, name) for name in names}
    if sdxl:
        shared["image_encoder"] = None
        shared["feature_extractor"] = None
    else:
        shared.update(safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    if source.kind == "checkpoint":
        return pipeline_class.from_single_file(source.location, dtype=dtype, **shared)
    return pipeline_class.from_pretrained(source.location, dtype=dtype, **shared)


def load_inpaint_pipeline(settings: Config, family_name: str, base: Any, dtype: torch.dtype) -> Any:
    """The `INPAINT_MODEL` pipeline, or None when it is not set. Raises ConfigError with one line."""
    if not settings.inpaint_model:
        return None
    if family_name == "sd3":
        raise ConfigError(
            "INPAINT_MODEL is for SD 1.x/2.x/SDXL inpainting checkpoints and FLUX.1 Fill; MODEL is sd3, "
            "whose own inpainting pipeline repaints Vary (Region), Zoom Out and Pan"
        )
    source = resolve_model_source(settings.inpaint_model, settings.models_dir)
    if source.family.base != family_name:
        raise ConfigError(
            f"INPAINT_MODEL={settings.inpaint_model!r} is a {source.family.base} model, "
            f"but MODEL is {family_name}: they must be the same family"
        )
    log.info("Loading inpainting model %s (%s)", source.location, source.kind)
    try:
        return _load_inpaint_pipeline(source, base, dtype)
    except Exception as error:  # one line for the operator, as for MODEL
        reason = " ".join(str(error).split())[:300] or type(error).__name__
        raise ConfigError(f"INPAINT_MODEL={settings.inpaint_model!r}: could not load it: {reason}") from None


def load_engine(
    settings: Config, model: str | None = None, *, upscaler: Upscaler | None = None
) -> DiffusersEngine:
    """Load `model` (default: `settings.model`) onto the chosen device; `upscaler` (shared by a
    pool's engines) defaults to a new one from UPSCALER, loaded on the first upscale.

    Raises ConfigError with one clear line.
    """
    quiet_libraries()

    model = settings.model if model is None else model
    device, _ = pick_device(settings.device)
    precision = pick_precision(device, settings.precision)
    if model.strip().lower() == AUTO_MODEL:
        source, pipeline = _load_auto(settings, device, precision)
    else:
        source = resolve_model_source(model, settings.models_dir, device.type)
        options = load_options(settings, source.family, device.type, precision.weights)
        pipeline = _load(source, model, device, precision, options)
    if upscaler is None:
        upscaler = make_upscaler(settings, device)
    log.info("Upscaler: %s (loaded on the first upscale)", upscaler.name)
    switched = speed_up_cuda(device)
    if switched:
        log.info("CUDA: %s", ", ".join(switched))
    # The inpainting checkpoint goes with the default model only (aliases use their own weights).
    is_default = model == settings.model
    inpaint = (
        load_inpaint_pipeline(settings, source.family.base, pipeline, precision.weights)
        if is_default
        else None
    )
    offloaded = apply_offload(pipeline, settings.offload, device)
    prompt_models = image_prompt_models(settings, source.family.base)
    if source.family.is_flow and prompt_models.ip_adapter is not None:
        log.warning("IP_ADAPTER is for SD 1.x/SDXL: %s uses image prompts' fallback", source.family.name)
        prompt_models = replace(prompt_models, ip_adapter=None)
    engine = DiffusersEngine(
        pipeline,
        source=source,
        device=device,
        dtype=precision.weights,
        upscaler=upscaler,
        precision=precision,
        loras_dir=settings.models_dir / "loras",
        image_prompts=prompt_models,
        inpaint_pipeline=inpaint,
        offloaded=offloaded,
        edit_models=edit_models(settings),
        segmenter=segmenter_for(settings, device),
        video=video_engine(settings, source.kind, device, precision) if is_default else None,
    )
    decoder = find_preview_decoder(settings.models_dir, source.family)
    if decoder is not None:
        engine.preview_decoder = TinyPreviewDecoder.load(
            decoder, device, precision.weights, precision.autocast
        )
        log.info("Progress previews: %s (tiny VAE decoder)", decoder.name)
    if settings.compile:
        compile_unet(engine)
    warm_up(engine, compiled=settings.compile)
    return engine


def video_engine(
    settings: Config, image_kind: str, device: torch.device, precision: Precision
) -> VideoEngine | None:
    """The VIDEO_MODEL engine (its weights load on the first video job), or None when it is off."""
    source = resolve_video_source(settings.video_model, settings.models_dir, image_kind)
    if source is None:
        return None
    log.info("Video model: %s (%s), loaded on the first video job", source.location, source.kind)
    return VideoEngine(
        source,
        device=device,
        dtype=precision.weights,
        autocast=precision.autocast,
        offload=settings.video_offload,
    )


def _load(
    source: ModelSource,
    model: str,
    device: torch.device,
    precision: Precision,
    options: dict[str, Any] | None = None,
):
    log.info(
        "Loading model %s (%s, family %s) on %s, precision %s",
        source.location,
        source.kind,
        source.family.name,
        device,
        precision.describe(),
    )
    try:
        return _load_pipeline(source, precision.weights, options)
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


def _load_auto(settings: Config, device: torch.device, precision: Precision):
    """MODEL=auto: the first candidate that loads (see `source.auto_candidates`)."""
    candidates = auto_candidates(settings.models_dir, device.type)
    for candidate in candidates:
        source = resolve_model_source(candidate, settings.models_dir, device.type)
        if source.kind == "tiny":
            log.warning(
                "MODEL=auto: no real model could be loaded (nothing suitable in %s, hub unreachable): "
                "using the embedded TINY TEST MODEL. ITS IMAGES ARE NOISE. Put a model in %s or set MODEL.",
                settings.models_dir / "checkpoints",
                settings.models_dir / "checkpoints",
            )
        try:
            options = load_options(settings, source.family, device.type, precision.weights)
            pipeline = _load(source, candidate, device, precision, options)
        except ConfigError as error:
            log.warning("MODEL=auto: %s; trying the next candidate", error)
            continue
        log.info("MODEL=auto chose %s (family %s) for %s", source.name, source.family.name, device.type)
        return source, pipeline
    raise ConfigError(f"MODEL=auto: none of {', '.join(candidates)} could be loaded")
