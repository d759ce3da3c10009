"""/shorten: which words of a prompt matter, and shorter prompts to imagine."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.discord.exts.shorten._cog import Shorten

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot


async def setup(bot: MidjourneyBot) -> None:
    await bot.add_cog(Shorten(bot))
