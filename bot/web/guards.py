"""The web app's doors: which `Host` and `Origin` it answers, the headers every answer carries
(errors too), where a sign-in may send the browser on, and how many progress streams one
session may hold open.

- **Local mode** (one local user, no sign-in) answers only the loopback names it listens on
  (`127.0.0.1`, `localhost`, `[::1]`, and PUBLIC_URL's host when set): any other `Host` is
  421, so a web page that rebinds its own DNS name to 127.0.0.1 reaches nothing.
- **Every POST** from a browser must come from this site: an `Origin` (or `Sec-Fetch-Site`)
  naming another site is 403, before the CSRF token is even read.
- **Headers**: a Content-Security-Policy (scripts from this site and the templates' own inline
  calls only), no framing, no sniffing, a same-origin referrer, and a `Server` header without
  versions, on every response — 302, 403 and 404 included.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TypeVar
from urllib.parse import unquote, urlsplit

from aiohttp import web

from bot.config import Config

__all__ = [
    "LOOPBACK_NAMES",
    "MAX_STREAMS_PER_SESSION",
    "SERVER_HEADER",
    "StreamSlots",
    "allowed_hosts",
    "content_security_policy",
    "door_middleware",
    "host_name",
    "install",
    "safe_next",
    "stream_slot",
    "with_heartbeats",
]

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
SERVER_HEADER = "mj-bot"
# Progress streams (server-sent events) one session may hold open at once: a page shows a few
# jobs; thousands are a browser (or a script) holding sockets and memory.
MAX_STREAMS_PER_SESSION = 8
# Methods that change something: their Origin is checked.
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Seconds between keep-alive comments of a progress stream that has nothing to say.
HEARTBEAT_SECONDS = 15.0
T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def host_name(host: str | None) -> str | None:
    """The name part of a `Host` header (`[::1]:8080` → `::1`, `Localhost:80` → `localhost`)."""
    if not host:
        return None
    host = host.strip().lower()
    if host.startswith("["):
        name, bracket, _ = host[1:].partition("]")
        return name if bracket else None
    name, _, port = host.partition(":")
    if port and not port.isdigit():
        return None
    return name.rstrip(".") or None


def allowed_hosts(config: Config) -> frozenset[str]:
    """The host names local mode answers: loopback, and PUBLIC_URL's host when the operator set one."""
    names = set(LOOPBACK_NAMES)
    if config.public_url:
        public = urlsplit(config.public_url).hostname
        if public:
            names.add(public.lower())
    return frozenset(names)


def _same_site(request: web.Request, config: Config) -> bool:
    """False when the browser says the request comes from another site (Origin, Sec-Fetch-Site)."""
    origin = request.headers.get("Origin")
    if origin is not None:
        if origin == "null":
            return False
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return False
        ours = {request.host.lower()}
        if config.public_url:
            ours.add(urlsplit(config.public_url).netloc.lower())
        return parts.netloc.lower() in ours
    fetch_site = request.headers.get("Sec-Fetch-Site")
    return fetch_site is None or fetch_site in ("same-origin", "none")


def door_middleware(config: Config, *, local: bool) -> Callable[..., Awaitable[web.StreamResponse]]:
    """The middleware that answers a wrong `Host` (local mode) with 421 and a cross-site POST with 403."""
    hosts = allowed_hosts(config)

    @web.middleware
    async def doors(request: web.Request, handler: Handler) -> web.StreamResponse:
        if local and host_name(request.headers.get("Host")) not in hosts:
            raise web.HTTPMisdirectedRequest(
                text="This address is not served here: open the app at http://127.0.0.1 (local mode)."
            )
        if request.method in UNSAFE_METHODS and not _same_site(request, config):
            raise web.HTTPForbidden(text="Requests from other sites are refused.")
        return await handler(request)

    return doors


_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def content_security_policy(templates: Path) -> str:
    """The CSP header: everything from this site only; the templates' few inline `<script>` calls
    (e.g. `MJ.initJob();`) allowed by their hashes, nothing else inline."""
    hashes = sorted(
        {
            "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
            for path in sorted(templates.glob("*.html"))
            for body in _INLINE_SCRIPT.findall(path.read_text(encoding="utf-8"))
        }
    )
    return "; ".join(
        [
            "default-src 'self'",
            " ".join(["script-src 'self'", *hashes]),
            "style-src 'self'",
            "img-src 'self' data: blob:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def install(app: web.Application, templates: Path) -> None:
    """The security headers on every response this app prepares (errors and static files too)."""
    policy = content_security_policy(templates)

    async def add_headers(_request: web.Request, response: web.StreamResponse) -> None:
        headers = response.headers
        headers["Server"] = SERVER_HEADER
        headers.setdefault("Content-Security-Policy", policy)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")

    app.on_response_prepare.append(add_headers)
    app[STREAM_SLOTS] = StreamSlots()


async def with_heartbeats(events: AsyncIterator[T], seconds: float) -> AsyncIterator[T | None]:
    """`events`, with a None between them whenever `seconds` pass without one: the stream writes
    a comment then, so a browser that went away is noticed (the write fails) and its stream slot
    is freed even while the job sends nothing (waiting in the queue, or held)."""
    queue: asyncio.Queue[tuple[bool, T | None]] = asyncio.Queue()

    async def pump() -> None:
        try:
            async for event in events:
                await queue.put((False, event))
        finally:
            await queue.put((True, None))

    task = asyncio.create_task(pump())
    try:
        while True:
            try:
                done, event = await asyncio.wait_for(queue.get(), seconds)
            except TimeoutError:
                yield None
                continue
            if done:
                break
            yield event
        await task  # its error, if any, is the stream's
    finally:
        task.cancel()


def safe_next(value: str | None) -> str:
    """Where to go after sign-in: a path of this site only. Browsers drop tabs and newlines from
    URLs (`/\\t/evil.example` becomes `//evil.example`), so any control character, space or
    backslash, or anything that names a host or a scheme, gives `/`."""
    if not value or not value.startswith("/"):
        return "/"
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F or c == "\\" for c in value):
        return "/"
    decoded = unquote(value)
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F or c == "\\" for c in decoded):
        return "/"
    parts = urlsplit(value)
    if value.startswith("//") or parts.scheme or parts.netloc or decoded.startswith("//"):
        return "/"
    return value


class StreamSlots:
    """Counts the open progress streams of each session; a session past the limit gets 429."""

    def __init__(self, most: int = MAX_STREAMS_PER_SESSION) -> None:
        self.most = most
        self.open: dict[str, int] = {}

    @contextmanager
    def hold(self, session_id: str) -> Iterator[None]:
        if self.open.get(session_id, 0) >= self.most:
            raise web.HTTPTooManyRequests(
                text=f"Too many progress streams open ({self.most}): close some tabs."
            )
        self.open[session_id] = self.open.get(session_id, 0) + 1
        try:
            yield
        finally:
            left = self.open[session_id] - 1
            if left:
                self.open[session_id] = left
            else:
                del self.open[session_id]


STREAM_SLOTS: web.AppKey[StreamSlots] = web.AppKey("stream_slots", StreamSlots)


def stream_slot(request: web.Request, session_id: str) -> AbstractContextManager[None]:
    """One of the session's MAX_STREAMS_PER_SESSION stream slots (429 when all are taken)."""
    return request.app[STREAM_SLOTS].hold(session_id)
