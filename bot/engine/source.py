"""What `MODEL` names, decided without loading it.

`MODEL` may be `auto`, `tiny` (the embedded test model; `tiny-turbo` its distilled variant;
`tiny-sd3` and `tiny-flux` the Stable Diffusion 3 and FLUX.1 architectures), a
local diffusers folder, a single-file `.safetensors` checkpoint (a path, or a file name inside
`models/checkpoints/`), or a Hugging Face repo id. Every failure becomes one `ConfigError` line
naming `MODEL` and what went wrong.

`auto` is a list of candidates tried in order (`auto_candidates`): a model in
`models/checkpoints/` that suits the device (SDXL on CUDA, a distilled model on CPU/MPS), then
the hub model for the device (SDXL base on CUDA, SD-Turbo elsewhere), then the embedded tiny
model, whose images are noise.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from bot.engine.family import (
    TINY,
    TINY_FLUX,
    TINY_SD3,
    TINY_TURBO,
    ModelFamily,
    family_for_name,
    family_of_checkpoint,
    family_of_diffusers_folder,
)
from bot.errors import ConfigError

__all__ = [
    "AUTO_MODEL",
    "CHECKPOINT_SUFFIXES",
    "TINY_MODEL_NAME",
    "ModelSource",
    "accelerator_hint",
    "auto_candidates",
    "resolve_model_source",
]

AUTO_MODEL = "auto"
TINY_MODEL_NAME = "tiny"
TINY_TURBO_MODEL_NAME = "tiny-turbo"
# The embedded test models of the transformer families: name → (folder in MODELS_DIR, family).
TINY_FLOW_MODELS = {
    "tiny-sd3": ("tiny-sd3", TINY_SD3),
    "tiny-flux": ("tiny-flux", TINY_FLUX),
    "tiny-flux-fill": ("tiny-flux-fill", TINY_FLUX),  # for INPAINT_MODEL with MODEL=tiny-flux
}
# What MODEL=auto downloads when models/checkpoints/ has nothing suitable.
AUTO_HUB_MODELS = {"cuda": "stabilityai/stable-diffusion-xl-base-1.0", "other": "stabilityai/sd-turbo"}
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


def accelerator_hint(device: str) -> str:
    """`cuda`, `mps` or `cpu` for a DEVICE value, without importing torch (for the dry run; the
    loader uses the device torch actually picked)."""
    if device != "auto":
        return device
    if Path("/proc/driver/nvidia/version").exists() or os.environ.get("NVIDIA_VISIBLE_DEVICES"):
        return "cuda"
    return "mps" if sys.platform == "darwin" else "cpu"


def auto_candidates(models_dir: Path, accelerator: str) -> list[str]:
    """What MODEL=auto tries, best first: suitable local models, the hub model, then `tiny`.

    On CUDA the local SDXL models come first, elsewhere the distilled ones; a local model of the
    other kind still beats a download.
    """
    checkpoints = models_dir / "checkpoints"
    local: list[ModelSource] = []
    if checkpoints.is_dir():
        for path in sorted(checkpoints.iterdir()):
            if path.name.startswith("."):
                continue
            try:
                local.append(resolve_model_source(str(path), models_dir))
            except ConfigError:
                continue
    wanted = (lambda family: family.is_sdxl) if accelerator == "cuda" else (lambda family: family.distilled)
    ranked = sorted(local, key=lambda source: not wanted(source.family))
    hub = AUTO_HUB_MODELS["cuda" if accelerator == "cuda" else "other"]
    return [*(source.location for source in ranked), hub, TINY_MODEL_NAME]


def resolve_model_source(model: str, models_dir: Path, device: str = "auto") -> ModelSource:
    """Decide what `MODEL` names. Raises ConfigError when it names a missing or unreadable file.

    `auto` resolves to its first candidate for `device` (the loader falls back along the list).
    """
    model = model.strip()
    if not model:
        raise ConfigError(
            "MODEL is empty: expected 'auto', 'tiny', a Hugging Face repo id, a folder or a .safetensors file"
        )
    if model.lower() == AUTO_MODEL:
        first = auto_candidates(models_dir, accelerator_hint(device))[0]
        return resolve_model_source(first, models_dir, device)
    if model.lower() == TINY_MODEL_NAME:
        return ModelSource("tiny", str(models_dir / "tiny-sd"), TINY, TINY_MODEL_NAME)
    if model.lower() == TINY_TURBO_MODEL_NAME:
        return ModelSource("tiny", str(models_dir / "tiny-sd-turbo"), TINY_TURBO, TINY_TURBO_MODEL_NAME)
    if model.lower() in TINY_FLOW_MODELS:
        folder, family = TINY_FLOW_MODELS[model.lower()]
        return ModelSource("tiny", str(models_dir / folder), family, model.lower())

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
