"""edit_behind: the edit a job (or a 🔄 of it, or a 🔄 of that 🔄) re-ran."""

from __future__ import annotations

from bot.jobs.edit_origin import edit_behind
from bot.jobs.models import Job, JobKind, JobStatus


def job(job_id: str, kind: JobKind, parent_id: str | None = None, mode: str | None = None) -> Job:
    return Job(
        id=job_id,
        kind=kind,
        status=JobStatus.DONE,
        user_id=1,
        guild_id=None,
        channel_id=None,
        prompt="p",
        request={},
        parent_id=parent_id,
        mode=mode,
    )


class Jobs:
    def __init__(self, *jobs: Job) -> None:
        self.jobs = {item.id: item for item in jobs}

    async def get_job(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)


async def test_the_edit_behind_a_chain_of_rerolls() -> None:
    zoom = job("z", JobKind.ZOOM, "i", "2")
    jobs = Jobs(
        job("i", JobKind.IMAGINE), zoom, job("r1", JobKind.REROLL, "z"), job("r2", JobKind.REROLL, "r1")
    )
    assert await edit_behind(jobs, zoom) is zoom
    assert await edit_behind(jobs, jobs.jobs["r2"]) is zoom


async def test_no_edit_behind_plain_jobs_lost_parents_or_loops() -> None:
    jobs = Jobs(
        job("i", JobKind.IMAGINE),
        job("r", JobKind.REROLL, "i"),
        job("v", JobKind.VARIATION, "i"),
        job("lost", JobKind.REROLL, "gone"),
        job("a", JobKind.REROLL, "b"),
        job("b", JobKind.REROLL, "a"),
    )
    for name in ("i", "r", "v", "lost", "a"):
        assert await edit_behind(jobs, jobs.jobs[name]) is None
