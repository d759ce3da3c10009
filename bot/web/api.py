"""The JSON and event-stream endpoints the pages' script calls.

- `POST /api/imagine` {prompt, server}: the prompt bar (errors come back as {error: {title, message}}).
- `POST /api/jobs/{id}/actions` {action, index, prompt}: any job-making action of the action table
  (`bot/jobs/actions.py`: V-n, 🔄, ✨ Enhance, Vary, Upscale, Zoom, Pan) on a finished job, by its
  name or an older web name (`variation`, `vary_strong`, …). With `prompt` (Remix: the member's
  edit of the job's prompt) the text is read like Discord's remix modal reads it; `custom_zoom`
  needs it (prompt, `--zoom` 1-2, maybe a new `--ar`). Vary (Region) is drawn in the editor.
- `POST /api/jobs/{id}/cancel`: ❌ on the member's own waiting or running job.
- `POST /api/settings` {remix}: the member's Remix mode (the same setting as Discord's /settings).
- `POST /api/jobs/{id}/favourite` {index}: ❤️ toggle.
- `GET /api/jobs/{id}`: the job now; `GET /api/jobs/{id}/events`: its progress as server-sent
  events (`queued`, `progress` with a JPEG preview, then `done`, `failed` or `cancelled`).
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
from typing import Any

from aiohttp import web
from PIL import Image

from bot.errors import InvalidParameter, InvalidPrompt, UserFacingError
from bot.governance.admission import Place
from bot.jobs.actions import Form, Surface, resolve
from bot.jobs.events import Cancelled, Failed, Finished, Progress, Queued, Started
from bot.jobs.models import JobKind, JobStatus
from bot.web import guards
from bot.web.access import job_summary, visible_job
from bot.web.context import CONTEXT, current_session
from bot.web.guards import stream_slot, with_heartbeats

__all__ = [
    "MAX_WEB_JOBS",
    "add_routes",
    "error_response",
    "json_body",
    "member_guild",
    "model_missing",
    "preview_data_url",
    "prompt_too_long",
]

log = logging.getLogger(__name__)

MAX_PROMPT = 6000


# One Enter in the prompt bar makes at most this many jobs (the web page asks no confirmation).
MAX_WEB_JOBS = 10
PREVIEW_SIDE = 256


def error_response(error: UserFacingError, status: int = 400) -> web.Response:
    return web.json_response({"error": {"title": error.title, "message": error.message}}, status=status)


async def json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text="Expected a JSON body.") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="Expected a JSON object.")
    return body


def model_missing(request: web.Request) -> web.Response | None:
    """503 when the model could not be loaded. While it loads the request is taken: admission
    waits for the model, so a prompt typed the moment the page answers is queued."""
    context = request.app[CONTEXT]
    error = context.model_error or context.jobs.loading.error
    if error is None:
        return None
    return web.json_response({"error": {"title": "No model", "message": error}}, status=503)


async def imagine(request: web.Request) -> web.StreamResponse:
    context = request.app[CONTEXT]
    session = current_session(request)
    if (missing := model_missing(request)) is not None:
        return missing
    body = await json_body(request)
    prompt = str(body.get("prompt", "")).strip()
    if len(prompt) > MAX_PROMPT:
        return prompt_too_long()
    guild_id = member_guild(request, str(body.get("server") or ""))
    try:
        jobs = await context.admission.imagine(
            prompt, Place(session.user_id, guild_id), most=MAX_WEB_JOBS, meta={"source": "web"}
        )
    except UserFacingError as error:
        return error_response(error)
    return web.json_response({"jobs": [job_summary(job) for job in jobs]})


def member_guild(request: web.Request, server: str | None) -> int | None:
    """The server (id text from a form) the signed-in member picked, None for none; 403 when they
    are not a member of it."""
    guild_id = int(server) if server and server.isdigit() else None
    if guild_id is not None and guild_id not in current_session(request).guild_ids():
        raise web.HTTPForbidden(text="You are not a member of that server.")
    return guild_id


def prompt_too_long() -> web.Response:
    return error_response(InvalidPrompt(f"The prompt is longer than {MAX_PROMPT} characters."))


def _image_index(body: dict[str, Any]) -> int:
    """The 0-based index of the image a button is for (the page sends 1-4, as the buttons read)."""
    index = body.get("index")
    if not isinstance(index, int) or isinstance(index, bool) or index < 1:
        raise web.HTTPBadRequest(text="Pick one image (index 1-4).")
    return index - 1


async def action(request: web.Request) -> web.StreamResponse:
    """A button of the action table on a finished job: its jobs, through the one admission."""
    context = request.app[CONTEXT]
    session = current_session(request)
    if (missing := model_missing(request)) is not None:
        return missing
    parent = await visible_job(context.jobs, session, request.match_info["job_id"])
    body = await json_body(request)
    name = str(body.get("action", ""))
    spec = resolve(name, front="web")
    if spec is None or spec.kind is None or spec.surface not in (Surface.GRID, Surface.SINGLE, Surface.VIDEO):
        raise web.HTTPBadRequest(text=f"Unknown action {name!r}.")
    if spec.form is Form.REGION:
        raise web.HTTPBadRequest(text="Vary (Region) is drawn in the region editor.")
    prompt = body.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise web.HTTPBadRequest(text="The prompt must be text.")
    if prompt is not None and len(prompt) > MAX_PROMPT:
        return prompt_too_long()
    index = None if spec.kind is JobKind.REROLL else _image_index(body) + 1
    try:
        user = await context.admission.personal(session.user_id)
        jobs = await context.admission.act(
            parent,
            spec,
            index,
            Place(session.user_id, parent.guild_id),
            text=prompt,
            mode=user.variation_mode if spec.kind is JobKind.VARIATION else None,
            speed=user.speed,
            meta={"source": "web"},
        )
    except UserFacingError as error:
        return error_response(error)
    return web.json_response({"jobs": [job_summary(job) for job in jobs]})


async def cancel(request: web.Request) -> web.StreamResponse:
    """❌ on a waiting or running job: only its owner's (anyone else gets 404, as for a job they
    cannot see)."""
    context = request.app[CONTEXT]
    session = current_session(request)
    job = await visible_job(context.jobs, session, request.match_info["job_id"])
    if job.user_id != session.user_id:
        raise web.HTTPNotFound()
    if not await context.jobs.cancel(job.id, user_id=session.user_id):
        return error_response(UserFacingError("This job has already finished."))
    return web.json_response({"cancelled": True, "id": job.id})


async def user_settings(request: web.Request) -> web.StreamResponse:
    """The member's personal settings the web can change: Remix mode (Discord's /settings toggle)."""
    context = request.app[CONTEXT]
    session = current_session(request)
    body = await json_body(request)
    if set(body) != {"remix"} or not isinstance(body["remix"], bool):
        raise web.HTTPBadRequest(text='Expected {"remix": true|false}.')
    remix = await context.services.members.set_remix(session.user_id, body["remix"])
    return web.json_response({"remix": remix})


async def favourite(request: web.Request) -> web.StreamResponse:
    context = request.app[CONTEXT]
    session = current_session(request)
    job = await visible_job(context.jobs, session, request.match_info["job_id"])
    body = await json_body(request)
    index = body.get("index")
    if not isinstance(index, int):
        raise web.HTTPBadRequest(text="No such image.")
    try:
        now = await context.services.library.toggle_favourite(session.user_id, job.id, index)
    except InvalidParameter:
        raise web.HTTPBadRequest(text="No such image.") from None
    return web.json_response({"favourite": now})


async def job_state(request: web.Request) -> web.StreamResponse:
    context = request.app[CONTEXT]
    session = current_session(request)
    job = await visible_job(context.jobs, session, request.match_info["job_id"])
    images = await context.services.library.images(job.id) if job.status is JobStatus.DONE else []
    return web.json_response(job_summary(job, images))


async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events of one job until it ends (or the browser goes away)."""
    context = request.app[CONTEXT]
    session = current_session(request)
    job = await visible_job(context.jobs, session, request.match_info["job_id"])
    with stream_slot(request, session.id):  # 429 past MAX_STREAMS_PER_SESSION
        return await _stream(request, job.id)


