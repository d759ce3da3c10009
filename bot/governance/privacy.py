"""One erase routine for `/forget-me` (a member) and `/purge-guild` (a server).

Order, the same for both, so that rows and files are consistent after a crash at any point:

1. Record the intent (`erasures` table; `record_intent`, which a front calls before it says
   "Deleting your data…"). From here on the erase is finished at the next start if the process
   stops (`resume_erasures`).
2. Stop what waits or runs and let the job service end it (and deliver its "(Cancelled)" notice),
   so that no worker result or delivery writes to rows that are about to go.
3. Delete the image folders (the rows still name them, so a crash here is simply resumed).
4. Delete every row about the subject — tables found by column, so a table added later cannot
   survive — and the intent, in one transaction.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import UserFacingError
from bot.jobs.disk import refusing_when_full
from bot.jobs.models import JobStatus

if TYPE_CHECKING:
    from bot.governance.models import Erasure
    from bot.jobs.service import JobService

__all__ = ["ErasureReport", "StillRunning", "Subject", "erase", "record_intent", "resume_erasures"]

log = logging.getLogger(__name__)

# A running job stops at its next denoising step; a minute covers a slow step with room to spare.
SETTLE_SECONDS = 60.0


class Subject(StrEnum):
    """Whose data: the column that names it in every table."""

    MEMBER = "user_id"
    SERVER = "guild_id"


class StillRunning(UserFacingError):
    title = "Please try again"


@dataclass(frozen=True)
class ErasureReport:
    """What an erase removed, to tell whoever asked."""

    cancelled: int
    jobs: int
    images: int
    folders: int
    files: int
    rows: dict[str, int]


async def record_intent(
    service: JobService,
    subject: Subject,
    subject_id: int,
    *,
    requested_by: int | None = None,
    channel_id: int | None = None,
) -> None:
    """Step 1 alone: from now on the erase of `subject_id` is finished even if the process stops
    (the next start resumes it). DiskFull when the database's disk has no room for it."""
    with refusing_when_full():
        await service.repository.record_erasure(
            subject.value, subject_id, requested_by=requested_by, channel_id=channel_id
        )


async def erase(
    service: JobService,
    subject: Subject,
    subject_id: int,
    *,
    requested_by: int | None = None,
    channel_id: int | None = None,
    within: float = SETTLE_SECONDS,
) -> ErasureReport:
    """Erase every job, image file and row of `subject` = `subject_id` (see the module docstring).

    Raises StillRunning (nothing deleted, no intent kept) if a job does not stop within `within` s.
    """
    repository = service.repository
    # 1. The intent (again, if the front recorded it already: the same row).
    await record_intent(service, subject, subject_id, requested_by=requested_by, channel_id=channel_id)
    # 2. Stop what waits or runs.
    active = await repository.job_ids_of(subject.value, subject_id, JobStatus.QUEUED, JobStatus.RUNNING)
    cancelled = 0
    for job_id in active:
        if await service.cancel(job_id):
            cancelled += 1
    job_ids = await repository.job_ids_of(subject.value, subject_id)
    if not await service.wait_settled(job_ids, within):
        await repository.drop_erasure(subject.value, subject_id)
        raise StillRunning("A job is still stopping. Run the command again in a minute.")
    # 3. Files (the rows still name them).
    folders, files = await asyncio.to_thread(
        remove_folders, [service.job_folder(job_id) for job_id in job_ids]
    )
    # 4. Rows and the intent, in one transaction.
    rows = await repository.erase_rows(subject.value, subject_id)
    log.info(
        "erased %s %s: %d jobs, %d image folders", subject.name.lower(), subject_id, len(job_ids), folders
    )
    return ErasureReport(
        cancelled=cancelled,
        jobs=rows.get("jobs", 0),
        images=rows.get("images", 0),
        folders=folders,
        files=files,
        rows=rows,
    )


async def resume_erasures(service: JobService) -> list[tuple[Erasure, ErasureReport]]:
    """Finish the erasures a stop interrupted (call once the job service has started)."""
    finished = []
    for pending in await service.repository.pending_erasures():
        log.info("finishing the interrupted erase of %s %s", pending.subject, pending.subject_id)
        report = await erase(
            service,
            Subject(pending.subject),
            pending.subject_id,
            requested_by=pending.requested_by,
            channel_id=pending.channel_id,
        )
        finished.append((pending, report))
    return finished


def remove_folders(folders: list[Path]) -> tuple[int, int]:
    """Delete these folders with everything in them; return (folders that existed, files in them)."""
    removed = files = 0
    for folder in folders:
        if folder.is_dir():
            files += sum(1 for path in folder.rglob("*") if path.is_file())
            shutil.rmtree(folder)
            removed += 1
    return removed, files
