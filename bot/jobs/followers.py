"""The followers of jobs: each `JobService.subscribe` is a queue of `JobEvent`s fed from here.

Queue positions are sent only when they change; the latest progress of a running job is kept for
followers who join while it runs (they see where it is, not "0%" until the next step).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from bot.jobs.events import Cancelled, Failed, Finished, JobEvent, Progress, Queued, Started
from bot.jobs.models import Job, JobStatus
from bot.jobs.scheduler import FairQueue

__all__ = ["Followers"]


class Followers:
    """Who follows which job, and what they were last told."""

    def __init__(self, queue: FairQueue) -> None:
        self._queue = queue
        self._subscribers: dict[str, list[asyncio.Queue[JobEvent]]] = {}
        self._announced: dict[str, int] = {}  # job id → last Queued position sent
        self._latest_progress: dict[str, Progress] = {}

    async def follow(self, job: Job, position: Callable[[], int | None]) -> AsyncIterator[JobEvent]:
        """Events of an active job: its current state first, then each change, ending with its
        terminal event."""
        events: asyncio.Queue[JobEvent] = asyncio.Queue()
        self._subscribers.setdefault(job.id, []).append(events)
        try:
            if job.status is JobStatus.RUNNING:
                yield Started(job)
                latest = self._latest_progress.get(job.id)
                if latest is not None:
                    yield latest
            elif job.status is JobStatus.QUEUED:
                self._announced[job.id] = place = position() or 0
                yield Queued(place)
            while True:
                event = await events.get()
                yield event
                if isinstance(event, Finished | Failed | Cancelled):
                    return
        finally:
            listeners = self._subscribers.get(job.id, [])
            if events in listeners:
                listeners.remove(events)
            if not listeners:
                self._subscribers.pop(job.id, None)

    def emit(self, job_id: str, event: JobEvent) -> None:
        for listener in self._subscribers.get(job_id, ()):
            listener.put_nowait(event)

    def started(self, job: Job) -> None:
        self._announced.pop(job.id, None)
        self._latest_progress.pop(job.id, None)  # from an earlier attempt
        self.emit(job.id, Started(job))

    def progress(self, job_id: str, progress: Progress) -> None:
        self._latest_progress[job_id] = progress
        self.emit(job_id, progress)

    def ended(self, job_id: str, event: JobEvent) -> None:
        self._latest_progress.pop(job_id, None)
        self._announced.pop(job_id, None)
        self.emit(job_id, event)

    def announce_positions(self) -> None:
        """Tell followers of waiting jobs their new place in line, when it changed."""
        watched = [job_id for job_id in self._subscribers if job_id in self._queue]
        if not watched:
            return
        positions = self._queue.positions()
        for job_id in watched:
            position = positions[job_id]
            if self._announced.get(job_id) != position:
                self._announced[job_id] = position
                self.emit(job_id, Queued(position))
