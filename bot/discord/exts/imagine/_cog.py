"""The /imagine command.

The interaction is deferred at once (ephemeral, so that errors are shown only to the user); each
job then gets a progress message in the channel, posted by the bot rather than through the
interaction, and the deferred reply is removed. More than `CONFIRM_OVER` jobs ask first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.delivery import place_of, upload_meta
from bot.discord.pending import pending_of, with_interaction_ids
from bot.discord.render import CONFIRM_OVER, confirm_content
from bot.discord.replies import Confirmation, send_error
from bot.errors import UserFacingError
from bot.jobs.models import NewJob
from bot.prompt.completion import style_completions

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot

log = logging.getLogger(__name__)

MAX_PROMPT_OPTION = 6000


class Imagine(commands.Cog):
    def __init__(self, bot: MidjourneyBot) -> None:
        self.bot = bot

    @app_commands.command(name="imagine", description="Create images from a text prompt")
    @app_commands.describe(prompt="The prompt, with --parameters at the end (e.g. --ar 3:2)")
    async def imagine(
        self, interaction: discord.Interaction, prompt: app_commands.Range[str, 1, MAX_PROMPT_OPTION]
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        # Until it is answered, the interaction is recorded: a restart in between finishes it
        # (bot/discord/pending.py), and its jobs' ids come from it, so none is queued twice.
        store = self.bot.store
        await store.record_interaction(pending_of(interaction, "imagine", prompt))
        try:
            await self._imagine(interaction, prompt)
        except asyncio.CancelledError:
            raise  # the bot is stopping: the record stays, the next start finishes it
        except Exception:
            await store.forget_interaction(interaction.id)  # answered by the error handler
            raise
        await store.forget_interaction(interaction.id)

    async def _imagine(self, interaction: discord.Interaction, prompt: str) -> None:
        admission = self.bot.admission
        try:
            place = place_of(interaction)
            requests = await admission.read(prompt, place)
            new_jobs = admission.imagine_jobs(requests, place, meta=upload_meta(interaction))
            if len(new_jobs) > CONFIRM_OVER:
                view = Confirmation(interaction.user.id, self._submitter(new_jobs))
                await interaction.edit_original_response(content=confirm_content(len(new_jobs)), view=view)
                return
            await self.bot.front.submit_all(interaction, with_interaction_ids(interaction.id, new_jobs))
        except UserFacingError as error:
            await send_error(interaction, error)
            return
        notes = sorted({request.draft_note for request in requests if request.draft_note})
        if notes:  # how a --draft runs (with the draft LoRA, or fewer steps of the base model)
            await interaction.edit_original_response(content="\n".join(notes))
            return
        await interaction.delete_original_response()

    def _submitter(self, new_jobs: list[NewJob]) -> Callable[[discord.Interaction], Awaitable[None]]:
        """What "Yes" does under "submit N prompts?": the jobs were admitted when the prompt was
        read; each submit checks the waiting limits again."""

        async def submit(interaction: discord.Interaction) -> None:
            await interaction.response.edit_message(content=f"Submitting {len(new_jobs)} jobs…", view=None)
            await self.bot.front.submit_all(interaction, new_jobs)

        return submit

    @imagine.autocomplete("prompt")
    async def complete_prompt(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """`… --style ne` offers `… --style neon-noir` for each of the server's styles (and `raw`)."""
        names: list[str] = []
        if interaction.guild_id is not None and "style" in current.lower():
            presets = await self.bot.store.get_guild_presets(interaction.guild_id)
            names = [preset.name for preset in presets]
        return [app_commands.Choice(name=text, value=text) for text in style_completions(current, names)]
