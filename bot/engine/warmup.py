"""One-off costs paid at start, not by the first member's grid: on an accelerator (or with
`COMPILE=1`) a warm-up generation at the shape of a grid (kernel selection, lazy initialisation,
the compiled graph). On the CPU, eager, nothing: see `needs_warm_up`."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from bot.engine.request import GenerationRequest

if TYPE_CHECKING:
    import torch

__all__ = ["needs_warm_up", "warm_up"]

log = logging.getLogger(__name__)


def needs_warm_up(device: torch.device, *, compiled: bool) -> bool:
    """Whether start-up should run a warm-up generation.

    On CUDA cuDNN picks its kernels per shape on the first call (`cudnn.benchmark`), and a compiled
    UNet is built on the first call: both are paid at start. An eager CPU has nothing of that kind:
    its kernels need no set-up per shape, and the weights are memory-mapped from the safetensors
    file, so a warm-up would be one more whole-UNet pass over 3.4 GB of weights (an SD 1.5 model)
    — as long as a 1-step job — to save the first job a few seconds of first-call costs
    (measured on the SD 1.5-shaped model under load: a 1-step 64 px image took 28 s first, 24 s
    second). Ready comes that much sooner (README "Start-up")."""
    return compiled or device.type != "cpu"


def warm_up(engine: Any, *, compiled: bool = False) -> float:
    """Generate one step of a 4-image grid at the family's native size and return the seconds
    (0.0, and no generation, when `needs_warm_up` says no).

    Compiled on the CPU (dynamic shapes) the image is 4:3, not square: traced on a square, dynamo
    assumes width == height and the first other aspect ratio would recompile (about as long as
    the compile itself). Logged as the compile time when `compiled` (it happens on the first call).
    """
    if not needs_warm_up(engine.device, compiled=compiled):
        log.info("No warm-up on the CPU: the first job pays its own (small) first-call costs")
        return 0.0
    cpu = engine.device.type == "cpu"
    size = engine.family.native_size
    height = size * 3 // 4 // 8 * 8 if cpu else size
    request = GenerationRequest(prompt="warm-up", width=size, height=height, seed=0, steps=1, batch_size=4)
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
