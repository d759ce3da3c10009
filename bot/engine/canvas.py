"""Pure canvas geometry and masks for editing a finished image (Pillow + numpy, no torch).

- Layouts: where the original goes on a bigger canvas for Zoom Out, Custom Zoom, Make Square and
  Pan, with the canvas rendered at the model family's native area (memory and time stay those of
  an /imagine job at that aspect ratio).
- Masks: grid cells (Vary (Region) in Discord), feathering (soft edges that never reach outside
  the hard mask, so the pixels outside stay exactly the original's), a one-line summary.
- Pre-fill: the new border of an outpaint starts from the original's edges extended outwards,
  blurred, plus noise — never black.

Masks are "L" images: 255 = regenerate, 0 = keep.
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageChops, ImageFilter

from bot.engine.family import ModelFamily

__all__ = [
    "GRID_SIZE",
    "MAX_PAN_RATIO",
    "PAN_DIRECTIONS",
    "Layout",
    "cell_label",
    "cell_mask",
    "cells_of_labels",
    "feather",
    "feather_radius",
    "mask_summary",
    "outpaint_canvas",
    "output_size",
    "pan_layout",
    "prefill",
    "square_layout",
    "zoom_layout",
]

# Pans stop growing an image along an axis once its long side is this many times its short side
# (Midjourney's widest --ar is 4:1 too).
MAX_PAN_RATIO = 4.0
# Each pan grows the canvas by half the image's side across the pan (its height for ⬅️ ➡️).
PAN_GROWTH = 0.5
PAN_DIRECTIONS = ("left", "right", "up", "down")
# Vary (Region) in Discord: the image is divided into GRID_SIZE x GRID_SIZE cells, A1 … D4.
GRID_SIZE = 4
_SMALLEST_GRID = 8
# Outpaint: the new area reaches this far into the original (as a share of the short side),
# so the seam is repainted and blended rather than a hard edge.
_SEAM_SHARE = 1 / 32
_NOISE_SIGMA = 24.0


@dataclass(frozen=True)
class Layout:
    """The output canvas (`width` × `height`) and the box (left, top, right, bottom) the original
    is scaled into. Everything outside the box is new."""

    width: int
    height: int
    box: tuple[int, int, int, int]

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height

    @property
    def box_size(self) -> tuple[int, int]:
        left, top, right, bottom = self.box
        return right - left, bottom - top


def output_size(ratio: float, family: ModelFamily) -> tuple[int, int]:
    """(width, height) of ratio `ratio` (width / height) at `family`'s native area.

    Sides are multiples of `family.multiple`; when that grid is too coarse to come within 2% of the
    ratio it halves (never below 8, or 16 on SD 3 / FLUX), as bot/prompt/sizes.py does for --ar.
    """
    step = family.multiple
    smallest = 16 if family.is_flow else _SMALLEST_GRID  # SD 3 / FLUX: 2x2 latent patches
    while True:
        width = max(step, round(math.sqrt(family.native_area * ratio) / step) * step)
        height = max(step, round(math.sqrt(family.native_area / ratio) / step) * step)
        if abs(math.log(width / height / ratio)) <= math.log(1.02) or step // 2 < smallest:
            return width, height
        step //= 2


def _render(
    canvas: tuple[float, float], origin: tuple[float, float], original: tuple[int, int], family: ModelFamily
) -> Layout:
    """Scale a logical canvas (in the original's pixels) to the family's size; place the box."""
    width, height = output_size(canvas[0] / canvas[1], family)
    scale_x, scale_y = width / canvas[0], height / canvas[1]
    left = round(origin[0] * scale_x)
    top = round(origin[1] * scale_y)
    right = round((origin[0] + original[0]) * scale_x)
    bottom = round((origin[1] + original[1]) * scale_y)
    box = (max(0, left), max(0, top), min(width, max(left + 1, right)), min(height, max(top + 1, bottom)))
    return Layout(width, height, box)


def zoom_layout(
    original: tuple[int, int],
    zoom: float,
    family: ModelFamily,
    aspect: tuple[int, int] | None = None,
    position: tuple[float, float] = (0.5, 0.5),
) -> Layout:
    """Zoom Out by `zoom` (1–2): the canvas is `zoom` times the original (at least), centred.

    With `aspect` (Custom Zoom's --ar) the canvas takes that shape: the smallest rectangle of that
    ratio holding the original enlarged `zoom` times. Make Square is zoom 1 with aspect 1:1.
    `position` (the web editor's Reframe) places the original elsewhere: the share of the free
    width left of it and of the free height above it (0.5, 0.5: centred).
    """
    if not 1.0 <= zoom <= 2.0:
        raise ValueError(f"zoom must be 1..2, got {zoom}")
    width, height = original
    ratio = aspect[0] / aspect[1] if aspect else width / height
    canvas_width = max(width * zoom, height * zoom * ratio)
    canvas_height = canvas_width / ratio
    origin = ((canvas_width - width) * position[0], (canvas_height - height) * position[1])
    return _render((canvas_width, canvas_height), origin, original, family)


def square_layout(original: tuple[int, int], family: ModelFamily) -> Layout:
    """Make Square: a 1:1 canvas around the original (the new area on its short sides)."""
    return zoom_layout(original, 1.0, family, (1, 1))


def pan_layout(original: tuple[int, int], direction: str, family: ModelFamily) -> Layout | None:
    """Pan: grow the canvas towards `direction` by half the side across it, the original at the
    opposite edge. None when the image is already `MAX_PAN_RATIO` long along that axis."""
    if direction not in PAN_DIRECTIONS:
        raise ValueError(f"direction must be one of {PAN_DIRECTIONS}, got {direction!r}")
    width, height = original
    horizontal = direction in ("left", "right")
    along, across = (width, height) if horizontal else (height, width)
    grown = min(along + across * PAN_GROWTH, across * MAX_PAN_RATIO)
    if grown <= along * 1.01:
        return None
    extra = grown - along
    if horizontal:
        canvas = (grown, float(height))
        origin = (extra if direction == "left" else 0.0, 0.0)
    else:
        canvas = (float(width), grown)
        origin = (0.0, extra if direction == "up" else 0.0)
    return _render(canvas, origin, original, family)


# ---- masks -----------------------------------------------------------------------------------


def feather_radius(size: tuple[int, int]) -> int:
    """How soft mask edges are: 1/32 of the short side, at least 2 px."""
    return max(2, round(min(size) * _SEAM_SHARE))


def feather(mask: Image.Image, radius: int | None = None) -> Image.Image:
    """Soft edges *inside* a hard mask: 0 everywhere the mask is 0, rising to 255 within about
    `radius` px of its edge. Pasting with it keeps every pixel outside the mask exact."""
    hard = mask.convert("L").point(lambda value: 255 if value >= 128 else 0)
    radius = feather_radius(hard.size) if radius is None else radius
    if radius <= 0:
        return hard
    shrunk = hard.filter(ImageFilter.MinFilter(2 * (radius // 2) + 1))
    soft = shrunk.filter(ImageFilter.GaussianBlur(radius / 2))
    return ImageChops.multiply(soft, hard)


def cell_label(cell: int, columns: int = GRID_SIZE) -> str:
    """`A1` … `D4`: row letter, column number (cells count from 0, row by row)."""
    return f"{string.ascii_uppercase[cell // columns]}{cell % columns + 1}"


def cells_of_labels(labels: list[str], rows: int = GRID_SIZE, columns: int = GRID_SIZE) -> list[int]:
    """The cell numbers of labels like `B3` (ValueError on an unknown label)."""
    known = {cell_label(cell, columns): cell for cell in range(rows * columns)}
    cells = []
    for label in labels:
        key = label.strip().upper()
        if key not in known:
            raise ValueError(f"no cell {label!r} in a {rows}x{columns} grid")
        cells.append(known[key])
    return sorted(set(cells))


def cell_mask(
    size: tuple[int, int], cells: list[int], rows: int = GRID_SIZE, columns: int = GRID_SIZE
) -> Image.Image:
    """A hard mask with the chosen grid cells white (edges rounded to whole pixels)."""
    mask = Image.new("L", size, 0)
    width, height = size
    for cell in cells:
        if not 0 <= cell < rows * columns:
            raise ValueError(f"cell {cell} is outside a {rows}x{columns} grid")
        row, column = divmod(cell, columns)
        box = (
            round(column * width / columns),
            round(row * height / rows),
            round((column + 1) * width / columns),
            round((row + 1) * height / rows),
        )
        mask.paste(255, box)
    return mask


def mask_summary(mask: Image.Image) -> str:
    """`25% box 0:0-64:64` — how much is repainted and where (for the PNG `parameters`)."""
    hard = np.asarray(mask.convert("L")) >= 128
    if not hard.any():
        return "0%"
    rows = np.flatnonzero(hard.any(axis=1))
    columns = np.flatnonzero(hard.any(axis=0))
    share = round(100 * float(hard.mean()))
    return f"{share}% box {columns[0]}:{rows[0]}-{columns[-1] + 1}:{rows[-1] + 1}"


# ---- outpaint canvas -------------------------------------------------------------------------


def prefill(original: Image.Image, layout: Layout, seed: int) -> Image.Image:
    """The canvas before denoising: the original scaled into the box, its edge pixels extended
    outwards (then blurred), plus seeded noise in the new area."""
    box_width, box_height = layout.box_size
    scaled = original.convert("RGB").resize((box_width, box_height), Image.Resampling.LANCZOS)
    left, top, right, bottom = layout.box
    pixels = np.asarray(scaled)
    pad = ((top, layout.height - bottom), (left, layout.width - right), (0, 0))
    extended = Image.fromarray(np.pad(pixels, pad, mode="edge"))
    blurred = np.asarray(extended.filter(ImageFilter.GaussianBlur(max(2, min(layout.size) // 16))))
    noise = np.random.default_rng(seed).normal(0.0, _NOISE_SIGMA, blurred.shape)
    filled = np.clip(blurred.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    canvas = Image.fromarray(filled)
    canvas.paste(scaled, (left, top))
    return canvas


def outpaint_canvas(original: Image.Image, layout: Layout, seed: int) -> tuple[Image.Image, Image.Image]:
    """(pre-filled canvas, hard mask) for an outpaint: the mask covers the new area and a thin
    seam band just inside the box, so the join is repainted; feather it for the paste-back."""
    canvas = prefill(original, layout, seed)
    seam = feather_radius(layout.size)
    left, top, right, bottom = layout.box
    keep = (
        left + seam if left > 0 else 0,
        top + seam if top > 0 else 0,
        right - seam if right < layout.width else layout.width,
        bottom - seam if bottom < layout.height else layout.height,
    )
    mask = Image.new("L", layout.size, 255)
    if keep[2] > keep[0] and keep[3] > keep[1]:
        mask.paste(0, keep)
    return canvas, mask
