"""A server's rules for every front: its limits for /imagine (jobs waiting, repeats, channels) and
its banned words (added here, built-in ones lifted here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.errors import InvalidParameter
from bot.governance.banned_words import canonical_entry, load_default_words
from bot.governance.limits import MAX_CHANNELS, VIDEO_RULES, GuildLimits, channel_mentions

if TYPE_CHECKING:
    from bot.governance.models import GuildRules
    from bot.store.repository import Repository

__all__ = ["BannedWordState", "ServerRules"]


@dataclass(frozen=True)
class BannedWordState:
    """A server's banned words: banned everywhere (built-in and global), added here, lifted here."""

    everywhere: frozenset[str]
    added: frozenset[str]
    lifted: frozenset[str]


class ServerRules:
    """Reads and changes one server's limits and banned words."""

    def __init__(self, repository: Repository) -> None:
        self._repository = repository
        self._built_in: frozenset[str] | None = None

    async def rules(self, guild_id: int) -> GuildRules:
        """The server's stored rules (limits, allowed channels, default style)."""
        return await self._repository.get_guild_rules(guild_id)

    async def limits(self, guild_id: int) -> GuildLimits:
        return GuildLimits.of(await self._repository.get_guild_rules(guild_id))

    async def set_limits(
        self,
        guild_id: int,
        *,
        max_jobs_per_user: int | None = None,
        max_repeat: int | None = None,
        allow_channel: int | None = None,
        disallow_channel: int | None = None,
        all_channels: bool | None = None,
        video: str | None = None,
    ) -> GuildLimits:
        """Change what is given (0 lifts a limit; `video`: allowed, relax or off); the limits after
        the change."""
        settings = await self._repository.get_guild_rules(guild_id)
        if video is not None:
            if video not in VIDEO_RULES:
                raise InvalidParameter(f"Invalid video rule `{video}`: expected allowed, relax or off.")
            settings.video = video
        if max_jobs_per_user is not None:
            settings.max_jobs_per_user = max_jobs_per_user or None
        if max_repeat is not None:
            settings.max_repeat = max_repeat or None
        channels = [] if all_channels else list(settings.allowed_channels)
        if allow_channel is not None and allow_channel not in channels:
            if len(channels) >= MAX_CHANNELS:
                raise InvalidParameter(f"At most {MAX_CHANNELS} channels can be allowed; disallow one first.")
            channels.append(allow_channel)
        if disallow_channel is not None:
            if disallow_channel not in channels:
                raise InvalidParameter(
                    f"<#{disallow_channel}> is not an allowed channel. Allowed: "
                    f"{channel_mentions(channels) or 'every channel'}."
                )
            channels.remove(disallow_channel)
        settings.allowed_channels = channels
        await self._repository.set_guild_rules(settings)
        return GuildLimits.of(settings)

    def built_in_words(self) -> frozenset[str]:
        """The built-in list (and nothing else), as stored entries."""
        if self._built_in is None:
            self._built_in = frozenset(canonical_entry(word) for word in load_default_words())
        return self._built_in

    async def banned_words(self, guild_id: int) -> BannedWordState:
        everywhere = set(self.built_in_words())
        everywhere |= {w.word for w in await self._repository.banned_words(None)}
        added, lifted = set(), set()
        for change in await self._repository.guild_word_changes(guild_id):
            (lifted if change.allowed else added).add(change.word)
        return BannedWordState(frozenset(everywhere), frozenset(added), frozenset(lifted))

    async def ban_word(self, guild_id: int, word: str, by: int) -> tuple[str, bool]:
        """Ban `word` here; (the stored entry, whether anything changed)."""
        entry = canonical_entry(word)
        state = await self.banned_words(guild_id)
        if entry in state.lifted:
            await self._repository.restore_banned_word(guild_id, entry)
            return entry, True
        if entry in state.added or entry in state.everywhere:
            return entry, False
        await self._repository.add_banned_word(guild_id, entry, by)
        return entry, True

    async def allow_word(self, guild_id: int, word: str, by: int) -> tuple[str, bool]:
        """Allow `word` here again; (the entry, whether it is a built-in word now lifted)."""
        entry = canonical_entry(word)
        state = await self.banned_words(guild_id)
        if entry not in state.added and (entry not in state.everywhere or entry in state.lifted):
            raise InvalidParameter(f"`{entry}` is not on this server's banned list (see `/banned list`).")
        if entry in state.added:
            await self._repository.remove_banned_word(guild_id, entry)
        built_in = entry in state.everywhere
        if built_in:
            await self._repository.lift_banned_word(guild_id, entry, by)
        return entry, built_in
