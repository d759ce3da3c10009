"""What each button means: the request and engine operation of a job derived from its parent.

Pure functions (no I/O): U-n picks an image (no GPU work), V-n and Vary (Strong/Subtle) are
img2img from the chosen image, 🔄 re-runs the parent's request with a new seed, Enhance (a reroll
in mode `enhance`) re-runs a --draft grid at full quality with the same seeds, Upscale
super-resolves the chosen image and refines it.
"""

from __future__ import annotations

import dataclasses
import random

from bot.engine.family import ModelFamily
from bot.engine.interface import Operation
from bot.engine.request import GenerationRequest
from bot.errors import InvalidParameter
from bot.jobs.models import Job, JobImage, JobKind, NewJob

__all__ = [
    "ENHANCE",
    "RUNNABLE_KINDS",
    "UPSCALE_STRENGTH",
    "default_mode",
    "derive_request",
    "operation_of",
    "random_seed",
]

RUNNABLE_KINDS = (
    JobKind.IMAGINE,
    JobKind.VARIATION,
    JobKind.REROLL,
    JobKind.UPSCALE,
    JobKind.BLEND,
    JobKind.DESCRIBE,
    JobKind.SHORTEN,
)
UPSCALE_STRENGTH = {"subtle": 0.3, "creative": 0.5}
# The mode of a reroll that re-renders a --draft grid at full quality from the same seeds.
ENHANCE = "enhance"


def random_seed() -> int:
    return random.randrange(2**32)


def default_mode(kind: JobKind, mode: str | None) -> str | None:
    """Variation defaults to strong, upscale to subtle; other kinds keep what they were given."""
    if mode is None and kind is JobKind.VARIATION:
        return "strong"
    if mode is None and kind is JobKind.UPSCALE:
        return "subtle"
    return mode


def operation_of(kind: JobKind) -> Operation:
    """The engine operation of a job made from a parent's image."""
    return Operation.UPSCALE if kind is JobKind.UPSCALE else Operation.IMG2IMG


def derive_request(
    kind: JobKind, new: NewJob, parent: Job, image: JobImage | None, family: ModelFamily
) -> tuple[GenerationRequest, list[str]]:
    """The request (and image links) of a reroll, variation or upscale of `parent`.

    `image` is the chosen image of the parent (None for a reroll). With Remix, `new.request`
    carries the edited prompt and parameters; the picture still comes from the parent.
    """
    parent_request = parent.generation_request
    if kind is JobKind.REROLL and new.mode == ENHANCE:
        # Enhance: the draft again at full quality, same seeds and prompt.
        if not parent_request.is_draft:
            raise InvalidParameter("Only a --draft grid can be enhanced.")
        return parent_request.enhanced(), list(parent.image_urls)
    if kind is JobKind.REROLL:
        base = new.request or dataclasses.replace(parent_request, seed=random_seed())
        return base, list(parent.image_urls)
    if image is None:
        raise InvalidParameter("Pick one image of the grid.")
    if kind is JobKind.VARIATION:
        mode = new.mode
        if mode not in ("strong", "subtle"):
            raise InvalidParameter(f"Variation mode must be strong or subtle, not {mode!r}.")
        strength = family.vary_strong if mode == "strong" else family.vary_subtle
        base = new.request or dataclasses.replace(parent_request, seed=random_seed())
        width, height = image.width, image.height
        if parent.kind is JobKind.UPSCALE:
            width, height = width // 2 // 8 * 8, height // 2 // 8 * 8
        return dataclasses.replace(base, strength=strength, batch_size=4, width=width, height=height), []
    mode = new.mode or "subtle"
    if mode not in UPSCALE_STRENGTH:
        raise InvalidParameter(f"Upscale mode must be subtle or creative, not {mode!r}.")
    return (
        dataclasses.replace(
            parent_request,
            seed=image.seed,
            batch_size=1,
            strength=UPSCALE_STRENGTH[mode],
            width=image.width * 2,
            height=image.height * 2,
        ),
        [],
    )
