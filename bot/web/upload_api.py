"""The web editor on uploads (issue 22): drop or pick a picture on the Create page → the editor.

`POST /api/uploads` (multipart: one file `image`, optional `prompt` and `server`; the CSRF token in
the `X-CSRF-Token` header, as every upload) stores the picture as a finished upload job of the
signed-in member (`Uploads.upload`: Discord's attachment rules, the prompt's banned words, no GPU
time) and answers its summary, its page, and a signed link to the editor on it; the page's script
then opens the editor. On the job page the picture has every single-image button (Vary, Upscale,
Zoom, Pan, Vary (Region), Remove Background).
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

from aiohttp import web

from bot.errors import InvalidParameter, UserFacingError
from bot.governance.admission import Place
from bot.jobs.image_jobs import upload_too_large
from bot.web.access import job_summary
from bot.web.api import error_response, member_guild
from bot.web.context import CONTEXT, current_session
from bot.web.uploads import read_uploads

__all__ = ["add_routes", "upload"]

log = logging.getLogger(__name__)


async def upload(request: web.Request) -> web.StreamResponse:
    """One picture → an upload job and the editor's link on it."""
    context = request.app[CONTEXT]
    session = current_session(request)
    async with read_uploads(request, most=1) as uploaded:
        try:
            if uploaded.too_large is not None:
                raise upload_too_large(uploaded.too_large)
            if uploaded.count != 1 or not uploaded.files:
                raise InvalidParameter("Give one image to edit.")
            ((name, spooled),) = uploaded.files
            place = Place(session.user_id, member_guild(request, uploaded.fields.get("server")))
            data = await asyncio.to_thread(spooled.read)  # at most MAX_IMAGE_BYTES (read_uploads)
            job = await context.services.uploads.upload(
                name, data, place, prompt=uploaded.fields.get("prompt", ""), meta={"source": "web"}
            )
        except UserFacingError as error:
            return error_response(error)
    images = await context.services.library.images(job.id)
    link = urlsplit(context.pages.editor_url(job.id, 0, session.user_id))
    log.info("upload %s stored as job %s from the web", name, job.id)
    return web.json_response(
        {"jobs": [job_summary(job, images)], "job": job.id, "editor": f"{link.path}?{link.query}"}
    )


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/uploads", upload)