async def _stream(request: web.Request, job_id: str) -> web.StreamResponse:
    context = request.app[CONTEXT]
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
    await response.prepare(request)
    task = asyncio.current_task()
    if task is not None:
        context.streams.add(task)
    try:
        async for event in with_heartbeats(context.jobs.subscribe(job_id), guards.HEARTBEAT_SECONDS):
            if event is None:
                await response.write(b": keep-alive\n\n")
            elif isinstance(event, Queued):
                await _send(response, "queued", {"position": event.position})
            elif isinstance(event, Started):
                await _send(response, "progress", {"percent": 0})
            elif isinstance(event, Progress):
                data: dict[str, Any] = {"percent": event.percent}
                if event.preview is not None:
                    data["preview"] = await asyncio.to_thread(preview_data_url, event.preview)
                await _send(response, "progress", data)
            elif isinstance(event, Finished):
                await _send(response, "done", job_summary(event.job, event.images))
            elif isinstance(event, Failed):
                await _send(response, "failed", {"message": event.message})
            elif isinstance(event, Cancelled):
                await _send(response, "cancelled", {})
    except ConnectionResetError:
        log.debug("the browser stopped following job %s", job_id)
    finally:
        if task is not None:
            context.streams.discard(task)
    return response


async def _send(response: web.StreamResponse, name: str, data: dict[str, Any]) -> None:
    await response.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())


