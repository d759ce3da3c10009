"""What every web handler reads: the `WebContext` (built once, kept on the app under `CONTEXT`)
and the request's session (`SESSION`, set by the session middleware)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiohttp import web

from bot.config import Config
from bot.governance.admission import Admission
from bot.jobs.models import WebSession
from bot.jobs.ports import ChannelPoster, WebPages
from bot.jobs.service import JobService
from bot.services import Services
from bot.web.links import WebAddresses, base_url, signing_key
from bot.web.oauth import OAuthClient
from bot.web.sessions import LocalUser, SessionStore

__all__ = ["CONTEXT", "SESSION", "ChannelPoster", "WebContext", "current_session"]

CONTEXT: web.AppKey[WebContext] = web.AppKey("web_context")
SESSION: web.RequestKey[WebSession | None] = web.RequestKey("mj_session")


@dataclass
class WebContext:
    """Everything the handlers need, built once and passed in."""

    config: Config
    jobs: JobService
    # What the handlers call instead of the store (bot/services.py).
    services: Services
    # Links to this app's own pages (the same port the Discord side uses).
    pages: WebPages
    admission: Admission
    sessions: SessionStore
    oauth: OAuthClient
    # Local mode (no Discord): this user is signed in on every browser that reaches the app.
    local_user: LocalUser | None = None
    # Posting to Discord channels (the bot is running beside the web app).
    channels: ChannelPoster | None = None
    # Why the model could not be loaded (local mode keeps serving and shows it).
    model_error: str | None = None
    # Open event streams, closed when the server stops.
    streams: set[asyncio.Task[object]] = field(default_factory=set)
    # Uploads decoded at the same time (/blend, /describe): bounds the memory decoded pictures take.

    @classmethod
    def create(
        cls,
        config: Config,
        jobs: JobService,
        *,
        local_user: LocalUser | None = None,
        channels: ChannelPoster | None = None,
        services: Services | None = None,
    ) -> WebContext:
        """The context over `services` (built over `jobs` when not given, e.g. in tests)."""
        services = services if services is not None else Services.of(jobs, config)
        sessions = SessionStore(
            services.sign_ins, signing_key(config), secure=base_url(config).startswith("https://")
        )
        return cls(
            config,
            jobs,
            services,
            WebAddresses(config),
            services.admission,
            sessions,
            OAuthClient(config),
            local_user,
            channels,
        )


def current_session(request: web.Request) -> WebSession:
    """The signed-in member of a request that passed the session middleware."""
    session = request.get(SESSION)
    if session is None:
        raise web.HTTPUnauthorized()
    return session
