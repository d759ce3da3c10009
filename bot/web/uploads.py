"""Reading the web's uploads (/blend, /describe) with bounded memory.

A multipart body is streamed: each file goes to a spooled temporary file (memory up to
`SPOOL_IN_MEMORY`, disk beyond), so the bytes of many concurrent uploads never sit in memory
together. Then each file is decoded by the job service's image-link decoder
(`ImageLinks.decode_upload`): in a thread, one picture at a time for the whole process (web,
Discord and links), refused above the pixel limit, scaled down to cover `UPLOAD_FIT` — only
inside that one slot are a file's bytes read back into memory.

Limits: at most `MAX_UPLOAD_BODY` per request (413; `Content-Length` is checked before anything
is read), `MAX_IMAGE_BYTES` per file (Discord's attachment error), `UPLOAD_READ_SECONDS` to
send the body (408: a trickling upload holds nothing for long), and `MAX_UPLOADS_AT_ONCE`
requests being read at once (503 "busy" after `UPLOAD_WAIT_SECONDS` in line). A reverse proxy
in front must let bodies of `MAX_UPLOAD_BODY` through (nginx: `client_max_body_size 121m`).
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import IO

from aiohttp import BodyPartReader, web
from PIL import Image

from bot.jobs.downloads import MAX_IMAGE_BYTES
from bot.jobs.image_jobs import MAX_BLEND
from bot.jobs.prompt_images import UPLOAD_FIT, ImageLinks
from bot.web.sessions import CSRF_HEADER

__all__ = [
    "MAX_UPLOADS_AT_ONCE",
    "MAX_UPLOAD_BODY",
    "UPLOAD_READ_SECONDS",
    "UploadGate",
    "Uploaded",
    "decode_uploads",
    "read_uploads",
]

CHUNK = 64 * 1024
# The most one upload request may send: five pictures at the limit, a sixth refused, the fields.
MAX_UPLOAD_BODY = (MAX_BLEND + 1) * MAX_IMAGE_BYTES + 1024 * 1024
MAX_FIELD = 200
FIELDS = ("server", "dimensions", "job", "index", "prompt")
# Bytes of one file kept in memory before it spills to a temporary file.
SPOOL_IN_MEMORY = 1024 * 1024
# Upload requests read at once (each may spool up to MAX_UPLOAD_BODY to disk), and how long the
# next one waits in line before "busy".
MAX_UPLOADS_AT_ONCE = 4
UPLOAD_WAIT_SECONDS = 30.0
# Seconds a whole upload body may take to arrive.
UPLOAD_READ_SECONDS = 120.0


@dataclass
class Uploaded:
    """A multipart request read: its short text fields and its files (name, spooled bytes)."""

    fields: dict[str, str] = field(default_factory=dict)
    files: list[tuple[str, IO[bytes]]] = field(default_factory=list)
    too_large: str | None = None  # the first file over MAX_IMAGE_BYTES (its name)
    count: int = 0  # files sent (also those not kept)

    def close(self) -> None:
        for _, spooled in self.files:
            spooled.close()


class UploadGate:
    """How many upload requests are read at once, and the most bytes held in memory by them
    (`held`, `peak`: measured, for tests and logs)."""

    def __init__(self, at_once: int = MAX_UPLOADS_AT_ONCE, wait: float = UPLOAD_WAIT_SECONDS) -> None:
        self._slots = asyncio.Semaphore(at_once)
        self.wait = wait
        self.held = 0
        self.peak = 0

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        try:
            await asyncio.wait_for(self._slots.acquire(), self.wait)
        except TimeoutError:
            raise web.HTTPServiceUnavailable(
                text="Too many uploads at once. Try again in a moment.", headers={"Retry-After": "10"}
            ) from None
        try:
            yield
        finally:
            self._slots.release()

    def hold(self, size: int) -> None:
        self.held += size
        self.peak = max(self.peak, self.held)


GATE: web.AppKey[UploadGate] = web.AppKey("upload_gate", UploadGate)


def install(app: web.Application) -> None:
    app[GATE] = UploadGate()


@contextlib.asynccontextmanager
async def read_uploads(request: web.Request, *, most: int) -> AsyncIterator[Uploaded]:
    """Stream a multipart body: keep at most `most` files of at most MAX_IMAGE_BYTES each (the rest
    counted, read and dropped), spooled to temporary files, and the text fields in FIELDS; 413
    past MAX_UPLOAD_BODY, 408 when the body takes longer than UPLOAD_READ_SECONDS. The files are
    closed (deleted) when the block ends."""
    if request.headers.get(CSRF_HEADER) is None:
        # The middleware checked a token from the form: that buffered the body (refused here).
        raise web.HTTPForbidden(text=f"Send the CSRF token in the {CSRF_HEADER} header.")
    if request.content_length is not None and request.content_length > MAX_UPLOAD_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_UPLOAD_BODY, actual_size=request.content_length)
    gate = request.app[GATE]
    result = Uploaded()
    try:
        async with gate.slot():
            try:
                async with asyncio.timeout(UPLOAD_READ_SECONDS):
                    await _read(request, result, most, gate)
            except TimeoutError:
                raise web.HTTPRequestTimeout(text="The upload took too long.") from None
        yield result
    finally:
        result.close()


async def _read(request: web.Request, result: Uploaded, most: int, gate: UploadGate) -> None:
    try:
        reader = await request.multipart()
    except (AssertionError, ValueError, KeyError):
        raise web.HTTPBadRequest(text="Expected a multipart/form-data body.") from None
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
            if total > MAX_UPLOAD_BODY:
                raise web.HTTPRequestEntityTooLarge(max_size=MAX_UPLOAD_BODY, actual_size=total)
            if name in FIELDS and len(value) <= MAX_FIELD:
                result.fields[name] = value.decode("utf-8", "replace").strip()
            continue
        if name != "image":
            raise web.HTTPBadRequest(text=f"Unexpected file field {name!r}.")
        result.count += 1
        keep = result.count <= most
        # Closed by Uploaded.close() (or below, when it is not kept).
        spooled: IO[bytes] | None = (
            tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
            if keep
            else None
        )
        size = 0
        in_memory = 0
        try:
            while chunk := await part.read_chunk(CHUNK):
                size += len(chunk)
                total += len(chunk)
                if total > MAX_UPLOAD_BODY:
                    raise web.HTTPRequestEntityTooLarge(max_size=MAX_UPLOAD_BODY, actual_size=total)
                if spooled is not None and size <= MAX_IMAGE_BYTES:
                    spooled.write(chunk)
                    if size <= SPOOL_IN_MEMORY:
                        gate.hold(len(chunk))
                        in_memory += len(chunk)
        except BaseException:
            if spooled is not None:
                spooled.close()
            raise
        finally:
            gate.held -= in_memory
        if size > MAX_IMAGE_BYTES:
            result.too_large = result.too_large or _shown_name(filename)
            if spooled is not None:
                spooled.close()
        elif spooled is not None:
            spooled.seek(0)
            result.files.append((_shown_name(filename), spooled))


def _shown_name(filename: str) -> str:
    """The file's own name (no folders, no angle brackets or spaces: it stands in the prompt)."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c if c.isprintable() and c not in "<> " else "_" for c in name)[:80]
    return cleaned or "image"


async def decode_uploads(
    links: ImageLinks, files: list[tuple[str, bytes | IO[bytes]]]
) -> list[tuple[str, Image.Image]]:
    """Each file decoded by the job service's decoder: one at a time in the whole process,
    scaled down to cover UPLOAD_FIT (InvalidLink for anything that is not a usable picture)."""
    return [(name, await links.decode_upload(name, data, UPLOAD_FIT)) for name, data in files]
