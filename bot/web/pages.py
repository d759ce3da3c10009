"""The HTML pages: Create, Job, one image of a job, Archive, Favourites, a server's gallery, and the
image files themselves (only for members who may see the job)."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import web

from bot.jobs.custom_zoom import custom_zoom_prompt, image_aspect
from bot.jobs.downloads import MAX_IMAGE_BYTES
from bot.jobs.files import GRID_FILE
from bot.jobs.models import WebSession
from bot.jobs.video_jobs import clip_path, is_video_job
from bot.web.access import job_summary, job_view, may_see, visible_job
from bot.web.context import CONTEXT, current_session
from bot.web.create_panel import settings_panel
from bot.web.screened import screened_response

__all__ = ["PAGE_SIZE", "add_routes"]

log = logging.getLogger(__name__)

PAGE_SIZE = 24
RECENT_ON_CREATE = 8
IMAGE_NAME = re.compile(r"^(?:(?P<n>\d{1,2})|grid)\.png$")
CLIP_NAME = re.compile(r"^(?P<n>\d{1,2})\.mp4$")


def _base(request: web.Request, session: WebSession, **extra: Any) -> dict[str, Any]:
    context = request.app[CONTEXT]
    return {
        "session": session,
        "csrf": session.csrf,
        "local": context.local_user is not None,
        "servers": session.guilds,
        "path": request.path,
        **extra,
    }


def _page_number(request: web.Request) -> int:
    try:
        return max(1, int(request.query.get("page", "1")))
    except ValueError:
        return 1


async def create_page(request: web.Request) -> web.StreamResponse:
    context = request.app[CONTEXT]
    session = current_session(request)
    library, members = context.services.library, context.services.members
    recent = await library.archive(session.user_id, limit=RECENT_ON_CREATE)
    cards = [job_summary(job, await library.images(job.id)) for job in recent]
    stealth = await members.stealth(session.user_id)
    remix = await members.remix(session.user_id)
    panel = await settings_panel(context, session.user_id)
    return aiohttp_jinja2.render_template(
        "create.html",
        request,
        _base(
            request,
            session,
            recent=cards,
            stealth=stealth,
            remix=remix,
            panel=panel,
            # Prompt-bar images become links of this address (PUBLIC_URL; else the page's own).
            link_base=context.config.public_url,
            max_image_bytes=MAX_IMAGE_BYTES,
        ),
    )


async def job_page(request: web.Request) -> web.StreamResponse:
    context = request.app[CONTEXT]
    session = current_session(request)
    job = await visible_job(context.jobs, session, request.match_info["job_id"])
    library = context.services.library
    images = await library.images(job.id)
    favourites = await library.favourite_indexes(session.user_id, job.id)
    parent = None
    if job.parent_id is not None:
        parent_job = await library.job(job.parent_id)
        if parent_job is not None and parent_job.user_id == session.user_id:
            parent = job_summary(parent_job, await library.images(parent_job.id))
    children = [
        job_summary(child, await library.images(child.id))
        for child in await library.children(job.id)
        if child.user_id == session.user_id
    ]
    view = job_view(job, images, favourites)
    single = request.match_info.get("n")
    chosen = None
    if single is not None:
        chosen = next((image for image in view["image_list"] if image["n"] == int(single)), None)
        if chosen is None:
            raise web.HTTPNotFound()
    elif not view["grid"] and view["image_list"]:
        chosen = view["image_list"][0]
    mine = job.user_id == session.user_id
    editor = custom_zoom = None
    if chosen is not None and mine and view["done"]:
        link = urlsplit(context.pages.editor_url(job.id, chosen["index"], session.user_id))
        editor = f"{link.path}?{link.query}"  # relative: the browser is already on this site
        custom_zoom = custom_zoom_prompt(job.prompt, image_aspect(job, (chosen["width"], chosen["height"])))
    return aiohttp_jinja2.render_template(
        "job.html",
        request,
        _base(
            request,
            session,
            job=view,
            chosen=chosen,
            mine=mine,
            parent=parent,
            children=children,
            editor=editor,
            custom_zoom=custom_zoom,
            cancellable=mine and not job.status.is_terminal,
            remix=await context.services.members.remix(session.user_id),
            can_post=context.channels is not None and mine and view["done"],
            # "Use as --sref" of another member's image: in the job's server (bot/jobs/own_images.py).
            use_server="" if mine or job.guild_id is None else str(job.guild_id),
        ),
    )


async def favourites_page(request: web.Request) -> web.StreamResponse:
    context = request.app[CONTEXT]
    session = current_session(request)
    page = _page_number(request)
    rows = await context.services.library.favourites(
        session.user_id, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
    )
    cards = [
        {
            "url": f"/jobs/{job.id}/{index + 1}",
            "picture": f"/images/{job.id}/{index}.png",
            "prompt": job.prompt,
            "label": f"Image #{index + 1}",
            "status": job.status.value,
        }
        for job, index in rows[:PAGE_SIZE]
        if await may_see(context.jobs, session, job)
    ]
    return aiohttp_jinja2.render_template(
        "favourites.html",
        request,
        _base(request, session, title="Favourites", cards=cards, page=page, more=len(rows) > PAGE_SIZE),
    )


async def gallery_page(request: web.Request) -> web.StreamResponse:
    context = request.app[CONTEXT]
    session = current_session(request)
    server = request.match_info["guild_id"]
    guild_id = int(server)
    names = {int(guild["id"]): guild.get("name", "") for guild in session.guilds}
    if guild_id not in names:
        raise web.HTTPNotFound()
    page = _page_number(request)
    library = context.services.library
    jobs = await library.gallery(guild_id, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    cards = [job_summary(job, await library.images(job.id)) for job in jobs[:PAGE_SIZE]]
    return aiohttp_jinja2.render_template(
        "gallery.html",
        request,
        _base(
            request,
            session,
            title=f"Gallery of {names[guild_id] or guild_id}",
            cards=cards,
            page=page,
            more=len(jobs) > PAGE_SIZE,
        ),
    )


async def image_file(request: web.Request) -> web.StreamResponse:
    """A job's PNG (with its `parameters` metadata, as stored) or grid; `?download=1` saves it.
    Flagged pictures are covered as NSFW_FILTER says (bot/web/screened.py)."""
    context = request.app[CONTEXT]
    session = current_session(request)
    match = IMAGE_NAME.match(request.match_info["name"])
    if match is None:
        raise web.HTTPNotFound()
    job = await visible_job(context.jobs, session, request.match_info["job_id"])
    if match.group("n") is None:
        path = context.jobs.grid_path(job.id)
        filename = f"{job.id}_grid.png"
    else:
        image = await context.services.library.image(job.id, int(match.group("n")))
        if image is None:
            raise web.HTTPNotFound()
        path = image.path
        filename = f"{job.id}_{image.index + 1}.png"
    # The path comes from the database (or the job folder), never from the URL.
    if not path.is_file() or path.name not in (GRID_FILE, f"{match.group('n')}.png"):
        raise web.HTTPNotFound()
    headers = {"Cache-Control": "private, max-age=3600"}
    download = request.query.get("download") == "1"
    if download:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    # NSFW_FILTER: flagged pictures are blurred (spoiler) or blanked (block), from stored verdicts.
    index = None if match.group("n") is None else int(match.group("n"))
    reveal = download or request.query.get("reveal") == "1"
    covered = await screened_response(
        context.config, context.jobs, job, index, reveal=reveal, headers=headers
    )
    return covered if covered is not None else web.FileResponse(path, headers=headers)


async def clip_file(request: web.Request) -> web.StreamResponse:
    """A video job's clip `<n>.mp4` (range requests, so browsers seek); `?download=1` saves it.
    A clip whose poster the NSFW filter covers is not served unless revealed or downloaded."""
    context = request.app[CONTEXT]
    session = current_session(request)
    match = CLIP_NAME.match(request.match_info["name"])
    if match is None:
        raise web.HTTPNotFound()
    job = await visible_job(context.jobs, session, request.match_info["job_id"])
    index = int(match.group("n"))
    if not is_video_job(job) or await context.services.library.image(job.id, index) is None:
        raise web.HTTPNotFound()
    path = clip_path(context.jobs.job_folder(job.id), index)  # from the job folder, not the URL
    if not path.is_file():
        raise web.HTTPNotFound()
    headers = {"Cache-Control": "private, max-age=3600"}
    download = request.query.get("download") == "1"
    if download:
        headers["Content-Disposition"] = f'attachment; filename="{job.id}_{index + 1}.mp4"'
    if not (download or request.query.get("reveal") == "1"):
        covered = await screened_response(context.config, context.jobs, job, index, reveal=False, headers={})
        if covered is not None:
            raise web.HTTPNotFound()
    return web.FileResponse(path, headers=headers)


def add_routes(app: web.Application) -> None:
    uuid = r"[0-9a-f-]{36}"
    app.router.add_get("/", create_page)
    app.router.add_get("/favourites", favourites_page)
    app.router.add_get(r"/servers/{guild_id:\d{1,20}}", gallery_page)
    app.router.add_get(f"/jobs/{{job_id:{uuid}}}", job_page)
    app.router.add_get(rf"/jobs/{{job_id:{uuid}}}/{{n:\d{{1,2}}}}", job_page)
    app.router.add_get("/images/{job_id}/{name}", image_file)
    app.router.add_get("/clips/{job_id}/{name}", clip_file)
