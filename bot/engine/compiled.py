"""`COMPILE=1`: one `torch.compile`d UNet shared by the txt2img, img2img and inpaint pipelines, and
the jobs that run on the uncompiled UNet instead.

A job with LoRAs (peft swaps the UNet's layers and diffusers' LoRA loader cannot see through the
compiled wrapper) or with --tile (circular padding changes every convolution, i.e. a recompile of
minutes) runs on the original module, said in one log line. Any other compile failure falls back
to eager for that call (`suppress_errors`): COMPILE never fails a member's job.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from bot.engine.request import GenerationRequest

__all__ = ["compile_unet", "is_compiled", "uncompiled_for"]

log = logging.getLogger(__name__)


def compile_unet(engine: Any) -> None:
    """Replace the UNet of every pipeline of `engine` by one `torch.compile`d module (shared)."""
    import torch

    unet = engine.txt2img_pipe.unet
    # Inference only; and a LoRA job (peft) turns requires_grad off, which would be a guard failure
    # and a whole recompile on the next job.
    unet.requires_grad_(False)
    torch._dynamo.config.suppress_errors = True  # a failing (re)compile runs that call eagerly
    compiled = torch.compile(unet, dynamic=engine.device.type == "cpu")
    # img2img's latents come out of the VAE channels-last: a stride guard failure (a recompile of
    # minutes on the first Vary/Upscale) unless every call gets the layout the graph was built for.
    compiled.register_forward_pre_hook(_contiguous_sample, with_kwargs=True)
    for pipe in (engine.txt2img_pipe, engine.img2img_pipe, engine.inpaint_pipe):
        pipe.unet = compiled


def _contiguous_sample(_module: Any, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    if args:
        return (args[0].contiguous(), *args[1:]), kwargs
    return args, {**kwargs, "sample": kwargs["sample"].contiguous()}


def is_compiled(unet: Any) -> bool:
    """Whether `unet` is a `torch.compile` wrapper."""
    return getattr(unet, "_orig_mod", None) is not None


def _why_uncompiled(request: GenerationRequest) -> str:
    if request.loras:
        return "a job with LoRAs"
    if request.tile:
        return "a --tile job"
    return ""


@contextmanager
def uncompiled_for(pipes: Sequence[Any], request: GenerationRequest) -> Iterator[None]:
    """Run `pipes` on the original UNet for the duration when `request` needs it (see the module
    docstring); a no-op without COMPILE or for any other job."""
    compiled = getattr(pipes[0], "unet", None)  # SD 3 / FLUX: a transformer, never compiled here
    why = _why_uncompiled(request)
    if not why or not is_compiled(compiled):
        yield
        return
    log.info("COMPILE: %s runs on the uncompiled UNet", why)
    swapped = [pipe for pipe in pipes if pipe.unet is compiled]
    for pipe in swapped:
        pipe.unet = compiled._orig_mod
    try:
        yield
    finally:
        for pipe in swapped:
            pipe.unet = compiled
