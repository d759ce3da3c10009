"""The web app's buttons on Discord results: `Web ↗` (a link to the job's page, when PUBLIC_URL is
set) and ❤️ on single images (toggles the clicker's favourite, seen on the web's Favourites too).

They go in a row of their own after the job's buttons, as Midjourney places them.
"""

from __future__ import annotations

import discord

from bot.discord.buttons import JobButton
from bot.jobs.ports import WebPages

__all__ = ["FAVOURITE", "WEB_LABEL", "add_web_row"]

FAVOURITE = "fav"
WEB_LABEL = "Web ↗"
MAX_ROWS = 5
MAX_PER_ROW = 5


def add_web_row(
    view: discord.ui.View, pages: WebPages | None, job_id: str, *, single_index: int | None
) -> None:
    """Append ❤️ (for a single image: its 1-based index) and `Web ↗` (when the web app's pages are
    public: PUBLIC_URL) to `view`."""
    items: list[discord.ui.Item] = []
    if single_index is not None:
        items.append(JobButton(FAVOURITE, job_id, single_index))
    if pages is not None and pages.public:
        items.append(
            discord.ui.Button(label=WEB_LABEL, style=discord.ButtonStyle.link, url=pages.job_url(job_id))
        )
    if not items:
        return
    rows: dict[int, int] = {}
    for child in view.children:
        row = child.row or 0
        rows[row] = rows.get(row, 0) + 1
    row = max(rows, default=-1) + 1
    if row >= MAX_ROWS:  # no free row: squeeze into the last one if it has room
        row = MAX_ROWS - 1
        if rows.get(row, 0) + len(items) > MAX_PER_ROW:
            return
    for item in items:
        target = item.item if isinstance(item, JobButton) else item
        target.row = row
        view.add_item(item)
