"""Custom Zoom's prompt, shared by Discord's modal and the web's form: the text it starts with
(the job's prompt with the image's `--ar` and `--zoom 2`) and the ZOOM job mode the member's
edited text asks for (`"1.5 16:9"`, read by `bot.jobs.derive.parse_zoom_mode`)."""

from __future__ import annotations

import math
import re

from bot.jobs.models import Job
from bot.prompt import ImagineRequest

__all__ = ["DEFAULT_CUSTOM_ZOOM", "custom_zoom_mode", "custom_zoom_prompt", "image_aspect"]

DEFAULT_CUSTOM_ZOOM = 2
_ASPECT_PARAMETER = re.compile(r"(?<!\S)(?:--|—)(?:ar|aspect)\s+\S+", re.IGNORECASE)


def image_aspect(job: Job, size: tuple[int, int]) -> str:
    """The image's `--ar`: the job's own (`16:9`) when the image has that shape, else its size
    reduced (`23:11` after a pan)."""
    recorded = str(job.request.get("extra", {}).get("aspect", ""))
    width, _, height = recorded.partition(":")
    known = width.isdigit() and height.isdigit() and int(width) > 0 and int(height) > 0
    if known and abs(math.log(int(width) / int(height) * size[1] / size[0])) < math.log(1.03):
        return recorded
    divisor = math.gcd(*size)
    return f"{size[0] // divisor}:{size[1] // divisor}"


def custom_zoom_prompt(prompt: str, aspect: str) -> str:
    """Custom Zoom's starting text: the prompt with the image's `--ar` and `--zoom 2`."""
    text = " ".join(_ASPECT_PARAMETER.sub(" ", prompt).split())
    return f"{text} --ar {aspect} --zoom {DEFAULT_CUSTOM_ZOOM}"


def custom_zoom_mode(request: ImagineRequest) -> str:
    """The ZOOM job mode of a Custom Zoom prompt as read by the admission: `"<zoom> <W>:<H>"`
    (no `--zoom` means 1: only the shape changes)."""
    factor = request.zoom if request.zoom is not None else 1.0
    return f"{factor:g} {request.aspect[0]}:{request.aspect[1]}"
