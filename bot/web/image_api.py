"""The web's /blend, /describe and /shorten, and the buttons under their results.

- `POST /api/blend` (multipart: 2-5 files `image`, `dimensions` portrait|square|landscape,
  `server`): one blend job, a 2x2 grid with U/V/🔄 like any other.
- `POST /api/describe` (multipart: one file `image`, or `job` + `index` for an image of one of
  my own jobs; `server`): one describe job; its four suggestions come with the finished job.
- `POST /api/shorten` {prompt, server}: one shorten job (the analysis and up to five shorter
  prompts come with the finished job).
- `POST /api/jobs/{id}/suggestions` {action: imagine|all|redescribe, index}: 1️⃣-5️⃣ (imagine one
  suggestion), "Imagine all", 🔄 (describe the same picture again for four more).

Uploads are never trusted: the CSRF token must come in the `X-CSRF-Token` header (the body is
streamed, not buffered by the session middleware), each file is read in chunks and refused
above `MAX_IMAGE_BYTES` with Discord's attachment error, and decoded in a thread by the same
guarded decoder as a Discord attachment (`decode_upload`: format sniffed from the bytes, pixel
limit before decoding, first frame of an animation), one picture at a time.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web
from PIL import Image

from bot.errors import InvalidParameter, JobNotFound, UserFacingError
from bot.governance.admission import Admission, Place
from bot.jobs.derive import random_seed
from bot.jobs.downloads import MAX_IMAGE_BYTES
from bot.jobs.image_jobs import (
    BLEND_DIMENSIONS,
    INPUT_FILE,
    MAX_BLEND,
    MIN_BLEND,
    decode_upload,
    upload_too_large,
)
from bot.jobs.models import JobKind, JobStatus, NewJob
from bot.web.access import job_summary, visible_job
from bot.web.api import (
    MAX_PROMPT,
    MAX_WEB_JOBS,
    error_response,
    json_body,
    member_guild,
    model_missing,
    prompt_too_long,
)
from bot.web.context import CONTEXT, current_session
from bot.web.sessions import CSRF_HEADER

__all__ = ["MAX_UPLOAD_BODY", "add_routes", "read_uploads"]

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
# The most one upload request may send: five pictures at the limit, a sixth refused, the fields.
MAX_UPLOAD_BODY = (MAX_BLEND + 1) * MAX_IMAGE_BYTES + 1024 * 1024
MAX_FIELD = 200
FIELDS = ("server", "dimensions", "job", "index", "prompt")


@dataclass
class Uploaded:
    """A multipart request read: its short text fields and its files (name, bytes)."""

    fields: dict[str, str] = field(default_factory=dict)
    files: list[tuple[str, bytes]] = field(default_factory=list)
    too_large: str | None = None  # the first file over MAX_IMAGE_BYTES (its name)
    count: int = 0  # files sent (also those not kept)


async def read_uploads(request: web.Request, *, most: int) -> Uploaded:
    """Stream a multipart body: keep at most `most` files of at most MAX_IMAGE_BYTES each (the rest
    counted, read and dropped), the text fields in FIELDS; 413 past MAX_UPLOAD_BODY."""
    if request.headers.get(CSRF_HEADER) is None:
        # The middleware checked a token from the form: that buffered the body (refused here).
        raise web.HTTPForbidden(text=f"Send the CSRF token in the {CSRF_HEADER} header.")
    try:
        reader = await request.multipart()
    except (AssertionError, ValueError, KeyError):
        raise web.HTTPBadRequest(text="Expected a multipart/form-data body.") from None
    result = Uploaded()
    total = 0
    while True:
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader):
            raise web.HTTPBadRequest(text="Nested multipart bodies are not accepted.")
        name = part.name or ""
        filename = part.filename
        if filename is None:
            value = await part.read(decode=False)
            total += len(value)
            if name in FIELDS and len(value) <= MAX_FIELD:
                result.fields[name] = value.decode("utf-8", "replace").strip()
            continue
        if name != "image":
            raise web.HTTPBadRequest(text=f"Unexpected file field {name!r}.")
        result.count += 1
        chunks: list[bytes] = []
        size = 0
        while chunk := await part.read_chunk(CHUNK):
            size += len(chunk)
            total += len(chunk)
            if total > MAX_UPLOAD_BODY:
                raise web.HTTPRequestEntityTooLarge(max_size=MAX_UPLOAD_BODY, actual_size=total)
            if size <= MAX_IMAGE_BYTES and result.count <= most:
                chunks.append(chunk)
            else:
                chunks.clear()  # over the limit, or one file too many: read on, keep nothing
        if size > MAX_IMAGE_BYTES:
            result.too_large = result.too_large or _shown_name(filename)
        elif result.count <= most:
            result.files.append((_shown_name(filename), b"".join(chunks)))
    return result


def _shown_name(filename: str) -> str:
    """The file's own name (no folders, no angle brackets or spaces: it stands in the prompt)."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c if c.isprintable() and c not in "<> " else "_" for c in name)[:80]
    return cleaned or "image"


