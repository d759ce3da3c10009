"""Browser sessions: a signed, HttpOnly, SameSite cookie naming a row in `web_sessions`, and the
CSRF token every POST must carry.

The cookie value is `<session id>.<HMAC of the id>`; the row holds the member, their servers and
the CSRF token, and expires after `SESSION_TTL`. An unknown, forged or expired cookie is no
session: pages redirect to sign-in, API calls answer 401. In local mode (no Discord token and no
OAuth client) the one local user gets a session without signing in.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from dataclasses import dataclass

from aiohttp import web

from bot.governance.web_sign_ins import WebSignIns
from bot.jobs.models import WebSession
from bot.web.links import sign

__all__ = [
    "COOKIE",
    "CSRF_HEADER",
    "SESSION_TTL",
    "LocalUser",
    "SessionStore",
]

log = logging.getLogger(__name__)

COOKIE = "mj_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf"
SESSION_TTL = 7 * 24 * 3600


@dataclass(frozen=True)
class LocalUser:
    """The single member of local mode (no Discord): everything they make is theirs."""

    user_id: int = 0
    name: str = "you"


class SessionStore:
    """Creates, reads and ends sessions; signs their cookies with the web key."""

    def __init__(self, sign_ins: WebSignIns, key: bytes, *, secure: bool, ttl: float = SESSION_TTL) -> None:
        self.sign_ins = sign_ins
        self.key = key
        self.secure = secure
        self.ttl = ttl

    def cookie_value(self, session_id: str) -> str:
        return f"{session_id}.{sign(self.key, 'session', session_id)}"

    def _session_id(self, cookie: str | None) -> str | None:
        if not cookie or "." not in cookie:
            return None
        session_id, _, signature = cookie.partition(".")
        if not hmac.compare_digest(sign(self.key, "session", session_id), signature):
            return None
        return session_id

    async def load(self, request: web.Request) -> WebSession | None:
        """The request's valid session, or None (no cookie, forged, unknown or expired)."""
        session_id = self._session_id(request.cookies.get(COOKIE))
        if session_id is None:
            return None
        return await self.sign_ins.session(session_id)

    async def create(
        self, response: web.StreamResponse, *, user_id: int, name: str, guilds: list[dict[str, str]]
    ) -> WebSession:
        """A new session for the member, its cookie set on `response`."""
        now = time.time()
        session = WebSession(
            id=secrets.token_urlsafe(24),
            user_id=user_id,
            name=name,
            guilds=guilds,
            csrf=secrets.token_urlsafe(24),
            created_at=now,
            expires_at=now + self.ttl,
        )
        await self.sign_ins.start(session)
        response.set_cookie(
            COOKIE,
            self.cookie_value(session.id),
            max_age=int(self.ttl),
            httponly=True,
            samesite="Lax",
            secure=self.secure,
            path="/",
        )
        return session

    async def end(self, request: web.Request, response: web.StreamResponse) -> None:
        session_id = self._session_id(request.cookies.get(COOKIE))
        if session_id is not None:
            await self.sign_ins.end(session_id)
        response.del_cookie(COOKIE, path="/")


async def csrf_ok(request: web.Request, session: WebSession) -> bool:
    """True if the POST carries the session's CSRF token (header, or form field `csrf`)."""
    token = request.headers.get(CSRF_HEADER)
    if token is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        token = (await request.post()).get(CSRF_FIELD)
    return isinstance(token, str) and hmac.compare_digest(token, session.csrf)
