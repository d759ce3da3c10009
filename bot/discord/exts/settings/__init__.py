"""/settings and /prefer: a member's own defaults, suffix, options and remix mode."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.discord.exts.settings._cog import Personal

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot


async def setup(bot: MidjourneyBot) -> None:
    await bot.add_cog(Personal(bot))
