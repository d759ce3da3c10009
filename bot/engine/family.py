"""Model families: the facts about SD 1.x / 2.x / SDXL, Stable Diffusion 3.x and FLUX.1, their
distilled (turbo / lightning / schnell) variants and the tiny test models that code needs.

The family is found cheaply, without loading weights, so the prompt language (e.g. `python -m
bot parse`) can size images for the configured model. A diffusers folder is read from its own
config: the native size is `unet.sample_size × vae_scale_factor` (so a real model is never taken
for the test model), and a scheduler with `timestep_spacing="trailing"` (or "turbo"/"lightning"
in the model's name) marks a distilled model: 1–4 steps, guidance ≤ 1 (diffusers then skips the
unconditional pass), trailing timesteps. A folder with a `transformer/` is SD 3 or FLUX by the
transformer's class (`SD3Transformer2DModel`, `FluxTransformer2DModel`); FLUX dev has
`guidance_embeds`, schnell not.
"""

from __future__ import annotations

import json
import re
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
# 16-channel latents of SD 3.x and FLUX.1 (model space: after the VAE's shift and scale).
_SD3_LATENT_RGB = (
    (-0.0922, -0.0175, 0.0749),
    (0.0311, 0.0633, 0.0954),
    (0.1994, 0.0927, 0.0458),
    (0.0856, 0.0339, 0.0902),
    (0.0587, 0.0272, -0.0496),
    (-0.0006, 0.1104, 0.0309),
    (0.0978, 0.0306, 0.0427),
    (-0.0042, 0.1038, 0.1358),
    (-0.0194, 0.0020, 0.0669),
    (-0.0488, 0.0130, -0.0268),
    (0.0922, 0.0988, 0.0951),
    (-0.0278, 0.0524, -0.0542),
    (0.0332, 0.0456, 0.0895),
    (-0.0069, -0.0030, -0.0810),
    (-0.0596, -0.0465, -0.0293),
    (-0.1448, -0.1463, -0.1189),
)
_SD3_LATENT_RGB_BIAS = (0.2394, 0.2135, 0.1925)
_FLUX_LATENT_RGB = (
    (-0.0346, 0.0244, 0.0681),
    (0.0034, 0.0210, 0.0687),
    (0.0275, -0.0668, -0.0433),
    (-0.0174, 0.0160, 0.0617),
    (0.0859, 0.0721, 0.0329),
    (0.0004, 0.0383, 0.0115),
    (0.0405, 0.0861, 0.0915),
    (-0.0236, -0.0185, -0.0259),
    (-0.0245, 0.0250, 0.1180),
    (0.1008, 0.0755, -0.0421),
    (-0.0515, 0.0201, 0.0011),
    (0.0428, -0.0012, -0.0036),
    (0.0817, 0.0765, 0.0749),
    (-0.1264, -0.0522, -0.1103),
    (-0.0280, -0.0881, -0.0499),
    (-0.1262, -0.0982, -0.0778),
)
_FLUX_LATENT_RGB_BIAS = (-0.0329, -0.0718, -0.0851)
# Architectures run by a transformer on flow-matching latents (not a UNet).
FLOW_ARCHITECTURES = ("sd3", "flux")


