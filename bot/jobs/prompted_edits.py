"""Retexture and instruction edits (the Edit model): jobs made from one image and a new prompt.

Both always come with the member's prompt (read by the admission like /imagine: banned words,
channel rules, parameters): Retexture's is the new look, an Edit's the instruction (`--no` names
what to take out). The image comes from the parent; the size is the image's (an upscale's is
halved back to the working size, as Vary does).
"""

from __future__ import annotations

import dataclasses

from bot.engine.request import GenerationRequest
from bot.errors import InvalidParameter
from bot.jobs.models import Job, JobImage, JobKind, NewJob

__all__ = [
    "EDIT_BATCH",
    "EDIT_METHODS",
    "PROMPTED_EDITS",
    "prompted_edit_fields",
    "prompted_edit_request",
    "with_edit_method",
]

PROMPTED_EDITS = (JobKind.RETEXTURE, JobKind.INSTRUCT)
EDIT_BATCH = 4
_NAMES = {JobKind.RETEXTURE: "Retexture", JobKind.INSTRUCT: "Edit"}
# The recipe's name of the method an instruction edit ran with (its result's `details["method"]`).
EDIT_METHODS = {"ledits++": "LEDITS++", "instructpix2pix": "InstructPix2Pix"}


def prompted_edit_request(kind: JobKind, new: NewJob, parent: Job, image: JobImage) -> GenerationRequest:
    """The request of a Retexture or Edit job on `image` of `parent` (its prompt is required)."""
    if new.request is None or not new.request.prompt.strip():
        what = "the new look" if kind is JobKind.RETEXTURE else "the change to make"
        raise InvalidParameter(f"{_NAMES[kind]} needs a prompt: describe {what}.")
    width, height = image.width, image.height
    if parent.kind is JobKind.UPSCALE:
        width, height = width // 2, height // 2
    width, height = max(8, width // 8 * 8), max(8, height // 8 * 8)
    extra = dict(new.request.extra)
    if kind is JobKind.INSTRUCT:
        # LEDITS++ inverts the image better with the prompt it was made from.
        extra["source_prompt"] = str(parent.request.get("prompt", parent.prompt))
    return dataclasses.replace(
        new.request, batch_size=EDIT_BATCH, width=width, height=height, strength=1.0, extra=extra
    )


def prompted_edit_fields(job: Job) -> dict[str, str]:
    """The recipe line of a Retexture or Edit job: `Retexture: image 2 of <job>`, `Edit: <prompt>`."""
    if job.kind is JobKind.RETEXTURE:
        return {"Retexture": f"image {(job.parent_index or 0) + 1} of {job.parent_id}"}
    return {"Edit": " ".join(str(job.request.get("prompt", job.prompt)).split())}


def with_edit_method(fields: dict[str, str], details: dict[str, object]) -> dict[str, str]:
    """`Edit: <prompt>` → `Edit: <prompt> (InstructPix2Pix)` / `(LEDITS++)`: the method the engine
    says it used (INSTRUCT_MODEL set or not); other fields unchanged."""
    method = EDIT_METHODS.get(str(details.get("method", "")))
    if method is None or "Edit" not in fields:
        return fields
    return {**fields, "Edit": f"{fields['Edit']} ({method})"}
