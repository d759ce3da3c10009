"""Server rules set by admins (Manage Server: default permissions, checked again at run time).

| command                      | does                                                          |
|------------------------------|---------------------------------------------------------------|
| /banned add word             | ban a word or phrase in this server                           |
| /banned remove word          | unban it: the server's own word, or lift a built-in one here  |
| /banned list                 | the server's changes, and the full list in force as a file    |
| /limits show                 | jobs waiting per member, jobs per prompt, /imagine channels   |
| /limits set …                | change them (0 / `all_channels` go back to no server limit)   |

Banned words are matched by `bot.governance.banned_words.BannedWords` (whole words, simple evasions); the
built-in list is bot/governance/wordlists/banned_words.txt.
"""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.permissions import ADMIN_PERMISSIONS, admin_guild_id
from bot.errors import InvalidParameter
from bot.governance.banned_words import MAX_ENTRY_LENGTH, canonical_entry, load_default_words
from bot.governance.limits import MAX_CHANNELS, MAX_WAITING_LIMIT, GuildLimits, channel_mentions
from bot.prompt import MAX_JOBS

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot
    from bot.store.repository import Repository

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
        self._defaults: frozenset[str] | None = None

    @property
    def repository(self) -> Repository:
        return self.bot.store

    def _built_in(self) -> frozenset[str]:
        """The built-in list (and nothing else), as stored entries."""
        if self._defaults is None:
            self._defaults = frozenset(canonical_entry(word) for word in load_default_words())
        return self._defaults

    async def _state(self, guild_id: int) -> tuple[set[str], set[str], set[str]]:
        """(banned for every server: built-in and global, this server's additions, lifted here)."""
        everywhere = set(self._built_in())
        everywhere |= {w.word for w in await self.repository.banned_words(None)}
        added, lifted = set(), set()
        for change in await self.repository.guild_word_changes(guild_id):
            (lifted if change.allowed else added).add(change.word)
        return everywhere, added, lifted

    # ---- /banned --------------------------------------------------------------------------

    @banned.command(name="add", description="Ban a word or phrase in this server's prompts")
    @app_commands.describe(word="A word or short phrase; evasions like n.s.f.w are caught too")
    async def banned_add(
        self, interaction: discord.Interaction, word: app_commands.Range[str, 1, MAX_ENTRY_LENGTH]
    ) -> None:
        guild_id = admin_guild_id(interaction)
        entry = canonical_entry(word)
        everywhere, added, lifted = await self._state(guild_id)
        if entry in lifted:
            await self.repository.restore_banned_word(guild_id, entry)
            message = f"`{entry}` is banned in this server again."
        elif entry in added or entry in everywhere:
            message = f"`{entry}` is already banned here."
        else:
            await self.repository.add_banned_word(guild_id, entry, interaction.user.id)
            message = f"`{entry}` is now banned in this server's prompts."
        log.info("guild %s banned word change: add %r", guild_id, entry)
        await interaction.response.send_message(message, ephemeral=True)

    @banned.command(name="remove", description="Allow a word again in this server (also a built-in one)")
    @app_commands.describe(word="The banned word or phrase")
    async def banned_remove(
        self, interaction: discord.Interaction, word: app_commands.Range[str, 1, MAX_ENTRY_LENGTH]
    ) -> None:
        guild_id = admin_guild_id(interaction)
        entry = canonical_entry(word)
        everywhere, added, lifted = await self._state(guild_id)
        if entry not in added and (entry not in everywhere or entry in lifted):
            raise InvalidParameter(f"`{entry}` is not on this server's banned list (see `/banned list`).")
        if entry in added:
            await self.repository.remove_banned_word(guild_id, entry)
        built_in = entry in everywhere
        if built_in:
            await self.repository.lift_banned_word(guild_id, entry, interaction.user.id)
        log.info("guild %s banned word change: remove %r", guild_id, entry)
        where = " (a built-in word; `/banned add` bans it again)" if built_in else ""
        await interaction.response.send_message(
            f"`{entry}` is allowed in this server's prompts now{where}.", ephemeral=True
        )

    @banned.command(name="list", description="This server's banned words")
    async def banned_list(self, interaction: discord.Interaction) -> None:
        guild_id = admin_guild_id(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        everywhere, added, lifted = await self._state(guild_id)
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
        limits = GuildLimits.of(await self.repository.get_guild_rules(guild_id))
        await interaction.response.send_message(embed=self._limits_embed(limits), ephemeral=True)

    @limits.command(name="set", description="Change this server's limits for /imagine")
    @app_commands.describe(
        max_jobs_per_user="Jobs one member may have waiting (0: no server limit)",
        max_repeat=f"Jobs one prompt may make, --repeat included (0: no server limit, {MAX_JOBS})",
        allow_channel="Allow /imagine in this channel (once any is allowed, only those)",
        disallow_channel="Take this channel off the allowed ones",
        all_channels="True: /imagine works in every channel again",
    )
    async def limits_set(
        self,
        interaction: discord.Interaction,
        max_jobs_per_user: app_commands.Range[int, 0, MAX_WAITING_LIMIT] | None = None,
        max_repeat: app_commands.Range[int, 0, MAX_JOBS] | None = None,
        allow_channel: discord.TextChannel | None = None,
        disallow_channel: discord.TextChannel | None = None,
        all_channels: bool | None = None,
    ) -> None:
        guild_id = admin_guild_id(interaction)
        settings = await self.repository.get_guild_rules(guild_id)
        if max_jobs_per_user is not None:
            settings.max_jobs_per_user = max_jobs_per_user or None
        if max_repeat is not None:
            settings.max_repeat = max_repeat or None
        channels = list(settings.allowed_channels)
        if all_channels:
            channels = []
        if allow_channel is not None and allow_channel.id not in channels:
            if len(channels) >= MAX_CHANNELS:
                raise InvalidParameter(f"At most {MAX_CHANNELS} channels can be allowed; disallow one first.")
            channels.append(allow_channel.id)
        if disallow_channel is not None:
            if disallow_channel.id not in channels:
                raise InvalidParameter(
                    f"{disallow_channel.mention} is not an allowed channel. Allowed: "
                    f"{channel_mentions(channels) or 'every channel'}."
                )
            channels.remove(disallow_channel.id)
        settings.allowed_channels = channels
        await self.repository.set_guild_rules(settings)
        log.info("guild %s limits now %s", guild_id, settings)
        await interaction.response.send_message(
            "Limits saved.", embed=self._limits_embed(GuildLimits.of(settings)), ephemeral=True
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
