"""The job buttons: U1-U4, V1-V4, 🔄, Vary, Upscale, Zoom Out, Pan, Vary (Region) and ❌, and
the remix, Custom Zoom and region modals."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.discord.exts.actions._cog import Actions

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot


async def setup(bot: MidjourneyBot) -> None:
    await bot.add_cog(Actions(bot))
