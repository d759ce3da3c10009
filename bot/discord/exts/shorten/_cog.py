"""The /shorten command and its 1️⃣–5️⃣ buttons.

The analysis runs on the GPU worker (a queued shorten job: the model's own CLIP text encoder),
never on the event loop. Parameters are kept apart: only the text is analysed, and the
parameters are added back to every shorter prompt.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.buttons import PromptButton
from bot.discord.delivery import channel_of, place_of, upload_meta
from bot.discord.image_commands import imagine_prompts
from bot.discord.replies import send_error
from bot.errors import EmptyPrompt, JobNotFound, UserFacingError
from bot.jobs.image_jobs import shorten_request
from bot.jobs.models import JobKind, NewJob
from bot.prompt.params import normalise_dashes, read_parameters, split_parameters

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot

log = logging.getLogger(__name__)

MAX_PROMPT_OPTION = 6000


class Shorten(commands.Cog):
    def __init__(self, bot: MidjourneyBot) -> None:
        self.bot = bot
        self.bot.add_dynamic_items(PromptButton)

    @app_commands.command(
        name="shorten", description="See which words of a prompt matter, and shorter prompts"
    )
    @app_commands.describe(prompt="The prompt to analyse")
    async def shorten(
        self, interaction: discord.Interaction, prompt: app_commands.Range[str, 1, MAX_PROMPT_OPTION]
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            await self.submit(interaction, prompt)
        except UserFacingError as error:
            await send_error(interaction, error)
            return
        await interaction.delete_original_response()

    async def submit(self, interaction: discord.Interaction, prompt: str) -> None:
        """Check the prompt here (channel, banned words, parameters) and admit a shorten job."""
        admission = self.bot.admission
        place = place_of(interaction)
        limits = await admission.guild_limits(place.guild_id)
        limits.check_channel(place.channel_id, place.parent_channel_id)
        await admission.check_text(prompt, place.guild_id)
        text, pairs = split_parameters(normalise_dashes(prompt))
        read_parameters(pairs)  # a bad parameter is refused now, not after the analysis
        if not text:
            raise EmptyPrompt("There is nothing to shorten: the prompt has no text.")
        params = " ".join(f"--{name} {value}".strip() for name, value in pairs)
        new_job = NewJob(
            kind=JobKind.SHORTEN,
            user_id=place.user_id,
            prompt=prompt,
            request=shorten_request(text),
            guild_id=place.guild_id,
            channel_id=place.channel_id,
            meta={**upload_meta(interaction), "params": params},
        )
        await self.bot.front.submit(channel_of(interaction), new_job)

    async def on_prompt_button(
        self, interaction: discord.Interaction, action: str, job_id: str, index: int
    ) -> None:
        """1️⃣–5️⃣: imagine shorter prompt n (with the original parameters)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            job = await self.bot.front.load_job(job_id)
            shorter = (job.meta.get("result") or {}).get("shorter") or []
            if job.kind is not JobKind.SHORTEN or not 1 <= index <= len(shorter):
                raise JobNotFound(f"Job `{job_id}` has no shorter prompt #{index}.")
            params = job.meta.get("params", "")
            await imagine_prompts(self.bot, interaction, [f"{shorter[index - 1]} {params}".strip()])
        except UserFacingError as error:
            await send_error(interaction, error)
            return
        await interaction.delete_original_response()
