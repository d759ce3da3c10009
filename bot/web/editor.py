"""The browser Vary (Region) editor: a signed, single-use, expiring link (see `bot.web.links`) to a
page with the image, rectangle and lasso tools and an optional prompt; Submit sends the mask.

`GET /edit/{job}/{index}?u&e&n&s` shows the page (index is the image's 0-based index, as stored);
`POST /edit/{job}/{index}` with the same signed fields, the mask (a PNG data URL at the image's
size, white = regenerate) and the prompt creates one REGION job, through the one admission and
Discord's rules: with the member's Remix on the page asks for the prompt (read like a remix:
banned words, channel rules, the member's settings); with Remix off the area is repainted with the
image's own prompt at the member's speed. A forged, expired or used link
answers 403 and makes no job. The link itself is the authority (the member may not be signed in
on the web), so the POST needs no session; its nonce is spent before the job is submitted.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from PIL import Image, UnidentifiedImageError

from bot.errors import InvalidParameter, UserFacingError
from bot.governance.admission import Place
from bot.jobs.actions import Form, Surface, actions_on
from bot.jobs.models import Job, JobImage, JobStatus
from bot.web.api import json_body
from bot.web.context import CONTEXT, WebContext
from bot.web.links import EditorLink, verify_editor_link
from bot.web.reframe_geometry import REFRAME_ASPECTS
from bot.web.screened import screened_response

__all__ = ["VARY_REGION", "MaskError", "add_routes", "checked_link", "decode_mask", "editor_link"]

log = logging.getLogger(__name__)

MAX_MASK_BYTES = 8 * 1024**2
# The action table's Vary (Region): the one action whose form this editor is.
(VARY_REGION,) = [action for action in actions_on(Surface.SINGLE) if action.form is Form.REGION]


class MaskError(InvalidParameter):
    """The drawn area cannot be used (not a PNG, wrong size, nothing selected)."""


def _link(request: web.Request, fields: dict[str, Any]) -> EditorLink:
    try:
        return EditorLink(
            job_id=request.match_info["job_id"],
            index=int(request.match_info["index"]),
            user_id=int(fields["u"]),
            expires=int(fields["e"]),
            nonce=str(fields["n"]),
            signature=str(fields["s"]),
        )
    except (KeyError, TypeError, ValueError):
        raise web.HTTPForbidden(text="Invalid link.") from None


async def _checked(context: WebContext, link: EditorLink) -> tuple[Job, JobImage]:
    """The job and image of a genuine, unexpired, unused link; 403 otherwise."""
    if not verify_editor_link(context.config, link):
        raise web.HTTPForbidden(text="Invalid link: this editor link is forged or has expired.")
    if await context.services.sign_ins.link_used(link.nonce):
        raise web.HTTPForbidden(text="Invalid link: this editor link was already used.")
    job = await context.jobs.get_job(link.job_id)
    if job is None or job.user_id != link.user_id or job.status is not JobStatus.DONE:
        raise web.HTTPNotFound()
    image = await context.services.library.image(job.id, link.index)
    if image is None:
        raise web.HTTPNotFound()
    return job, image


async def checked_link(request: web.Request, fields: dict[str, Any]) -> tuple[Job, JobImage, int]:
    """The job, image and member of a genuine, unexpired, unused editor link in `fields` (the
    editor's other tools, e.g. Smart Select); 403 / 404 otherwise. The link is not spent."""
    link = _link(request, fields)
    job, image = await _checked(request.app[CONTEXT], link)
    return job, image, link.user_id


def editor_link(request: web.Request, fields: dict[str, Any]) -> EditorLink:
    """The signed editor link in `fields` (not checked: see `checked_link`); 403 if malformed."""
    return _link(request, fields)


def decode_mask(data_url: str, size: tuple[int, int]) -> bytes:
    """The drawn mask as a black-and-white PNG (white = regenerate) at the image's size."""
    prefix = "data:image/png;base64,"
    if not data_url.startswith(prefix):
        raise MaskError("The mask must be a PNG image.")
    try:
        raw = base64.b64decode(data_url[len(prefix) :], validate=True)
    except (binascii.Error, ValueError):
        raise MaskError("The mask could not be read.") from None
    if len(raw) > MAX_MASK_BYTES:
        raise MaskError("The mask is too large.")
    try:
        with Image.open(io.BytesIO(raw)) as opened:
            if opened.format != "PNG":
                raise MaskError("The mask must be a PNG image.")
            picture = opened.convert("RGBA")
    except (UnidentifiedImageError, OSError):
        raise MaskError("The mask could not be read.") from None
    if picture.size != size:
        raise MaskError(f"The mask is {picture.width}x{picture.height}, the image {size[0]}x{size[1]}.")
    # Painted pixels (opaque and bright) are the area to regenerate.
    alpha = picture.getchannel("A")
    light = picture.convert("L")
    mask = Image.eval(light, lambda value: 255 if value >= 128 else 0)
    mask.paste(0, mask=Image.eval(alpha, lambda value: 255 if value < 128 else 0))
    if mask.getbbox() is None:
        raise MaskError("Select an area of the image first (rectangle or lasso).")
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG")
    return buffer.getvalue()


async def editor_page(request: web.Request) -> web.StreamResponse:
    context = request.app[CONTEXT]
    link = _link(request, dict(request.query))
    job, image = await _checked(context, link)
    remix = (await context.admission.personal(link.user_id)).remix
    return aiohttp_jinja2.render_template(
        "editor.html",
        request,
        {
            "session": None,
            "job": job,
            "image": image,
            "n": image.index + 1,
            "remix": remix,
            "image_url": f"/edit/{job.id}/{image.index}/image.png?{request.query_string}",
            "fields": {"u": link.user_id, "e": link.expires, "n": link.nonce, "s": link.signature},
            "aspects": REFRAME_ASPECTS,
        },
    )


async def editor_image(request: web.Request) -> web.StreamResponse:
    """The image being edited, for the page's canvas (same signed fields as the page)."""
    context = request.app[CONTEXT]
    job, image = await _checked(context, _link(request, dict(request.query)))
    headers = {"Cache-Control": "no-store"}
    # Opening the editor is a deliberate click (a spoiler shows); a blocked image stays blank.
    covered = await screened_response(
        context.config, context.jobs, job, image.index, reveal=True, headers=headers
    )
    return covered if covered is not None else web.FileResponse(image.path, headers=headers)


async def editor_submit(request: web.Request) -> web.StreamResponse:
    context = request.app[CONTEXT]
    body = await json_body(request)
    link = _link(request, body)
    job, image = await _checked(context, link)
    try:
        mask = decode_mask(str(body.get("mask", "")), (image.width, image.height))
        prompt = str(body.get("prompt") or "").strip()
        user = await context.admission.personal(link.user_id)
        if prompt and not user.remix:
            raise InvalidParameter(
                "Remix is off: Vary (Region) repaints with the image's own prompt. "
                "Turn Remix on in /settings to write one."
            )
        # As Discord: Remix on reads the typed prompt (the image's own when left empty) like a
        # remix; Remix off repaints with the image's own prompt, no reading.
        text = (prompt or job.prompt) if user.remix else None
        place = Place(link.user_id, job.guild_id, job.channel_id)  # results go where the image is
        (new_job,) = await context.admission.action_jobs(
            job,
            VARY_REGION,
            image.index + 1,
            place,
            text=text,
            mask=mask,
            speed=user.speed,
            meta={"source": "web-editor"},
        )
        if not await context.services.sign_ins.use_link(link.nonce, link.user_id, link.expires):
            raise web.HTTPForbidden(text="Invalid link: this editor link was already used.")
        submitted = await context.admission.submit(new_job)
    except UserFacingError as error:
        return web.json_response({"error": {"title": error.title, "message": error.message}}, status=400)
    log.info("region job %s from the web editor for job %s", submitted.id, job.id)
    return web.json_response({"job": submitted.id})


def add_routes(app: web.Application) -> None:
    uuid = r"[0-9a-f-]{36}"
    app.router.add_get(rf"/edit/{{job_id:{uuid}}}/{{index:\d{{1,2}}}}", editor_page)
    app.router.add_get(rf"/edit/{{job_id:{uuid}}}/{{index:\d{{1,2}}}}/image.png", editor_image)
    app.router.add_post(rf"/edit/{{job_id:{uuid}}}/{{index:\d{{1,2}}}}", editor_submit)
