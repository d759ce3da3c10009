"""Delivery handlers: each finished job — done, failed or cancelled — is handed once to every
registered handler (Discord, the web app, ...), also after a restart.

Each handler's success is recorded per job (`record_delivery`), so a restart runs only the
handlers that have not delivered yet; a failing handler is retried with backoff until it succeeds
or the process stops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from bot.jobs.models import Job, JobImage, JobStatus
from bot.jobs.ports import JobRecords

__all__ = ["Deliveries", "DeliveryHandler"]

log = logging.getLogger(__name__)

DeliveryHandler = Callable[[Job, list[JobImage]], Awaitable[None]]


class Deliveries:
    """The registered handlers and the deliveries under way."""

    def __init__(self, repository: JobRecords, *, retry_delay: float = 1.0, retry_max: float = 300.0) -> None:
        self.repository = repository
        self._retry_delay = retry_delay
        self._retry_max = retry_max
        self._handlers: list[tuple[str, DeliveryHandler]] = []
        self.tasks: dict[str, asyncio.Task[None]] = {}  # job id → its delivery, while under way
        self._busy: set[str] = set()  # jobs whose handler is running right now

    def add_handler(self, handler: DeliveryHandler, name: str | None = None) -> None:
        """See `JobService.add_delivery_handler`."""
        name = name or getattr(handler, "__qualname__", repr(handler))
        if any(existing == name for existing, _ in self._handlers):
            raise ValueError(f"a delivery handler named {name!r} is already registered")
        self._handlers.append((name, handler))

    def schedule(self, job: Job) -> None:
        """Deliver `job` soon (once: a delivery under way or done is not repeated)."""
        if job.id in self.tasks or job.delivered:
            return
        task = asyncio.create_task(self._deliver(job), name=f"deliver-{job.id}")
        self.tasks[job.id] = task
        task.add_done_callback(lambda _: self.tasks.pop(job.id, None))

    async def stop(self, grace: float) -> None:
        """A handler in the middle of posting may finish (else it would post again after restart);
        deliveries waiting to retry are dropped and retried after restart."""
        busy = [task for job_id, task in self.tasks.items() if job_id in self._busy]
        if busy:
            await asyncio.wait(busy, timeout=max(grace, 1.0))
        for task in list(self.tasks.values()):
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        self.tasks.clear()

    async def wait(self, job_ids: Iterable[str], within: float) -> None:
        """Wait up to `within` s for the deliveries of these jobs; cancel those still pending."""
        ids = set(job_ids)
        deliveries = [task for job_id, task in self.tasks.items() if job_id in ids]
        if not deliveries:
            return
        _, pending = await asyncio.wait(deliveries, timeout=max(0.0, within))
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _deliver(self, job: Job) -> None:
        """Run each handler that has not yet delivered this job; retry failures with backoff."""
        handlers = self._handlers
        if not handlers:
            return  # stays undelivered: the next process with a handler delivers it
        images = await self.repository.get_images(job.id) if job.status is JobStatus.DONE else []
        already = await self.repository.delivered_handlers(job.id)
        pending = [(name, handler) for name, handler in handlers if name not in already]
        if not pending:
            await self.repository.mark_delivered(job.id)
        for position, (name, handler) in enumerate(pending, start=1):
            delay = self._retry_delay
            while True:
                self._busy.add(job.id)
                try:
                    await handler(job, images)
                    break
                except Exception:
                    log.exception("delivering job %s with %s failed; retrying in %g s", job.id, name, delay)
                finally:
                    self._busy.discard(job.id)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max)
            await self.repository.record_delivery(job.id, name, all_done=position == len(pending))
        job.delivered = True
