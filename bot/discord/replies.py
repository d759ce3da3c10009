"""How the bot answers a person: Midjourney-style error embeds, apologies for bugs, and the one
confirmation view (Yes / No under a question) that every "are you sure?" uses."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import discord

from bot.errors import QueueFull, UserFacingError

__all__ = [
    "ERROR_RED",
    "WARNING_YELLOW",
    "Confirmation",
    "apology_embed",
    "error_embed",
    "report_unexpected",
    "send_ephemeral",
    "send_error",
]

log = logging.getLogger(__name__)

Answer = Callable[[discord.Interaction], Awaitable[None]]


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


class Confirmation(discord.ui.View):
    """A question's two buttons; only `owner_id` may answer. Lives in memory: after a restart or
    `timeout` seconds the person simply runs the command again.

    `on_confirm(interaction)` runs on the first button (it answers the interaction itself); the
    second button edits the question to `declined`. Errors are shown like anywhere else. `check`
    runs before either (after the owner test) and answers the interaction itself when it refuses.
    """

    def __init__(
        self,
        owner_id: int,
        on_confirm: Answer,
        *,
        confirm_label: str = "Yes",
        decline_label: str = "No",
        declined: str = "Cancelled; nothing was done.",
        danger: bool = False,
        timeout: float = 180,
        check: Callable[[discord.Interaction], Awaitable[bool]] | None = None,
    ) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id
        self._check = check
        self._on_confirm = on_confirm
        self._declined = declined
        confirm = discord.ui.Button(
            label=confirm_label,
            style=discord.ButtonStyle.danger if danger else discord.ButtonStyle.success,
        )
        decline = discord.ui.Button(
            label=decline_label,
            style=discord.ButtonStyle.secondary if danger else discord.ButtonStyle.danger,
        )
        confirm.callback = self._confirm
        decline.callback = self._decline
        self.add_item(confirm)
        self.add_item(decline)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Only the owner answers; `check` (e.g. Manage Server, again) may refuse them too."""
        if interaction.user.id != self.owner_id:
            return False
        return await self._check(interaction) if self._check is not None else True

    async def _confirm(self, interaction: discord.Interaction) -> None:
        self.stop()
        try:
            await self._on_confirm(interaction)
        except UserFacingError as error:
            await send_error(interaction, error)
        except Exception as error:
            await report_unexpected(interaction, error)

    async def _decline(self, interaction: discord.Interaction) -> None:
        self.stop()
        await interaction.response.edit_message(content=self._declined, view=None)
