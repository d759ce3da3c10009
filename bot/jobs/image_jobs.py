"""Jobs that start from pictures or read text: references in /imagine, /blend, /describe, /shorten.

Before a job is queued every picture it needs is downloaded (bot/jobs/downloads.py): a link that
cannot be fetched or read is `Invalid link` and nothing is queued. The pictures are stored in
the job's folder (`input.png`, `ref-<n>.png`) and the plan (kind, link, scale of each reference)
in its meta, so a queued job survives a restart and runs the same after it.

- `/imagine` with `--sref/--cref/--oref`, or with image prompts when IP_ADAPTER is set (or when
  several links are to be mixed): Operation.REFERENCE. One image prompt without IP-Adapter stays
  img2img from `input.png`, as before.
- `/blend`: 2–5 images, no text, Operation.REFERENCE with every image at `BLEND_SCALE`.
- `/describe`: Operation.DESCRIBE on `input.png`; the suggestions land in `meta["result"]`.
- `/shorten`: Operation.SHORTEN on the request's prompt; the analysis lands in `meta["result"]`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from bot.engine.family import ModelFamily
from bot.engine.interface import GenerationInputs, Operation
from bot.engine.references import FALLBACK_STRENGTH, ReferenceImage, ReferenceKind
from bot.engine.request import GenerationRequest
from bot.engine.style_codes import style_swatch
from bot.errors import InvalidLink, InvalidParameter
from bot.jobs.downloads import MAX_IMAGE_BYTES, fetch_image
from bot.jobs.files import save_image
from bot.jobs.models import Job, JobKind
from bot.prompt.sizes import size_for_aspect

__all__ = [
    "BLEND_DIMENSIONS",
    "IMAGE_JOB_KINDS",
    "TEXT_KINDS",
    "PreparedInputs",
    "StoredReference",
    "blend_request",
    "decode_upload",
    "describe_request",
    "load_inputs",
    "prepare_inputs",
    "save_inputs",
    "shorten_request",
    "upload_too_large",
]

log = logging.getLogger(__name__)

INPUT_FILE = "input.png"
REFERENCE_FILE = "ref-{}.png"
MIN_BLEND, MAX_BLEND = 2, 5
BLEND_SCALE = 1.0
BLEND_DIMENSIONS: dict[str, tuple[int, int]] = {"portrait": (2, 3), "square": (1, 1), "landscape": (3, 2)}
# Kinds that carry their own request (no parent job) besides imagine.
IMAGE_JOB_KINDS = (JobKind.BLEND, JobKind.DESCRIBE, JobKind.SHORTEN)
# Kinds whose result is text in meta["result"], not images.
TEXT_KINDS = (JobKind.DESCRIBE, JobKind.SHORTEN)
_TEXT_SIZE = 64  # a nominal size: describe and shorten make no pictures


@dataclass(frozen=True)
class StoredReference:
    """One reference picture of a job: its kind, where it came from, its IP-Adapter scale.

    A `--sref CODE` reference has no link: its picture is the code's style swatch (style_codes.py).
    A profile or moodboard reference (`--p`) has no picture at all: `embedding` is the stored
    IP-Adapter embedding itself.
    """

    kind: str
    url: str
    scale: float
    code: int | None = None
    embedding: list[float] | None = None

    @property
    def source(self) -> str:
        """What the picture is made from: the link, or `style-code:<code>`."""
        return self.url if self.code is None else f"style-code:{self.code}"


@dataclass
class PreparedInputs:
    """The pictures a new job needs, downloaded before it is queued."""

    input_image: Image.Image | None = None
    references: list[StoredReference] = field(default_factory=list)
    # One per reference, in order; None for an embedding (profile / moodboard) reference.
    reference_images: list[Image.Image | None] = field(default_factory=list)

    def meta(self, meta: dict[str, Any]) -> dict[str, Any]:
        """The job's meta with the reference plan added (unchanged without references)."""
        if not self.references:
            return dict(meta)
        return {**meta, "references": [asdict(reference) for reference in self.references]}


def planned_references(
    kind: JobKind, request: GenerationRequest, image_urls: list[str], ip_adapter: bool
) -> list[StoredReference]:
    """The reference pictures a job uses; empty when it is not a reference job."""
    if kind is JobKind.BLEND:
        return [StoredReference(ReferenceKind.IMAGE.value, url, BLEND_SCALE) for url in image_urls]
    if kind is not JobKind.IMAGINE:
        return []
    typed = [StoredReference(**item) for item in request.extra.get("references", ())]
    if not typed and not (image_urls and (ip_adapter or len(image_urls) > 1)):
        return []
    scale = float(request.extra.get("image_prompt_scale", 0.5))
    return [StoredReference(ReferenceKind.IMAGE.value, url, scale) for url in image_urls] + typed


Fetch = Callable[[str], Awaitable[Image.Image]]


