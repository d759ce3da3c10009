"""The web application: build it (`build_app`) and serve it next to the bot (`WebServer`).

One `WebContext` (settings, job service, admission, sessions, OAuth client) is handed in from
outside and kept on the app; the handlers in `pages`, `api`, `auth` and `editor` read it from
there. A middleware loads the session: pages without one redirect to sign-in, API calls answer
401, and every POST must carry the session's CSRF token (403 otherwise). The editor's POST is
authorised by its signed, single-use link instead. Before it, the doors (bot/web/guards.py):
local mode's Host check and every POST's Origin; the security headers go on every response;
a session's servers are re-checked with the bot (bot/web/membership.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.web import (
    api,
    archive,
    auth,
    editor,
    guards,
    image_api,
    pages,
    personal_pages,
    reframe,
    smart_select,
    upload_api,
    uploads,
)
from bot.web.context import CONTEXT, SESSION, WebContext
from bot.web.membership import MEMBERSHIP, MemberCheck, source_of
from bot.web.sessions import csrf_ok

__all__ = ["WebServer", "build_app"]

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
# Reachable without a session: sign-in, static files, the editor (its link is signed).
PUBLIC_PREFIXES = ("/signin", "/auth/", "/static/", "/edit/", "/healthz")
# Seconds a connection may sit without a complete request (headers) before it is closed.
HEADER_TIMEOUT = 15.0
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _wants_json(request: web.Request) -> bool:
    return request.path.startswith("/api/")


@web.middleware
async def session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    context = request.app[CONTEXT]
    session = await context.sessions.load(request)
    if session is not None:
        # Servers the member left (or the bot left) drop out; no server left: signed out.
        session = await request.app[MEMBERSHIP].current(session)
    new_cookie: web.Response | None = None
    if (
        session is None
        and context.local_user is not None
        and request.method == "GET"
        and not request.path.startswith(PUBLIC_PREFIXES)
    ):
        # Local mode: the one user is signed in the first time their browser comes by a page
        # (not /healthz or /static: no session row for every probe).
        new_cookie = web.Response()
        session = await context.sessions.create(
            new_cookie, user_id=context.local_user.user_id, name=context.local_user.name, guilds=[]
        )
    request[SESSION] = session
    if not request.path.startswith(PUBLIC_PREFIXES):
        if session is None:
            if _wants_json(request) or request.method != "GET":
                raise web.HTTPUnauthorized(
                    text='{"error": "Sign in first."}', content_type="application/json"
                )
            raise web.HTTPFound(f"/signin?next={quote(request.rel_url.path, safe='/')}")
        if request.method == "POST" and not await csrf_ok(request, session):
            raise web.HTTPForbidden(text="Missing or wrong CSRF token.")
    elif (
        request.method == "POST"
        and request.path == "/auth/logout"
        and (session is None or not await csrf_ok(request, session))
    ):
        raise web.HTTPForbidden(text="Missing or wrong CSRF token.")
    response = await handler(request)
    if new_cookie is not None:
        for name, morsel in new_cookie.cookies.items():
            response.cookies[name] = morsel
    return response


def build_app(context: WebContext) -> web.Application:
    """The aiohttp application with every route, templates and static files."""
    doors = guards.door_middleware(context.config, local=context.local_user is not None)
    app = web.Application(middlewares=[doors, session_middleware], client_max_size=16 * 1024**2)
    app[CONTEXT] = context
    guards.install(app, HERE / "templates")
    uploads.install(app)
    app[MEMBERSHIP] = MemberCheck(
        context.config, source_of(context.channels), local=context.local_user is not None
    )
    environment = aiohttp_jinja2.setup(
        app, loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True
    )
    environment.globals["tiny_model"] = lambda: _is_tiny(context)
    environment.globals["model_error"] = lambda: context.model_error
    environment.globals["model_loading"] = lambda: context.jobs.loading.active
    app.router.add_static("/static", HERE / "static")
    auth.add_routes(app)
    pages.add_routes(app)
    archive.add_routes(app)  # /archive with dates and filters, several images as a zip
    api.add_routes(app)
    image_api.add_routes(app)
    editor.add_routes(app)
    personal_pages.add_routes(app)  # /personalize, /moodboards (issue 23)
    upload_api.add_routes(app)
    smart_select.add_routes(app)
    reframe.add_routes(app)  # the editor's Reframe: aspect presets, zoom out, position → a Zoom job
    app.on_shutdown.append(_close_streams)
    return app


def _is_tiny(context: WebContext) -> bool:
    try:
        return context.jobs.family.name == "tiny"
    except RuntimeError:  # the model is still loading
        return context.config.model.lower() == "tiny"


async def _close_streams(app: web.Application) -> None:
    streams = app[CONTEXT].streams
    for task in list(streams):
        task.cancel()


class WebServer:
    """The web app listening on WEB_HOST:WEB_PORT (or the given host/port); `start()` / `stop()`."""

    def __init__(self, context: WebContext, *, host: str | None = None, port: int | None = None) -> None:
        self.context = context
        self.host = host if host is not None else context.config.web_host
        self.port = port if port is not None else context.config.web_port
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        """Listen; return the URL it answers on (with the real port when port 0 was asked for)."""
        self._runner = web.AppRunner(
            build_app(self.context),
            access_log=None,
            shutdown_timeout=2.0,
            # Also the time a new connection has to send its request line and headers: an idle
            # or trickling socket (slow loris) is closed after it (aiohttp's default is an hour).
            keepalive_timeout=HEADER_TIMEOUT,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        sockets = self._runner.addresses
        port = sockets[0][1] if sockets else self.port
        self.port = port
        url = f"http://{self.host}:{port}"
        # Links to our own pictures in prompts (Use as --sref, prompt-bar drops) are read from the
        # store, not downloaded: the job service learns the real address (bot/jobs/own_images.py).
        self.context.jobs.intake.own_images.add_origin(url)
        return url

    @property
    def app(self) -> web.Application | None:
        """The running application (None before `start()` and after `stop()`)."""
        return self._runner.app if self._runner is not None else None

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
