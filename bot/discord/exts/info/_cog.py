"""/info (your jobs, mode and GPU time, ephemeral) and /show (post one of your jobs again).

/show posts through the channel like a delivery, with the same persistent buttons, so the
re-posted grid works exactly like the original (and keeps working after a restart).
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.delivery import channel_of
from bot.discord.exts.info._render import job_line, job_list, usage_fields
from bot.discord.reconcile import request_nonce
from bot.discord.replies import send_error
from bot.errors import JobNotFound, UserFacingError
from bot.jobs.image_jobs import TEXT_KINDS
from bot.jobs.models import Job, JobStatus

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot

log = logging.getLogger(__name__)

INFO_COLOUR = discord.Colour(0x5865F2)
# A job id anywhere in what was typed: the bare id, a file name like `<id>_2.png`, a link.
_JOB_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class NotYourJob(UserFacingError):
    title = "Not your job"


class Info(commands.Cog):
    """/info and /show."""

    def __init__(self, bot: MidjourneyBot) -> None:
        self.bot = bot

    @app_commands.command(name="info", description="Your queued and running jobs, your mode and GPU time")
    async def info(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(embed=await self.info_embed(interaction.user), ephemeral=True)

    async def info_embed(self, user: discord.abc.User) -> discord.Embed:
        service = self.bot.jobs
        settings = await self.bot.services.members.of(user.id)
        active = await self.bot.services.library.active_jobs(user.id)
        running = [job_line(job) for job in active if job.status is JobStatus.RUNNING]
        waiting = sorted(
            ((service.queue_position(job.id), job) for job in active if job.status is JobStatus.QUEUED),
            key=lambda pair: (pair[0] is None, pair[0] or 0),
        )
        queued = [job_line(job, position) for position, job in waiting]
        usage = await service.gpu_usage(user.id)
        embed = discord.Embed(title="Your info", colour=INFO_COLOUR)
        embed.set_author(name=user.display_name)
        embed.add_field(name="Job Mode", value=settings.speed.title(), inline=True)
        embed.add_field(name="Remix", value="On" if settings.remix else "Off", inline=True)
        embed.add_field(name="Variations", value=settings.variation_mode.title(), inline=True)
        for name, value in usage_fields(usage):
            embed.add_field(name=name, value=value, inline=False)
        embed.add_field(name=f"Running jobs ({len(running)})", value=job_list(running), inline=False)
        embed.add_field(name=f"Queued jobs ({len(queued)})", value=job_list(queued), inline=False)
        if (status := service.backend_status) is not None:
            embed.add_field(name="GPU workers", value=status, inline=False)
        embed.set_footer(text="/show <job id> posts one of your jobs again")
        return embed

    @app_commands.command(name="show", description="Post one of your jobs again, with its buttons")
    @app_commands.describe(job_id="The job id (see /info), or an image file name or link that contains it")
    async def show(self, interaction: discord.Interaction, job_id: app_commands.Range[str, 1, 200]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            job = await self.own_job(job_id, interaction.user.id)
            await self.post(interaction, job)
        except UserFacingError as error:
            await send_error(interaction, error)
            return
        await interaction.delete_original_response()

    async def own_job(self, typed: str, user_id: int) -> Job:
        """The finished job `typed` names, if it is this user's; else a user-facing error."""
        found = _JOB_ID.search(typed.lower())
        job = await self.bot.services.library.job(found.group(0)) if found else None
        if job is None:
            raise JobNotFound(f"There is no job `{typed.strip()[:100]}`. /info lists your current jobs.")
        if job.user_id != user_id:
            raise NotYourJob("That job belongs to someone else. You can only /show your own jobs.")
        if job.status is not JobStatus.DONE:
            raise UserFacingError(f"That job has no images: it is {job.status.value}.")
        return job

    async def post(self, interaction: discord.Interaction, job: Job) -> discord.Message:
        """The job's grid (or single image) with working buttons, posted in this channel, screened
        like its delivery was (NSFW spoilers or blocks apply again)."""
        front = self.bot.front
        if job.kind in TEXT_KINDS:
            # /describe and /shorten results: text or an embed with prompt buttons, no grid.
            post = await front.text_post(job)
        else:
            images = await self.bot.services.library.images(job.id)
            if not images or not all(image.path.is_file() for image in images):
                raise JobNotFound(f"The images of job `{job.id}` are no longer stored.")
            post = await front.result_post(job, images)
        message = await front.publish(
            channel_of(interaction),
            job.id,
            post,
            "show",
            limit=interaction.filesize_limit,
            nonce=request_nonce(interaction.id),
        )
        log.info("user %s showed job %s again", interaction.user.id, job.id)
        return message
