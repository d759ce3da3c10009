"""Midjourney's 2x2 grid, composed with Pillow: shared by previews, stored results and the fronts."""

from __future__ import annotations

import math
from collections.abc import Sequence

from PIL import Image

__all__ = ["grid_tile", "render_grid"]


def render_grid(images: Sequence[Image.Image]) -> Image.Image:
    """Midjourney's 2x2 grid (1 image: itself; 2: side by side; 3-4: two rows), no gaps."""
    if not images:
        raise ValueError("render_grid needs at least one image")
    if len(images) == 1:
        return images[0].copy()
    width = max(image.width for image in images)
    height = max(image.height for image in images)
    columns = 2
    rows = math.ceil(len(images) / columns)
    grid = Image.new("RGB", (columns * width, rows * height))
    for n, image in enumerate(images):
        grid.paste(image.convert("RGB"), ((n % columns) * width, (n // columns) * height))
    return grid


def grid_tile(grid: Image.Image, index: int, count: int = 4) -> Image.Image:
    """Cut tile `index` (0-based) back out of a grid made by `render_grid`."""
    rows = math.ceil(count / 2)
    width, height = grid.width // 2, grid.height // rows
    left, top = (index % 2) * width, (index // 2) * height
    return grid.crop((left, top, left + width, top + height))
