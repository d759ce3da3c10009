"""/banned (the server's banned words) and /limits (its queue and channel limits), for admins."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.discord.exts.moderation._cog import Moderation

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot


async def setup(bot: MidjourneyBot) -> None:
    await bot.add_cog(Moderation(bot))
