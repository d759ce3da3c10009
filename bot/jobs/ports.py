"""The job system's ports, so that neither the store nor the two fronts are imported where they
must not be; the composition root (bot/app.py, with bot/wiring.py for the database) hands each
side its implementation.

- `JobRecords`: what the job system needs of its storage, a Protocol that `bot.store`'s
  `Repository` satisfies. `bot.store` depends on `bot.jobs.models`; `bot.jobs` never imports
  `bot.store`, not even lazily.
- `WebPages`: addresses of the web app's pages (a job's page, the signed Vary (Region) editor
  link); the web app implements it (`bot.web.links.WebAddresses`), Discord's buttons use it.
- `ChannelPoster`: post a web job to a Discord channel; Discord implements it
  (`bot.discord.web_posting.DiscordPoster`), the web app's "post to Discord" uses it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from bot.jobs.models import GpuUsage, Job, JobImage, JobStatus

__all__ = ["ChannelPoster", "JobRecords", "WebPages"]


class JobRecords(Protocol):
    """The rows of jobs, their images, messages and deliveries."""

    async def insert_job(self, job: Job) -> bool: ...
    async def get_job(self, job_id: str) -> Job | None: ...
    async def jobs_with_status(self, *statuses: JobStatus) -> list[Job]: ...
    async def undelivered_jobs(self) -> list[Job]: ...
    async def mark_running(self, job_id: str, started_at: float) -> None: ...
    async def mark_queued(self, job_id: str) -> None: ...
    async def mark_done(
        self, job_id: str, images: Iterable[JobImage], finished_at: float, gpu_seconds: float
    ) -> None: ...
    async def mark_finished_without_images(
        self, job_id: str, status: JobStatus, error: str | None, finished_at: float, gpu_seconds: float
    ) -> None: ...
    async def set_meta(self, job_id: str, meta: dict[str, Any]) -> None: ...
    async def set_message_ids(
        self, job_id: str, *, progress_message_id: int | None = None, result_message_id: int | None = None
    ) -> None: ...
    async def add_job_message(
        self, job_id: str, message_id: int, channel_id: int | None, purpose: str
    ) -> None: ...
    async def get_images(self, job_id: str) -> list[JobImage]: ...
    async def get_image(self, job_id: str, index: int) -> JobImage | None: ...
    async def delivered_handlers(self, job_id: str) -> set[str]: ...
    async def record_delivery(self, job_id: str, handler: str, *, all_done: bool) -> None: ...
    async def mark_delivered(self, job_id: str) -> None: ...
    async def gpu_usage(self, user_id: int, now: float | None = None) -> GpuUsage: ...
    async def is_stealth(self, user_id: int) -> bool: ...


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
