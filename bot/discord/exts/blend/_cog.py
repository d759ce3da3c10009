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

from bot.discord.image_commands import Upload, read_upload
from bot.discord.origin import Origin, origin_of
from bot.discord.pending import recorded, thinking, with_interaction_ids
from bot.discord.replies import send_error
from bot.errors import UserFacingError
from bot.jobs.models import PendingInteraction

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
        bot.resumers["blend"] = self.resume_blend

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
        uploads = [
            Upload.of(image) for image in (image1, image2, image3, image4, image5) if image is not None
        ]
        shape = dimensions.value if dimensions else "square"
        # Recorded, then acknowledged, until answered: a restart in between submits it.
        details = {"uploads": [upload.to_dict() for upload in uploads], "dimensions": shape}
        async with recorded(self.bot, interaction, "blend", ack=thinking(interaction), **details):
            try:
                await self.submit_blend(origin_of(interaction), uploads, shape)
            except UserFacingError as error:
                await send_error(interaction, error)
                return
            await interaction.delete_original_response()

    async def submit_blend(self, origin: Origin, uploads: list[Upload], dimensions: str) -> None:
        """Check where the member is, read the pictures, and admit one blend job."""
        await self.bot.admission.check_channel(origin.place)
        pictures = [await read_upload(self.bot, upload) for upload in uploads]
        new_job = self.bot.admission.blend_job(
            [upload.url for upload in uploads], pictures, dimensions, origin.place, meta=origin.meta
        )
        (new_job,) = with_interaction_ids(origin.interaction_id, [new_job])
        await self.bot.front.submit(origin.channel, new_job)

    async def resume_blend(self, origin: Origin, pending: PendingInteraction) -> str | None:
        """/blend after a restart: the attachments read again from their links, the job submitted."""
        arguments = pending.arguments
        uploads = [Upload(**upload) for upload in arguments.get("uploads", [])]
        await self.submit_blend(origin, uploads, str(arguments.get("dimensions", "square")))
        return None
