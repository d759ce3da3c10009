"""Where a request came from: who asked, in which channel, under which interaction.

Submitting a job needs only this of an interaction, so the same code serves a live interaction
(`origin_of`) and one recorded before a restart and finished after it (`origin_of_record`,
bot/discord/pending.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord

from bot.discord.delivery import channel_of, place_of
from bot.governance.admission import Place

if TYPE_CHECKING:
    from bot.jobs.models import PendingInteraction

__all__ = ["Origin", "origin_of", "origin_of_record"]


@dataclass(frozen=True)
class Origin:
    """The member, the place, the channel to post in, the interaction (its id names the jobs it
    makes: bot/discord/pending.py) and the upload limit Discord gave it."""

    interaction_id: int
    place: Place
    channel: discord.abc.Messageable
    upload_limit: int | None

    @property
    def meta(self) -> dict[str, Any]:
        """What a job keeps of its interaction: the upload limit (for its later delivery)."""
        return {"upload_limit": self.upload_limit} if self.upload_limit else {}


def origin_of(interaction: discord.Interaction) -> Origin:
    """The origin of a live interaction."""
    return Origin(interaction.id, place_of(interaction), channel_of(interaction), interaction.filesize_limit)


def origin_of_record(client: discord.Client, pending: PendingInteraction) -> Origin | None:
    """The origin of an interaction recorded before a restart (None: it had no channel)."""
    if pending.channel_id is None:
        return None
    place = Place(pending.user_id, pending.guild_id, pending.channel_id, pending.parent_channel_id)
    channel = client.get_partial_messageable(pending.channel_id, guild_id=pending.guild_id)
    return Origin(pending.id, place, channel, pending.upload_limit)
