"""Buttons, views and embeds of the Discord front.

Every job button is a `JobButton` (`discord.ui.DynamicItem`) whose custom id carries the action,
the job id and an image index; a click rebuilds it from that id alone and hands it to the
`Actions` cog, which reads everything else from SQLite. So buttons keep working after a restart.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import discord

from bot.discord.replies import send_error
from bot.errors import UserFacingError

log = logging.getLogger(__name__)

# The custom id of every job button; the template of the DynamicItem below.
MAX_CUSTOM_ID = 100
CUSTOM_ID_PATTERN = r"mj:(?P<action>[a-z]+):(?P<job>[0-9a-f-]{36}):(?P<n>\d)"
_CUSTOM_ID = re.compile(CUSTOM_ID_PATTERN)


def custom_id(action: str, job_id: str, index: int = 0) -> str:
    """The custom id of a job button: `mj:<action>:<job uuid>:<index>` (≤ 100 characters)."""
    value = f"mj:{action}:{job_id}:{index}"
    if not _CUSTOM_ID.fullmatch(value) or len(value) > MAX_CUSTOM_ID:
        raise ValueError(f"not a valid job button id: {value!r}")
    return value


def parse_custom_id(value: str) -> tuple[str, str, int] | None:
    """(action, job id, index) of a job button id, or None when it is not one."""
    match = _CUSTOM_ID.fullmatch(value)
    if match is None:
        return None
    return match["action"], match["job"], int(match["n"])


@dataclass(frozen=True)
class ButtonLook:
    label: str | None
    emoji: str | None = None
    style: discord.ButtonStyle = discord.ButtonStyle.secondary


# action → how its button looks. `pick` (U1-U4) and `vary` (V1-V4) number their labels.
LOOKS: dict[str, ButtonLook] = {
    "pick": ButtonLook("U"),
    "vary": ButtonLook("V"),
    "reroll": ButtonLook(None, "🔄"),
    "enhance": ButtonLook("Enhance", "✨"),
    "strong": ButtonLook("Vary (Strong)", "🪄"),
    "subtle": ButtonLook("Vary (Subtle)", "🪄"),
    "upsubtle": ButtonLook("Upscale (Subtle)", "⬆️"),
    "upcreative": ButtonLook("Upscale (Creative)", "⬆️"),
    "region": ButtonLook("Vary (Region)", "🖌️"),
    "zoomtwo": ButtonLook("Zoom Out 2x", "🔍"),
    "zoomonefive": ButtonLook("Zoom Out 1.5x", "🔍"),
    "zoomcustom": ButtonLook("Custom Zoom", "🔍"),
    "square": ButtonLook("Make Square", "↔️"),
    "panleft": ButtonLook(None, "⬅️"),
    "panright": ButtonLook(None, "➡️"),
    "panup": ButtonLook(None, "⬆️"),
    "pandown": ButtonLook(None, "⬇️"),
    "cancel": ButtonLook(None, "❌", discord.ButtonStyle.secondary),
    "fav": ButtonLook(None, "❤️"),
}
# Actions whose buttons turn green once used, as Midjourney marks them on the grid.
MARKED_WHEN_USED = frozenset({"pick", "vary"})


class JobButton(discord.ui.DynamicItem[discord.ui.Button], template=CUSTOM_ID_PATTERN):
    """A persistent job button; its state is only the (action, job, index) in its custom id."""

    def __init__(
        self, action: str, job_id: str, index: int = 0, *, style: discord.ButtonStyle | None = None
    ) -> None:
        look = LOOKS.get(action, ButtonLook(action))
        label = f"{look.label}{index}" if action in ("pick", "vary") else look.label
        super().__init__(
            discord.ui.Button(
                label=label,
                emoji=look.emoji,
                style=style or look.style,
                custom_id=custom_id(action, job_id, index),
            )
        )
        self.action = action
        self.job_id = job_id
        self.index = index

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> JobButton:
        return cls(match["action"], match["job"], int(match["n"]), style=item.style)

    async def callback(self, interaction: discord.Interaction) -> Any:
        actions = interaction.client.get_cog("Actions")  # type: ignore[union-attr]
        if actions is None:
            await send_error(interaction, UserFacingError("The bot is starting up; try again in a moment."))
            return
        await actions.on_job_button(interaction, self.action, self.job_id, self.index)


def _view(rows: Iterable[Iterable[discord.ui.Item]]) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for row_number, row in enumerate(rows):
        for button in row:
            (button.item if isinstance(button, JobButton) else button).row = row_number
            view.add_item(button)
    return view


def grid_view(job_id: str, used: Iterable[str] = (), *, draft: bool = False) -> discord.ui.View:
    """`U1 U2 U3 U4 🔄` / `V1 V2 V3 V4` (/ `✨ Enhance` under a --draft grid); buttons whose
    custom id is in `used` are green."""
    marked = set(used)

    def button(action: str, index: int) -> JobButton:
        green = custom_id(action, job_id, index) in marked
        return JobButton(action, job_id, index, style=discord.ButtonStyle.success if green else None)

    return _view(
        [
            [*(button("pick", n) for n in range(1, 5)), JobButton("reroll", job_id, 0)],
            [button("vary", n) for n in range(1, 5)],
            *([[button("enhance", 0)]] if draft else []),
        ]
    )


def single_view(job_id: str, index: int, *, upscale: bool = True, square: bool = True) -> discord.ui.View:
    """Buttons under one image, in Midjourney's rows: Vary (Strong/Subtle/Region); Upscale
    (Subtle/Creative) unless it is already upscaled; Zoom Out 2x / 1.5x (Make Square instead of
    1.5x on a non-square image) / Custom Zoom; ⬅️ ➡️ ⬆️ ⬇️."""

    def row(*actions: str) -> list[JobButton]:
        return [JobButton(action, job_id, index) for action in actions]

    rows = [row("strong", "subtle", "region")]
    if upscale:
        rows.append(row("upsubtle", "upcreative"))
    rows.append(row("zoomtwo", "zoomonefive" if square else "square", "zoomcustom"))
    rows.append(row("panleft", "panright", "panup", "pandown"))
    return _view(rows)


def progress_view(job_id: str) -> discord.ui.View:
    """The ❌ button under a progress message: its owner may stop the job."""
    return _view([[JobButton("cancel", job_id, 0)]])


def marked_view(message: discord.Message, clicked: str) -> discord.ui.View | None:
    """The message's job buttons again, with the clicked one green; None if it has none."""
    rows: list[list[discord.ui.Item]] = []
    for row in message.components:
        buttons: list[discord.ui.Item] = []
        for component in getattr(row, "children", ()):
            if getattr(component, "url", None):  # a link (Web ↗) stays as it was
                buttons.append(
                    discord.ui.Button(label=component.label, url=component.url, emoji=component.emoji)
                )
                continue
            parsed = parse_custom_id(getattr(component, "custom_id", None) or "")
            if parsed is None:
                continue
            action, job_id, index = parsed
            style = component.style
            if component.custom_id == clicked and action in MARKED_WHEN_USED:
                style = discord.ButtonStyle.success
            buttons.append(JobButton(action, job_id, index, style=style))
        if buttons:
            rows.append(buttons)
    return _view(rows) if rows else None


