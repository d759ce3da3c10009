"""/imagine: a prompt becomes one or more jobs, each with its own progress message."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.discord.exts.imagine._cog import Imagine

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot


async def setup(bot: MidjourneyBot) -> None:
    await bot.add_cog(Imagine(bot))