async def _decode(request: web.Request, files: list[tuple[str, bytes]]) -> list[tuple[str, Image.Image]]:
    """Each file decoded by the guarded decoder, in a thread, one at a time (InvalidLink)."""
    decoding = request.app[CONTEXT].decoding
    pictures = []
    for name, data in files:
        async with decoding:
            pictures.append((name, await asyncio.to_thread(decode_upload, name, data)))
    return pictures


async def blend(request: web.Request) -> web.StreamResponse:
    context = request.app[CONTEXT]
    session = current_session(request)
    if (missing := model_missing(request)) is not None:
        return missing
    uploaded = await read_uploads(request, most=MAX_BLEND)
    dimensions = uploaded.fields.get("dimensions") or "square"
    try:
        if uploaded.too_large is not None:
            raise upload_too_large(uploaded.too_large)
        if not MIN_BLEND <= uploaded.count <= MAX_BLEND:
            # The job service's own words for it (bot/jobs/image_jobs.py prepare_inputs).
            raise InvalidParameter(
                f"/blend needs {MIN_BLEND} to {MAX_BLEND} images; you gave {uploaded.count}."
            )
        if dimensions not in BLEND_DIMENSIONS:
            raise InvalidParameter(f"Unknown dimensions {dimensions!r}: portrait, square or landscape.")
        guild_id = member_guild(request, uploaded.fields.get("server"))
        pictures = await _decode(request, uploaded.files)
        # Uploads have no link: each gets a name of its own (so two files called the same stay two).
        links = [f"upload:{n}/{name}" for n, (name, _) in enumerate(pictures, start=1)]
        new_job = context.admission.blend_job(
            links,
            [picture for _, picture in pictures],
            dimensions,
            Place(session.user_id, guild_id),
            shown=[name for name, _ in pictures],
            meta={"source": "web"},
        )
        job = await context.admission.submit(new_job)
    except UserFacingError as error:
        return error_response(error)
    return web.json_response({"jobs": [job_summary(job)]})


async def describe(request: web.Request) -> web.StreamResponse:
    context = request.app[CONTEXT]
    session = current_session(request)
    if (missing := model_missing(request)) is not None:
        return missing
    uploaded = await read_uploads(request, most=1)
    own = uploaded.fields.get("job")
    try:
        if uploaded.too_large is not None:
            raise upload_too_large(uploaded.too_large)
        if (uploaded.count == 1) == bool(own) or uploaded.count > 1:
            raise InvalidParameter("Give one image: upload it, or pick an image of one of your jobs.")
        guild_id = member_guild(request, uploaded.fields.get("server"))
        files = [await _own_image(request, own, uploaded.fields.get("index", ""))] if own else uploaded.files
        ((shown, picture),) = await _decode(request, files)
        job = await context.admission.submit(
            _describe_job(picture, shown, Place(session.user_id, guild_id), meta={"source": "web"})
        )
    except UserFacingError as error:
        return error_response(error)
    return web.json_response({"jobs": [job_summary(job)]})


