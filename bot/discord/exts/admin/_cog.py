"""Admin commands about the server's jobs and data (Manage Server, checked again at run time).

| command       | does                                                                          |
|---------------|-------------------------------------------------------------------------------|
| /queue        | the server's running and waiting jobs (place, member, prompt); cancel any one |
| /purge-guild  | after a confirmation: delete the server's jobs, image files, styles, limits,  |
|               | default style and banned-word changes                                         |

A purge first cancels the server's unfinished jobs and waits (up to `PURGE_WAIT` s) until they
have ended and been delivered (`JobService.wait_settled`), so no job is deleted under the GPU
worker or a delivery. A job still running then is left for a second run, and the admin is told.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.exts.admin._views import MAX_SELECT_OPTIONS, PANEL_TIMEOUT, QueuePanel, still_admin
from bot.discord.permissions import admin_guild_id
from bot.discord.render import mention
from bot.discord.replies import Confirmation
from bot.governance.privacy import StillRunning, Subject, erase, record_intent
from bot.jobs.models import Job, JobStatus

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot

log = logging.getLogger(__name__)

PURGE_WAIT = 30.0
MAX_QUEUE_LINES = 40
ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)


def _short(prompt: str, length: int = 60) -> str:
    text = " ".join(prompt.split()) or "(no prompt)"
    return text if len(text) <= length else text[: length - 1] + "…"


class Admin(commands.Cog):
    def __init__(self, bot: MidjourneyBot) -> None:
        self.bot = bot

    # ---- /queue ---------------------------------------------------------------------------

    @app_commands.command(name="queue", description="What is running and waiting in this server (admins)")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def queue(self, interaction: discord.Interaction) -> None:
        guild_id = admin_guild_id(interaction)
        embed, panel = await self._queue_panel(guild_id, interaction.user.id)
        await interaction.response.send_message(embed=embed, view=panel, ephemeral=True)

    async def _queue_panel(self, guild_id: int, owner_id: int) -> tuple[discord.Embed, QueuePanel]:
        service = self.bot.jobs
        jobs = await self.bot.services.library.server_jobs(guild_id, *ACTIVE)
        running = [job for job in jobs if job.id == service.running_job_id or job.status is JobStatus.RUNNING]
        waiting = sorted(
            (job for job in jobs if job not in running),
            key=lambda job: service.queue_position(job.id) or 10**9,
        )
        lines: list[str] = []
        labelled: list[tuple[str, Job]] = []
        for job in running:
            lines.append(f"▶️ running — {mention(job.user_id)} **{_short(job.prompt)}** `{job.id}`")
            labelled.append((f"Running: {_short(job.prompt, 80)}", job))
        for job in waiting:
            place = service.queue_position(job.id)
            where = f"#{place} in the bot's queue" if place else "waiting"
            lines.append(f"⏳ {where} — {mention(job.user_id)} **{_short(job.prompt)}** `{job.id}`")
            labelled.append((f"{where}: {_short(job.prompt, 70)}", job))
        if len(lines) > MAX_QUEUE_LINES:
            lines = [*lines[:MAX_QUEUE_LINES], f"… and {len(lines) - MAX_QUEUE_LINES} more"]
        description = "\n".join(lines) or "Nothing is running or waiting in this server."
        embed = discord.Embed(
            title=f"Queue: {len(running)} running, {len(waiting)} waiting",
            description=description[:4000],
            colour=discord.Colour.blurple(),
        )
        if len(labelled) > MAX_SELECT_OPTIONS:
            embed.set_footer(text=f"The menu lists the first {MAX_SELECT_OPTIONS} jobs.")
        panel = QueuePanel(owner_id, labelled, self._cancel_job, self._refresh)
        return embed, panel

    async def _cancel_job(self, interaction: discord.Interaction, job_id: str) -> None:
        guild_id = admin_guild_id(interaction)
        service = self.bot.jobs
        job = await service.get_job(job_id)
        # The menu only lists this server's jobs, but its values come back from the client.
        if job is None or job.guild_id != guild_id:
            note = "That job is not one of this server's."
        elif await service.cancel(job_id):
            log.info("admin %s cancelled job %s of user %s", interaction.user.id, job_id, job.user_id)
            note = f"Cancelled {mention(job.user_id)}'s job **{_short(job.prompt)}**."
        else:
            note = "That job has already finished."
        embed, panel = await self._queue_panel(guild_id, interaction.user.id)
        await interaction.response.edit_message(content=note, embed=embed, view=panel)

    async def _refresh(self, interaction: discord.Interaction) -> None:
        guild_id = admin_guild_id(interaction)
        embed, panel = await self._queue_panel(guild_id, interaction.user.id)
        await interaction.response.edit_message(content=None, embed=embed, view=panel)

    # ---- /purge-guild ---------------------------------------------------------------------

    @app_commands.command(
        name="purge-guild", description="Delete all of this server's data held by the bot (admins)"
    )
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def purge_guild(self, interaction: discord.Interaction) -> None:
        guild_id = admin_guild_id(interaction)
        jobs = await self.bot.services.library.server_jobs(guild_id)
        presets = await self.bot.services.styles.all(guild_id)
        question = (
            f"Delete **everything** this bot keeps about this server? That is {len(jobs)} jobs with their "
            f"image files, {len(presets)} styles, the default style, the limits and the banned-word "
            "changes. Messages already posted stay, but their buttons stop working. This cannot be undone."
        )
        panel = Confirmation(
            interaction.user.id,
            self._purge,
            confirm_label="Delete everything",
            decline_label="Keep it",
            declined="Nothing was deleted.",
            danger=True,
            timeout=PANEL_TIMEOUT,
            check=still_admin,
        )
        await interaction.response.send_message(question, view=panel, ephemeral=True)

    async def _purge(self, interaction: discord.Interaction) -> None:
        guild_id = admin_guild_id(interaction)
        asked = {"requested_by": interaction.user.id, "channel_id": interaction.channel_id}
        # The intent first: a stop after "Deleting…" is finished at the next start.
        await record_intent(self.bot.jobs, Subject.SERVER, guild_id, **asked)
        await interaction.response.edit_message(content="Deleting this server's data…", view=None)
        try:
            report = await erase(self.bot.jobs, Subject.SERVER, guild_id, within=PURGE_WAIT, **asked)
        except StillRunning:
            await interaction.edit_original_response(
                content="A job of this server is still finishing: run /purge-guild again in a minute."
            )
            return
        log.info(
            "guild %s purged by %s: %d jobs, %d files",
            guild_id,
            interaction.user.id,
            report.jobs,
            report.files,
        )
        message = (
            f"Deleted {report.jobs} jobs and {report.files} image files, and this server's styles, "
            "default style, limits and banned-word changes."
        )
        await interaction.edit_original_response(content=message)
