"""/describe: four prompt suggestions for an image, with buttons that imagine them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.discord.exts.describe._cog import Describe

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot


async def setup(bot: MidjourneyBot) -> None:
    await bot.add_cog(Describe(bot))
