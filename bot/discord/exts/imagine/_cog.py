"""The /imagine command.

The interaction is deferred at once (ephemeral, so that errors are shown only to the user); each
job then gets a progress message in the channel, posted by the bot rather than through the
interaction, and the deferred reply is removed. More than `CONFIRM_OVER` jobs ask first.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.delivery import channel_of
from bot.discord.origin import Origin, origin_of
from bot.discord.pending import AGAIN_TEXT, Ack, recorded, thinking, with_interaction_ids
from bot.discord.render import CONFIRM_OVER, confirm_content
from bot.discord.replies import Confirmation, send_error
from bot.errors import UserFacingError
from bot.jobs.models import NewJob, PendingInteraction
from bot.prompt.completion import style_completions

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot

log = logging.getLogger(__name__)

MAX_PROMPT_OPTION = 6000


class Imagine(commands.Cog):
    def __init__(self, bot: MidjourneyBot) -> None:
        self.bot = bot
        bot.resumers["imagine"] = self.resume_imagine
        bot.resumers["confirm"] = self.resume_confirmed

    @app_commands.command(name="imagine", description="Create images from a text prompt")
    @app_commands.describe(prompt="The prompt, with --parameters at the end (e.g. --ar 3:2)")
    async def imagine(
        self, interaction: discord.Interaction, prompt: app_commands.Range[str, 1, MAX_PROMPT_OPTION]
    ) -> None:
        # Recorded, then acknowledged, until it is answered: a restart in between finishes it
        # (bot/discord/pending.py), and its jobs' ids come from it, so none is queued twice.
        async with recorded(self.bot, interaction, "imagine", prompt, ack=thinking(interaction)):
            await self._imagine(interaction, prompt)

    async def _imagine(self, interaction: discord.Interaction, prompt: str) -> None:
        admission = self.bot.admission
        origin = origin_of(interaction)
        try:
            requests = await admission.read(prompt, origin.place)
            new_jobs = admission.imagine_jobs(requests, origin.place, meta=origin.meta)
            if len(new_jobs) > CONFIRM_OVER:
                view = Confirmation(interaction.user.id, self._submitter(prompt, new_jobs))
                await interaction.edit_original_response(content=confirm_content(len(new_jobs)), view=view)
                return
            await self.bot.front.submit_all(
                origin.channel, with_interaction_ids(origin.interaction_id, new_jobs)
            )
        except UserFacingError as error:
            await send_error(interaction, error)
            return
        notes = sorted({request.draft_note for request in requests if request.draft_note})
        if notes:  # how a --draft runs (with the draft LoRA, or fewer steps of the base model)
            await interaction.edit_original_response(content="\n".join(notes))
            return
        await interaction.delete_original_response()

    def _submitter(
        self, prompt: str, new_jobs: list[NewJob]
    ) -> Callable[[discord.Interaction], Awaitable[None]]:
        """What "Yes" does under "submit N prompts?": the jobs were admitted when the prompt was
        read; each submit checks the waiting limits again. The click is recorded like /imagine
        (a restart reads the prompt again and submits it without asking)."""

        async def submit(interaction: discord.Interaction) -> None:
            ack = Ack(
                lambda: interaction.response.edit_message(
                    content=f"Submitting {len(new_jobs)} jobs…", view=None
                )
            )
            async with recorded(self.bot, interaction, "confirm", prompt, ack=ack):
                jobs = with_interaction_ids(interaction.id, new_jobs)
                await self.bot.front.submit_all(channel_of(interaction), jobs)

        return submit

    async def resume_imagine(self, origin: Origin, pending: PendingInteraction) -> str | None:
        """/imagine after a restart: the prompt read again, its jobs that do not exist submitted."""
        new_jobs = await self._jobs_of(origin, pending.prompt)
        started = [new_job for new_job in new_jobs if await self.bot.jobs.get_job(new_job.id or "")]
        if not started and len(new_jobs) > CONFIRM_OVER:
            # It would have asked "submit N prompts?" first: the member decides again.
            return f"{AGAIN_TEXT} without asking you first. Please run it again."
        await self.bot.front.submit_all(origin.channel, new_jobs)
        return None

    async def resume_confirmed(self, origin: Origin, pending: PendingInteraction) -> str | None:
        """ "Yes" under "submit N prompts?" after a restart: every job of the prompt, no question."""
        await self.bot.front.submit_all(origin.channel, await self._jobs_of(origin, pending.prompt))
        return None

    async def _jobs_of(self, origin: Origin, prompt: str) -> list[NewJob]:
        admission = self.bot.admission
        requests = await admission.read(prompt, origin.place)
        new_jobs = admission.imagine_jobs(requests, origin.place, meta=origin.meta)
        return with_interaction_ids(origin.interaction_id, new_jobs)

    @imagine.autocomplete("prompt")
    async def complete_prompt(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """`… --style ne` offers `… --style neon-noir` for each of the server's styles (and `raw`)."""
        names: list[str] = []
        if interaction.guild_id is not None and "style" in current.lower():
            presets = await self.bot.services.styles.all(interaction.guild_id)
            names = [preset.name for preset in presets]
        return [app_commands.Choice(name=text, value=text) for text in style_completions(current, names)]