@dataclass(frozen=True)
class ModelFamily:
    """What the rest of the bot needs to know about a model's family."""

    name: str  # "sd1", "sd2", "sdxl", "tiny", "sd-turbo", "sdxl-turbo", "sdxl-lightning", "tiny-turbo"
    native_size: int  # side of the square the model was trained at, in pixels
    multiple: int  # width/height are rounded to this
    default_steps: int  # sampling steps at --quality 1
    default_guidance: float  # CFG scale at --stylize 100
    vary_subtle: float  # img2img strength for Vary (Subtle)
    vary_strong: float  # img2img strength for Vary (Strong)
    latent_rgb: tuple[tuple[float, float, float], ...] = _SD1_LATENT_RGB
    latent_rgb_bias: tuple[float, float, float] = (0.0, 0.0, 0.0)
    architecture: str = "sd1"  # "sd1", "sd2", "sdxl", "sd3", "flux": pipeline and text encoders
    # Distilled (turbo / lightning): few steps, guidance <= 1, trailing timestep spacing.
    distilled: bool = False
    # Width of the text embeddings the UNet attends to (LoRA compatibility is checked against it).
    cross_attention_dim: int = 768
    # Whether the family takes a negative prompt (FLUX's guidance is distilled: it has none).
    negative_prompts: bool = True
    # Most steps worth running (FLUX schnell is trained for 1-4); 0: no limit.
    max_steps: int = 0
    # Side of the square --hd renders natively (FLUX: about 2 MP); 0: --hd is a high-res pass
    # (SDXL) or not available.
    hd_size: int = 0

    @property
    def native_area(self) -> int:
        return self.native_size * self.native_size

    @property
    def is_sdxl(self) -> bool:
        return self.architecture == "sdxl"

    @property
    def is_flow(self) -> bool:
        """SD 3.x and FLUX: a transformer on 16-channel flow-matching latents."""
        return self.architecture in FLOW_ARCHITECTURES

    @property
    def base(self) -> str:
        """The undistilled family's name ("sdxl" for SDXL-Turbo, "tiny" for tiny-turbo, "sd2" for
        SD-Turbo), for code keyed by architecture (IP-Adapter weights, style layers)."""
        if self.is_sdxl or self.is_flow:
            return self.architecture
        return "tiny" if self.name.startswith("tiny") else self.architecture

    @property
    def sampler(self) -> str:
        """The sampler the engine runs for this family (A1111's name, for the PNG metadata)."""
        if self.is_flow:
            return "Euler (flow match)"
        return "Euler (trailing)" if self.distilled else "DPM++ 2M Karras"


SD1 = ModelFamily("sd1", 512, 8, 25, 7.0, vary_subtle=0.35, vary_strong=0.65)
SD2 = ModelFamily(
    "sd2", 768, 8, 25, 7.0, vary_subtle=0.35, vary_strong=0.65, architecture="sd2", cross_attention_dim=1024
)
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
    architecture="sdxl",
    cross_attention_dim=2048,
)
# The embedded test model: SD 1.x architecture, 128 px, a handful of steps.
TINY = ModelFamily("tiny", 128, 8, 4, 7.0, vary_subtle=0.35, vary_strong=0.65, cross_attention_dim=32)
# Distilled families (guidance 0: one UNet pass per step, no unconditional half).
SD_TURBO = ModelFamily(
    "sd-turbo",
    512,
    8,
    1,
    0.0,
    vary_subtle=0.35,
    vary_strong=0.65,
    architecture="sd2",
    distilled=True,
    cross_attention_dim=1024,
)
SDXL_TURBO = ModelFamily(
    "sdxl-turbo",
    512,
    8,
    1,
    0.0,
    vary_subtle=0.5,
    vary_strong=0.85,
    latent_rgb=_SDXL_LATENT_RGB,
    latent_rgb_bias=_SDXL_LATENT_RGB_BIAS,
    architecture="sdxl",
    distilled=True,
    cross_attention_dim=2048,
)
SDXL_LIGHTNING = ModelFamily(
    "sdxl-lightning",
    1024,
    64,
    4,
    0.0,
    vary_subtle=0.5,
    vary_strong=0.85,
    latent_rgb=_SDXL_LATENT_RGB,
    latent_rgb_bias=_SDXL_LATENT_RGB_BIAS,
    architecture="sdxl",
    distilled=True,
    cross_attention_dim=2048,
)
# The embedded distilled test model: the tiny model with a turbo family's scheduler config.
TINY_TURBO = ModelFamily(
    "tiny-turbo", 128, 8, 2, 0.0, vary_subtle=0.35, vary_strong=0.65, distilled=True, cross_attention_dim=32
)

