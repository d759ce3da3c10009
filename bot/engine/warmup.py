"""One-off costs paid at start, not by the first member's grid: a warm-up generation at the shape
of a grid (kernel selection, lazy initialisation, the compiled graph of `COMPILE=1`)."""

from __future__ import annotations

import logging
import time
from typing import Any

from bot.engine.request import GenerationRequest

__all__ = ["warm_up"]

log = logging.getLogger(__name__)


def warm_up(engine: Any, *, compiled: bool = False) -> float:
    """Generate one step and return the seconds: on an accelerator (or compiled) a 4-image grid
    at the family's native size (cuDNN picks kernels per shape, the compiled graph is built for
    it); on the CPU one image at half the native size, which pays the lazy initialisation without
    minutes of work (CPU kernels are cheap to set up per shape).

    Compiled on the CPU (dynamic shapes) the grid is 4:3, not square: traced on a square, dynamo
    assumes width == height and the first other aspect ratio would recompile (about as long as
    the compile itself). Logged as the compile time when `compiled` (it happens on the first call).
    """
    full = compiled or engine.device.type != "cpu"
    size = engine.family.native_size if full else max(64, engine.family.native_size // 2 // 8 * 8)
    height = size * 3 // 4 // 8 * 8 if compiled and engine.device.type == "cpu" else size
    request = GenerationRequest(
        prompt="warm-up", width=size, height=height, seed=0, steps=1, batch_size=4 if full else 1
    )
    started = time.perf_counter()
    engine.txt2img(request)
    seconds = time.perf_counter() - started
    if compiled:
        log.info("Compiled the UNet (torch.compile) and warmed up in %.1f s (%dx%d)", seconds, size, height)
    else:
        log.info(
            "Warmed up in %.1f s (%d image(s) %dx%d, one step)", seconds, request.batch_size, size, height
        )
    return seconds
