"""Pictures on disk: the 2x2 grid, PNG files with AUTOMATIC1111-style `parameters` metadata.

Layout: `DATA_DIR/images/<job id>/<n>.png` (n = 0..3 in batch order) and `grid.png`.
The `parameters` text chunk is what A1111, ComfyUI, Civitai and friends read back:

    a red fox
    Negative prompt: blurry
    Steps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 7, Size: 1024x576, Model: sdxl
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import Image, PngImagePlugin

from bot.engine.family import FAMILIES, uses_negative_prompt
from bot.engine.request import GenerationRequest, GenerationResult
from bot.grid import render_grid

GRID_FILE = "grid.png"


def format_number(value: float) -> str:
    return f"{value:g}"


def a1111_parameters(
    *,
    prompt: str,
    negative_prompt: str,
    steps: int,
    sampler: str,
    guidance_scale: float,
    seed: int,
    width: int,
    height: int,
    model: str,
    extra: dict[str, str] | None = None,
) -> str:
    """The `parameters` text AUTOMATIC1111 writes, which SD tools parse back."""
    lines = [prompt]
    if negative_prompt:
        lines.append(f"Negative prompt: {negative_prompt}")
    fields = {
        "Steps": str(steps),
        "Sampler": sampler,
        "CFG scale": format_number(guidance_scale),
        "Seed": str(seed),
        "Size": f"{width}x{height}",
        "Model": model,
        **(extra or {}),
    }
    lines.append(", ".join(f"{key}: {value}" for key, value in fields.items()))
    return "\n".join(lines)


def parse_a1111_parameters(text: str) -> dict[str, str]:
    """Read back what `a1111_parameters` wrote: prompt, negative prompt and each `Key: value`."""
    lines = text.split("\n")
    result = {"prompt": lines[0], "negative_prompt": ""}
    for line in lines[1:]:
        if line.startswith("Negative prompt: "):
            result["negative_prompt"] = line.removeprefix("Negative prompt: ")
        else:
            for item in line.split(", "):
                key, sep, value = item.partition(": ")
                if sep:
                    result[key] = value
    return result


def png_bytes(image: Image.Image, parameters: str | None = None) -> bytes:
    """Encode as PNG, with the `parameters` text chunk when given."""
    info = None
    if parameters is not None:
        info = PngImagePlugin.PngInfo()
        info.add_text("parameters", parameters)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def save_image(path: Path, image: Image.Image, parameters: str | None = None) -> Path:
    """Write a PNG atomically (temp file, fsync, rename): a crash never leaves half a picture."""
    return write_atomically(path, png_bytes(image, parameters))


def write_atomically(path: Path, data: bytes) -> Path:
    """Write `data` to `path` through a temp file, fsync and rename; no temp file is left behind
    when writing fails (e.g. a full disk)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with temporary.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def read_png_parameters(path: Path) -> str | None:
    """The `parameters` text of a PNG written by `save_image`, or None."""
    with Image.open(path) as image:
        return image.info.get("parameters")


def save_result(
    folder: Path, request: GenerationRequest, result: GenerationResult, extra: dict[str, str] | None = None
) -> list[Path]:
    """Write each image of a result as `<n>.png` with its own seed in the metadata, then `grid.png`.

    `extra` adds fields to the metadata line (e.g. `{"Denoising strength": "0.3"}` for img2img).
    Returns the image paths in batch order (the grid, when written, is `folder / GRID_FILE`).
    """
    paths = []
    first_parameters = None
    negative_prompt = request.negative_prompt
    if result.family:  # the recipe names the model family (SD 3 and FLUX read prompts differently)
        extra = {"Model family": result.family, **(extra or {})}
        family = FAMILIES.get(result.family)
        if negative_prompt and family is not None and not family.negative_prompts:
            # FLUX has no negative prompt: the recipe says what was used, and that --no was not.
            negative_prompt = ""
            extra["Note"] = f"--no ignored ({family.name} has no negative prompt)"
        elif negative_prompt and family is not None and not uses_negative_prompt(result.guidance_scale):
            negative_prompt = ""  # no CFG at this guidance (Turbo, Lightning, a draft LoRA): unread
            extra["Note"] = "--no ignored (no guidance at CFG scale 0–1)"
    for n, (image, seed) in enumerate(zip(result.images, result.seeds, strict=True)):
        parameters = a1111_parameters(
            prompt=request.prompt,
            negative_prompt=negative_prompt,
            steps=result.steps,
            sampler=result.sampler,
            guidance_scale=result.guidance_scale,
            seed=seed,
            width=image.width,
            height=image.height,
            model=result.model_name,
            extra=extra,
        )
        paths.append(save_image(folder / f"{n}.png", image, parameters))
        first_parameters = first_parameters or parameters
    if len(result.images) > 1:
        # A grid carries its first image's recipe, as AUTOMATIC1111's grids do.
        save_image(folder / GRID_FILE, render_grid(result.images), first_parameters)
    return paths