# ---- /describe and /shorten: buttons that imagine a suggested prompt ---------------------------

PROMPT_BUTTON_PATTERN = r"mjp:(?P<action>[a-z]+):(?P<job>[0-9a-f-]{36}):(?P<n>\d)"
NUMBER_EMOJI = ("1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣")
# action → (cog that answers it, label, emoji)
PROMPT_ACTIONS: dict[str, tuple[str, str | None, str | None]] = {
    "suggest": ("Describe", None, None),  # n = 1..4: imagine suggestion n
    "suggestall": ("Describe", "Imagine all", None),
    "redescribe": ("Describe", None, "🔄"),
    "shortpick": ("Shorten", None, None),  # n = 1..5: imagine shorter prompt n
}


class PromptButton(discord.ui.DynamicItem[discord.ui.Button], template=PROMPT_BUTTON_PATTERN):
    """A persistent button under /describe or /shorten results: (action, job, n) in its custom id;
    the prompts themselves are read from the job's stored result when it is clicked."""

    def __init__(self, action: str, job_id: str, index: int = 0) -> None:
        _cog, label, emoji = PROMPT_ACTIONS[action]
        if action in ("suggest", "shortpick"):
            emoji = NUMBER_EMOJI[index - 1]
        super().__init__(
            discord.ui.Button(
                label=label,
                emoji=emoji,
                style=discord.ButtonStyle.secondary,
                custom_id=f"mjp:{action}:{job_id}:{index}",
            )
        )
        self.action = action
        self.job_id = job_id
        self.index = index

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> PromptButton:
        if match["action"] not in PROMPT_ACTIONS:
            raise ValueError(f"unknown prompt button {match['action']!r}")
        return cls(match["action"], match["job"], int(match["n"]))

    async def callback(self, interaction: discord.Interaction) -> Any:
        cog = interaction.client.get_cog(PROMPT_ACTIONS[self.action][0])  # type: ignore[union-attr]
        if cog is None:
            await send_error(interaction, UserFacingError("The bot is starting up; try again in a moment."))
            return
        await cog.on_prompt_button(interaction, self.action, self.job_id, self.index)


def describe_view(job_id: str, count: int = 4) -> discord.ui.View:
    """`1️⃣ 2️⃣ 3️⃣ 4️⃣ 🔄` / `Imagine all` under /describe's suggestions."""
    view = discord.ui.View(timeout=None)
    for n in range(1, count + 1):
        view.add_item(_on_row(PromptButton("suggest", job_id, n), 0))
    view.add_item(_on_row(PromptButton("redescribe", job_id, 0), 0))
    view.add_item(_on_row(PromptButton("suggestall", job_id, 0), 1))
    return view


def shorten_view(job_id: str, count: int) -> discord.ui.View | None:
    """`1️⃣ … 5️⃣` under /shorten's shorter prompts (None when there are none)."""
    if count == 0:
        return None
    view = discord.ui.View(timeout=None)
    for n in range(1, min(count, 5) + 1):
        view.add_item(_on_row(PromptButton("shortpick", job_id, n), 0))
    return view


def _on_row(button: PromptButton, row: int) -> PromptButton:
    button.item.row = row
    return button
