"""What `MODEL` names, decided without loading it.

`MODEL` may be `tiny` (the embedded test model), a local diffusers folder, a single-file
`.safetensors` checkpoint (a path, or a file name inside `models/checkpoints/`), or a Hugging Face
repo id. Every failure becomes one `ConfigError` line naming `MODEL` and what went wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.engine.family import (
    TINY,
    ModelFamily,
    family_for_name,
    family_of_checkpoint,
    family_of_diffusers_folder,
)
from bot.errors import ConfigError

__all__ = ["CHECKPOINT_SUFFIXES", "TINY_MODEL_NAME", "ModelSource", "resolve_model_source"]

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
