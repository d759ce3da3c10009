"""Sign-in with Discord: the OAuth2 authorization-code flow (scopes `identify guilds`).

`/auth/login` sends the browser to Discord's authorize page with a random `state` (also kept in a
short-lived HttpOnly cookie); `/auth/callback` checks the state, trades the code for a token at
`DISCORD_OAUTH_BASE/api/v10/oauth2/token`, reads the member and their servers, and opens a
session. The token is used once and not stored.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from bot.config import Config

__all__ = ["NEXT_COOKIE", "SCOPES", "DiscordIdentity", "OAuthClient", "SignInFailed"]

log = logging.getLogger(__name__)

SCOPES = "identify guilds"
STATE_COOKIE = "mj_oauth_state"
NEXT_COOKIE = "mj_oauth_next"  # where to land after sign-in (a path of this site, see safe_next)
API = "/api/v10"


class SignInFailed(Exception):
    """Discord did not sign the member in (denied, bad state, or an error answer)."""


@dataclass(frozen=True)
class DiscordIdentity:
    user_id: int
    name: str
    guilds: list[dict[str, str]]


class OAuthClient:
    """Talks to Discord's OAuth2 endpoints (or a fake of them at DISCORD_OAUTH_BASE)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.base = config.discord_oauth_base

    @property
    def configured(self) -> bool:
        return bool(self.config.discord_client_id and self.config.discord_client_secret)

    def redirect_uri(self, request: web.Request) -> str:
        """PUBLIC_URL/auth/callback; without PUBLIC_URL, the address the browser used."""
        origin = self.config.public_url or f"{request.scheme}://{request.host}"
        return f"{origin}/auth/callback"

    def start(self, request: web.Request, response: web.StreamResponse) -> str:
        """The authorize URL to send the browser to; sets the state cookie on `response`."""
        state = secrets.token_urlsafe(24)
        secure = request.secure or (self.config.public_url or "").startswith("https://")
        response.set_cookie(
            STATE_COOKIE, state, max_age=600, httponly=True, samesite="Lax", path="/auth", secure=secure
        )
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.config.discord_client_id,
                "scope": SCOPES,
                "state": state,
                "redirect_uri": self.redirect_uri(request),
                "prompt": "none",
            }
        )
        return f"{self.base}/oauth2/authorize?{query}"

    async def finish(self, request: web.Request) -> DiscordIdentity:
        """The member who came back to /auth/callback; raises SignInFailed."""
        if "error" in request.query:
            raise SignInFailed(
                f"Discord said: {request.query.get('error_description') or request.query['error']}"
            )
        state = request.query.get("state", "")
        expected = request.cookies.get(STATE_COOKIE, "")
        if not state or not expected or not hmac.compare_digest(state, expected):
            raise SignInFailed("The sign-in link is stale or was not started here. Please try again.")
        code = request.query.get("code")
        if not code:
            raise SignInFailed("Discord sent no authorization code.")
        timeout = aiohttp.ClientTimeout(total=15)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            token = await self._post_json(
                http,
                f"{self.base}{API}/oauth2/token",
                {
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": self.redirect_uri(request),
                    "client_id": self.config.discord_client_id,
                    "client_secret": self.config.discord_client_secret,
                },
            )
            access = token.get("access_token")
            if not isinstance(access, str):
                raise SignInFailed("Discord sent no access token.")
            headers = {"Authorization": f"Bearer {access}"}
            user = await self._get_json(http, f"{self.base}{API}/users/@me", headers)
            guilds = await self._get_json(http, f"{self.base}{API}/users/@me/guilds", headers)
        name = user.get("global_name") or user.get("username") or "member"
        servers = [
            {"id": str(guild["id"]), "name": str(guild.get("name", ""))}
            for guild in (guilds if isinstance(guilds, list) else [])
        ]
        return DiscordIdentity(int(user["id"]), str(name), servers)

    @staticmethod
    async def _post_json(http: aiohttp.ClientSession, url: str, form: dict[str, str]) -> dict[str, Any]:
        async with http.post(url, data=form, headers={"Accept": "application/json"}) as response:
            if response.status != 200:
                raise SignInFailed(f"Discord refused the sign-in ({response.status}).")
            return await response.json()

    @staticmethod
    async def _get_json(http: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> Any:
        async with http.get(url, headers=headers) as response:
            if response.status != 200:
                raise SignInFailed(f"Discord did not tell who you are ({response.status}).")
            return await response.json()
