"""Video jobs in Discord: the clips posted as MP4 attachments, which Discord plays inline.

- One clip (a single Animate/Extend clip, or U-n on a video job): the MP4 with **Extend (Low
  motion)**, **Extend (High motion)** and 🔄 from the action table's VIDEO surface, then ❤️ and
  `Web ↗` (bot/discord/web_buttons.py).
- Several clips (`--bs 2|4`): all the MP4s with U1…Un (the clip alone, with Extend) and 🔄.

Each clip is fitted under the channel's upload limit (its share of it when several go together):
the stored MP4 when it fits, else encoded again smaller (`bot/jobs/video_files.fit_clip`); a 413
halves the budget and tries again; nothing fails silently.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import discord

from bot.discord.buttons import JobButton
from bot.discord.render import upload_budget
from bot.discord.uploads import RetryPolicy, send_retrying
from bot.jobs.actions import Surface, layout
from bot.jobs.video_files import fit_clip

__all__ = ["clip_names", "send_clips", "video_grid_view", "video_view"]

log = logging.getLogger(__name__)


def _view(rows: list[list[JobButton]]) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for number, row in enumerate(rows):
        for button in row:
            button.item.row = number
            view.add_item(button)
    return view


def video_view(job_id: str, index: int) -> discord.ui.View:
    """Extend (Low motion), Extend (High motion), 🔄 under clip `index` (1-based) of a job."""
    rows = layout(Surface.VIDEO)
    return _view([[JobButton(action.custom_id_name, job_id, index) for action, _ in row] for row in rows])


def video_grid_view(job_id: str, count: int) -> discord.ui.View:
    """U1…U`count` and 🔄 under a video job's clips (no V buttons: a clip is varied by Extend)."""
    buttons = [
        JobButton(action.custom_id_name, job_id, n)
        for row in layout(Surface.GRID, count=count)
        for action, n in row
        if action.name in ("pick", "reroll")
    ]
    return _view([buttons])


def clip_names(job_id: str, indexes: Sequence[int], *, spoiler: bool = False) -> list[str]:
    """The attachments' file names: `<job>_<n>.mp4` (1-based), `SPOILER_` first for NSFW."""
    prefix = "SPOILER_" if spoiler else ""
    return [f"{prefix}{job_id}_{n}.mp4" for n in indexes]


async def send_clips(
    channel: discord.abc.Messageable,
    content: str,
    clips: Sequence[tuple[Path, str]],
    limit: int | None,
    view: discord.ui.View | None,
    *,
    retry: RetryPolicy,
    nonce: str | None = None,
) -> discord.Message:
    """Send the `(path, file name)` clips fitted under `limit` (each its share), retrying Discord
    errors with backoff; with `nonce`, Discord makes one message however often it is sent."""

    async def attempt(budget: int) -> discord.Message:
        share = max(1024, budget // max(1, len(clips)))
        files = []
        for path, name in clips:
            data = await asyncio.to_thread(fit_clip, path, share)
            files.append(discord.File(io.BytesIO(data), filename=name))
        kwargs: dict[str, Any] = {"view": view} if view is not None else {}
        if nonce is not None:
            kwargs["nonce"] = nonce
        return await channel.send(
            content,
            files=files,
            allowed_mentions=discord.AllowedMentions(users=True, everyone=False, roles=False),
            **kwargs,
        )

    return await send_retrying(
        attempt, upload_budget(limit), retry, shrink=lambda budget: budget // 2, what="a clip upload"
    )