_SD3_FACTS = {
    "multiple": 16,  # 8x VAE, 2x2 patches
    "vary_subtle": 0.5,
    "vary_strong": 0.85,
    "latent_rgb": _SD3_LATENT_RGB,
    "latent_rgb_bias": _SD3_LATENT_RGB_BIAS,
    "architecture": "sd3",
    "cross_attention_dim": 4096,
}
_FLUX_FACTS = {
    **_SD3_FACTS,
    "latent_rgb": _FLUX_LATENT_RGB,
    "latent_rgb_bias": _FLUX_LATENT_RGB_BIAS,
    "architecture": "flux",
    "negative_prompts": False,
}
# Stable Diffusion 3.5 Medium / Large: MMDiT, CLIP-L + CLIP-G + T5-XXL, CFG.
SD3 = ModelFamily("sd3", 1024, default_steps=28, default_guidance=4.5, **_SD3_FACTS)
# SD 3.5 Large Turbo: adversarially distilled, 4 steps, no CFG.
SD3_TURBO = ModelFamily(
    "sd3-turbo", 1024, default_steps=4, default_guidance=0.0, distilled=True, **_SD3_FACTS
)
# FLUX.1 [schnell]: timestep-distilled, 1-4 steps, guidance ignored.
FLUX_SCHNELL = ModelFamily(
    "flux-schnell",
    1024,
    default_steps=4,
    default_guidance=0.0,
    distilled=True,
    max_steps=4,
    hd_size=1440,
    **_FLUX_FACTS,
)
# FLUX.1 [dev]: guidance-distilled (the guidance value is an input of the transformer, one pass).
FLUX_DEV = ModelFamily("flux-dev", 1024, default_steps=28, default_guidance=3.5, hd_size=1440, **_FLUX_FACTS)
# The embedded test models of the two architectures (128 px, a handful of steps).
TINY_SD3 = ModelFamily(
    "tiny-sd3", 128, default_steps=4, default_guidance=4.5, **{**_SD3_FACTS, "cross_attention_dim": 64}
)
TINY_FLUX = ModelFamily(
    "tiny-flux",
    128,
    default_steps=4,
    default_guidance=3.5,
    hd_size=176,
    **{**_FLUX_FACTS, "cross_attention_dim": 64},
)

FAMILIES = {
    family.name: family
    for family in (
        SD1,
        SD2,
        SDXL,
        TINY,
        SD_TURBO,
        SDXL_TURBO,
        SDXL_LIGHTNING,
        TINY_TURBO,
        SD3,
        SD3_TURBO,
        FLUX_SCHNELL,
        FLUX_DEV,
        TINY_SD3,
        TINY_FLUX,
    )
}
# Words in a model's name that mark a distilled checkpoint.
_DISTILLED_NAME = re.compile(r"turbo|lightning", re.IGNORECASE)
# At or below this native size (pixels) a model can only be a test model like the embedded one.
TEST_MODEL_MAX_SIZE = 256


def is_distilled_name(name: str) -> bool:
    """True for names like `sdxl-turbo`, `sd_turbo.safetensors`, `sdxl_lightning_4step`."""
    return bool(_DISTILLED_NAME.search(name))


def _distilled_variant(family: ModelFamily, native_size: int) -> ModelFamily:
    if family.is_flow:
        return SD3_TURBO if family.architecture == "sd3" else family
    if family.is_sdxl:
        return SDXL_TURBO if native_size <= 512 else SDXL_LIGHTNING
    if family is TINY:
        return TINY_TURBO
    return SD_TURBO


def _json(path: Path) -> dict:
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    return data if isinstance(data, dict) else {}


def family_of_diffusers_folder(folder: Path) -> ModelFamily:
    """Read the model's own configs: `model_index.json`, `unet/config.json`, `vae/config.json`
    and `scheduler/scheduler_config.json` of a diffusers folder."""
    index = json.loads((folder / "model_index.json").read_text())
    transformer = _json(folder / "transformer" / "config.json")
    if transformer:
        return _transformer_family(folder, index, transformer, _json(folder / "vae" / "config.json"))
    is_xl = "XL" in index.get("_class_name", "")
    unet = _json(folder / "unet" / "config.json")
    vae = _json(folder / "vae" / "config.json")
    scheduler = _json(folder / "scheduler" / "scheduler_config.json")
    sample_size = unet.get("sample_size", 128 if is_xl else 64)
    if isinstance(sample_size, list | tuple):
        sample_size = max(sample_size)
    vae_scale_factor = 2 ** (len(vae.get("block_out_channels", (0, 0, 0, 0))) - 1)
    native_size = int(sample_size) * vae_scale_factor
    if is_xl:
        family = SDXL
    elif native_size <= TEST_MODEL_MAX_SIZE:  # only test models like the embedded tiny one
        family = TINY
    else:
        family = SD2 if native_size >= 768 else SD1
    distilled = scheduler.get("timestep_spacing") == "trailing" or any(
        is_distilled_name(name) for name in (folder.name, str(index.get("_name_or_path", "")))
    )
    return _distilled_variant(family, native_size) if distilled else family


