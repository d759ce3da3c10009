"""Batching across jobs (MAX_BATCH_IMAGES > 4): waiting txt2img jobs that can share one engine
call ride along with the job that runs, and the bookkeeping a shared call needs.

The job service asks `Batches.companions(lead, ...)` when it dispatches `lead`; the companions
are taken out of the queue and their results come back with the lead's (`WorkDone.companions`).
A cancel of one job of a running batch drops only that job (`dropped`); a batch that stops for
any other reason sends its jobs back to run alone (`alone`), so a failing prompt fails only itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bot.engine.request import shares_call
from bot.jobs.models import Job, JobKind
from bot.jobs.scheduler import FairQueue

__all__ = ["Batches"]


class Batches:
    """Who rides in whose engine call, and what happened to them while it ran."""

    def __init__(self, max_batch_images: Callable[[], int]) -> None:
        self._max_batch_images = max_batch_images  # MAX_BATCH_IMAGES of the service's settings
        self.riding: dict[str, str] = {}  # companion id → lead id
        self.running: dict[str, tuple[Job, ...]] = {}  # lead id → every job of its call, while it runs
        self.dropped: set[str] = set()  # jobs cancelled out of a running batch
        self.cancel_asked: set[str] = set()  # jobs whose cancel went to a running call
        self.alone: set[str] = set()  # jobs to run alone (their batch failed)

    def batchable(self, job: Job) -> bool:
        return job.kind is JobKind.IMAGINE and not job.image_urls and job.id not in self.alone

    def companions(self, lead: Job, queue: FairQueue, active: Mapping[str, Job]) -> list[Job]:
        """Waiting txt2img jobs that can share `lead`'s engine call, in queue order, taken out of
        the queue; none unless MAX_BATCH_IMAGES > 4."""
        most = self._max_batch_images()
        room = most - len(lead.seeds)
        if most <= 4 or not self.batchable(lead):
            return []
        request = lead.generation_request
        companions = []
        for job_id in [ticket.job_id for ticket in queue.order()]:
            job = active[job_id]
            if room <= 0:
                break
            if (
                len(job.seeds) <= room
                and self.batchable(job)
                and shares_call(request, job.generation_request)
            ):
                queue.remove(job_id)
                self.riding[job_id] = lead.id
                companions.append(job)
                room -= len(job.seeds)
        if companions:
            self.running[lead.id] = (lead, *companions)
        return companions

    def others_running(self, job_id: str) -> list[Job]:
        """The other jobs still in the running call of `job_id` (none: it runs alone)."""
        lead = self.lead_of(job_id)
        return [
            member
            for member in self.running.get(lead, ())
            if member.id != job_id and member.id not in self.dropped
        ]

    def lead_of(self, job_id: str) -> str:
        return self.riding.get(job_id, job_id)

    def call_over(self, lead_id: str) -> None:
        """The engine call has returned: a cancel from now on changes nothing."""
        self.running.pop(lead_id, None)

    def forget(self, jobs: list[Job]) -> None:
        """The run of these jobs (one call) is over."""
        if jobs:
            self.running.pop(jobs[0].id, None)
        for member in jobs:
            self.riding.pop(member.id, None)
            self.cancel_asked.discard(member.id)
            self.dropped.discard(member.id)
