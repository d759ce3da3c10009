"""/stealth and /public (Midjourney's names). In stealth mode a member's jobs never appear in a
server's gallery on the web app: jobs made in stealth mode stay hidden after /public, and while
the member is in stealth mode all their jobs are hidden. Their own Archive shows everything.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot

log = logging.getLogger(__name__)

STEALTH_ON = "🕶️ Stealth mode is on: your new jobs stay out of server galleries on the web app."
PUBLIC_ON = "Public mode is on: your new jobs appear in the gallery of the server they were made in."


class Visibility(commands.Cog):
    def __init__(self, bot: MidjourneyBot) -> None:
        self.bot = bot

    @app_commands.command(name="stealth", description="Keep your new jobs out of server galleries")
    async def stealth(self, interaction: discord.Interaction) -> None:
        await self.bot.services.members.set_stealth(interaction.user.id, True)
        await interaction.response.send_message(STEALTH_ON, ephemeral=True)

    @app_commands.command(name="public", description="Show your new jobs in server galleries")
    async def public(self, interaction: discord.Interaction) -> None:
        await self.bot.services.members.set_stealth(interaction.user.id, False)
        await interaction.response.send_message(PUBLIC_ON, ephemeral=True)
