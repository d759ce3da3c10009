"""Per-server limits set by admins with `/limits set`, checked before anything is queued.

- `allowed_channels`: /imagine works only in these channels (and their threads); empty: anywhere.
- `max_repeat`: the most jobs one /imagine may make (`--repeat`, permutations); None: the
  prompt language's own limit (40).
- `max_jobs_per_user`: the most jobs one member may have waiting in this server; None: only the
  bot-wide MAX_JOBS_PER_USER applies (which always applies as well).
- `video`: video jobs (--video, Animate, Extend) are `allowed`, `relax` (relax mode only) or `off`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.errors import InvalidParameter, QueueFull, UserFacingError
from bot.governance.models import GuildRules
from bot.prompt import ImagineRequest
from bot.prompt.expand import MAX_JOBS

MAX_WAITING_LIMIT = 1000
MAX_CHANNELS = 25
VIDEO_RULES = ("allowed", "relax", "off")


class ChannelNotAllowed(UserFacingError):
    title = "Channel not allowed"


def channel_mentions(channel_ids: Sequence[int]) -> str:
    return ", ".join(f"<#{channel_id}>" for channel_id in channel_ids)


@dataclass(frozen=True)
class GuildLimits:
    """The limits of one server (see the module docstring); every check raises a user-facing error."""

    max_jobs_per_user: int | None = None
    max_repeat: int | None = None
    allowed_channels: tuple[int, ...] = ()
    video: str = "allowed"

    @classmethod
    def of(cls, settings: GuildRules) -> GuildLimits:
        return cls(
            settings.max_jobs_per_user, settings.max_repeat, tuple(settings.allowed_channels), settings.video
        )

    def check_video(self, speed: str) -> None:
        """Refuse a video job where the server turned video off, or a fast one where it is relax-only."""
        if self.video == "off":
            raise InvalidParameter("Video is turned off on this server.")
        if self.video == "relax" and speed != "relax":
            raise InvalidParameter(
                "Videos run in relax mode only on this server: add `--relax` (or switch to Relax in /settings)."
            )

    def check_channel(self, *channel_ids: int | None) -> None:
        """Refuse unless one of `channel_ids` (the channel, a thread's parent) is allowed."""
        if not self.allowed_channels or any(c in self.allowed_channels for c in channel_ids if c):
            return
        raise ChannelNotAllowed(
            f"/imagine is not used in this channel on this server. Try {channel_mentions(self.allowed_channels)}."
        )

    def check_jobs(self, requests: Sequence[ImagineRequest]) -> None:
        """Refuse a prompt whose `--repeat` (or job count) is over the server's limit."""
        limit = self.max_repeat
        if limit is None or not requests:
            return
        repeat = max(request.repeat for request in requests) + 1
        if repeat > limit:
            raise InvalidParameter(
                f"`--repeat {repeat}` is over this server's limit: at most {limit} jobs per prompt."
            )
        if len(requests) > limit:
            raise InvalidParameter(
                f"This prompt makes {len(requests)} jobs (permutations × `--repeat`); this server "
                f"allows at most {limit} jobs per prompt."
            )

    def check_waiting(self, waiting: int) -> None:
        """Refuse one more job when the member already has the server's limit waiting."""
        limit = self.max_jobs_per_user
        if limit is not None and waiting >= limit:
            raise QueueFull(
                f"You already have {waiting} jobs waiting in this server (its limit is {limit}). "
                "Wait for one to finish."
            )

    def describe(self, bot_max_jobs_per_user: int) -> list[tuple[str, str]]:
        """(name, value) lines for `/limits show`."""
        waiting = (
            f"{self.max_jobs_per_user} (the bot allows {bot_max_jobs_per_user})"
            if self.max_jobs_per_user is not None
            else f"not set (the bot allows {bot_max_jobs_per_user})"
        )
        repeat = str(self.max_repeat) if self.max_repeat is not None else f"not set (up to {MAX_JOBS})"
        channels = channel_mentions(self.allowed_channels) if self.allowed_channels else "any channel"
        return [
            ("Jobs waiting per member", waiting),
            ("Jobs per prompt (--repeat)", repeat),
            ("/imagine channels", channels),
            (
                "Video",
                {"allowed": "allowed", "relax": "relax mode only", "off": "off"}.get(self.video, self.video),
            ),
        ]
