"""/blend: two to five attached images mixed into a 2x2 grid."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.discord.exts.blend._cog import Blend

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot


async def setup(bot: MidjourneyBot) -> None:
    await bot.add_cog(Blend(bot))
