"""Who may use the web app, and which servers a session still counts.

- **Sign-in**: beside the Discord bot, a member of at least one server the bot is in, or a user
  listed in WEB_ALLOWED_USERS; in web-only mode (sign-in set up, no Discord bot), only the users
  in WEB_ALLOWED_USERS. Anyone else is turned away at the OAuth callback: the GPU is not open to
  every Discord account.
- **Servers** of a session are those the member and the bot share. They are checked again while
  the session lives: a server the bot left drops at once (the bot's guild cache), and each
  server's membership is asked again every `REFRESH_SECONDS` (the member cache, else one REST
  call), so a member removed from a server loses its gallery, images and progress streams
  within minutes, not when the 7-day session expires.

The Discord side provides a `MembershipSource` (bot/discord/web_posting.py's `DiscordPoster`);
the web app never imports discord.py.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Protocol, runtime_checkable

from aiohttp import web

from bot.config import Config
from bot.jobs.models import WebSession

__all__ = ["MEMBERSHIP", "REFRESH_SECONDS", "MemberCheck", "MembershipSource", "NotAllowed", "source_of"]

log = logging.getLogger(__name__)

REFRESH_SECONDS = 300.0
# Sessions whose servers are remembered at once (older entries are checked again when seen).
MAX_REMEMBERED = 10_000


class NotAllowed(Exception):
    """This Discord account may not use the web app (no shared server, not on the allowlist)."""


@runtime_checkable
class MembershipSource(Protocol):
    """What the Discord bot knows: the servers it is in, and whether someone is a member."""

    def bot_guild_ids(self) -> set[int]: ...

    async def is_member(self, user_id: int, guild_id: int) -> bool | None:
        """True / False, or None when Discord could not be asked (keep what was known)."""
        ...


class MemberCheck:
    """Sign-in admission and the periodic re-check of a session's servers."""

    def __init__(
        self,
        config: Config,
        source: MembershipSource | None,
        *,
        local: bool = False,
        refresh: float | None = None,
    ) -> None:
        self.allowed = config.web_allowed_users
        self.local = local  # local mode: the one local user, nobody signs in
        self.source = source
        self.refresh = REFRESH_SECONDS if refresh is None else refresh
        # session id → (when its servers were last checked, the servers that held then)
        self._checked: dict[str, tuple[float, list[dict[str, str]]]] = {}

    def admit(self, user_id: int, guilds: list[dict[str, str]]) -> list[dict[str, str]]:
        """The servers a signing-in member keeps (those shared with the bot); NotAllowed when they
        share none and are not in WEB_ALLOWED_USERS (web-only mode: not in it)."""
        if self.source is None:
            if user_id in self.allowed:
                return guilds
            raise NotAllowed("This web app admits only the users its operator listed (WEB_ALLOWED_USERS).")
        ours = self.source.bot_guild_ids()
        shared = [guild for guild in guilds if int(guild["id"]) in ours]
        if not shared and user_id not in self.allowed:
            raise NotAllowed("Only members of a server this bot is in can sign in.")
        return shared

    async def current(self, session: WebSession) -> WebSession | None:
        """The session with only the servers it still shares with the bot; None when it no
        longer admits (no shared server and not on the allowlist; in web-only mode, taken off
        the allowlist)."""
        if self.local:
            return session
        if self.source is None:
            return session if session.user_id in self.allowed else None
        now = time.monotonic()
        checked_at, known = self._checked.get(session.id, (float("-inf"), session.guilds))
        ours = self.source.bot_guild_ids()
        if now - checked_at >= self.refresh:
            self._remember(session.id, now, known)  # first: requests meanwhile use the old list
            # Servers the bot is not in (now) are kept in the list, unasked: while the bot is
            # still connecting its guild cache is empty, and that must not forget them.
            known = [
                guild
                for guild in known
                if int(guild["id"]) not in ours or await self._still_member(session.user_id, guild)
            ]
            checked_at = now
        self._remember(session.id, checked_at, known)
        guilds = [guild for guild in known if int(guild["id"]) in ours]
        if not guilds and session.user_id not in self.allowed:
            return None
        return dataclasses.replace(session, guilds=guilds)

    def signed_in(self, session: WebSession) -> None:
        """A session just opened: its servers were checked with Discord a moment ago."""
        self._remember(session.id, time.monotonic(), session.guilds)

    async def _still_member(self, user_id: int, guild: dict[str, str]) -> bool:
        assert self.source is not None
        member = await self.source.is_member(user_id, int(guild["id"]))
        if member is False:
            log.info(
                "user %s is no longer in server %s: dropped from their web session", user_id, guild["id"]
            )
        return member is not False

    def _remember(self, session_id: str, when: float, guilds: list[dict[str, str]]) -> None:
        if len(self._checked) >= MAX_REMEMBERED and session_id not in self._checked:
            self._checked.pop(next(iter(self._checked)))
        self._checked[session_id] = (when, guilds)


MEMBERSHIP: web.AppKey[MemberCheck] = web.AppKey("membership", MemberCheck)


def source_of(channels: object) -> MembershipSource | None:
    """The Discord side's membership answers, when the web app runs beside the bot."""
    return channels if isinstance(channels, MembershipSource) else None
