"""Image size from an aspect ratio: the model family's native pixel area, sides on its grid.

Sides are multiples of `family.multiple` (8 for SD 1/2, 64 for SDXL, whose training buckets sit
on a 64 px grid). Among the sizes near the exact one, the closest ratio wins while the area stays
within ±8% of the native area: a 16:9 SDXL image is 1344×768, a 3:2 SD 1.5 image is 624×416.
Some common ratios have no 64 px size within 2% of the ratio at that area (3:2, 5:4, 21:9 on
SDXL); for those the grid halves (to 32, never below 8) until one fits: 3:2 SDXL is 1248×832.
Any multiple of 32 keeps SDXL's latent divisible by its UNet's two downsamplings.
"""

from __future__ import annotations

import math

from bot.engine.family import ModelFamily

AREA_TOLERANCE = 0.08
RATIO_TOLERANCE = 0.02
SMALLEST_GRID = 8


def size_for_aspect(aspect: tuple[int, int], family: ModelFamily, area: int | None = None) -> tuple[int, int]:
    """(width, height) for `aspect` (W, H) at `family`'s native area (or `area` pixels)."""
    ratio = aspect[0] / aspect[1]
    area = area or family.native_area
    step = family.multiple
    smallest = max(SMALLEST_GRID, 16 if family.is_flow else SMALLEST_GRID)  # SD 3 / FLUX: 2x2 patches
    best = _closest_size(ratio, area, step)
    while _ratio_error(best, ratio) > math.log(1 + RATIO_TOLERANCE) and step // 2 >= smallest:
        step //= 2
        best = _closest_size(ratio, area, step)
    return best


def hd_size(aspect: tuple[int, int], family: ModelFamily) -> tuple[tuple[int, int], tuple[int, int] | None]:
    """`--hd`: ((width, height) of the image, the size of a first pass or None).

    FLUX renders ≈ 2 MP natively (`family.hd_size`); every other family renders at its native size
    first and then at twice the area by a high-res pass (resize + img2img).
    """
    if family.hd_size:
        return size_for_aspect(aspect, family, family.hd_size**2), None
    return size_for_aspect(aspect, family, 2 * family.native_area), size_for_aspect(aspect, family)


def _ratio_error(size: tuple[int, int], ratio: float) -> float:
    return abs(math.log(size[0] / size[1] / ratio))


def _closest_size(ratio: float, area: int, step: int) -> tuple[int, int]:
    exact_height = math.sqrt(area / ratio)
    low = max(1, math.floor(exact_height * 0.75 / step))
    high = math.ceil(exact_height * 1.25 / step)
    candidates = []
    for rows in range(low, high + 1):
        height = rows * step
        for columns in {math.floor(height * ratio / step), math.ceil(height * ratio / step)}:
            width = max(1, columns) * step
            area_error = abs(math.log(width * height / area))
            outside = area_error > math.log(1 + AREA_TOLERANCE)
            score = _ratio_error((width, height), ratio) + 0.1 * area_error
            candidates.append((outside, score, width, height))
    _, _, width, height = min(candidates)
    return width, height
