"""/profile: your personalization profile (progress, code) and your moodboards' codes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.discord.exts.profile._cog import Profile

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot


async def setup(bot: MidjourneyBot) -> None:
    await bot.add_cog(Profile(bot))
