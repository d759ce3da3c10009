"""/profile: what `--p` means for you — your profile's progress or code, and your moodboards."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot
    from bot.governance.personalization import Moodboard, ProfileStatus


NOT_SET_UP = (
    "Personalization is not set up on this bot: it needs an IP-Adapter (the operator's IP_ADAPTER setting)."
)


def render_profile(status: ProfileStatus, boards: list[Moodboard]) -> str:
    """The /profile answer (under Discord's 2000 characters)."""
    if status.unlocked:
        lines = [
            f"**Your profile**: `--p {status.code}` (from {status.signals} likes and rankings). `--p` uses it."
        ]
    elif status.ready:
        lines = [
            f"**Your profile**: {status.signals} likes and rankings, enough to unlock, but this bot has no "
            "IP-Adapter to learn your style with."
        ]
    else:
        lines = [
            f"**Your profile**: {status.signals} / {status.needed} likes (❤️) and rankings. "
            f"{status.missing} more to unlock it: rank pairs on the web app's Personalize page."
        ]
    if boards:
        lines.append("**Your moodboards**:")
        lines += [
            f"- {board.name}: `--p {board.code}` ({len(board.sources)} images)" for board in boards[:20]
        ]
    else:
        lines.append("No moodboards yet: make one on the web app's Moodboards page.")
    return "\n".join(lines)[:2000]


class Profile(commands.Cog):
    def __init__(self, bot: MidjourneyBot) -> None:
        self.bot = bot

    @app_commands.command(name="profile", description="Your personalization profile code and moodboards")
    async def profile(self, interaction: discord.Interaction) -> None:
        service = self.bot.admission.personalization
        if not service.enabled:
            await interaction.response.send_message(NOT_SET_UP, ephemeral=True)
            return
        status = await service.status(interaction.user.id)
        boards = await service.moodboards(interaction.user.id)
        await interaction.response.send_message(render_profile(status, boards), ephemeral=True)
