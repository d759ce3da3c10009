"""The personalization pages: `/personalize` (rank pairs of your images: click, or press 1 / 2,
S to skip; progress to unlocking; your profile code) and `/moodboards` (make named sets of your
archive images, see their codes, delete them). They call the Personalization service only."""

from __future__ import annotations

import re
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from bot.errors import UserFacingError
from bot.governance.personalization import Personalization
from bot.web.context import CONTEXT, current_session

__all__ = ["add_routes"]

IMAGE_REF = re.compile(r"^([0-9a-f-]{1,64}):(\d{1,2})$")
MOODBOARD_CHOICES = 24


def _service(request: web.Request) -> Personalization:
    return request.app[CONTEXT].admission.personalization


def _base(request: web.Request, **extra: Any) -> dict[str, Any]:
    context = request.app[CONTEXT]
    session = current_session(request)
    return {
        "session": session,
        "csrf": session.csrf,
        "local": context.local_user is not None,
        "servers": session.guilds,
        "path": request.path,
        **extra,
    }


def _image(value: object) -> tuple[str, int]:
    match = IMAGE_REF.match(value if isinstance(value, str) else "")
    if match is None:
        raise web.HTTPBadRequest(text="Unknown image.")
    return match.group(1), int(match.group(2))


async def personalize_page(request: web.Request, error: str = "") -> web.StreamResponse:
    session = current_session(request)
    service = _service(request)
    try:
        skip = max(0, min(1000, int(request.query.get("skip", "0"))))
    except ValueError:
        skip = 0
    pair = await service.next_pair(session.user_id, skip)
    status = await service.status(session.user_id)
    values = _base(request, title="Personalize", pair=pair, status=status, skip=skip, error=error)
    return aiohttp_jinja2.render_template("personalize.html", request, values)


async def rank(request: web.Request) -> web.StreamResponse:
    session = current_session(request)
    form = await request.post()
    left, right = _image(form.get("left")), _image(form.get("right"))
    choice = form.get("choice")
    if choice not in ("1", "2"):
        raise web.HTTPBadRequest(text="Choose image 1 or 2.")
    preferred, other = (left, right) if choice == "1" else (right, left)
    try:
        await _service(request).rank(session.user_id, preferred, other)
    except UserFacingError as error:
        return await personalize_page(request, error.message)
    raise web.HTTPSeeOther("/personalize")


async def moodboards_page(request: web.Request, error: str = "") -> web.StreamResponse:
    session = current_session(request)
    service = _service(request)
    boards = await service.moodboards(session.user_id)
    choices = await service.archive_images(session.user_id, MOODBOARD_CHOICES)
    values = _base(request, title="Moodboards", boards=boards, choices=choices, error=error)
    return aiohttp_jinja2.render_template("moodboards.html", request, values)


async def save_moodboard(request: web.Request) -> web.StreamResponse:
    session = current_session(request)
    form = await request.post()
    images = [_image(value) for value in form.getall("image", [])]
    try:
        await _service(request).moodboard_from_archive(session.user_id, str(form.get("name", "")), images)
    except UserFacingError as error:
        return await moodboards_page(request, error.message)
    raise web.HTTPSeeOther("/moodboards")


async def delete_moodboard(request: web.Request) -> web.StreamResponse:
    session = current_session(request)
    form = await request.post()
    await _service(request).delete_moodboard(session.user_id, str(form.get("name", "")))
    raise web.HTTPSeeOther("/moodboards")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/personalize", personalize_page)
    app.router.add_post("/personalize", rank)
    app.router.add_get("/moodboards", moodboards_page)
    app.router.add_post("/moodboards", save_moodboard)
    app.router.add_post("/moodboards/delete", delete_moodboard)