def preview_data_url(picture: Image.Image) -> str:
    """A small JPEG of the in-progress picture as a data: URL."""
    small = picture.convert("RGB")
    small.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    buffer = io.BytesIO()
    small.save(buffer, format="JPEG", quality=70)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


async def server_channels(request: web.Request) -> web.StreamResponse:
    """The channels of a server where the member (and the bot) may post."""
    context = request.app[CONTEXT]
    session = current_session(request)
    if context.channels is None:
        raise web.HTTPNotFound()
    guild_id = int(request.match_info["guild_id"])
    if context.local_user is None:
        # The member's own servers only: asking Discord about any other spends the bot's rate
        # limit. (The local user of local mode has no Discord servers to check.)
        member_guild(request, str(guild_id))
    channels = await context.channels.postable_channels(session.user_id, guild_id)
    return web.json_response({"channels": [{"id": str(cid), "name": name} for cid, name in channels]})


async def post_to_channel(request: web.Request) -> web.StreamResponse:
    """Post one of my finished jobs to a Discord channel I may post in."""
    context = request.app[CONTEXT]
    session = current_session(request)
    job = await visible_job(context.jobs, session, request.match_info["job_id"])
    if context.channels is None or job.user_id != session.user_id:
        raise web.HTTPNotFound()
    body = await json_body(request)
    channel = str(body.get("channel", ""))
    if not channel.isdigit():
        raise web.HTTPBadRequest(text="Pick a channel.")
    try:
        message_id = await context.channels.post(job, session.user_id, int(channel))
    except UserFacingError as error:
        return error_response(error, status=403)
    return web.json_response({"message": str(message_id)})


async def stealth(request: web.Request) -> web.StreamResponse:
    """The web's /stealth and /public switch."""
    context = request.app[CONTEXT]
    session = current_session(request)
    body = await json_body(request)
    on = body.get("stealth")
    if not isinstance(on, bool):
        raise web.HTTPBadRequest(text='Expected {"stealth": true|false}.')
    await context.services.members.set_stealth(session.user_id, on)
    return web.json_response({"stealth": on})


def add_routes(app: web.Application) -> None:
    uuid = r"[0-9a-f-]{36}"
    app.router.add_post("/api/imagine", imagine)
    app.router.add_post("/api/stealth", stealth)
    app.router.add_post("/api/settings", user_settings)
    app.router.add_get(f"/api/jobs/{{job_id:{uuid}}}", job_state)
    app.router.add_get(f"/api/jobs/{{job_id:{uuid}}}/events", events)
    app.router.add_post(f"/api/jobs/{{job_id:{uuid}}}/actions", action)
    app.router.add_post(f"/api/jobs/{{job_id:{uuid}}}/cancel", cancel)
    app.router.add_post(f"/api/jobs/{{job_id:{uuid}}}/favourite", favourite)
    app.router.add_post(f"/api/jobs/{{job_id:{uuid}}}/post", post_to_channel)
    app.router.add_get(r"/api/servers/{guild_id:\d{1,20}}/channels", server_channels)
