"""The two fronts' ports to each other, so neither imports the other; the composition root
(bot/app.py) hands each front the other's implementation.

- `WebPages`: addresses of the web app's pages (a job's page, the signed Vary (Region) editor
  link); the web app implements it (`bot.web.links.WebAddresses`), Discord's buttons use it.
- `ChannelPoster`: post a web job to a Discord channel; Discord implements it
  (`bot.discord.web_posting.DiscordPoster`), the web app's "post to Discord" uses it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.jobs.models import Job

__all__ = ["ChannelPoster", "WebPages"]


class WebPages(Protocol):
    """Links into the web app."""

    @property
    def public(self) -> bool:
        """Whether members can reach the pages (PUBLIC_URL is set): only then are links shown."""
        ...

    def job_url(self, job_id: str) -> str:
        """The job's page."""
        ...

    def editor_url(self, job_id: str, index: int, user_id: int) -> str:
        """A signed, expiring, single-use Vary (Region) editor link for image `index` (0-based)."""
        ...


class ChannelPoster(Protocol):
    """Posts a web job to a Discord channel (given by the Discord side; None in local mode)."""

    async def postable_channels(self, user_id: int, guild_id: int) -> list[tuple[int, str]]: ...

    async def post(self, job: Job, user_id: int, channel_id: int) -> int: ...
