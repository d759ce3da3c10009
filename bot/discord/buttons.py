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
from bot.jobs.actions import ACTIONS, Action, Surface, actions_on, layout, resolve

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


def look_of(name: str) -> ButtonLook:
    """How the button of a custom-id action name looks (from the action table)."""
    action = resolve(name, front="discord")
    if action is None:
        return ButtonLook(name)
    return ButtonLook(action.label, action.emoji)


# Custom-id action name → how its button looks, read from the action table (bot/jobs/actions.py).
LOOKS: dict[str, ButtonLook] = {
    alias: ButtonLook(action.label, action.emoji)
    for action in ACTIONS
    if action.surface in (Surface.GRID, Surface.SINGLE, Surface.PROGRESS, Surface.VIDEO)
    for alias in action.discord
}
# Actions whose buttons turn green once used, as Midjourney marks them on the grid.
MARKED_WHEN_USED = frozenset(alias for action in ACTIONS if action.marked for alias in action.discord)


class JobButton(discord.ui.DynamicItem[discord.ui.Button], template=CUSTOM_ID_PATTERN):
    """A persistent job button; its state is only the (action, job, index) in its custom id."""

    def __init__(
        self, action: str, job_id: str, index: int = 0, *, style: discord.ButtonStyle | None = None
    ) -> None:
        look = look_of(action)
        spec = resolve(action, front="discord")
        label = f"{look.label}{index}" if spec is not None and spec.numbered else look.label
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
    """`U1 U2 U3 U4 🔄` / `V1 V2 V3 V4` (/ `✨ Enhance` under a --draft grid), from the action
    table; buttons whose custom id is in `used` are green."""
    marked = set(used)

    def button(action: Action, index: int) -> JobButton:
        name = action.custom_id_name
        green = custom_id(name, job_id, index) in marked
        return JobButton(name, job_id, index, style=discord.ButtonStyle.success if green else None)

    return _view([[button(a, n) for a, n in row] for row in layout(Surface.GRID, draft=draft)])


def single_view(job_id: str, index: int, *, upscale: bool = True, square: bool = True) -> discord.ui.View:
    """Buttons under one image, in Midjourney's rows (from the action table): Vary
    (Strong/Subtle/Region); Upscale (Subtle/Creative) unless it is already upscaled; Zoom Out 2x /
    1.5x (Make Square instead of 1.5x on a non-square image) / Custom Zoom; ⬅️ ➡️ ⬆️ ⬇️."""
    facts = {name for name, true in (("upscaled", not upscale), ("square", square)) if true}
    rows = layout(Surface.SINGLE, facts=facts, skip=frozenset({"favourite"}))
    return _view([[JobButton(a.custom_id_name, job_id, index) for a, _ in row] for row in rows])


def progress_view(job_id: str) -> discord.ui.View:
    """The ❌ button under a progress message: its owner may stop the job."""
    return _view(
        [[JobButton(a.custom_id_name, job_id, 0) for a, _ in row] for row in layout(Surface.PROGRESS)]
    )


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
_PROMPT_COGS = {Surface.DESCRIBE: "Describe", Surface.SHORTEN: "Shorten"}
# Custom-id action name → (cog that answers it, label, emoji), from the action table.
PROMPT_ACTIONS: dict[str, tuple[str, str | None, str | None]] = {
    alias: (_PROMPT_COGS[action.surface], action.label, action.emoji)
    for surface in _PROMPT_COGS
    for action in actions_on(surface)
    for alias in action.discord
}


class PromptButton(discord.ui.DynamicItem[discord.ui.Button], template=PROMPT_BUTTON_PATTERN):
    """A persistent button under /describe or /shorten results: (action, job, n) in its custom id;
    the prompts themselves are read from the job's stored result when it is clicked."""

    def __init__(self, action: str, job_id: str, index: int = 0) -> None:
        _cog, label, emoji = PROMPT_ACTIONS[action]
        spec = resolve(action, front="discord")
        if spec is not None and spec.numbered:
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


def _prompt_view(surface: Surface, job_id: str, count: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for row_number, row in enumerate(layout(surface, count=count)):
        for action, n in row:
            view.add_item(_on_row(PromptButton(action.custom_id_name, job_id, n), row_number))
    return view


def describe_view(job_id: str, count: int = 4) -> discord.ui.View:
    """`1️⃣ 2️⃣ 3️⃣ 4️⃣ 🔄` / `Imagine all` under /describe's suggestions (from the action table)."""
    return _prompt_view(Surface.DESCRIBE, job_id, count)


def shorten_view(job_id: str, count: int) -> discord.ui.View | None:
    """`1️⃣ … 5️⃣` under /shorten's shorter prompts (None when there are none)."""
    if count == 0:
        return None
    return _prompt_view(Surface.SHORTEN, job_id, min(count, 5))


def _on_row(button: PromptButton, row: int) -> PromptButton:
    button.item.row = row
    return button
