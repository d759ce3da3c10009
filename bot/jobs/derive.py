"""What each button means: the request and engine operation of a job derived from its parent.

Pure functions (no I/O): U-n picks an image (no GPU work), V-n and Vary (Strong/Subtle) are
img2img from the chosen image, 🔄 re-runs the parent's request with a new seed, Enhance (a reroll
in mode `enhance`) re-runs a --draft grid at full quality with the same seeds, Upscale
super-resolves the chosen image and refines it. Zoom Out / Custom Zoom / Make Square and Pan
outpaint the chosen image on a bigger canvas (rendered at the family's native area, its place
kept in `request.extra["placement"]`); Vary (Region) repaints the masked area of it.
"""

from __future__ import annotations

import dataclasses
import io
import math
import random

from PIL import Image, UnidentifiedImageError

from bot.engine import canvas
from bot.engine.family import ModelFamily
from bot.engine.interface import Operation
from bot.engine.request import GenerationRequest
from bot.errors import InvalidParameter
from bot.jobs.actions import ENHANCE
from bot.jobs.editor_jobs import EDITOR_KINDS, editor_fields, editor_operation, editor_request
from bot.jobs.models import Job, JobImage, JobKind, NewJob
from bot.jobs.prompted_edits import PROMPTED_EDITS, prompted_edit_fields, prompted_edit_request

__all__ = [
    "EDIT_KINDS",
    "ENHANCE",
    "OUTPAINT_STRENGTH",
    "REGION_STRENGTH",
    "RUNNABLE_KINDS",
    "UPSCALE_STRENGTH",
    "decode_mask",
    "default_mode",
    "derive_request",
    "edit_fields",
    "operation_of",
    "parse_zoom_mode",
    "random_seed",
    "zoom_position",
]

RUNNABLE_KINDS = (
    JobKind.IMAGINE,
    JobKind.VARIATION,
    JobKind.REROLL,
    JobKind.UPSCALE,
    JobKind.BLEND,
    JobKind.DESCRIBE,
    JobKind.SHORTEN,
    JobKind.ZOOM,
    JobKind.PAN,
    JobKind.REGION,
    JobKind.RETEXTURE,
    JobKind.INSTRUCT,
    *EDITOR_KINDS,
    JobKind.ANIMATE,
    JobKind.EXTEND,
)
EDIT_KINDS = (JobKind.ZOOM, JobKind.PAN, JobKind.REGION)
UPSCALE_STRENGTH = {"subtle": 0.3, "creative": 0.5}
# Just below 1: the pre-filled border (edge colours + noise) still hints at the layout.
OUTPAINT_STRENGTH = 0.95
REGION_STRENGTH = 0.9
MIN_ZOOM, MAX_ZOOM = 1.0, 2.0


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
    if (editor := editor_operation(kind)) is not None:
        return editor
    if kind is JobKind.UPSCALE:
        return Operation.UPSCALE
    if kind in (JobKind.ZOOM, JobKind.PAN):
        return Operation.OUTPAINT
    if kind is JobKind.REGION:
        return Operation.REGION
    if kind is JobKind.RETEXTURE:
        return Operation.RETEXTURE
    if kind is JobKind.INSTRUCT:
        return Operation.INSTRUCT
    return Operation.IMG2IMG


def parse_zoom_mode(mode: str | None) -> tuple[float, tuple[int, int] | None]:
    """(zoom, canvas aspect or None) of a ZOOM job's mode: `"2"`, `"1.5 16:9"`, `"square"`, or the
    web editor's Reframe `"1 16:9 0.25,0.5"` (its position: `zoom_position`)."""
    if mode == "square":
        return 1.0, (1, 1)
    parts = (mode or "").split()
    factor = parts[0] if parts else ""
    try:
        if len(parts) > 3:
            raise ValueError
        zoom = float(factor)
        shape = None
        if len(parts) > 1:
            width, _, height = parts[1].partition(":")
            shape = (int(width), int(height))
            if min(shape) <= 0 or max(shape[0] / shape[1], shape[1] / shape[0]) > canvas.MAX_PAN_RATIO:
                raise ValueError
    except ValueError:
        raise InvalidParameter(f"Invalid zoom `{mode}`: expected a number from 1 to 2.") from None
    if not MIN_ZOOM <= zoom <= MAX_ZOOM:
        raise InvalidParameter(f"Invalid value `{factor}` for `--zoom`: expected a number from 1 to 2.")
    return zoom, shape


def zoom_position(mode: str | None) -> tuple[float, float]:
    """Where the original sits on a ZOOM job's canvas: the share (0–1) of the free space to its left
    and above it — `X,Y`, the mode's third part (Reframe); centred (0.5, 0.5) without one."""
    parts = (mode or "").split()
    if len(parts) < 3:
        return 0.5, 0.5
    x, _, y = parts[2].partition(",")
    try:
        position = (float(x), float(y))
    except ValueError:
        position = (-1.0, -1.0)
    if not all(0.0 <= value <= 1.0 for value in position):
        raise InvalidParameter(f"Invalid position `{parts[2]}`: expected X,Y from 0 to 1.")
    return position


