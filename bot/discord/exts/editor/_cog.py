"""`/edit image:<attachment> [prompt]`: the picture is stored as an upload job of the member
(`Uploads.upload`: the attachment rules, the prompt's banned words and the channel's rules, no GPU
time) and posted in the channel with the single-image buttons — Vary, Upscale, Zoom, Pan, Vary
(Region), Remove Background — which then work on it as on any image of the bot's."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.delivery import channel_of, place_of
from bot.discord.reconcile import request_nonce
from bot.discord.replies import send_error
from bot.errors import UserFacingError
from bot.jobs.downloads import MAX_IMAGE_BYTES
from bot.jobs.image_jobs import upload_too_large

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot

log = logging.getLogger(__name__)


class Editor(commands.Cog):
    def __init__(self, bot: MidjourneyBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="edit", description="Edit a picture of your own: upload it, then use the buttons"
    )
    @app_commands.describe(image="The picture to edit", prompt="What it shows (used by Vary, Zoom, Pan …)")
    async def edit(
        self,
        interaction: discord.Interaction,
        image: discord.Attachment,
        prompt: app_commands.Range[str, 0, 1000] = "",
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            if image.size > MAX_IMAGE_BYTES:
                raise upload_too_large(image.filename)
            data = await image.read()
            job = await self.bot.services.uploads.upload(
                image.filename, data, place_of(interaction), prompt=prompt, meta={"source": "discord"}
            )
            front = self.bot.front
            post = await front.result_post(job, await self.bot.services.library.images(job.id))
            await front.publish(
                channel_of(interaction),
                job.id,
                post,
                "result",
                limit=interaction.filesize_limit,
                nonce=request_nonce(interaction.id),
            )
        except UserFacingError as error:
            await send_error(interaction, error)
            return
        await interaction.delete_original_response()
        log.info("user %s uploaded %s as job %s", interaction.user.id, image.filename, job.id)
