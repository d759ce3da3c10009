"""Sign-in and sign-out pages: `/signin`, `/auth/login` → Discord → `/auth/callback`, `/auth/logout`."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import aiohttp
import aiohttp_jinja2
from aiohttp import web

from bot.web.context import CONTEXT, SESSION
from bot.web.guards import safe_next
from bot.web.membership import MEMBERSHIP, NotAllowed
from bot.web.oauth import NEXT_COOKIE, STATE_COOKIE, SignInFailed

__all__ = ["add_routes"]

log = logging.getLogger(__name__)


# What the sign-in page may say: `?error=` names one of these, never free text (a link could
# otherwise put any words on this site's sign-in page).
SIGNIN_ERRORS = {
    "failed": "Discord did not sign you in. Please try again.",
    "unreachable": "Discord could not be reached. Try again later.",
    "not_set_up": "Sign-in with Discord is not set up on this bot.",
    "not_allowed": "This Discord account may not use this web app: only members of a server the "
    "bot is in (or users its operator listed) can sign in.",
}


async def signin(request: web.Request) -> web.StreamResponse:
    context = request.app[CONTEXT]
    if request.get(SESSION) is not None:
        raise web.HTTPFound(safe_next(request.query.get("next")))
    error = SIGNIN_ERRORS.get(request.query.get("error", ""))
    target = safe_next(request.query.get("next"))
    return aiohttp_jinja2.render_template(
        "signin.html",
        request,
        {
            "configured": context.oauth.configured,
            "error": error,
            "session": None,
            # The page the member was going to (Discord's Web ↗ link): kept through the sign-in.
            "login": f"/auth/login?{urlencode({'next': target})}" if target != "/" else "/auth/login",
        },
    )


async def login(request: web.Request) -> web.StreamResponse:
    context = request.app[CONTEXT]
    if not context.oauth.configured:
        raise web.HTTPFound("/signin?error=not_set_up")
    response = web.Response(status=302)
    response.headers["Location"] = context.oauth.start(request, response)
    target = safe_next(request.query.get("next"))
    if target != "/":
        response.set_cookie(NEXT_COOKIE, target, max_age=600, httponly=True, samesite="Lax", path="/auth")
    return response


async def callback(request: web.Request) -> web.StreamResponse:
    context = request.app[CONTEXT]
    try:
        identity = await context.oauth.finish(request)
    except SignInFailed as error:
        log.info("web sign-in failed: %s", error)
        raise web.HTTPFound("/signin?error=failed") from None
    except (aiohttp.ClientError, TimeoutError, ValueError, KeyError) as error:
        log.warning("web sign-in: Discord could not be reached or answered oddly: %s", error)
        raise web.HTTPFound("/signin?error=unreachable") from None
    membership = request.app[MEMBERSHIP]
    try:
        guilds = membership.admit(identity.user_id, identity.guilds)
    except NotAllowed as error:
        log.info("web sign-in refused for user %s: %s", identity.user_id, error)
        raise web.HTTPFound("/signin?error=not_allowed") from None
    target = safe_next(request.cookies.get(NEXT_COOKIE))
    response = web.Response(status=302, headers={"Location": target})
    session = await context.sessions.create(
        response, user_id=identity.user_id, name=identity.name, guilds=guilds
    )
    membership.signed_in(session)
    response.del_cookie(STATE_COOKIE, path="/auth")
    response.del_cookie(NEXT_COOKIE, path="/auth")
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
