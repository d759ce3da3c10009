"""Interactions a front acknowledged and has not answered yet: recorded right after the
acknowledgement, forgotten once answered, finished after a restart (bot/discord/pending.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.jobs.models import PendingInteraction

if TYPE_CHECKING:
    from bot.store.repository import Repository

__all__ = ["PendingInteractions"]


class PendingInteractions:
    """The durable list of acknowledged, unanswered interactions."""

    def __init__(self, repository: Repository) -> None:
        self._repository = repository

    async def record(self, pending: PendingInteraction) -> None:
        await self._repository.record_interaction(pending)

    async def forget(self, interaction_id: int) -> None:
        await self._repository.forget_interaction(interaction_id)

    async def unanswered(self) -> list[PendingInteraction]:
        """Every recorded interaction, oldest first."""
        return await self._repository.pending_interactions()
