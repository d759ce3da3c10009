"""/stealth and /public: whether a member's new jobs may appear in the web app's server galleries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.discord.exts.visibility._cog import Visibility

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot


async def setup(bot: MidjourneyBot) -> None:
    await bot.add_cog(Visibility(bot))
