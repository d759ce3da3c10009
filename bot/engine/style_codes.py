"""Style codes: a whole number → a style swatch picture → (through the IP-Adapter) a style embedding.

`--sref 2891766437` means "the style of swatch 2891766437". The swatch is drawn from the code
alone: the code seeds NumPy's PCG64 generator (stable across platforms and NumPy versions), which
picks, in this order:

1. a palette: a base hue, a hue spread, a saturation and a lightness; five colours around them;
2. a layout: horizontal bands, soft blobs or diagonal stripes, with 3–9 elements;
3. a texture: short strokes in palette colours (count and length);
4. a grain level (seeded noise added to every pixel).

The swatch is then used exactly like a downloaded `--sref` image (the job stores it as a
reference picture), so the IP-Adapter's CLIP image encoder turns it into the style embedding:
same code → same swatch everywhere → same style with the same adapter. Pure NumPy/Pillow: no torch.
"""

from __future__ import annotations

import colorsys

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

__all__ = ["SWATCH_SIZE", "style_swatch"]

SWATCH_SIZE = 256
_LAYOUTS = ("bands", "blobs", "stripes")


def _palette(rng: np.random.Generator) -> list[tuple[int, int, int]]:
    hue = rng.random()
    spread = rng.uniform(0.03, 0.5)
    saturation = rng.uniform(0.05, 0.95)
    lightness = rng.uniform(0.2, 0.8)
    colours = []
    for n in range(5):
        h = (hue + spread * (n - 2) / 2) % 1.0
        light = min(0.95, max(0.05, lightness + rng.uniform(-0.25, 0.25)))
        sat = min(1.0, max(0.0, saturation + rng.uniform(-0.15, 0.15)))
        r, g, b = colorsys.hls_to_rgb(h, light, sat)
        colours.append((round(r * 255), round(g * 255), round(b * 255)))
    return colours


def style_swatch(code: int, size: int = SWATCH_SIZE) -> Image.Image:
    """The swatch picture of style code `code` (a whole number ≥ 0), `size`×`size` RGB."""
    if code < 0:
        raise ValueError(f"style codes are whole numbers >= 0, got {code}")
    rng = np.random.Generator(np.random.PCG64(code))
    # 1. Palette.
    colours = _palette(rng)
    image = Image.new("RGB", (size, size), colours[0])
    draw = ImageDraw.Draw(image)
    # 2. Layout.
    layout = _LAYOUTS[int(rng.integers(len(_LAYOUTS)))]
    count = int(rng.integers(3, 10))
    for n in range(count):
        colour = colours[1 + n % 4]
        if layout == "bands":
            top = size * n // count
            draw.rectangle((0, top, size, top + size // count + 1), fill=colour)
        elif layout == "blobs":
            x, y = (float(v) for v in rng.uniform(0, size, 2))
            radius = float(rng.uniform(size / 10, size / 3))
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour)
        else:
            offset = size * 2 * n // count - size
            width = max(2, size // (2 * count))
            draw.line((offset, size, offset + size, 0), fill=colour, width=width)
    if layout != "stripes":
        image = image.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0, size / 20))))
        draw = ImageDraw.Draw(image)
    # 3. Texture: strokes.
    strokes = int(rng.integers(0, 120))
    length = float(rng.uniform(size / 40, size / 6))
    for _ in range(strokes):
        x, y = (float(v) for v in rng.uniform(0, size, 2))
        angle = float(rng.uniform(0, np.pi))
        colour = colours[int(rng.integers(5))]
        end = (x + length * np.cos(angle), y + length * np.sin(angle))
        draw.line((x, y, *end), fill=colour, width=int(rng.integers(1, 4)))
    # 4. Grain.
    grain = float(rng.uniform(0, 40))
    noise = rng.normal(0.0, grain, (size, size, 1))
    pixels = np.clip(np.asarray(image, dtype=np.float64) + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")
