"""The command tree's error handler.

Commands catch `UserFacingError`s themselves and answer with an ephemeral embed; what reaches
this handler is either such an error that slipped through (answered the same way) or a bug,
which is logged with its trace while the user gets a short apology naming the interaction id.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.replies import report_unexpected, send_error
from bot.errors import UserFacingError

log = logging.getLogger(__name__)


class Errors(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self._previous: Any = None

    async def cog_load(self) -> None:
        self._previous = self.bot.tree.on_error
        self.bot.tree.on_error = self.on_app_command_error  # type: ignore[method-assign]

    async def cog_unload(self) -> None:
        self.bot.tree.on_error = self._previous  # type: ignore[method-assign]

    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        original = getattr(error, "original", error)
        if isinstance(original, UserFacingError):
            await send_error(interaction, original)
            return
        if isinstance(error, app_commands.CheckFailure):
            await send_error(interaction, UserFacingError("You cannot use this command here."))
            return
        await report_unexpected(interaction, original)