async def _own_image(request: web.Request, job_id: str, index: str) -> tuple[str, bytes]:
    """The PNG of image `index` (1-based; the only image when absent) of one of my own jobs."""
    context = request.app[CONTEXT]
    session = current_session(request)
    job = await visible_job(context.jobs, session, job_id)
    if job.user_id != session.user_id:
        raise web.HTTPNotFound()
    images = await context.services.library.images(job.id)
    number = int(index) if index.isdigit() else (1 if len(images) == 1 else 0)
    image = next((image for image in images if image.index == number - 1), None)
    if image is None:
        raise InvalidParameter("Pick one image of the job (1-4).")
    data = await asyncio.to_thread(image.path.read_bytes)
    return f"/jobs/{job.id}/{number}", data


async def shorten(request: web.Request) -> web.StreamResponse:
    context = request.app[CONTEXT]
    session = current_session(request)
    if (missing := model_missing(request)) is not None:
        return missing
    body = await json_body(request)
    prompt = str(body.get("prompt", "")).strip()
    if len(prompt) > MAX_PROMPT:
        return prompt_too_long()
    try:
        guild_id = member_guild(request, str(body.get("server") or ""))
        place = Place(session.user_id, guild_id)
        job = await context.admission.submit(
            await context.admission.shorten_job(prompt, place, meta={"source": "web"})
        )
    except UserFacingError as error:
        return error_response(error)
    return web.json_response({"jobs": [job_summary(job)]})


async def suggestions(request: web.Request) -> web.StreamResponse:
    """1️⃣-5️⃣, "Imagine all" and 🔄 under a finished describe or shorten job."""
    context = request.app[CONTEXT]
    session = current_session(request)
    if (missing := model_missing(request)) is not None:
        return missing
    job = await visible_job(context.jobs, session, request.match_info["job_id"])
    body = await json_body(request)
    name = str(body.get("action", ""))
    index = body.get("index")
    meta: dict[str, Any] = {"source": "web"}
    place = Place(session.user_id, job.guild_id)
    try:
        if job.kind not in (JobKind.DESCRIBE, JobKind.SHORTEN) or job.status is not JobStatus.DONE:
            raise JobNotFound(f"Job `{job.id}` has no suggestions stored.")
        if name == "redescribe" and job.kind is JobKind.DESCRIBE:
            path = context.jobs.job_folder(job.id) / INPUT_FILE
            try:
                data = await asyncio.to_thread(path.read_bytes)
            except OSError:
                raise JobNotFound("The described image is no longer stored.") from None
            ((_, picture),) = await _decode(request, [(job.prompt, data)])
            again = _describe_job(
                picture, job.prompt, Place(session.user_id, job.guild_id), seed=random_seed(), meta=meta
            )
            made = [await context.admission.submit(again)]
        elif name == "all" and job.kind is JobKind.DESCRIBE:
            count = len((job.meta.get("result") or {}).get("prompts") or [])
            made = await context.admission.imagine_suggestions(
                job, list(range(1, count + 1)), place, most=MAX_WEB_JOBS, meta=meta
            )
        elif name == "imagine" and isinstance(index, int) and not isinstance(index, bool):
            made = await context.admission.imagine_suggestions(
                job, [index], place, most=MAX_WEB_JOBS, meta=meta
            )
        else:
            raise web.HTTPBadRequest(text="Expected {action: imagine|all|redescribe, index}.")
    except UserFacingError as error:
        return error_response(error)
    return web.json_response({"jobs": [job_summary(made_job) for made_job in made]})


def _describe_job(
    picture: Image.Image, shown: str, place: Place, *, seed: int = 0, meta: dict[str, Any]
) -> NewJob:
    """A describe job for one uploaded picture (`shown`: its name or link, the job's prompt)."""
    return Admission.describe_job(f"upload:1/{shown}", shown, place, picture=picture, seed=seed, meta=meta)


def add_routes(app: web.Application) -> None:
    uuid = r"[0-9a-f-]{36}"
    app.router.add_post("/api/blend", blend)
    app.router.add_post("/api/describe", describe)
    app.router.add_post("/api/shorten", shorten)
    app.router.add_post(f"/api/jobs/{{job_id:{uuid}}}/suggestions", suggestions)
