"""Who is signed in to the web app: sessions (created at sign-in, ended at sign-out) and the
single-use editor links (a link's nonce is spent once)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.jobs.models import WebSession
    from bot.store.repository import Repository

__all__ = ["WebSignIns"]


class WebSignIns:
    """Web sessions and single-use link nonces."""

    def __init__(self, repository: Repository) -> None:
        self._repository = repository

    async def session(self, session_id: str) -> WebSession | None:
        """The session, if it exists and has not expired."""
        return await self._repository.get_web_session(session_id)

    async def start(self, session: WebSession) -> None:
        await self._repository.create_web_session(session)

    async def end(self, session_id: str) -> None:
        """Sign out (expired sessions are dropped at the same time)."""
        await self._repository.delete_web_session(session_id)

    async def link_used(self, nonce: str) -> bool:
        """Whether a single-use link was used already."""
        return await self._repository.web_nonce_used(nonce)

    async def use_link(self, nonce: str, user_id: int, expires_at: float) -> bool:
        """Spend a single-use link; False when it had been used before."""
        return await self._repository.use_web_nonce(nonce, user_id, expires_at)
