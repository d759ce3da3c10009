"""/settings (the panel) and /prefer (suffix, options, remix): a member's own defaults.

Everything answers ephemerally. What /prefer stores is checked the way /imagine will read it
(`bot.governance.member_settings.MemberSettings`, one service for every front) and against
this server's banned words, so a stored suffix or option cannot smuggle a banned word past the
filter.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.exts.settings._panel import ModelSelect, SettingButton, panel_message
from bot.discord.replies import send_error
from bot.errors import UserFacingError
from bot.governance.personal import MAX_OPTIONS, MAX_SUFFIX_LENGTH

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot
    from bot.governance.member_settings import MemberSettings

log = logging.getLogger(__name__)

# /prefer option list shows long values shortened, so 20 of them fit one embed.
LISTED_VALUE_LENGTH = 150
OPTIONS_COLOUR = discord.Colour(0x5865F2)


def shorten(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def option_lines(options: dict[str, str]) -> str:
    """`/prefer option list` body: one `--name` → value line per option, by name."""
    if not options:
        return "You have no options yet. Add one with `/prefer option set name value`."
    lines = [
        f"`--{name}` → `{shorten(value, LISTED_VALUE_LENGTH)}`" for name, value in sorted(options.items())
    ]
    return "\n".join(lines)


class Personal(commands.Cog):
    """A member's /settings panel and /prefer commands."""

    prefer = app_commands.Group(name="prefer", description="Your personal prompt preferences")
    option = app_commands.Group(name="option", description="Your --name shortcuts for prompts", parent=prefer)

    def __init__(self, bot: MidjourneyBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(SettingButton, ModelSelect)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(SettingButton, ModelSelect)

    @property
    def members(self) -> MemberSettings:
        return self.bot.services.members

    @app_commands.command(name="settings", description="View and adjust your personal settings")
    @app_commands.describe(
        profile="Your default --p code (a profile or moodboard code; `me` for your own profile): "
        "turns Personalization on"
    )
    async def settings(
        self, interaction: discord.Interaction, profile: app_commands.Range[str, 1, 40] | None = None
    ) -> None:
        if profile is not None:
            code = "" if profile.strip().lower() in ("me", "mine", "my") else profile
            try:
                user = await self.members.set_personalization(interaction.user.id, True, code)
            except UserFacingError as error:
                await send_error(interaction, error)
                return
        else:
            user = await self.members.of(interaction.user.id)
        message = panel_message(user, self.bot.config.model, dict(self.bot.config.model_aliases))
        await interaction.response.send_message(**message, ephemeral=True)

    @prefer.command(name="suffix", description="Text and parameters added to the end of every prompt")
    @app_commands.describe(
        text=f"e.g. --ar 3:2 --s 250 (up to {MAX_SUFFIX_LENGTH} characters); leave empty to clear"
    )
    async def prefer_suffix(self, interaction: discord.Interaction, text: str | None = None) -> None:
        try:
            suffix = await self.members.set_suffix(interaction.user.id, text, interaction.guild_id)
        except UserFacingError as error:
            await send_error(interaction, error)
            return
        reply = f"Custom suffix saved: `{suffix}`" if suffix else "Your custom suffix is cleared."
        await interaction.response.send_message(reply, ephemeral=True)

    @option.command(name="set", description="Create, change or (with no value) delete a --name option")
    @app_commands.describe(
        name="The option's name, used as --name in prompts",
        value="What --name stands for, e.g. --ar 21:9 --s 500; leave empty to delete the option",
    )
    async def option_set(
        self,
        interaction: discord.Interaction,
        name: app_commands.Range[str, 1, 40],
        value: app_commands.Range[str, 0, 1000] | None = None,
    ) -> None:
        try:
            changed = await self.members.set_option(interaction.user.id, name, value, interaction.guild_id)
        except UserFacingError as error:
            await send_error(interaction, error)
            return
        if changed.text is None:
            reply = f"Option `--{changed.name}` deleted."
        else:
            reply = (
                f"Option `--{changed.name}` saved ({changed.count} of {MAX_OPTIONS}): "
                f"`{shorten(changed.text, 1500)}`"
            )
        await interaction.response.send_message(reply, ephemeral=True)

    @option_set.autocomplete("name")
    async def option_name_choices(
        self, interaction: discord.Interaction, typed: str
    ) -> list[app_commands.Choice[str]]:
        """The user's own option names starting with what they typed."""
        options = await self.members.options(interaction.user.id)
        start = typed.strip().lower().removeprefix("--")
        return [
            app_commands.Choice(name=f"--{name}", value=name)
            for name in sorted(options)
            if name.startswith(start)
        ][:25]

    @option.command(name="list", description="Show your --name options")
    async def option_list(self, interaction: discord.Interaction) -> None:
        options = await self.members.options(interaction.user.id)
        embed = discord.Embed(
            title=f"Your options ({len(options)} of {MAX_OPTIONS})",
            description=option_lines(options),
            colour=OPTIONS_COLOUR,
        )
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @prefer.command(name="remix", description="Turn remix mode on or off")
    async def prefer_remix(self, interaction: discord.Interaction) -> None:
        remix = await self.members.set_remix(interaction.user.id)
        state = "on: Vary and 🔄 let you edit the prompt first" if remix else "off"
        await interaction.response.send_message(f"Remix mode turned {state}.", ephemeral=True)
