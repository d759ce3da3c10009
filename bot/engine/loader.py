"""Find, load and place the model named by `MODEL`.

`MODEL` may be `tiny` (the embedded test model), a local diffusers folder, a single-file
`.safetensors` checkpoint (a path, or a file name inside `models/checkpoints/`), or a Hugging Face
repo id. Every failure becomes one `ConfigError` line naming `MODEL` and what went wrong.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.engine.family import (
    TINY,
    ModelFamily,
    family_for_name,
    family_of_checkpoint,
    family_of_diffusers_folder,
)
from bot.errors import ConfigError

if TYPE_CHECKING:
    import torch

    from bot.engine.engine import Engine
    from bot.settings import Settings

log = logging.getLogger(__name__)

TINY_MODEL_NAME = "tiny"
CHECKPOINT_SUFFIXES = (".safetensors", ".ckpt")


@dataclass(frozen=True)
class ModelSource:
    """Where a model comes from, decided without loading it."""

    kind: str  # "tiny", "folder", "checkpoint", "hub"
    location: str  # folder or file path, or repo id
    family: ModelFamily
    name: str  # short name for metadata (`Model:` in PNG parameters)


def _looks_like_path(model: str) -> bool:
    return model.startswith((".", "/", "~")) or model.endswith(CHECKPOINT_SUFFIXES) or "\\" in model


def resolve_model_source(model: str, models_dir: Path) -> ModelSource:
    """Decide what `MODEL` names. Raises ConfigError when it names a missing or unreadable file."""
    model = model.strip()
    if not model:
        raise ConfigError(
            "MODEL is empty: expected 'tiny', a Hugging Face repo id, a folder or a .safetensors file"
        )
    if model.lower() == TINY_MODEL_NAME:
        return ModelSource("tiny", str(models_dir / "tiny-sd"), TINY, TINY_MODEL_NAME)

    candidates = [Path(model).expanduser(), models_dir / "checkpoints" / model, models_dir / model]
    for path in candidates:
        if path.is_dir() and (path / "model_index.json").is_file():
            try:
                family = family_of_diffusers_folder(path)
            except (OSError, ValueError) as error:
                raise ConfigError(
                    f"MODEL={model!r}: {path} is not a readable diffusers folder ({error})"
                ) from None
            return ModelSource("folder", str(path), family, path.name)
        if path.is_file() and path.suffix in CHECKPOINT_SUFFIXES:
            if path.suffix != ".safetensors":
                raise ConfigError(
                    f"MODEL={model!r}: only .safetensors checkpoints are loaded (pickle .ckpt is unsafe)"
                )
            try:
                family = family_of_checkpoint(path)
            except (OSError, ValueError, UnicodeDecodeError) as error:
                raise ConfigError(
                    f"MODEL={model!r}: {path} is not a valid .safetensors file ({error})"
                ) from None
            return ModelSource("checkpoint", str(path), family, path.stem)
        if path.is_dir():
            raise ConfigError(
                f"MODEL={model!r}: {path} is a folder without model_index.json (not a diffusers model)"
            )

    if _looks_like_path(model):
        raise ConfigError(
            f"MODEL={model!r} not found: no such folder or file (also looked in {models_dir / 'checkpoints'})"
        )
    if model.count("/") != 1 or " " in model:
        raise ConfigError(
            f"MODEL={model!r} is not a Hugging Face repo id (owner/name), folder or checkpoint file"
        )
    return ModelSource("hub", model, family_for_name(model), model.split("/")[-1])


def pick_device(requested: str) -> tuple[torch.device, torch.dtype]:
    """The device and dtype to run on: CUDA fp16, MPS fp16, or CPU fp32."""
    import torch

    if requested == "auto":
        if torch.cuda.is_available():
            requested = "cuda"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            requested = "mps"
        else:
            requested = "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "DEVICE='cuda' but PyTorch sees no CUDA GPU (is the CUDA build of torch installed?)"
        )
    if requested == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("DEVICE='mps' but this PyTorch has no Apple MPS support")
    dtype = torch.float32 if requested == "cpu" else torch.float16
    return torch.device(requested), dtype


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


def quiet_libraries() -> None:
    """Progress bars and optional-backend notices from the libraries are noise in a bot's log."""
    import diffusers.utils.logging as diffusers_logging
    import transformers.utils.logging as transformers_logging

    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
    diffusers_logging.set_verbosity_error()


def load_engine(settings: Settings, model: str | None = None) -> Engine:
    """Load `model` (default: `settings.model`) onto the chosen device.

    Raises ConfigError with one clear line.
    """
    quiet_libraries()
    from bot.engine.engine import Engine

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
    from bot.engine.upscaler import find_upscaler

    upscaler = find_upscaler(settings.models_dir)
    if upscaler is not None:
        log.info("Upscaler model: %s", upscaler.name)
    return Engine(pipeline, source=source, device=device, dtype=dtype, upscaler=upscaler)
