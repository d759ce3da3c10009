"""What `JobService.subscribe(job_id)` yields, in order: Queued* → Started → Progress* → one of
Finished / Failed / Cancelled (the iteration then ends).

A subscriber that joins late starts from the job's current state: `Queued` (waiting),
`Started` (running) or the terminal event (already finished).
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from bot.jobs.models import Job, JobImage


@dataclass(frozen=True)
class Queued:
    """Waiting; `position` 1 runs next (0: not known yet, e.g. before the service started)."""

    position: int


@dataclass(frozen=True)
class Started:
    job: Job


@dataclass(frozen=True)
class Progress:
    """At most one per `settings.progress_interval` per job. `preview` is a small RGB picture."""

    step: int
    total: int
    preview: Image.Image | None = None

    @property
    def percent(self) -> int:
        return round(100 * self.step / self.total) if self.total else 0


@dataclass(frozen=True)
class Finished:
    """Images are on disk with metadata and in the database before this is sent."""

    job: Job
    images: list[JobImage]


@dataclass(frozen=True)
class Failed:
    job: Job
    message: str


@dataclass(frozen=True)
class Cancelled:
    job: Job


@dataclass(frozen=True)
class Stalled:
    """The job's pictures are made but cannot be saved yet (the bot's disk is full); the service
    keeps retrying and the job finishes once there is room. `message` is for the owner."""

    message: str


JobEvent = Queued | Started | Progress | Stalled | Finished | Failed | Cancelled
TERMINAL_EVENTS = (Finished, Failed, Cancelled)
