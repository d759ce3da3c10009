"""The "submit N prompts?" question. It lives in memory only: after a restart or 3 minutes the
user simply runs /imagine again, as with Midjourney's own confirmation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.discord.buttons import send_error
from bot.errors import UserFacingError

if TYPE_CHECKING:
    from bot.discord.delivery import JobFront
    from bot.jobs.models import NewJob


class ConfirmJobs(discord.ui.View):
    def __init__(self, front: JobFront, new_jobs: list[NewJob], *, owner_id: int) -> None:
        super().__init__(timeout=180)
        self.front = front
        self.new_jobs = new_jobs
        self.owner_id = owner_id

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return interaction.user.id == self.owner_id

    @discord.ui.button(label="Yes", style=discord.ButtonStyle.success)
    async def confirm(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:
        self.stop()
        await interaction.response.edit_message(content=f"Submitting {len(self.new_jobs)} jobs…", view=None)
        try:
            # Admitted when the prompt was read; each submit checks the waiting limits again.
            await self.front.submit_all(interaction, self.new_jobs)
        except UserFacingError as error:
            await send_error(interaction, error)

    @discord.ui.button(label="No", style=discord.ButtonStyle.danger)
    async def cancel(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:
        self.stop()
        await interaction.response.edit_message(content="Cancelled; nothing was submitted.", view=None)
