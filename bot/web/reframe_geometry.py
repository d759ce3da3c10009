"""Reframe's choices in the browser editor (pure): the aspect presets and the ZOOM job mode that a
placement on the canvas asks for (`"<zoom> <W>:<H> <X>,<Y>"`, read by `bot.jobs.derive`)."""

from __future__ import annotations

import math

from bot.errors import InvalidParameter
from bot.jobs.derive import parse_zoom_mode, zoom_position

__all__ = ["REFRAME_ASPECTS", "reframe_mode"]

# The editor's aspect buttons (besides "Original": the image's own shape).
REFRAME_ASPECTS = ("1:1", "16:9", "9:16", "4:3", "3:4", "2:3", "3:2")


def reframe_mode(size: tuple[int, int], aspect: str, zoom: float, x: float, y: float) -> str:
    """The ZOOM mode of the member's placement of an image of `size` on a canvas of `aspect`
    ("" or "original": the image's own shape), `zoom` times it at least (1–2), the image at the
    share `x`, `y` (0–1) of the free width and height. Raises InvalidParameter (nothing to paint,
    bad numbers) before the editor link is spent."""
    width, height = size
    if aspect in ("", "original"):
        divisor = math.gcd(width, height)
        aspect = f"{width // divisor}:{height // divisor}"
    elif aspect not in REFRAME_ASPECTS:
        raise InvalidParameter(f"Reframe takes one of {', '.join(REFRAME_ASPECTS)}, not `{aspect}`.")
    if not all(math.isfinite(value) for value in (zoom, x, y)):
        raise InvalidParameter("Reframe needs a zoom from 1 to 2 and a position from 0 to 1.")
    mode = f"{zoom:.4g} {aspect} {x:.3g},{y:.3g}"
    zoom, shape = parse_zoom_mode(mode)
    zoom_position(mode)  # raises for a position outside 0–1
    assert shape is not None
    if zoom <= 1.0 and abs(math.log(shape[0] / shape[1] * height / width)) < math.log(1.01):
        raise InvalidParameter("Nothing to reframe: choose another shape or zoom out.")
    return mode
