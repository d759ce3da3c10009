"""The /describe command and its buttons (1️⃣–4️⃣ imagine one suggestion, 🔄 four more,
"Imagine all"). The suggestions are made by a queued GPU job (describe); the buttons read them
back from that job's stored result, so they keep working after a restart."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands
from PIL import Image

from bot.discord.buttons import PromptButton
from bot.discord.delivery import channel_of, place_of, upload_meta
from bot.discord.image_commands import imagine_prompts, read_upload
from bot.discord.replies import send_error
from bot.errors import InvalidParameter, JobNotFound, UserFacingError
from bot.jobs.derive import random_seed
from bot.jobs.image_jobs import INPUT_FILE, describe_request
from bot.jobs.models import Job, JobKind, NewJob
from bot.prompt.params import image_links

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot

log = logging.getLogger(__name__)


class Describe(commands.Cog):
    def __init__(self, bot: MidjourneyBot) -> None:
        self.bot = bot
        self.bot.add_dynamic_items(PromptButton)

    @app_commands.command(name="describe", description="Get four prompts that describe an image")
    @app_commands.describe(image="The image to describe", link="Or a link to it")
    async def describe(
        self,
        interaction: discord.Interaction,
        image: discord.Attachment | None = None,
        link: str | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            if (image is None) == (link is None):
                raise InvalidParameter("Give one image: attach it (`image`) or paste its link (`link`).")
            if image is not None:
                await self.submit(interaction, image.url, [await read_upload(image)], image.filename, seed=0)
            else:
                (url,) = image_links(link or "", most=1)
                await self.submit(interaction, url, [], url, seed=0)
        except UserFacingError as error:
            await send_error(interaction, error)
            return
        await interaction.delete_original_response()

    async def submit(
        self, interaction: discord.Interaction, url: str, uploads: list[Image.Image], shown: str, *, seed: int
    ) -> Job:
        """Admit a describe job for one picture (channel rules, waiting limits)."""
        place = place_of(interaction)
        limits = await self.bot.admission.guild_limits(place.guild_id)
        limits.check_channel(place.channel_id, place.parent_channel_id)
        new_job = NewJob(
            kind=JobKind.DESCRIBE,
            user_id=place.user_id,
            prompt=shown,
            request=describe_request(seed),
            guild_id=place.guild_id,
            channel_id=place.channel_id,
            image_urls=[url],
            uploads=uploads,
            meta=upload_meta(interaction),
        )
        return await self.bot.front.submit(channel_of(interaction), new_job)

    async def on_prompt_button(
        self, interaction: discord.Interaction, action: str, job_id: str, index: int
    ) -> None:
        """1️⃣–4️⃣ imagine one suggestion, "Imagine all" all four, 🔄 describes the image again."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            job = await self.bot.front.load_job(job_id)
            if action == "redescribe":
                picture = await asyncio.to_thread(_open, self.bot.jobs.job_folder(job.id) / INPUT_FILE)
                await self.submit(interaction, job.image_urls[0], [picture], job.prompt, seed=random_seed())
            else:
                prompts = _suggestions(job)
                chosen = prompts if action == "suggestall" else [prompts[index - 1]]
                await imagine_prompts(self.bot, interaction, chosen)
        except UserFacingError as error:
            await send_error(interaction, error)
            return
        await interaction.delete_original_response()


def _suggestions(job: Job) -> list[str]:
    prompts = (job.meta.get("result") or {}).get("prompts") or []
    if job.kind is not JobKind.DESCRIBE or len(prompts) < 1:
        raise JobNotFound(f"Job `{job.id}` has no suggestions stored.")
    return list(prompts)


def _open(path) -> Image.Image:
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except OSError:
        raise JobNotFound("The described image is no longer stored.") from None
