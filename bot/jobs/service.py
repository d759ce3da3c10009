"""The job system's front door: submit, cancel, watch and deliver GPU jobs, durably.

Here: the lifecycle (start, recover, stop), dispatch and events, on the event loop; the parts: `intake.py`,
`batching.py`, `results.py`, `deliveries.py`, `followers.py`, `loading.py` (the model's load, which submits
wait for). The scheduler (`FairQueue`) decides what runs next; one dispatcher task hands orders to the
backend, up to its `capacity` at a time. State lives in SQLite: a restart re-queues what was waiting or
running and delivers what finished but was not yet delivered.

Progress is paced once, by the GPU worker (bot/jobs/execution.py: at most one `WorkProgress` per
PROGRESS_INTERVAL per job, previews rendered only then); the service passes each on as a `Progress` event
and each front only fits its edits to its own limits (bot/discord/edit_pacer.py).

Life of a job: queued → running → done | failed | cancelled, then delivered once.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from bot.config import Config
from bot.engine.family import ModelFamily
from bot.errors import DiskFull, JobNotFound
from bot.jobs.backend import Backend
from bot.jobs.batching import Batches
from bot.jobs.deliveries import Deliveries, DeliveryHandler
from bot.jobs.derive import default_mode
from bot.jobs.disk import DISK_FULL_REFUSAL, refusing_when_full, remove_temporaries
from bot.jobs.events import Cancelled, Failed, Finished, JobEvent, Progress
from bot.jobs.execution import WorkDone, WorkFailed, WorkOrder, WorkProgress, failure_text
from bot.jobs.files import GRID_FILE
from bot.jobs.followers import Followers
from bot.jobs.hooks import StartHooks
from bot.jobs.intake import INPUT_FILE, MASK_FILE, REFERENCE_FIT, Intake
from bot.jobs.loading import ModelLoading
from bot.jobs.models import GpuUsage, Job, JobImage, JobKind, JobStatus, NewJob, new_job_id
from bot.jobs.ports import JobRecords
from bot.jobs.prompt_images import ImageLinks
from bot.jobs.results import ResultStore
from bot.jobs.scheduler import FairQueue, Ticket

__all__ = ["INPUT_FILE", "MASK_FILE", "MAX_ATTEMPTS", "REFERENCE_FIT", "DeliveryHandler", "JobService"]

log = logging.getLogger(__name__)

# A job that was running during this many crashes is failed rather than run again.
MAX_ATTEMPTS = 3


class JobService:
    """Durable queue of GPU jobs. `await start()` before use, `await stop()` at the end."""

    def __init__(
        self,
        settings: Config,
        repository: JobRecords,
        backend: Backend,
        *,
        previews: bool = True,
        delivery_retry_delay: float = 1.0,
        delivery_retry_max: float = 300.0,
        disk_retry_delay: float = 5.0,
    ) -> None:
        self.settings = settings
        self.repository = repository
        self.backend = backend
        self.previews = previews
        self._queue = FairQueue()
        self._active: dict[str, Job] = {}  # queued and running jobs
        self._in_flight: dict[str, asyncio.Task[None]] = {}  # running jobs, in start order
        self._run_finished = asyncio.Event()  # set while nothing runs
        self._run_finished.set()
        self.followers = Followers(self._queue)
        self._wakeup = asyncio.Event()
        self._submit_lock = asyncio.Lock()
        self._dispatcher: asyncio.Task[None] | None = None
        # Set while the service takes work (between start and stop); `loading`: the model's load.
        self.started, self.loading = asyncio.Event(), ModelLoading()
        self._start_hooks = StartHooks()
        self._stopping = False
        self._interrupted = False  # the running job was stopped by shutdown: re-queue it
        self.intake = Intake(
            lambda: self.settings, repository, self._queue, lambda: self.family, self.job_folder
        )
        self.batches = Batches(lambda: self.settings.max_batch_images)
        self.results = ResultStore(
            repository,
            self.job_folder,
            self.intake.mask,
            self.followers.emit,
            retry_delay=disk_retry_delay,
            video_max_bytes=lambda: int(self.settings.video_max_mb * 2**20),
        )
        self.deliveries = Deliveries(
            repository, retry_delay=delivery_retry_delay, retry_max=delivery_retry_max
        )

    # ---- lifecycle -------------------------------------------------------------------------

    @property
    def family(self) -> ModelFamily:
        """The loaded model's family (valid after `start`), to resolve prompts."""
        return self.backend.family

    @property
    def disk_full(self) -> bool:
        """A result could not be saved for lack of space (cleared once it is): new jobs are refused."""
        return self.results.disk_full

    @property
    def image_links(self) -> ImageLinks:
        """The fetcher of linked pictures (shared by all jobs: one download per link and prompt)."""
        return self.intake.image_links

    @image_links.setter
    def image_links(self, links: ImageLinks) -> None:
        self.intake.image_links = links

    async def start(self, *, recover: bool = True) -> None:
        """Start the GPU backend, re-queue unfinished jobs and deliver finished undelivered ones.

        `recover=False` (the local CLI) leaves jobs of other processes in the database alone.
        """
        await self.loading.run(self.backend.start)  # submits meanwhile wait for it
        self._stopping = self.results.stopping = False
        # Half-written pictures of a crash or a full disk.
        await asyncio.to_thread(remove_temporaries, self.settings.images_dir)
        if recover:
            await self._recover()
        self._dispatcher = asyncio.create_task(self._dispatch_forever(), name="job-dispatcher")
        self._wakeup.set()
        self.started.set()
        self._start_hooks.run_all()

    def when_started(self, hook: Callable[[], Awaitable[Any]]) -> None:
        """Run `hook()` as a task once the service has started (now, if it has), and again after
        every later start: work that needs the model's facts and the worker, e.g. finishing what
        a restart interrupted. Like asyncio's callbacks, it runs in the registering context."""
        self._start_hooks.add(hook, run_now=self.started.is_set())

    async def _recover(self) -> None:
        recovered = await self.repository.jobs_with_status(JobStatus.RUNNING, JobStatus.QUEUED)
        for job in recovered:
            if job.id in self._active:
                continue
            if job.status is JobStatus.RUNNING and job.attempts >= MAX_ATTEMPTS:
                await self._record_failure(job, f"Stopped after the worker died {job.attempts} times on it.")
                continue
            self._active[job.id] = job
            if job.status is JobStatus.RUNNING:
                # A job that was running goes first in its user's lane: it was their next one.
                await self._requeue(job)
            else:
                self._queue.push(self._ticket(job))
        if recovered:
            log.info("re-queued %d unfinished jobs", len(self._queue))
        for job in await self.repository.undelivered_jobs():
            self.deliveries.schedule(job)

    async def stop(self, grace: float | None = None) -> None:
        """Stop taking work; let the running job finish within `grace` s; keep the rest queued."""
        grace = self.settings.shutdown_grace if grace is None else grace
        self._stopping = self.results.stopping = True
        self.started.clear()
        self._wakeup.set()
        if self._in_flight:
            try:
                await asyncio.wait_for(self._run_finished.wait(), grace)
            except TimeoutError:
                running = list(self._in_flight)
                log.info("jobs %s did not finish within %g s; they run again after restart", running, grace)
                self._interrupted = True
                for job_id in running:
                    self.backend.cancel(job_id)
                await self._run_finished.wait()
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._dispatcher
            self._dispatcher = None
        await self.deliveries.stop(grace)
        await self.backend.stop()
        self._interrupted = False

    # ---- submitting and cancelling ---------------------------------------------------------

    async def submit(self, new: NewJob) -> Job:
        """Queue a job. Raises QueueFull over the limits, JobNotFound / InvalidParameter / InvalidLink
        for a bad parent or link. Submitting an id that exists returns that job unchanged."""
        if new.id is not None and (existing := await self.get_job(new.id)) is not None:
            return existing
        await self.loading.wait()  # the request's facts come from the loaded model
        kind = JobKind(new.kind)
        new = dataclasses.replace(new, mode=default_mode(kind, new.mode))
        self.intake.check_limits(new.user_id)
        if self.disk_full:
            raise DiskFull(DISK_FULL_REFUSAL)
        job_id = new.id or new_job_id()
        # Every picture is fetched before queueing: a bad link is an error now, not a failed job.
        prepared = await self.intake.prepare(new, kind)
        async with self._submit_lock:
            with refusing_when_full():
                if (existing := await self.get_job(job_id)) is not None:
                    return existing
                self.intake.check_limits(new.user_id)
                self.intake.check_waiting_here(new, self._active, prepared)
                await self.intake.store_files(job_id, prepared)
                job = self.intake.new_job(job_id, kind, new, prepared)
                await self.repository.insert_job(job)
                self._active[job.id] = job
                self._queue.push(self._ticket(job))
        log.info("queued %s job %s for user %s", kind.value, job.id, job.user_id)
        self.followers.announce_positions()  # a newcomer may go ahead of a busy user's waiting jobs
        self._wakeup.set()
        return job

    async def cancel(self, job_id: str, user_id: int | None = None) -> bool:
        """Cancel a waiting or running job (only its owner's, when `user_id` is given).

        A waiting job is removed at once; a running one stops at its next step. False if the job
        is unknown, finished, or someone else's.
        """
        job = self._active.get(job_id)
        if job is None or (user_id is not None and job.user_id != user_id):
            return False
        if job.status is JobStatus.RUNNING:
            if job_id in self.batches.dropped:
                return True
            self.batches.cancel_asked.add(job_id)
            if self.batches.others_running(job_id):
                # Batching across jobs: the call goes on for the others; this job ends now and its
                # images are dropped when the call returns.
                self.batches.dropped.add(job_id)
                await self._record_outcome(job, JobStatus.CANCELLED, "Cancelled.", 0.0)
            else:
                # Stops at the next step; the outcome comes from the backend.
                self.backend.cancel(self.batches.lead_of(job_id))
            return True
        self._queue.remove(job_id)
        await self._record_outcome(job, JobStatus.CANCELLED, "Cancelled.", 0.0)
        self.followers.announce_positions()
        return True

    # ---- looking things up -----------------------------------------------------------------

    async def get_job(self, job_id: str) -> Job | None:
        """The job as the service sees it now (memory for active jobs, else the database)."""
        return self._active.get(job_id) or await self.repository.get_job(job_id)

    def queue_position(self, job_id: str) -> int | None:
        """1 = runs next; None if the job is not waiting."""
        return self._queue.positions().get(job_id)

    @property
    def running_job_id(self) -> str | None:
        """The running job (the first started, when the backend runs several)."""
        return next(iter(self._in_flight), None)

    @property
    def backend_status(self) -> str | None:
        """A problem of the backend worth showing members (e.g. GPU workers unreachable), or None."""
        return getattr(self.backend, "status", None)

    @property
    def waiting_count(self) -> int:
        return len(self._queue)

    def job_folder(self, job_id: str) -> Path:
        """DATA_DIR/images/<job id>: `<n>.png` per image, `grid.png` for several."""
        return self.settings.images_dir / job_id

    def grid_path(self, job_id: str) -> Path:
        return self.job_folder(job_id) / GRID_FILE

    # ---- events ----------------------------------------------------------------------------

    async def subscribe(self, job_id: str) -> AsyncIterator[JobEvent]:
        """Follow a job: current state first, then each change, ending with its terminal event.

        Raises JobNotFound (on first iteration) for an unknown id.
        """
        job = self._active.get(job_id)
        if job is None:
            stored = await self.repository.get_job(job_id)
            if stored is None:
                raise JobNotFound(f"There is no job {job_id}.")
            job = self._active.get(job_id, stored)
            if job.status.is_terminal:
                yield await self._terminal_event(job)
                return
        async for event in self.followers.follow(job, lambda: self.queue_position(job_id)):
            yield event

    async def _terminal_event(self, job: Job) -> JobEvent:
        if job.status is JobStatus.DONE:
            return Finished(job, await self.repository.get_images(job.id))
        if job.status is JobStatus.CANCELLED:
            return Cancelled(job)
        return Failed(job, job.error or "Failed.")

    # ---- running jobs ----------------------------------------------------------------------

    @staticmethod
    def _ticket(job: Job) -> Ticket:
        return Ticket(job.id, job.user_id, job.speed)

    async def _dispatch_forever(self) -> None:
        while True:
            ticket = None
            if not self._stopping and len(self._in_flight) < self.backend.capacity:
                ticket = self._queue.pop()
            if ticket is None:
                self._wakeup.clear()
                # Jobs wait while the backend has no room; its capacity may come back (a Ray
                # replica restarted) without any event here, so look again now and then.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0 if len(self._queue) and not self._stopping else None):
                        await self._wakeup.wait()
                continue
            job = self._active[ticket.job_id]
            companions = self.batches.companions(job, self._queue, self._active)
            for member in (job, *companions):
                member.status = JobStatus.RUNNING  # from now on a cancel goes to the backend
            self._run_finished.clear()
            self._in_flight[job.id] = asyncio.create_task(
                self._run_guarded(job, companions), name=f"run-{job.id}"
            )

    async def _run_guarded(self, job: Job, companions: list[Job]) -> None:
        members = [job, *companions]
        try:
            try:
                await self._run(job, companions)
            except Exception as error:
                log.exception("job %s failed outside the engine", job.id)
                for member in members:
                    if member.status.is_terminal or member.id in self.batches.dropped:
                        continue
                    try:
                        await self._record_outcome(member, JobStatus.FAILED, failure_text(error), 0.0)
                    except Exception:
                        # Even the database failed: the row stays 'running' and is retried after restart.
                        log.exception("could not record the failure of job %s", member.id)
                        self._active.pop(member.id, None)
        finally:
            self.batches.forget(members)
            self._in_flight.pop(job.id, None)
            if not self._in_flight:
                self._run_finished.set()
            self._wakeup.set()

    async def _run(self, job: Job, companions: list[Job]) -> None:
        for member in (job, *companions):
            if member.id in self.batches.dropped:
                continue  # cancelled out of its batch before the call began
            member.status = JobStatus.RUNNING
            member.started_at = time.time()
            member.attempts += 1
            await self.repository.mark_running(member.id, member.started_at)
            self.followers.started(member)
        self.followers.announce_positions()
        operation, inputs = await self.intake.inputs(job)
        order = WorkOrder(
            job_id=job.id,
            operation=operation,
            request=job.generation_request,
            inputs=inputs,
            timeout=self.settings.job_timeout,
            previews=self.previews,
            progress_interval=self.settings.progress_interval,
            companions=tuple((member.id, member.generation_request) for member in companions),
        )
        members = [job, *companions]
        events = self.backend.submit(order)
        # A ❌ clicked since the dispatcher marked these jobs running reached the backend before
        # it knew the order (no cancel flag yet): send it again now that it does.
        if any(m.id in self.batches.cancel_asked and m.id not in self.batches.dropped for m in members):
            self.backend.cancel(job.id)
        async for event in events:
            if isinstance(event, WorkProgress):
                previews = (event.preview, *event.companions) if companions else (event.preview,)
                for member, preview in zip(members, previews, strict=False):
                    if member.id not in self.batches.dropped:
                        self.followers.progress(member.id, Progress(event.step, event.total, preview))
                continue
            self.batches.call_over(job.id)
            if isinstance(event, WorkDone):
                await self.results.store_batch(members, operation, event, self.batches.dropped, self._done)
            else:
                await self._stopped(members, event)

    def _done(self, job: Job, images: list[JobImage]) -> None:
        self._finish(job, Finished(job, images))

    async def _stopped(self, jobs: list[Job], failed: WorkFailed) -> None:
        """The call ended without results: after a shutdown the jobs wait for the next start; a
        lost worker's jobs run again (up to MAX_ATTEMPTS); a job alone fails or is cancelled; jobs
        of a batch not stopped by their own cancel run again alone (a bad prompt fails only itself)."""
        batched = len(jobs) > 1
        for job in jobs:
            if job.id in self.batches.dropped:
                continue  # cancelled out of the batch already
            if failed.reason == "cancelled" and self._interrupted:
                await self._requeue(job, run_now=False)
            elif failed.reason == "lost":
                if job.attempts >= MAX_ATTEMPTS:
                    await self._record_failure(
                        job, f"Stopped after the worker died {job.attempts} times on it."
                    )
                else:
                    log.warning(
                        "job %s goes back to the queue (attempt %d): %s", job.id, job.attempts, failed.message
                    )
                    await self._requeue(job)
            elif not batched:
                status = JobStatus.CANCELLED if failed.reason == "cancelled" else JobStatus.FAILED
                await self._record_outcome(job, status, failed.message, failed.gpu_seconds)
            elif job.id in self.batches.cancel_asked:
                await self._record_outcome(job, JobStatus.CANCELLED, "Cancelled.", 0.0)
            else:
                log.info("job %s of a stopped batch (%s) runs again alone", job.id, failed.reason)
                self.batches.alone.add(job.id)
                await self._requeue(job)
        self.followers.announce_positions()

    async def _requeue(self, job: Job, *, run_now: bool = True) -> None:
        """Put the job back in the queue: its row waits again and, with `run_now`, it goes first
        in its user's lane (it was their next one). Without, it waits for the next start (shutdown)."""
        await self.repository.mark_queued(job.id)
        job.status = JobStatus.QUEUED
        job.started_at = None
        if run_now:
            self._queue.push(self._ticket(job), front=True)

    async def _record_failure(self, job: Job, message: str) -> None:
        await self._record_outcome(job, JobStatus.FAILED, message, job.gpu_seconds)

    async def _record_outcome(self, job: Job, status: JobStatus, message: str, gpu_seconds: float) -> None:
        finished = time.time()
        await self.repository.mark_finished_without_images(job.id, status, message, finished, gpu_seconds)
        job.status = status
        job.error = message
        job.finished_at = finished
        job.gpu_seconds = gpu_seconds
        if status is JobStatus.FAILED:
            log.warning("job %s failed: %s", job.id, message)
        self._finish(job, Cancelled(job) if status is JobStatus.CANCELLED else Failed(job, message))

    def _finish(self, job: Job, event: JobEvent) -> None:
        self._active.pop(job.id, None)
        self.batches.alone.discard(job.id)
        self.followers.ended(job.id, event)
        self.deliveries.schedule(job)

    # ---- delivery --------------------------------------------------------------------------

    def add_delivery_handler(self, handler: DeliveryHandler, name: str | None = None) -> None:
        """Register `async handler(job, images)`, called once per finished job — done, failed or cancelled
        (look at `job.status`; `images` is empty unless done) — also for jobs that finished before a
        restart. Register before `start()`; with no handler, finished jobs stay undelivered until a process
        with one starts. The name (default: the function's qualified name) is stored with each delivery,
        so keep it stable across releases."""
        self.deliveries.add_handler(handler, name)

    @property
    def delivering(self) -> set[str]:
        """Ids of the jobs whose delivery is under way (or waiting to retry)."""
        return set(self.deliveries.tasks)

    # ---- before deleting jobs (/forget-me) ---------------------------------------------------

    async def wait_settled(self, job_ids: Iterable[str], within: float) -> bool:
        """Wait until none of these jobs waits, runs or is being delivered; False after `within` s.
        Call it after cancelling the jobs and before deleting their rows and files, so that no worker
        result or delivery writes to rows that are gone. Deliveries still pending at the deadline (e.g.
        retrying a channel that keeps failing) are dropped."""
        ids = set(job_ids)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        for job_id in [job_id for job_id in ids if job_id in self._active]:
            try:
                async with asyncio.timeout(max(0.0, deadline - loop.time())):
                    async for _event in self.subscribe(job_id):
                        pass
            except TimeoutError:
                return False
        await self.deliveries.wait(ids, deadline - loop.time())
        return not any(job_id in self._active for job_id in ids)

    # ---- accounting ------------------------------------------------------------------------

    async def gpu_usage(self, user_id: int) -> GpuUsage:
        """GPU seconds and jobs of a user, today and in all (see the store's `gpu_usage`)."""
        return await self.repository.gpu_usage(user_id)
