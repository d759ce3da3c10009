"""/edit: an uploaded picture becomes a job with the single-image buttons (the editor, issue 22)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.discord.exts.editor._cog import Editor

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot


async def setup(bot: MidjourneyBot) -> None:
    await bot.add_cog(Editor(bot))
