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

from bot.discord.render import CUSTOM_ID_PATTERN, custom_id, parse_custom_id
from bot.errors import QueueFull, UserFacingError

log = logging.getLogger(__name__)


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
    "strong": ButtonLook("Vary (Strong)", "🪄"),
    "subtle": ButtonLook("Vary (Subtle)", "🪄"),
    "upsubtle": ButtonLook("Upscale (Subtle)", "⬆️"),
    "upcreative": ButtonLook("Upscale (Creative)", "⬆️"),
    "cancel": ButtonLook(None, "❌", discord.ButtonStyle.secondary),
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


def _view(rows: Iterable[Iterable[JobButton]]) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for row_number, row in enumerate(rows):
        for button in row:
            button.item.row = row_number
            view.add_item(button)
    return view


def grid_view(job_id: str, used: Iterable[str] = ()) -> discord.ui.View:
    """`U1 U2 U3 U4 🔄` / `V1 V2 V3 V4`; buttons whose custom id is in `used` are green."""
    marked = set(used)

    def button(action: str, index: int) -> JobButton:
        green = custom_id(action, job_id, index) in marked
        return JobButton(action, job_id, index, style=discord.ButtonStyle.success if green else None)

    return _view(
        [
            [*(button("pick", n) for n in range(1, 5)), JobButton("reroll", job_id, 0)],
            [button("vary", n) for n in range(1, 5)],
        ]
    )


def single_view(job_id: str, index: int, *, upscale: bool = True) -> discord.ui.View:
    """Buttons under one image: Vary (Strong/Subtle), then Upscale (Subtle/Creative).

    Each row leaves room for what comes later (Vary (Region), Zoom Out, Pan).
    """
    rows = [[JobButton("strong", job_id, index), JobButton("subtle", job_id, index)]]
    if upscale:
        rows.append([JobButton("upsubtle", job_id, index), JobButton("upcreative", job_id, index)])
    return _view(rows)


def progress_view(job_id: str) -> discord.ui.View:
    """The ❌ button under a progress message: its owner may stop the job."""
    return _view([[JobButton("cancel", job_id, 0)]])


def marked_view(message: discord.Message, clicked: str) -> discord.ui.View | None:
    """The message's job buttons again, with the clicked one green; None if it has none."""
    rows: list[list[JobButton]] = []
    for row in message.components:
        buttons: list[JobButton] = []
        for component in getattr(row, "children", ()):
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


# Midjourney's embed colours: red for what was refused, yellow for "try again later".
ERROR_RED = discord.Colour(0xED4245)
WARNING_YELLOW = discord.Colour(0xFEE75C)


def error_embed(error: UserFacingError) -> discord.Embed:
    """The ephemeral embed a user sees for a user-facing error, titled like Midjourney's."""
    colour = WARNING_YELLOW if isinstance(error, QueueFull) else ERROR_RED
    return discord.Embed(title=error.title, description=error.message[:4000], colour=colour)


def apology_embed(reference: str) -> discord.Embed:
    """What a user sees when something unexpected broke: short, with an id the operator can grep."""
    return discord.Embed(
        title="Something went wrong",
        description=f"Sorry, that did not work. The error was logged as `{reference}`.",
        colour=ERROR_RED,
    )


async def send_ephemeral(interaction: discord.Interaction, embed: discord.Embed) -> None:
    """Show an embed only to the person who interacted, whether or not we already responded.

    After an ephemeral "thinking" defer the embed replaces the placeholder; after any other
    response it is an ephemeral follow-up.
    """
    if not interaction.response.is_done():
        await interaction.response.send_message(embed=embed, ephemeral=True)
    elif interaction.response.type is discord.InteractionResponseType.deferred_channel_message:
        await interaction.edit_original_response(content=None, embed=embed, view=None)
    else:
        await interaction.followup.send(embed=embed, ephemeral=True)


async def send_error(interaction: discord.Interaction, error: UserFacingError) -> None:
    await send_ephemeral(interaction, error_embed(error))


async def report_unexpected(interaction: discord.Interaction, error: BaseException) -> None:
    """Log a bug with its trace and tell the user briefly, naming the interaction for the logs."""
    reference = str(interaction.id)
    log.error("unexpected error in interaction %s", reference, exc_info=error)
    try:
        await send_ephemeral(interaction, apology_embed(reference))
    except discord.HTTPException as http_error:
        log.warning("could not tell the user about error %s: %s", reference, http_error)
