"""/style (admins: add, edit, remove, default, starter, import) and /styles (everyone: list, show, export)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.discord.exts.styles._cog import Styles

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot


async def setup(bot: MidjourneyBot) -> None:
    await bot.add_cog(Styles(bot))
