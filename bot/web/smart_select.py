"""Smart Select in the browser editor: a click on the picture → the object's mask.

`POST /edit/{job}/{index}/select` with the editor link's signed fields (the link is checked, not
spent: the region submit spends it) and the click `x`, `y` in the image's pixels makes one Smart
Select job through the one admission (`JobKind.SELECT`; SEGMENT_MODEL missing → `Not available`
before anything is queued; the member's and the server's limits apply), waits for it, and answers
its mask as a PNG data URL (white = selected), which the editor adds to the drawn area.

A click's job is a working job (`UNLISTED_KINDS`): it counts against the limits and its GPU time
is accounted, but it is never listed (archive, Create page, gallery) and, made with no channel,
never posted to Discord — the region job the submit makes is the member's real result.
"""

from __future__ import annotations

import asyncio
import base64
import logging

from aiohttp import web

from bot.errors import InvalidParameter, UserFacingError
from bot.governance.admission import Place
from bot.jobs.actions import resolve
from bot.jobs.editor_jobs import select_mode
from bot.jobs.events import Failed, Finished
from bot.web.api import json_body
from bot.web.context import CONTEXT
from bot.web.editor import checked_link

__all__ = ["SMART_SELECT", "add_routes", "smart_select"]

log = logging.getLogger(__name__)

SMART_SELECT = resolve("smart_select")
# A click's mask should come back while the member waits; past this the answer is an error.
SELECT_SECONDS = 120.0


async def smart_select(request: web.Request) -> web.StreamResponse:
    context = request.app[CONTEXT]
    body = await json_body(request)
    job, image, user_id = await checked_link(request, body)
    try:
        try:
            point = (int(body["x"]), int(body["y"]))
        except (KeyError, TypeError, ValueError):
            raise InvalidParameter("Click on the picture to select an object.") from None
        assert SMART_SELECT is not None
        place = Place(user_id, job.guild_id)  # the server's rules; no channel: nothing is posted
        (made,) = await context.admission.act(
            job,
            SMART_SELECT,
            image.index + 1,
            place,
            mode=select_mode(point=point),
            meta={"source": "web-editor"},
        )
        outcome = None
        async with asyncio.timeout(SELECT_SECONDS):
            async for event in context.jobs.subscribe(made.id):
                outcome = event
        if isinstance(outcome, Failed) or not isinstance(outcome, Finished):
            raise InvalidParameter(getattr(outcome, "message", None) or "Smart Select did not finish.")
        data = await asyncio.to_thread(outcome.images[0].path.read_bytes)
    except TimeoutError:
        return web.json_response(
            {"error": {"title": "Job failed", "message": "Smart Select took too long."}}, status=400
        )
    except UserFacingError as error:
        return web.json_response({"error": {"title": error.title, "message": error.message}}, status=400)
    log.info("smart select job %s from the web editor for job %s", made.id, job.id)
    return web.json_response(
        {"mask": "data:image/png;base64," + base64.b64encode(data).decode(), "job": made.id}
    )


def add_routes(app: web.Application) -> None:
    uuid = r"[0-9a-f-]{36}"
    app.router.add_post(rf"/edit/{{job_id:{uuid}}}/{{index:\d{{1,2}}}}/select", smart_select)
