"""What a job costs in GPU time, as `/info` counts it.

A `--draft` job is charged half of the GPU seconds it used (Midjourney charges drafts half), on
top of running fewer steps; every other job is charged what it used.
"""

from __future__ import annotations

from bot.engine.request import GenerationRequest

__all__ = ["DRAFT_GPU_SHARE", "charged_gpu_seconds"]

DRAFT_GPU_SHARE = 0.5


def charged_gpu_seconds(request: GenerationRequest, used: float) -> float:
    """The GPU seconds recorded for a finished job that used `used` seconds."""
    return used * DRAFT_GPU_SHARE if request.is_draft else used
