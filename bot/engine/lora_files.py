"""LoRA files in `models/loras/`, checked without torch: names, weights, and whether a LoRA fits a
model family (read from the safetensors header: the width its cross-attention keys expect).

A LoRA is named by its file stem (`film-grain` for `models/loras/film-grain.safetensors`) or, for
DRAFT_LORA, by a Hugging Face repo id. Style presets carry `name:weight` lists (`grain:0.8, ink`).
"""

from __future__ import annotations

import re
from pathlib import Path

from bot.engine.family import ModelFamily, read_safetensors_header

__all__ = [
    "LORA_SUFFIX",
    "MAX_LORAS",
    "LoraProblem",
    "check_lora",
    "format_loras",
    "lora_path",
    "parse_loras",
]

LORA_SUFFIX = ".safetensors"
MAX_LORAS = 5
MIN_WEIGHT, MAX_WEIGHT = -2.0, 2.0
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_WEIGHT = re.compile(r"-?(?:\d{1,2}(?:\.\d{0,4})?|\.\d{1,4})")
_LORA_KEY = re.compile(r"lora_A|lora_down|lora\.down|\.down\.weight")


class LoraProblem(ValueError):
    """A LoRA list that can't be used; the message is for the admin who typed it."""


def parse_loras(text: str) -> tuple[tuple[str, float], ...]:
    """`grain:0.8, ink` → (("grain", 0.8), ("ink", 1.0)). Raises LoraProblem."""
    loras: list[tuple[str, float]] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, weight_text = item.rpartition(":") if ":" in item else (item, "", "")
        name = name.strip().removesuffix(LORA_SUFFIX)
        if not _NAME.fullmatch(name):
            raise LoraProblem(f"`{item[:60]}` is not a LoRA name: use the file name from models/loras/.")
        weight = 1.0
        if sep:
            if not _WEIGHT.fullmatch(weight_text.strip()):
                raise LoraProblem(f"`{item[:60]}`: the weight must be a number, e.g. `{name}:0.8`.")
            weight = float(weight_text)
            if not MIN_WEIGHT <= weight <= MAX_WEIGHT:
                raise LoraProblem(f"`{item[:60]}`: the weight must be from {MIN_WEIGHT:g} to {MAX_WEIGHT:g}.")
        if any(existing == name for existing, _ in loras):
            raise LoraProblem(f"The LoRA `{name}` is listed twice.")
        loras.append((name, weight))
    if len(loras) > MAX_LORAS:
        raise LoraProblem(f"A style can carry at most {MAX_LORAS} LoRAs, not {len(loras)}.")
    return tuple(loras)


def format_loras(loras: tuple[tuple[str, float], ...]) -> str:
    """The inverse of `parse_loras`: `grain:0.8, ink:1`."""
    return ", ".join(f"{name}:{weight:g}" for name, weight in loras)


def lora_path(name: str, loras_dir: Path) -> Path | None:
    """The file of a LoRA named by its stem, or None when there is none."""
    path = loras_dir / f"{name.removesuffix(LORA_SUFFIX)}{LORA_SUFFIX}"
    return path if path.is_file() else None


def check_lora(name: str, loras_dir: Path, family: ModelFamily) -> Path:
    """The file of LoRA `name`, after checking it exists and fits `family`. Raises LoraProblem.

    Fit is read from the header: a LoRA's cross-attention key projection (`attn2 … to_k`) takes
    text embeddings as wide as its base model's (768 SD 1.x, 1024 SD 2.x, 2048 SDXL).
    """
    path = lora_path(name, loras_dir)
    if path is None:
        known = sorted(p.stem for p in loras_dir.glob(f"*{LORA_SUFFIX}")) if loras_dir.is_dir() else []
        listed = ", ".join(f"`{stem}`" for stem in known[:20]) or "none"
        raise LoraProblem(f"There is no LoRA `{name}` in {loras_dir.name}/ (there: {listed}).")
    try:
        header = read_safetensors_header(path)
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise LoraProblem(f"`{name}` is not a readable .safetensors file ({error}).") from None
    shapes = {key: value.get("shape") for key, value in header.items() if isinstance(value, dict)}
    if not any("lora" in key.lower() for key in shapes):
        raise LoraProblem(f"`{name}` is not a LoRA (no LoRA weights in it).")
    widths = {
        shape[-1]
        for key, shape in shapes.items()
        if "attn2" in key and "to_k" in key and _LORA_KEY.search(key) and isinstance(shape, list) and shape
    }
    if widths and family.cross_attention_dim not in widths:
        raise LoraProblem(
            f"`{name}` was made for another kind of model (its cross-attention is {max(widths)} wide; "
            f"this model's ({family.name}) is {family.cross_attention_dim})."
        )
    return path
