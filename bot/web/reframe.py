"""Reframe in the browser editor: the member places the image on a canvas of another shape (aspect
presets, zoom out 1–2, dragged to any position) and submits; the new area is painted around it.

`POST /edit/{job}/{index}/reframe` with the editor link's signed fields, `aspect` (a preset or
`original`), `zoom`, `x`, `y` (the image's place: the share of the free width and height left of
and above it) and the prompt box makes one Zoom job — the same outpaint as Zoom Out / Custom Zoom /
Make Square (the action table's `reframe` row, `JobKind.ZOOM`, mode `"<zoom> <W>:<H> <X>,<Y>"`,
its recipe `Zoom: …`) through the one admission, with Remix's rules for the prompt as Vary
(Region). The link is spent like the region submit's; a bad placement is refused before that.
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.errors import InvalidParameter, UserFacingError
from bot.governance.admission import Place
from bot.jobs.actions import resolve
from bot.web.api import json_body
from bot.web.context import CONTEXT
from bot.web.editor import checked_link, editor_link
from bot.web.reframe_geometry import reframe_mode

__all__ = ["REFRAME", "add_routes", "reframe"]

log = logging.getLogger(__name__)

REFRAME = resolve("reframe")


def _number(body: dict, name: str, default: float) -> float:
    try:
        return float(body.get(name, default))
    except (TypeError, ValueError):
        raise InvalidParameter(f"Reframe: `{name}` must be a number.") from None


async def reframe(request: web.Request) -> web.StreamResponse:
    context = request.app[CONTEXT]
    body = await json_body(request)
    link = editor_link(request, body)
    job, image, user_id = await checked_link(request, body)
    try:
        mode = reframe_mode(
            (image.width, image.height),
            str(body.get("aspect") or ""),
            _number(body, "zoom", 1.0),
            _number(body, "x", 0.5),
            _number(body, "y", 0.5),
        )
        prompt = str(body.get("prompt") or "").strip()
        user = await context.admission.personal(user_id)
        if prompt and not user.remix:
            raise InvalidParameter(
                "Remix is off: Reframe paints with the image's own prompt. Turn Remix on in /settings to write one."
            )
        text = (prompt or job.prompt) if user.remix else None
        assert REFRAME is not None
        place = Place(user_id, job.guild_id, job.channel_id)  # results go where the image is
        made = await context.admission.action_jobs(
            job, REFRAME, image.index + 1, place, text=text, mode=mode, speed=user.speed,
            meta={"source": "web-editor"},
        )  # fmt: skip
        if not await context.services.sign_ins.use_link(link.nonce, link.user_id, link.expires):
            raise web.HTTPForbidden(text="Invalid link: this editor link was already used.")
        submitted = [await context.admission.submit(new_job) for new_job in made]
    except UserFacingError as error:
        return web.json_response({"error": {"title": error.title, "message": error.message}}, status=400)
    log.info("reframe job(s) %s from the web editor for job %s", [job.id for job in submitted], job.id)
    return web.json_response({"job": submitted[0].id, "jobs": [job.id for job in submitted]})


def add_routes(app: web.Application) -> None:
    uuid = r"[0-9a-f-]{36}"
    app.router.add_post(rf"/edit/{{job_id:{uuid}}}/{{index:\d{{1,2}}}}/reframe", reframe)
