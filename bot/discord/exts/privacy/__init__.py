"""/forget-me: a member deletes everything the bot keeps about them (after confirming)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.discord.exts.privacy._cog import Privacy

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot


async def setup(bot: MidjourneyBot) -> None:
    await bot.add_cog(Privacy(bot))
