"""Which edit a job re-ran: a 🔄 of a Zoom Out / Pan / Make Square / Vary (Region) / Retexture / Edit grid repeats
that edit (same canvas, same mask), so its PNG `parameters` and its Discord message say so."""

from __future__ import annotations

from typing import Protocol

from bot.jobs.derive import EDIT_KINDS
from bot.jobs.models import Job, JobKind
from bot.jobs.prompted_edits import PROMPTED_EDITS

__all__ = ["edit_behind"]


class _Jobs(Protocol):
    async def get_job(self, job_id: str) -> Job | None: ...


async def edit_behind(repository: _Jobs, job: Job) -> Job | None:
    """The edit job whose recipe `job` ran: `job` itself when it is an edit, the edit its 🔄 (or a
    🔄 of that 🔄 …) re-rolls, or None when there is no edit behind it (or its parent is gone)."""
    seen = {job.id}
    while job.kind is JobKind.REROLL and job.parent_id and job.parent_id not in seen:
        seen.add(job.parent_id)
        parent = await repository.get_job(job.parent_id)
        if parent is None:
            return None
        job = parent
    return job if job.kind in EDIT_KINDS or job.kind in PROMPTED_EDITS else None
