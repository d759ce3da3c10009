"""`/forget-me` without Discord: stop a user's jobs, then delete their rows and image files.

Order matters. Waiting and running jobs are cancelled and the job service is given time to end
them and deliver the "(Cancelled)" notice, so that nothing writes to rows that are gone. Image
folders go before the rows: if removing a file fails, the rows still name what to remove when the
user tries again.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import UserFacingError
from bot.jobs.models import JobStatus

if TYPE_CHECKING:
    from bot.jobs.service import JobService

log = logging.getLogger(__name__)

# A running job stops at its next denoising step; a minute covers a slow step with room to spare.
SETTLE_SECONDS = 60.0


class StillRunning(UserFacingError):
    title = "Please try again"


@dataclass(frozen=True)
class ForgetReport:
    """What `/forget-me` removed, to tell the user."""

    cancelled: int
    jobs: int
    images: int
    folders: int
    settings: int
    options: int


async def forget_user(service: JobService, user_id: int, *, within: float = SETTLE_SECONDS) -> ForgetReport:
    """Cancel the user's jobs, then delete their settings, options, jobs, image rows and files.

    Raises StillRunning (nothing deleted) if a job of theirs does not stop within `within` s.
    """
    repository = service.repository
    # 1. Stop what waits or runs.
    active = await repository.user_jobs_with_status(user_id, JobStatus.QUEUED, JobStatus.RUNNING)
    cancelled = 0
    for job in active:
        if await service.cancel(job.id, user_id=user_id):
            cancelled += 1
    # 2. Let the service finish with every job of theirs (also deliveries still in progress).
    job_ids = await repository.user_job_ids(user_id)
    if not await service.wait_settled(job_ids, within):
        raise StillRunning("One of your jobs is still stopping. Run /forget-me again in a minute.")
    # 3. Files, then rows.
    folders = await asyncio.to_thread(remove_folders, [service.job_folder(job_id) for job_id in job_ids])
    deleted = await repository.delete_user_data(user_id)
    log.info("forgot user %s: %d jobs, %d image folders", user_id, len(job_ids), folders)
    return ForgetReport(
        cancelled=cancelled,
        jobs=deleted.get("jobs", 0),
        images=deleted.get("images", 0),
        folders=folders,
        settings=deleted.get("user_settings", 0),
        options=deleted.get("user_options", 0),
    )


def remove_folders(folders: list[Path]) -> int:
    """Delete these folders with everything in them; return how many existed."""
    removed = 0
    for folder in folders:
        if folder.is_dir():
            shutil.rmtree(folder)
            removed += 1
    return removed
