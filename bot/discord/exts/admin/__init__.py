"""/queue (what waits and runs in this server, with cancel) and /purge-guild, for admins."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.discord.exts.admin._cog import Admin

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot


async def setup(bot: MidjourneyBot) -> None:
    await bot.add_cog(Admin(bot))