def _transformer_family(folder: Path, index: dict, transformer: dict, vae: dict) -> ModelFamily:
    """SD 3.x or FLUX.1, from the transformer's class; the variant from its config and name."""
    kind = str(transformer.get("_class_name", "")) + str(index.get("_class_name", ""))
    vae_scale_factor = 2 ** (len(vae.get("block_out_channels", (0, 0, 0, 0))) - 1)
    names = f"{folder.name} {index.get('_name_or_path', '')}".lower()
    if "Flux" in kind:
        if int(transformer.get("joint_attention_dim", 4096)) < 256:  # only test models are this narrow
            return TINY_FLUX
        return FLUX_DEV if transformer.get("guidance_embeds", True) else FLUX_SCHNELL
    if "SD3" in kind or "StableDiffusion3" in kind:
        sample_size = int(transformer.get("sample_size", 128))
        if sample_size * vae_scale_factor <= TEST_MODEL_MAX_SIZE:
            return TINY_SD3
        return SD3_TURBO if is_distilled_name(names) else SD3
    raise ValueError(f"unknown transformer model {kind or 'without a class name'}")


def family_of_checkpoint(path: Path) -> ModelFamily:
    """Guess the family of a single-file checkpoint from its safetensors header (no weights read);
    a distilled one by its file name (`sd_xl_turbo_1.0.safetensors`, `sdxl_lightning_4step…`)."""
    family = _architecture_of_checkpoint(path)
    if is_distilled_name(path.stem):
        native_size = 512 if "turbo" in path.stem.lower() else family.native_size
        return _distilled_variant(family, native_size)
    return family


def read_safetensors_header(path: Path) -> dict:
    """The JSON header of a .safetensors file (tensor names, shapes, dtypes), without the weights.

    Raises ValueError (or OSError) for a file that is not one.
    """
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
    return header


def _architecture_of_checkpoint(path: Path) -> ModelFamily:
    keys = read_safetensors_header(path).keys()
    if any(".joint_blocks." in key or key.startswith("joint_blocks.") for key in keys):
        return SD3
    if any("double_blocks." in key for key in keys):
        return FLUX_DEV if any("guidance_in." in key for key in keys) else FLUX_SCHNELL
    if any(key.startswith("conditioner.embedders.1") for key in keys):
        return SDXL
    if any(key.startswith("cond_stage_model.model.") for key in keys):
        return SD2
    return SD1


def family_for_name(model: str) -> ModelFamily:
    """Best guess for a Hugging Face repo id (used before it is downloaded)."""
    lowered = model.lower()
    if "flux" in lowered:
        return FLUX_SCHNELL if "schnell" in lowered else FLUX_DEV
    if "stable-diffusion-3" in lowered or "sd3" in lowered or "sd-3" in lowered:
        return SD3_TURBO if is_distilled_name(lowered) else SD3
    if is_distilled_name(lowered):
        if "xl" in lowered:
            return SDXL_TURBO if "turbo" in lowered else SDXL_LIGHTNING
        return SD_TURBO
    if "xl" in lowered or "pony" in lowered or "illustrious" in lowered:
        return SDXL
    if "stable-diffusion-2" in lowered:
        return SD2
    return SD1 if "v1" in lowered or "1-5" in lowered or "1.5" in lowered else SDXL


def uses_negative_prompt(guidance: float) -> bool:
    """Whether a CFG model reads the negative prompt at `guidance`: diffusers' pipelines (SD, SDXL,
    SD 3) run classifier-free guidance, the only place it enters, only above 1 (Turbo/Lightning
    models and distilled draft LoRAs run at 0)."""
    return guidance > 1
