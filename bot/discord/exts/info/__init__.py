"""/info and /show: a member's own jobs, mode and GPU time; one of their jobs posted again."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.discord.exts.info._cog import Info

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot


async def setup(bot: MidjourneyBot) -> None:
    await bot.add_cog(Info(bot))
