"""The one engine interface: every operation goes through `Engine.generate`.

`DiffusersEngine` (one loaded model), `ModelPool` (several models), the GPU workers of every
backend and the tests' fakes all speak it. A new operation (outpaint, IP-Adapter, describe) is a
new `Operation` member, a field or two on `GenerationInputs` and one branch in the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from PIL import Image

    from bot.engine.family import ModelFamily
    from bot.engine.references import ReferenceImage
    from bot.engine.request import GenerationRequest, GenerationResult, StepCallback

__all__ = ["Engine", "GenerationInputs", "Operation"]


class Operation(StrEnum):
    """What the engine does with a request."""

    TXT2IMG = "txt2img"
    IMG2IMG = "img2img"
    INPAINT = "inpaint"
    UPSCALE = "upscale"
    # txt2img conditioned on reference images (IP-Adapter; fallback: averaged latents + img2img).
    REFERENCE = "reference"
    # Four prompt suggestions for `inputs.image` (result: details["prompts"]; no images).
    DESCRIBE = "describe"
    # Word importance of `request.prompt` and shorter prompts (result: details; no images).
    SHORTEN = "shorten"
    # Zoom Out / Make Square / Pan: the original on a bigger canvas, the rest painted around it.
    OUTPAINT = "outpaint"
    # Vary (Region): repaint the masked area of the image (soft edges), keep the rest exactly.
    REGION = "region"
    # The IP-Adapter's style embeddings of `inputs.references` pictures, encoded together in one
    # batch (result: details["embeddings"], lists of floats; no images). Profiles and moodboards.
    STYLE_EMBED = "style_embed"
    # Retexture: the input's structure (depth map or edges) through a ControlNet, the look from the prompt.
    RETEXTURE = "retexture"
    # Instruction edit (the Edit model): the prompt applied to the input by LEDITS++.
    INSTRUCT = "instruct"
    # The editor (bot/engine/segment.py): a click or box → a mask; the picture as RGBA, its
    # background transparent.
    SMART_SELECT = "smart_select"
    REMOVE_BACKGROUND = "remove_background"
    # Video (bot/engine/video.py): clips from `inputs.image` (towards `inputs.end_image`), or a
    # longer `inputs.clip`; the spec is in `request.extra["video"]`.
    ANIMATE = "animate"
    EXTEND = "extend"


@dataclass(frozen=True)
class GenerationInputs:
    """The pictures an operation starts from (none for txt2img)."""

    image: Image.Image | None = None
    # White = repaint (inpaint); same size as `image` or resized to the request's size.
    mask: Image.Image | None = None
    # Upscale factor.
    factor: int = 2
    # Reference images (image prompts, --sref, --cref, --oref, /blend) for Operation.REFERENCE.
    references: tuple[ReferenceImage, ...] = ()
    # Outpaint: where `image` goes on the request's canvas, (left, top, right, bottom) in pixels.
    placement: tuple[int, int, int, int] | None = None
    # Video: the end frame (--end) of ANIMATE; the frames of the clip EXTEND lengthens.
    end_image: Image.Image | None = None
    clip: tuple[Image.Image, ...] = ()


NO_INPUTS = GenerationInputs()


class Engine(Protocol):
    """What the GPU worker needs of an engine."""

    @property
    def family(self) -> ModelFamily: ...

    @property
    def model_name(self) -> str: ...

    def generate(
        self,
        operation: Operation,
        request: GenerationRequest,
        inputs: GenerationInputs = NO_INPUTS,
        on_step: StepCallback | None = None,
    ) -> GenerationResult:
        """Run `operation`; raise from `on_step` (JobCancelled) to stop between steps."""
        ...

    def txt2img_jobs(
        self, requests: Sequence[GenerationRequest], on_step: StepCallback | None = None
    ) -> list[GenerationResult]:
        """Several jobs' txt2img in ONE call (batching across jobs), one result per request, each
        the same as the job run alone; the requests must `shares_call`. `on_step` sees the latents
        of all images, in request order."""
        ...

    def free_memory(self) -> None:
        """Release cached accelerator memory (after running out of it)."""
        ...
