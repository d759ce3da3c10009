"""The editor's jobs on one image (issue 22): Remove background and Smart Select.

Pure functions (no I/O), called by `bot/jobs/derive.py`:

- Remove background (`JobKind.BACKGROUND`): one RGBA picture, the chosen image with its
  background transparent (Operation.REMOVE_BACKGROUND); its recipe says `Background: removed`.
- Smart Select (`JobKind.SELECT`): one "L" mask, white where the model selects the object under
  a click or inside a box (Operation.SMART_SELECT). The job's `mode` is the prompt, in the
  image's pixels: `point X,Y` or `box LEFT,TOP,RIGHT,BOTTOM`; its recipe says `Select: …`.
  The mask feeds Vary (Region) (`python -m bot edit region JOB N --mask mask.png`, the web editor).

An upload is stored scaled to the model's native area (what the pipelines take); when that changed
its size, the picture as uploaded is kept beside it (`UPLOAD_ORIGINAL`, its size in the upload's
`meta["original_size"]`), and Remove background on an upload cuts that one out: the cut-out keeps
the uploaded resolution (the request keeps the stored size, which the pipelines' rules need; the
recipe's `Size` is the picture's). Smart Select stays on the stored picture (its mask must match the editor's).
"""

from __future__ import annotations

import dataclasses

from bot.engine.interface import Operation
from bot.engine.request import GenerationRequest
from bot.errors import InvalidParameter
from bot.jobs.models import Job, JobImage, JobKind, NewJob

__all__ = [
    "EDITOR_KINDS",
    "UPLOAD_ORIGINAL",
    "editor_fields",
    "editor_operation",
    "editor_request",
    "parse_select",
    "select_mode",
    "uses_upload_original",
]

EDITOR_KINDS = (JobKind.BACKGROUND, JobKind.SELECT)
_OPERATIONS = {JobKind.BACKGROUND: Operation.REMOVE_BACKGROUND, JobKind.SELECT: Operation.SMART_SELECT}
# The picture as uploaded, in the upload job's folder, when storing it changed its size.
UPLOAD_ORIGINAL = "original.png"


def uses_upload_original(kind: JobKind, parent: Job) -> tuple[int, int] | None:
    """The size of the uploaded original a `kind` job on `parent` works on (Remove background on an
    upload that kept one), else None (the stored picture)."""
    size = parent.meta.get("original_size") if parent.kind is JobKind.UPLOAD else None
    if kind is not JobKind.BACKGROUND or not isinstance(size, list) or len(size) != 2:
        return None
    return int(size[0]), int(size[1])


def editor_operation(kind: JobKind) -> Operation | None:
    """The engine operation of an editor job, None for other kinds."""
    return _OPERATIONS.get(kind)


def select_mode(point: tuple[int, int] | None = None, box: tuple[int, int, int, int] | None = None) -> str:
    """A Smart Select job's mode: `point X,Y` or `box L,T,R,B`."""
    if point is not None:
        return "point {},{}".format(*point)
    if box is not None:
        return "box {},{},{},{}".format(*box)
    raise InvalidParameter("Smart Select needs a point (`--point X,Y`) or a box (`--box L,T,R,B`).")


def parse_select(mode: str | None, size: tuple[int, int]) -> dict[str, list[int]]:
    """The prompt of a Smart Select `mode` for an image of `size`. Raises InvalidParameter."""
    kind, _, numbers = (mode or "").strip().partition(" ")
    try:
        values = [round(float(value)) for value in numbers.split(",")]
    except (ValueError, OverflowError):
        values = []
    width, height = size
    if kind == "point" and len(values) == 2:
        x, y = values
        if not (0 <= x < width and 0 <= y < height):
            raise InvalidParameter(f"The point {x},{y} is outside the image ({width}x{height}).")
        return {"point": values}
    if kind == "box" and len(values) == 4:
        left, top, right, bottom = values
        if not (0 <= left < right <= width and 0 <= top < bottom <= height):
            raise InvalidParameter(f"The box {numbers} is not inside the image ({width}x{height}).")
        return {"box": values}
    raise InvalidParameter(
        f"Invalid selection `{mode}`: expected `point X,Y` or `box LEFT,TOP,RIGHT,BOTTOM`."
    )


def editor_request(kind: JobKind, new: NewJob, parent: Job, image: JobImage) -> GenerationRequest:
    """The request of a Remove background or Smart Select job on `image` of `parent`: one picture
    at the image's size and seed (a selection's prompt in `extra["select"]`)."""
    base = dataclasses.replace(
        parent.generation_request, seed=image.seed, batch_size=1, width=image.width, height=image.height
    )
    if kind is JobKind.SELECT:
        return dataclasses.replace(
            base, extra={**base.extra, "select": parse_select(new.mode, (image.width, image.height))}
        )
    return base


def editor_fields(job: Job) -> dict[str, str]:
    """What an editor job did, for the PNG `parameters`."""
    if job.kind is JobKind.BACKGROUND:
        return {"Background": "removed"}
    if job.kind is JobKind.SELECT:
        return {"Select": job.mode or ""}
    return {}
