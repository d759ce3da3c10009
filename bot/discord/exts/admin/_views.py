"""The admin panels. They live in memory only (ephemeral, for the admin who opened them): after a
restart or their timeout the admin runs the command again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import discord

from bot.discord.permissions import admin_guild_id
from bot.discord.replies import report_unexpected, send_error
from bot.errors import UserFacingError

if TYPE_CHECKING:
    from bot.jobs.models import Job

PANEL_TIMEOUT = 300
MAX_SELECT_OPTIONS = 25


async def still_admin(interaction: discord.Interaction) -> bool:
    """Manage Server, checked again at each click (an answer is sent when it is missing)."""
    try:
        admin_guild_id(interaction)
    except UserFacingError as error:
        await send_error(interaction, error)
        return False
    return True


class AdminPanel(discord.ui.View):
    """A view only its admin may use; each use checks Manage Server again."""

    def __init__(self, owner_id: int) -> None:
        super().__init__(timeout=PANEL_TIMEOUT)
        self.owner_id = owner_id

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.owner_id:
            await send_error(interaction, UserFacingError("This panel belongs to the admin who opened it."))
            return False
        return await still_admin(interaction)

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item
    ) -> None:
        if isinstance(error, UserFacingError):
            await send_error(interaction, error)
        else:
            await report_unexpected(interaction, error)


class QueuePanel(AdminPanel):
    """/queue: a select that cancels one of the listed jobs, and a refresh button."""

    def __init__(
        self,
        owner_id: int,
        jobs: list[tuple[str, Job]],
        on_cancel: Callable[[discord.Interaction, str], Awaitable[None]],
        on_refresh: Callable[[discord.Interaction], Awaitable[None]],
    ) -> None:
        super().__init__(owner_id)
        self._on_cancel = on_cancel
        self._on_refresh = on_refresh
        if jobs:
            select: discord.ui.Select = discord.ui.Select(
                placeholder="Cancel a job…",
                options=[
                    discord.SelectOption(label=label[:100], value=job.id, description=f"job {job.id}")
                    for label, job in jobs[:MAX_SELECT_OPTIONS]
                ],
                custom_id="queue:cancel",
            )
            select.callback = self._cancel  # type: ignore[method-assign]
            self.cancel_select = select
            self.add_item(select)

    async def _cancel(self, interaction: discord.Interaction) -> None:
        await self._on_cancel(interaction, self.cancel_select.values[0])

    @discord.ui.button(label="Refresh", emoji="🔄", style=discord.ButtonStyle.secondary, row=1)
    async def refresh(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:
        await self._on_refresh(interaction)
