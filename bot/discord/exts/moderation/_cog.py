"""Server rules set by admins (Manage Server: default permissions, checked again at run time).

| command                      | does                                                          |
|------------------------------|---------------------------------------------------------------|
| /banned add word             | ban a word or phrase in this server                           |
| /banned remove word          | unban it: the server's own word, or lift a built-in one here  |
| /banned list                 | the server's changes, and the full list in force as a file    |
| /limits show                 | jobs waiting per member, jobs per prompt, /imagine channels   |
| /limits set …                | change them (0 / `all_channels` go back to no server limit);  |
|                              | `video`: video jobs allowed, relax-only or off                |

Banned words are matched by `bot.governance.banned_words.BannedWords` (whole words, simple evasions); the
built-in list is bot/governance/wordlists/banned_words.txt.
"""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.permissions import ADMIN_PERMISSIONS, admin_guild_id
from bot.governance.banned_words import MAX_ENTRY_LENGTH
from bot.governance.limits import MAX_WAITING_LIMIT, GuildLimits
from bot.prompt import MAX_JOBS

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot
    from bot.governance.server_rules import ServerRules

log = logging.getLogger(__name__)


class Moderation(commands.Cog):
    banned = app_commands.Group(
        name="banned",
        description="This server's banned words (admins)",
        guild_only=True,
        default_permissions=ADMIN_PERMISSIONS,
    )
    limits = app_commands.Group(
        name="limits",
        description="This server's limits for /imagine (admins)",
        guild_only=True,
        default_permissions=ADMIN_PERMISSIONS,
    )

    def __init__(self, bot: MidjourneyBot) -> None:
        self.bot = bot

    @property
    def rules(self) -> ServerRules:
        return self.bot.services.rules

    # ---- /banned --------------------------------------------------------------------------

    @banned.command(name="add", description="Ban a word or phrase in this server's prompts")
    @app_commands.describe(word="A word or short phrase; evasions like n.s.f.w are caught too")
    async def banned_add(
        self, interaction: discord.Interaction, word: app_commands.Range[str, 1, MAX_ENTRY_LENGTH]
    ) -> None:
        guild_id = admin_guild_id(interaction)
        lifted = (await self.rules.banned_words(guild_id)).lifted
        entry, changed = await self.rules.ban_word(guild_id, word, interaction.user.id)
        if not changed:
            message = f"`{entry}` is already banned here."
        elif entry in lifted:
            message = f"`{entry}` is banned in this server again."
        else:
            message = f"`{entry}` is now banned in this server's prompts."
        log.info("guild %s banned word change: add %r", guild_id, entry)
        await interaction.response.send_message(message, ephemeral=True)

    @banned.command(name="remove", description="Allow a word again in this server (also a built-in one)")
    @app_commands.describe(word="The banned word or phrase")
    async def banned_remove(
        self, interaction: discord.Interaction, word: app_commands.Range[str, 1, MAX_ENTRY_LENGTH]
    ) -> None:
        guild_id = admin_guild_id(interaction)
        entry, built_in = await self.rules.allow_word(guild_id, word, interaction.user.id)
        log.info("guild %s banned word change: remove %r", guild_id, entry)
        where = " (a built-in word; `/banned add` bans it again)" if built_in else ""
        await interaction.response.send_message(
            f"`{entry}` is allowed in this server's prompts now{where}.", ephemeral=True
        )

    @banned.command(name="list", description="This server's banned words")
    async def banned_list(self, interaction: discord.Interaction) -> None:
        guild_id = admin_guild_id(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        state = await self.rules.banned_words(guild_id)
        everywhere, added, lifted = set(state.everywhere), set(state.added), set(state.lifted)
        in_force = await self.bot.admission.banned_words(guild_id)
        embed = discord.Embed(title="Banned words", colour=discord.Colour.blurple())
        embed.add_field(name="Added in this server", value=_words(added), inline=False)
        embed.add_field(name="Built-in words allowed in this server", value=_words(lifted), inline=False)
        embed.add_field(
            name="In force",
            value=f"{len(in_force)} words and phrases: the built-in list ({len(everywhere)}) "
            f"plus {len(added)} added, minus {len(lifted & everywhere)} allowed. The full list is attached.",
            inline=False,
        )
        listing = "\n".join(in_force.entries) + "\n"
        file = discord.File(io.BytesIO(listing.encode()), filename="banned-words.txt")
        await interaction.edit_original_response(embed=embed, attachments=[file])

    # ---- /limits --------------------------------------------------------------------------

    @limits.command(name="show", description="This server's limits for /imagine")
    async def limits_show(self, interaction: discord.Interaction) -> None:
        guild_id = admin_guild_id(interaction)
        limits = await self.rules.limits(guild_id)
        await interaction.response.send_message(embed=self._limits_embed(limits), ephemeral=True)

    @limits.command(name="set", description="Change this server's limits for /imagine")
    @app_commands.describe(
        max_jobs_per_user="Jobs one member may have waiting (0: no server limit)",
        max_repeat=f"Jobs one prompt may make, --repeat included (0: no server limit, {MAX_JOBS})",
        allow_channel="Allow /imagine in this channel (once any is allowed, only those)",
        disallow_channel="Take this channel off the allowed ones",
        all_channels="True: /imagine works in every channel again",
        video="Video jobs (Animate, Extend, --video): allowed, relax mode only, or off",
    )
    async def limits_set(
        self,
        interaction: discord.Interaction,
        max_jobs_per_user: app_commands.Range[int, 0, MAX_WAITING_LIMIT] | None = None,
        max_repeat: app_commands.Range[int, 0, MAX_JOBS] | None = None,
        allow_channel: discord.TextChannel | None = None,
        disallow_channel: discord.TextChannel | None = None,
        all_channels: bool | None = None,
        video: Literal["allowed", "relax", "off"] | None = None,
    ) -> None:
        guild_id = admin_guild_id(interaction)
        limits = await self.rules.set_limits(
            guild_id,
            max_jobs_per_user=max_jobs_per_user,
            max_repeat=max_repeat,
            allow_channel=allow_channel.id if allow_channel is not None else None,
            disallow_channel=disallow_channel.id if disallow_channel is not None else None,
            all_channels=all_channels,
            video=video,
        )
        log.info("guild %s limits now %s", guild_id, limits)
        await interaction.response.send_message(
            "Limits saved.", embed=self._limits_embed(limits), ephemeral=True
        )

    def _limits_embed(self, limits: GuildLimits) -> discord.Embed:
        embed = discord.Embed(title="Limits for /imagine", colour=discord.Colour.blurple())
        for name, value in limits.describe(self.bot.config.max_jobs_per_user):
            embed.add_field(name=name, value=value, inline=False)
        return embed


def _words(words: set[str]) -> str:
    if not words:
        return "(none)"
    text = ", ".join(f"`{word}`" for word in sorted(words))
    return text if len(text) <= 1024 else text[:1000].rsplit(", ", 1)[0] + ", … (see the file)"
