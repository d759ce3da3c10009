"""Posting a web job to a Discord channel the member picks: the web app asks through this object,
which checks with Discord that the member may post there (and the bot too) before posting.

The web app knows it only as `bot.web.context.ChannelPoster` (two methods) and
`bot.web.membership.MembershipSource` (who may sign in, who is still in a server), so bot/web
never imports discord.py.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

import discord

from bot.errors import JobNotFound, UserFacingError
from bot.jobs.models import Job, JobStatus

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot

__all__ = ["DiscordPoster"]

log = logging.getLogger(__name__)

NOT_ALLOWED = "You cannot post in that channel (or the bot cannot)."


class DiscordPoster:
    """Lists the channels a member may post a job to, and posts it there."""

    def __init__(self, bot: MidjourneyBot) -> None:
        self.bot = bot

    async def _member(self, guild: discord.Guild, user_id: int) -> discord.Member | None:
        member = guild.get_member(user_id)
        if member is not None:
            return member
        try:
            return await guild.fetch_member(user_id)
        except discord.HTTPException:
            return None

    def bot_guild_ids(self) -> set[int]:
        """The servers the bot is in now (its guild cache): who may sign in to the web app."""
        return {guild.id for guild in self.bot.guilds}

    async def is_member(self, user_id: int, guild_id: int) -> bool | None:
        """Whether the user is still in the server (member cache, else one REST call); None
        when Discord could not say (a web session keeps the server until the next check)."""
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            return None if not self.bot.is_ready() else False
        if guild.get_member(user_id) is not None:
            return True
        try:
            await guild.fetch_member(user_id)
        except discord.NotFound:
            return False
        except discord.HTTPException:
            return None
        return True

    @staticmethod
    def _may_post(channel: discord.abc.GuildChannel, member: discord.Member, me: discord.Member) -> bool:
        theirs = channel.permissions_for(member)
        ours = channel.permissions_for(me)
        return (
            theirs.view_channel
            and theirs.send_messages
            and ours.view_channel
            and ours.send_messages
            and ours.attach_files
        )

    async def postable_channels(self, user_id: int, guild_id: int) -> list[tuple[int, str]]:
        """(id, name) of the text channels of the server where both the member and the bot may post."""
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            return []
        member = await self._member(guild, user_id)
        if member is None or guild.me is None:
            return []
        return [
            (channel.id, channel.name)
            for channel in guild.text_channels
            if self._may_post(channel, member, guild.me)
        ]

    async def post(self, job: Job, user_id: int, channel_id: int) -> int:
        """Post the finished job (grid or image, with its buttons) in the channel; the message id.

        Raises UserFacingError when the member or the bot may not post there.
        """
        if job.status is not JobStatus.DONE:
            raise UserFacingError("That job has not finished yet.")
        channel = self.bot.get_channel(channel_id)
        if not isinstance(channel, discord.TextChannel):
            raise UserFacingError(NOT_ALLOWED)
        member = await self._member(channel.guild, user_id)
        if (
            member is None
            or channel.guild.me is None
            or not self._may_post(channel, member, channel.guild.me)
        ):
            raise UserFacingError(NOT_ALLOWED)
        front = self.bot.front
        images = await self.bot.services.library.images(job.id)
        if not images:
            raise JobNotFound(f"The images of job `{job.id}` are no longer stored.")
        post = await front.result_post(job, images)
        # One nonce per request: a retried upload (a 5xx after Discord made it) is not posted twice.
        nonce = "w" + uuid.uuid4().hex[:24]
        message = await front.publish(channel, job.id, post, "web-post", limit=None, nonce=nonce)
        log.info("member %s posted job %s to channel %s from the web", user_id, job.id, channel.id)
        return message.id
