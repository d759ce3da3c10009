"""/forget-me: say what will go, ask, then cancel the user's jobs and delete their data.

The question lives in memory only (like /imagine's "submit N prompts?"): after a restart or
3 minutes the user runs /forget-me again. Only the person who asked sees it (ephemeral).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.replies import Confirmation
from bot.governance.privacy import ErasureReport, Subject, erase, record_intent

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot

log = logging.getLogger(__name__)

CONFIRM_SECONDS = 180


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def question(jobs: int, active: int, options: int) -> str:
    """What /forget-me asks before deleting anything."""
    lines = [
        "**Delete everything this bot keeps about you?**",
        f"- your /settings, your suffix and {plural(options, 'option')}",
        f"- {plural(jobs, 'job')} with their images (files included)",
    ]
    if active:
        lines.append(f"- {plural(active, 'waiting or running job')} will be cancelled first")
    lines.append(
        "Messages already posted in channels stay; delete them yourself if you want them gone. "
        "This cannot be undone."
    )
    return "\n".join(lines)


def done_text(report: ErasureReport) -> str:
    """What the user reads once their data is gone."""
    cancelled = f" ({plural(report.cancelled, 'job')} cancelled)" if report.cancelled else ""
    return (
        f"Done. Deleted {plural(report.jobs, 'job')}{cancelled}, {plural(report.images, 'image')}, "
        "your settings and options. The bot no longer keeps anything about you."
    )


class Privacy(commands.Cog):
    """/forget-me."""

    def __init__(self, bot: MidjourneyBot) -> None:
        self.bot = bot

    @app_commands.command(name="forget-me", description="Delete your settings, options, jobs and images")
    async def forget_me(self, interaction: discord.Interaction) -> None:
        services = self.bot.services
        user_id = interaction.user.id
        job_ids = await services.library.member_job_ids(user_id)
        active = await services.library.active_jobs(user_id)
        options = await services.members.options(user_id)
        await interaction.response.send_message(
            question(len(job_ids), len(active), len(options)),
            view=Confirmation(
                user_id,
                self._forget,
                confirm_label="Delete my data",
                decline_label="Keep my data",
                declined="Nothing was deleted.",
                danger=True,
                timeout=CONFIRM_SECONDS,
            ),
            ephemeral=True,
        )

    async def _forget(self, interaction: discord.Interaction) -> None:
        asked = {"requested_by": interaction.user.id, "channel_id": interaction.channel_id}
        # The intent first: a stop after "Deleting your data…" is finished at the next start.
        await record_intent(self.bot.jobs, Subject.MEMBER, interaction.user.id, **asked)
        await interaction.response.edit_message(content="Deleting your data…", view=None)
        report = await erase(self.bot.jobs, Subject.MEMBER, interaction.user.id, **asked)
        await interaction.edit_original_response(content=done_text(report))
