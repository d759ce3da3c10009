"""The Archive page (search, favourites, server, dates; each card dated) and several of its jobs
downloaded at once as one zip (`POST /archive/zip`, a form with the CSRF field and `job` ids)."""

from __future__ import annotations

import calendar
import io
import time
import zipfile
from datetime import date
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from bot.errors import UserFacingError
from bot.web.access import JOB_ID, job_summary, may_see, visible_job
from bot.web.api import error_response, json_body
from bot.web.context import CONTEXT, current_session
from bot.web.pages import PAGE_SIZE, _base, _page_number

__all__ = ["MAX_ZIP_JOBS", "add_routes", "day_start"]

MAX_ZIP_JOBS = 50


def day_start(value: str) -> float | None:
    """Midnight UTC of a `YYYY-MM-DD` date (an <input type=date>); None for anything else."""
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        return None
    return float(calendar.timegm(day.timetuple()))


async def archive_page(request: web.Request) -> web.StreamResponse:
    context = request.app[CONTEXT]
    session = current_session(request)
    library = context.services.library
    page = _page_number(request)
    text = request.query.get("q", "").strip()[:200]
    favourites_only = request.query.get("fav") == "1"
    server = request.query.get("server", "")
    guild_id = int(server) if server.isdigit() else None
    since = day_start(request.query.get("from", ""))
    until = day_start(request.query.get("to", ""))
    hidden = request.query.get("hidden") == "1"
    jobs = await library.archive(
        session.user_id,
        text=text,
        favourites_only=favourites_only,
        guild_id=guild_id,
        since=since,
        until=None if until is None else until + 86400,  # "to" includes that day
        hidden=hidden,
        limit=PAGE_SIZE + 1,
        offset=(page - 1) * PAGE_SIZE,
    )
    cards = []
    for job in jobs[:PAGE_SIZE]:
        card = job_summary(job, await library.images(job.id))
        card["date"] = time.strftime("%Y-%m-%d", time.gmtime(job.enqueued_at))
        cards.append(card)
    values: dict[str, Any] = {
        "title": "Archive",
        "cards": cards,
        "page": page,
        "more": len(jobs) > PAGE_SIZE,
        "q": text,
        "fav": favourites_only,
        "server": server,
        "hidden": hidden,
        "date_from": request.query.get("from", "") if since is not None else "",
        "date_to": request.query.get("to", "") if until is not None else "",
    }
    return aiohttp_jinja2.render_template("archive.html", request, _base(request, session, **values))


async def archive_zip(request: web.Request) -> web.StreamResponse:
    """The chosen jobs' PNGs (every image of each, as stored with their parameters) in one zip.
    Jobs the member may not see are left out, as if they did not exist."""
    context = request.app[CONTEXT]
    session = current_session(request)
    form = await request.post()
    ids = list(dict.fromkeys(str(value) for value in form.getall("job", []) if JOB_ID.match(str(value))))
    if not ids:
        raise web.HTTPBadRequest(text="Choose one or more images to download.")
    if len(ids) > MAX_ZIP_JOBS:
        raise web.HTTPBadRequest(text=f"At most {MAX_ZIP_JOBS} jobs in one download.")
    library = context.services.library
    buffer = io.BytesIO()
    count = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # PNGs are compressed already
        for job_id in ids:
            job = await context.jobs.get_job(job_id)
            if job is None or not await may_see(context.jobs, session, job):
                continue
            for image in await library.images(job.id):
                if image.path.is_file():
                    archive.write(image.path, f"{job.id}_{image.index + 1}.png")
                    count += 1
    if not count:
        raise web.HTTPNotFound(text="None of these images can be downloaded.")
    headers = {"Content-Disposition": 'attachment; filename="mj-images.zip"', "Cache-Control": "no-store"}
    return web.Response(body=buffer.getvalue(), content_type="application/zip", headers=headers)


async def hide(request: web.Request) -> web.StreamResponse:
    """Hide (`{"hidden": true}`) or unhide one of my jobs; others' jobs are 404."""
    context = request.app[CONTEXT]
    session = current_session(request)
    job = await visible_job(context.jobs, session, request.match_info["job_id"])
    if job.user_id != session.user_id:
        raise web.HTTPNotFound()
    body = await json_body(request)
    hidden = body.get("hidden")
    if not isinstance(hidden, bool):
        raise web.HTTPBadRequest(text="Say hidden: true or false.")
    await context.services.library.set_hidden(job, hidden)
    return web.json_response({"hidden": hidden})


async def delete(request: web.Request) -> web.StreamResponse:
    """Delete one of my finished jobs for good (rows and files); others' jobs are 404."""
    context = request.app[CONTEXT]
    session = current_session(request)
    job = await visible_job(context.jobs, session, request.match_info["job_id"])
    if job.user_id != session.user_id:
        raise web.HTTPNotFound()
    try:
        await context.services.library.delete(job, context.jobs.job_folder(job.id))
    except UserFacingError as error:
        return error_response(error)
    return web.json_response({"deleted": job.id})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/archive", archive_page)
    app.router.add_post("/archive/zip", archive_zip)
    app.router.add_post(r"/api/jobs/{job_id:[0-9a-f-]{36}}/hide", hide)
    app.router.add_post(r"/api/jobs/{job_id:[0-9a-f-]{36}}/delete", delete)
