"""Model families: the facts about SD 1.x / 2.x / SDXL (and the tiny test model) that code needs.

`detect_family(settings)` finds the family cheaply, without loading weights, so the prompt
language (e.g. `python -m bot parse`) can size images for the configured model.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

# Latent → RGB projections published by the model families (as in ComfyUI's latent_formats):
# a cheap preview with no extra weights.
_SD1_LATENT_RGB = (
    (0.3512, 0.2297, 0.3227),
    (0.3250, 0.4974, 0.2350),
    (-0.2829, 0.1762, 0.2721),
    (-0.2120, -0.2616, -0.7177),
)
_SDXL_LATENT_RGB = (
    (0.3651, 0.4232, 0.4341),
    (-0.2533, -0.0042, 0.1068),
    (0.1076, 0.1111, -0.0362),
    (-0.3165, -0.2492, -0.2188),
)
_SDXL_LATENT_RGB_BIAS = (0.1084, -0.0175, -0.0011)


@dataclass(frozen=True)
class ModelFamily:
    """What the rest of the bot needs to know about a model's family."""

    name: str  # "sd1", "sd2", "sdxl", "tiny"
    native_size: int  # side of the square the model was trained at, in pixels
    multiple: int  # width/height are rounded to this
    default_steps: int  # sampling steps at --quality 1
    default_guidance: float  # CFG scale at --stylize 100
    vary_subtle: float  # img2img strength for Vary (Subtle)
    vary_strong: float  # img2img strength for Vary (Strong)
    latent_rgb: tuple[tuple[float, float, float], ...] = _SD1_LATENT_RGB
    latent_rgb_bias: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def native_area(self) -> int:
        return self.native_size * self.native_size


SD1 = ModelFamily("sd1", 512, 8, 25, 7.0, vary_subtle=0.35, vary_strong=0.65)
SD2 = ModelFamily("sd2", 768, 8, 25, 7.0, vary_subtle=0.35, vary_strong=0.65)
SDXL = ModelFamily(
    "sdxl",
    1024,
    64,
    30,
    6.0,
    vary_subtle=0.5,
    vary_strong=0.85,
    latent_rgb=_SDXL_LATENT_RGB,
    latent_rgb_bias=_SDXL_LATENT_RGB_BIAS,
)
# The embedded test model: SD 1.x architecture, 128 px, a handful of steps.
TINY = ModelFamily("tiny", 128, 8, 4, 7.0, vary_subtle=0.35, vary_strong=0.65)

FAMILIES = {family.name: family for family in (SD1, SD2, SDXL, TINY)}


def family_of_diffusers_folder(folder: Path) -> ModelFamily:
    """Read `model_index.json` and `unet/config.json` of a diffusers folder."""
    index = json.loads((folder / "model_index.json").read_text())
    if "XL" in index.get("_class_name", ""):
        return SDXL
    unet_config = folder / "unet" / "config.json"
    sample_size = json.loads(unet_config.read_text()).get("sample_size", 64) if unet_config.is_file() else 64
    if sample_size <= 32:  # trained at 256 px or less: only test models like the embedded tiny one
        return TINY
    return SD2 if sample_size >= 96 else SD1


def family_of_checkpoint(path: Path) -> ModelFamily:
    """Guess the family of a single-file checkpoint from its safetensors header (no weights read)."""
    with path.open("rb") as handle:
        prefix = handle.read(8)
        if len(prefix) < 8:
            raise ValueError("file too short")
        (length,) = struct.unpack("<Q", prefix)
        if length > 100_000_000:
            raise ValueError("header size is implausible")
        header = json.loads(handle.read(length))
    if not isinstance(header, dict):
        raise ValueError("header is not a JSON object")
    keys = header.keys()
    if any(key.startswith("conditioner.embedders.1") for key in keys):
        return SDXL
    if any(key.startswith("cond_stage_model.model.") for key in keys):
        return SD2
    return SD1


def family_for_name(model: str) -> ModelFamily:
    """Best guess for a Hugging Face repo id (used before it is downloaded)."""
    lowered = model.lower()
    if "xl" in lowered or "pony" in lowered or "illustrious" in lowered:
        return SDXL
    if "stable-diffusion-2" in lowered:
        return SD2
    return SD1 if "v1" in lowered or "1-5" in lowered or "1.5" in lowered else SDXL
