"""Turns errors raised in application commands into Midjourney-style ephemeral replies."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.discord.exts.errors._cog import Errors

if TYPE_CHECKING:
    from discord.ext import commands


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Errors(bot))