def decode_mask(data: bytes | None, size: tuple[int, int]) -> Image.Image:
    """A Vary (Region) mask: PNG bytes → hard "L" mask at `size` (white = regenerate).

    Raises InvalidParameter when there is no mask, it is not an image, or nothing is selected.
    """
    if not data:
        raise InvalidParameter("Select the area to change first (no area was selected).")
    try:
        with Image.open(io.BytesIO(data)) as picture:
            if picture.mode in ("RGBA", "LA") or "transparency" in picture.info:
                # Transparent = not drawn on: only opaque white counts.
                picture = picture.convert("RGBA")
                alpha = picture.getchannel("A")
                mask = Image.composite(picture.convert("L"), Image.new("L", picture.size, 0), alpha)
            else:
                mask = picture.convert("L")
    except (UnidentifiedImageError, OSError, ValueError):
        raise InvalidParameter("The selected area is not a readable PNG mask.") from None
    mask = mask.resize(size, Image.Resampling.BILINEAR).point(lambda value: 255 if value >= 128 else 0)
    if mask.getbbox() is None:
        raise InvalidParameter("Select the area to change first (no area was selected).")
    return mask


def edit_fields(job: Job, mask: Image.Image | None = None) -> dict[str, str]:
    """What an editing job did, for the PNG `parameters`: `Zoom: 2`, `Pan: left`, `Mask: …`."""
    if job.kind is JobKind.ZOOM:
        return {"Zoom": job.mode or ""}
    if job.kind is JobKind.PAN:
        return {"Pan": job.mode or ""}
    if job.kind is JobKind.REGION and mask is not None:
        return {"Mask": canvas.mask_summary(mask)}
    if job.kind in PROMPTED_EDITS:
        return prompted_edit_fields(job)
    return {}
    return editor_fields(job)


def _edit_request(
    kind: JobKind, new: NewJob, parent: Job, image: JobImage, family: ModelFamily
) -> GenerationRequest:
    """The request of a Zoom / Make Square / Pan / Vary (Region) job on `image` of `parent`."""
    base = new.request or dataclasses.replace(parent.generation_request, seed=random_seed())
    original = (image.width, image.height)
    if kind is JobKind.REGION:
        width, height = original
        if parent.kind is JobKind.UPSCALE:
            width, height = width // 2 // 8 * 8, height // 2 // 8 * 8
        return dataclasses.replace(base, strength=REGION_STRENGTH, batch_size=4, width=width, height=height)
    if kind is JobKind.ZOOM:
        zoom, aspect = parse_zoom_mode(new.mode)
        layout = canvas.zoom_layout(original, zoom, family, aspect, zoom_position(new.mode))
        if layout.box == (0, 0, layout.width, layout.height):
            if new.mode == "square":
                raise InvalidParameter("This image is already square.")
            raise InvalidParameter("Nothing to zoom out: use a `--zoom` above 1 or a different `--ar`.")
    else:
        if new.mode not in canvas.PAN_DIRECTIONS:
            raise InvalidParameter(f"Pan direction must be left, right, up or down, not {new.mode!r}.")
        pan = canvas.pan_layout(original, new.mode, family)
        if pan is None:
            raise InvalidParameter(
                f"This image cannot be panned further {new.mode}: its long side is already "
                f"{canvas.MAX_PAN_RATIO:g}x its short side."
            )
        layout = pan
    divisor = math.gcd(layout.width, layout.height)
    aspect = f"{layout.width // divisor}:{layout.height // divisor}"
    extra = {**base.extra, "placement": list(layout.box), "aspect": aspect}
    return dataclasses.replace(
        base,
        strength=OUTPAINT_STRENGTH,
        batch_size=4,
        width=layout.width,
        height=layout.height,
        extra=extra,
    )


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
        if new.request is not None and parent.kind in EDIT_KINDS:
            # A remixed re-roll of an edit repaints the same canvas: keep its size and placement.
            base = dataclasses.replace(
                base,
                width=parent_request.width,
                height=parent_request.height,
                strength=parent_request.strength,
                extra={**base.extra, **{k: v for k, v in parent_request.extra.items() if k == "placement"}},
            )
        return base, list(parent.image_urls)
    if image is None:
        raise InvalidParameter("Pick one image of the grid.")
    if kind in EDIT_KINDS:
        return _edit_request(kind, new, parent, image, family), []
    if kind in PROMPTED_EDITS:
        return prompted_edit_request(kind, new, parent, image), []
    if kind in EDITOR_KINDS:
        return editor_request(kind, new, parent, image), []
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
