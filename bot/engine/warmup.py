"""One-off costs paid at start, not by the first member's grid: `torch.compile` of the UNet
(`COMPILE=1`) and a warm-up generation at the shape of a grid (kernel selection, lazy
initialisation, the compiled graph)."""

from __future__ import annotations

import logging
import time
from typing import Any

from bot.engine.request import GenerationRequest

__all__ = ["compile_unet", "warm_up"]

log = logging.getLogger(__name__)


def compile_unet(engine: Any) -> None:
    """Replace the UNet of every pipeline of `engine` by one `torch.compile`d module (shared)."""
    import torch

    unet = engine.txt2img_pipe.unet
    compiled = torch.compile(unet, dynamic=engine.device.type == "cpu")
    for pipe in (engine.txt2img_pipe, engine.img2img_pipe, engine.inpaint_pipe):
        pipe.unet = compiled


def warm_up(engine: Any, *, compiled: bool = False) -> float:
    """Generate one image of one step and return the seconds: on an accelerator (or compiled) a
    4-image grid at the family's native size (cuDNN picks kernels per shape, the compiled graph is
    built for it); on the CPU one image at half the native size, which pays the lazy
    initialisation without minutes of work (CPU kernels are cheap to set up per shape).

    Logged as the compile time when `compiled` (torch.compile compiles on the first call).
    """
    full = compiled or engine.device.type != "cpu"
    size = engine.family.native_size if full else max(64, engine.family.native_size // 2 // 8 * 8)
    request = GenerationRequest(
        prompt="warm-up", width=size, height=size, seed=0, steps=1, batch_size=4 if full else 1
    )
    started = time.perf_counter()
    engine.txt2img(request)
    seconds = time.perf_counter() - started
    if compiled:
        log.info("Compiled the UNet (torch.compile) and warmed up in %.1f s", seconds)
    else:
        log.info("Warmed up in %.1f s (%d image(s) %dx%d, one step)", seconds, request.batch_size, size, size)
    return seconds
