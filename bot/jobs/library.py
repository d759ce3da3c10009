"""A member's jobs and images as the fronts show them: one job with its images, its parent and
children, the archive, a server's gallery, favourites, and the messages posted for a job.
Read-mostly; the job service owns the lifecycle."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.errors import InvalidParameter
from bot.jobs.models import Job, JobImage, JobStatus

if TYPE_CHECKING:
    from bot.jobs.service import JobService
    from bot.store.repository import Repository

__all__ = ["ACTIVE", "JobLibrary", "library_of"]

ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)
# Purposes whose message id is also kept on the job's row (`progress_message_id`, ...).
_ON_THE_JOB = ("progress", "result")


class JobLibrary:
    """Jobs, images, favourites and job messages, for Discord, the web app and the CLI."""

    def __init__(self, repository: Repository) -> None:
        self._repository = repository

    # ---- jobs and images -----------------------------------------------------------------

    async def job(self, job_id: str) -> Job | None:
        """The stored job (None: no such job)."""
        return await self._repository.get_job(job_id)

    async def images(self, job_id: str) -> list[JobImage]:
        return await self._repository.get_images(job_id)

    async def image(self, job_id: str, index: int) -> JobImage | None:
        """Image `index` (0-based) of a job, if stored."""
        return await self._repository.get_image(job_id, index)

    async def children(self, job_id: str) -> list[Job]:
        """The jobs made from this one (variations, upscales, ...)."""
        return await self._repository.child_jobs(job_id)

    async def member_job_ids(self, user_id: int) -> list[str]:
        return await self._repository.user_job_ids(user_id)

    async def active_jobs(self, user_id: int) -> list[Job]:
        """The member's queued and running jobs."""
        return await self._repository.user_jobs_with_status(user_id, *ACTIVE)

    async def server_jobs(self, guild_id: int, *statuses: JobStatus) -> list[Job]:
        """A server's jobs (only those in `statuses`, when given)."""
        return await self._repository.guild_jobs(guild_id, *statuses)

    async def archive(
        self,
        user_id: int,
        *,
        text: str = "",
        favourites_only: bool = False,
        guild_id: int | None = None,
        limit: int = 24,
        offset: int = 0,
    ) -> list[Job]:
        """The member's jobs, newest first (see the store's `archive`)."""
        return await self._repository.archive(
            user_id, text=text, favourites_only=favourites_only, guild_id=guild_id, limit=limit, offset=offset
        )

    async def gallery(self, guild_id: int, *, limit: int = 24, offset: int = 0) -> list[Job]:
        """A server's finished, non-stealth jobs, newest first."""
        return await self._repository.gallery(guild_id, limit=limit, offset=offset)

    async def is_hidden(self, job: Job) -> bool:
        """Whether the job stays off the gallery: made in stealth, or its member is in stealth now."""
        return bool(job.meta.get("stealth")) or await self._repository.is_stealth(job.user_id)

    # ---- favourites ----------------------------------------------------------------------

    async def toggle_favourite(self, user_id: int, job_id: str, number: int) -> bool:
        """❤️ on image `number` (1-based) of a job, on Discord and the web alike; whether it is a
        favourite now. InvalidParameter when that image is not stored."""
        if await self._repository.get_image(job_id, number - 1) is None:
            raise InvalidParameter("This image is no longer stored.")
        return await self._repository.toggle_favourite(user_id, job_id, number - 1)

    async def favourite_indexes(self, user_id: int, job_id: str) -> set[int]:
        """0-based indexes of the job's images the member likes."""
        return await self._repository.favourite_indexes(user_id, job_id)

    async def favourites(self, user_id: int, *, limit: int = 50, offset: int = 0) -> list[tuple[Job, int]]:
        """(job, 0-based image index) the member likes, newest first."""
        return await self._repository.favourites(user_id, limit=limit, offset=offset)

    # ---- messages posted for jobs --------------------------------------------------------

    async def record_message(
        self, job_id: str, message_id: int, channel_id: int | None, purpose: str
    ) -> None:
        """Remember a message a front posted for a job (`purpose`: "progress", "result", "image-<n>",
        "show", ...) so its buttons find the job again; a progress or result message is also kept
        on the job's row."""
        if purpose in _ON_THE_JOB:
            await self._repository.set_message_ids(job_id, **{f"{purpose}_message_id": message_id})
        await self._repository.add_job_message(job_id, message_id, channel_id, purpose)

    async def set_meta(self, job_id: str, meta: dict[str, Any]) -> None:
        await self._repository.set_meta(job_id, meta)


def library_of(jobs: JobService) -> JobLibrary:
    """The job library over a job service's database (for helpers handed only the job service)."""
    return JobLibrary(jobs.repository)
