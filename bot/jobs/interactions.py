"""Interactions a front received and has not answered yet: recorded just before the
acknowledgement, forgotten once answered, finished after a restart (bot/discord/pending.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.jobs.disk import refusing_when_full
from bot.jobs.models import PendingInteraction

if TYPE_CHECKING:
    from bot.store.repository import Repository

__all__ = ["PendingInteractions"]


class PendingInteractions:
    """The durable list of received, unanswered interactions."""

    def __init__(self, repository: Repository) -> None:
        self._repository = repository

    async def record(self, pending: PendingInteraction) -> None:
        """Store `pending`; DiskFull (the member's answer) when the database's disk is full."""
        with refusing_when_full():
            await self._repository.record_interaction(pending)

    async def forget(self, interaction_id: int) -> None:
        await self._repository.forget_interaction(interaction_id)

    async def unanswered(self) -> list[PendingInteraction]:
        """Every recorded interaction, oldest first."""
        return await self._repository.pending_interactions()