async def prepare_inputs(
    kind: JobKind,
    request: GenerationRequest,
    image_urls: list[str],
    *,
    ip_adapter: bool,
    uploads: Sequence[Image.Image] = (),
    fetch: Fetch = fetch_image,
) -> PreparedInputs:
    """Check and download what a new job needs. Raises InvalidParameter / InvalidLink.

    `uploads` are pictures the front already has (Discord attachments), in `image_urls` order;
    other links are downloaded with `fetch` (bot/jobs/downloads.py).
    """
    known = dict(zip(image_urls, uploads, strict=False))

    async def get(url: str) -> Image.Image:
        return known[url] if url in known else await fetch(url)

    async def picture(reference: StoredReference) -> Image.Image:
        if reference.code is not None:
            return await asyncio.to_thread(style_swatch, reference.code)
        return await get(reference.url)

    if kind is JobKind.BLEND and not MIN_BLEND <= len(image_urls) <= MAX_BLEND:
        raise InvalidParameter(f"/blend needs {MIN_BLEND} to {MAX_BLEND} images; you gave {len(image_urls)}.")
    if kind is JobKind.DESCRIBE:
        if len(image_urls) != 1:
            raise InvalidParameter("/describe needs exactly one image.")
        return PreparedInputs(input_image=await get(image_urls[0]))
    references = planned_references(kind, request, image_urls, ip_adapter)
    if references:
        drawn = [reference for reference in references if reference.embedding is None]
        unique = list({reference.source: reference for reference in drawn}.values())
        pictures = await asyncio.gather(*(picture(reference) for reference in unique))
        fetched = {reference.source: image for reference, image in zip(unique, pictures, strict=True)}
        images = [None if r.embedding is not None else fetched[r.source] for r in references]
        return PreparedInputs(references=references, reference_images=images)
    if kind is JobKind.IMAGINE and image_urls:
        return PreparedInputs(input_image=await get(image_urls[0]))
    return PreparedInputs()


def decode_upload(name: str, data: bytes) -> Image.Image:
    """An uploaded picture (a Discord attachment's bytes) decoded with the download rules
    (pixel limit, readable formats only). Blocking: run in a thread. Raises InvalidLink."""
    from bot.jobs import downloads

    return downloads.decode_or_refuse(name, data)


def upload_too_large(name: str) -> InvalidLink:
    """The error for an upload over MAX_IMAGE_BYTES (a Discord attachment or a web upload)."""
    return InvalidLink(f"{name} is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB.")


def save_inputs(folder: Path, prepared: PreparedInputs) -> None:
    """Write `input.png` and `ref-<n>.png` into the job's folder (blocking: run in a thread)."""
    if prepared.input_image is not None:
        save_image(folder / INPUT_FILE, prepared.input_image)
    for n, picture in enumerate(prepared.reference_images):
        if picture is not None:
            save_image(folder / REFERENCE_FILE.format(n), picture)


def _open_rgb(path: Path) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGB")


def _read_inputs(job: Job, folder: Path) -> tuple[Operation, GenerationInputs] | None:
    if job.kind is JobKind.SHORTEN:
        return Operation.SHORTEN, GenerationInputs()
    if job.kind is JobKind.DESCRIBE:
        return Operation.DESCRIBE, GenerationInputs(image=_open_rgb(folder / INPUT_FILE))
    stored = job.meta.get("references")
    if not stored:
        return None
    references = tuple(
        ReferenceImage(ReferenceKind(item["kind"]), None, float(item["scale"]), tuple(item["embedding"]))
        if item.get("embedding") is not None
        else ReferenceImage(
            ReferenceKind(item["kind"]), _open_rgb(folder / REFERENCE_FILE.format(n)), float(item["scale"])
        )
        for n, item in enumerate(stored)
    )
    return Operation.REFERENCE, GenerationInputs(references=references)


async def load_inputs(job: Job, folder: Path) -> tuple[Operation, GenerationInputs] | None:
    """The operation and pictures of an image job, read from its folder; None for other jobs."""
    if job.kind not in (JobKind.IMAGINE, *IMAGE_JOB_KINDS):
        return None
    return await asyncio.to_thread(_read_inputs, job, folder)


def blend_request(
    dimensions: str, family: ModelFamily, seed: int, steps_override: int | None = None
) -> GenerationRequest:
    """The recipe of a /blend: no text, Portrait 2:3 / Square 1:1 / Landscape 3:2 at the family's size."""
    if dimensions not in BLEND_DIMENSIONS:
        raise InvalidParameter(f"Unknown dimensions {dimensions!r}: portrait, square or landscape.")
    aspect = BLEND_DIMENSIONS[dimensions]
    width, height = size_for_aspect(aspect, family)
    return GenerationRequest(
        prompt="",
        width=width,
        height=height,
        seed=seed,
        steps=steps_override or family.default_steps,
        guidance_scale=family.default_guidance,
        strength=FALLBACK_STRENGTH,
        extra={"aspect": f"{aspect[0]}:{aspect[1]}"},
    )


def describe_request(seed: int) -> GenerationRequest:
    """The recipe of a /describe job: only the seed matters (it picks the suggestions)."""
    return GenerationRequest(prompt="", width=_TEXT_SIZE, height=_TEXT_SIZE, seed=seed, steps=1, batch_size=1)


def shorten_request(prompt: str) -> GenerationRequest:
    """The recipe of a /shorten job: the prompt to analyse."""
    return GenerationRequest(
        prompt=prompt, width=_TEXT_SIZE, height=_TEXT_SIZE, seed=0, steps=1, batch_size=1
    )
