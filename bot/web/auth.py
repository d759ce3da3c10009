"""Sign-in and sign-out pages: `/signin`, `/auth/login` → Discord → `/auth/callback`, `/auth/logout`."""

from __future__ import annotations

import logging
from urllib.parse import quote

import aiohttp
import aiohttp_jinja2
from aiohttp import web

from bot.web.context import CONTEXT, SESSION
from bot.web.oauth import STATE_COOKIE, SignInFailed

__all__ = ["add_routes"]

log = logging.getLogger(__name__)


def _safe_next(value: str | None) -> str:
    """Only paths of this site (never `//host` or a scheme) are followed after sign-in."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


async def signin(request: web.Request) -> web.StreamResponse:
    context = request.app[CONTEXT]
    if request.get(SESSION) is not None:
        raise web.HTTPFound(_safe_next(request.query.get("next")))
    return aiohttp_jinja2.render_template(
        "signin.html",
        request,
        {"configured": context.oauth.configured, "error": request.query.get("error"), "session": None},
    )


async def login(request: web.Request) -> web.StreamResponse:
    context = request.app[CONTEXT]
    if not context.oauth.configured:
        raise web.HTTPFound("/signin?error=Sign-in+with+Discord+is+not+set+up+on+this+bot.")
    response = web.Response(status=302)
    response.headers["Location"] = context.oauth.start(request, response)
    return response


async def callback(request: web.Request) -> web.StreamResponse:
    context = request.app[CONTEXT]
    try:
        identity = await context.oauth.finish(request)
    except SignInFailed as error:
        log.info("web sign-in failed: %s", error)
        raise web.HTTPFound(f"/signin?error={quote(str(error))}") from None
    except (aiohttp.ClientError, TimeoutError, ValueError, KeyError) as error:
        log.warning("web sign-in: Discord could not be reached or answered oddly: %s", error)
        raise web.HTTPFound("/signin?error=Discord+could+not+be+reached.+Try+again+later.") from None
    response = web.Response(status=302, headers={"Location": "/"})
    await context.sessions.create(
        response, user_id=identity.user_id, name=identity.name, guilds=identity.guilds
    )
    response.del_cookie(STATE_COOKIE, path="/auth")
    log.info("member %s signed in on the web", identity.user_id)
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    response = web.Response(status=302, headers={"Location": "/signin"})
    await request.app[CONTEXT].sessions.end(request, response)
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/signin", signin)
    app.router.add_get("/auth/login", login)
    app.router.add_get("/auth/callback", callback)
    app.router.add_post("/auth/logout", logout)
    app.router.add_get("/healthz", healthz)


async def healthz(_request: web.Request) -> web.Response:
    return web.Response(text="ok")
