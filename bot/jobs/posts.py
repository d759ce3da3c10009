"""The records a front keeps of the messages it posted for jobs, and the stored results it reads
back to post them: a small handle (`JobService.posts`) so that fronts never call the store."""

from __future__ import annotations

from typing import Any

from bot.jobs.models import Job, JobImage
from bot.jobs.ports import JobRecords

__all__ = ["JobPosts"]

# Purposes whose message id is also kept on the job's row (`progress_message_id`, ...).
_ON_THE_JOB = ("progress", "result")


class JobPosts:
    """Messages posted for jobs, and the stored job rows and images to post."""

    def __init__(self, repository: JobRecords) -> None:
        self._repository = repository

    async def stored_job(self, job_id: str) -> Job | None:
        """The job as last written to the database (with the message ids fronts recorded)."""
        return await self._repository.get_job(job_id)

    async def images(self, job_id: str) -> list[JobImage]:
        """The stored images of a finished job."""
        return await self._repository.get_images(job_id)

    async def image(self, job_id: str, index: int) -> JobImage | None:
        """Image `index` (0-based) of a finished job, or None when it is not stored."""
        return await self._repository.get_image(job_id, index)

    async def record_message(
        self, job_id: str, message_id: int, channel_id: int | None, purpose: str
    ) -> None:
        """A message was posted for a job (`purpose`: "progress", "result", "image-<n>", ...); a
        progress or result message is also kept on the job itself."""
        if purpose in _ON_THE_JOB:
            await self._repository.set_message_ids(job_id, **{f"{purpose}_message_id": message_id})
        await self._repository.add_job_message(job_id, message_id, channel_id, purpose)

    async def save_meta(self, job_id: str, meta: dict[str, Any]) -> None:
        """Store the job's meta as a front changed it (e.g. the mark of a result being posted)."""
        await self._repository.set_meta(job_id, meta)
