"""The /blend command: attachments in, one blend job (IP-Adapter or the documented fallback) out.

The result is an ordinary grid with U/V/🔄 (delivery.py); its prompt is the images' links and
the chosen `--ar`, as Midjourney shows it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.delivery import channel_of, place_of, upload_meta
from bot.discord.image_commands import read_upload
from bot.discord.replies import send_error
from bot.errors import UserFacingError
from bot.jobs.derive import random_seed
from bot.jobs.image_jobs import BLEND_DIMENSIONS, blend_request
from bot.jobs.models import JobKind, NewJob

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot

log = logging.getLogger(__name__)

DIMENSIONS = [
    app_commands.Choice(name="Portrait 2:3", value="portrait"),
    app_commands.Choice(name="Square 1:1", value="square"),
    app_commands.Choice(name="Landscape 3:2", value="landscape"),
]


class Blend(commands.Cog):
    def __init__(self, bot: MidjourneyBot) -> None:
        self.bot = bot

    @app_commands.command(name="blend", description="Blend 2 to 5 images into new ones")
    @app_commands.describe(dimensions="The shape of the results (default: Square 1:1)")
    @app_commands.choices(dimensions=DIMENSIONS)
    async def blend(
        self,
        interaction: discord.Interaction,
        image1: discord.Attachment,
        image2: discord.Attachment,
        image3: discord.Attachment | None = None,
        image4: discord.Attachment | None = None,
        image5: discord.Attachment | None = None,
        dimensions: app_commands.Choice[str] | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        attachments = [image for image in (image1, image2, image3, image4, image5) if image is not None]
        try:
            await self.submit_blend(interaction, attachments, dimensions.value if dimensions else "square")
        except UserFacingError as error:
            await send_error(interaction, error)
            return
        await interaction.delete_original_response()

    async def submit_blend(
        self, interaction: discord.Interaction, attachments: list[discord.Attachment], dimensions: str
    ) -> None:
        """Check where the member is, read the pictures, and admit one blend job."""
        place = place_of(interaction)
        limits = await self.bot.admission.guild_limits(place.guild_id)
        limits.check_channel(place.channel_id, place.parent_channel_id)
        uploads = [await read_upload(attachment) for attachment in attachments]
        request = blend_request(dimensions, self.bot.jobs.family, random_seed(), self.bot.config.steps)
        width, height = BLEND_DIMENSIONS[dimensions]
        urls = [attachment.url for attachment in attachments]
        new_job = NewJob(
            kind=JobKind.BLEND,
            user_id=place.user_id,
            prompt=" ".join([*(f"<{url}>" for url in urls), f"--ar {width}:{height}"]),
            request=request,
            guild_id=place.guild_id,
            channel_id=place.channel_id,
            image_urls=urls,
            uploads=uploads,
            meta=upload_meta(interaction),
        )
        await self.bot.front.submit(channel_of(interaction), new_job)
