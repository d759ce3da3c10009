"""The job system's front door: submit, cancel, watch and deliver GPU jobs, durably.

Everything here runs on the event loop. The scheduler (`FairQueue`) decides what runs next; one
dispatcher task hands orders to the backend, up to its `capacity` at a time (1 for the GPU worker
thread, one per replica for Ray), and records each outcome; delivery handlers post results (Discord, ...). State lives in SQLite, so a restart
re-queues what was waiting or running and delivers what finished but was not yet delivered.

Life of a job: queued → running → done | failed | cancelled, then delivered once.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from PIL import Image

from bot.config import Config
from bot.engine.family import ModelFamily
from bot.engine.interface import GenerationInputs, Operation
from bot.engine.request import GenerationRequest, GenerationResult, shares_call
from bot.engine.video_spec import is_video
from bot.errors import DiskFull, InvalidParameter, JobNotFound, QueueFull
from bot.jobs.accounting import charged_gpu_seconds
from bot.jobs.backend import Backend
from bot.jobs.derive import (
    RUNNABLE_KINDS,
    decode_mask,
    default_mode,
    derive_request,
    edit_fields,
    operation_of,
)
from bot.jobs.disk import (
    DISK_FULL_NOTICE,
    DISK_FULL_REFUSAL,
    is_disk_full,
    refusing_when_full,
    remove_temporaries,
)
from bot.jobs.downloads import LinkFetcher
from bot.jobs.edit_origin import edit_behind
from bot.jobs.events import Cancelled, Failed, Finished, JobEvent, Progress, Queued, Stalled, Started
from bot.jobs.execution import WorkDone, WorkFailed, WorkOrder, WorkProgress
from bot.jobs.files import GRID_FILE, save_image, save_result
from bot.jobs.image_jobs import IMAGE_JOB_KINDS, load_inputs, prepare_inputs, save_inputs
from bot.jobs.models import GpuUsage, Job, JobImage, JobKind, JobStatus, NewJob, Speed, new_job_id
from bot.jobs.prompt_images import ImageLinks, PromptImages
from bot.jobs.scheduler import FairQueue, Ticket
from bot.jobs.video_jobs import (
    VIDEO_KINDS,
    check_video_cost,
    derive_video_request,
    fetch_end_image,
    load_video_inputs,
    save_clips,
    save_end_image,
    video_request,
)
from bot.store.repository import Repository

log = logging.getLogger(__name__)

DeliveryHandler = Callable[[Job, list[JobImage]], Awaitable[None]]

INPUT_FILE = "input.png"
# Pictures of /blend, /describe and references are scaled down to cover this size.
REFERENCE_FIT = (1024, 1024)
# Vary (Region): the area to repaint, white = regenerate, at the size of the job's images.
MASK_FILE = "mask.png"
# A job that was running during this many crashes is failed rather than run again.
MAX_ATTEMPTS = 3


class JobService:
    """Durable queue of GPU jobs. `await start()` before use, `await stop()` at the end."""

    def __init__(
        self,
        settings: Config,
        repository: Repository,
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
        self._retry_delay = delivery_retry_delay
        self._retry_max = delivery_retry_max
        self._disk_retry_delay = disk_retry_delay
        self.disk_full = False  # a result could not be saved for lack of space; cleared when it is
        self._queue = FairQueue()
        self.image_links = ImageLinks(LinkFetcher(allow_private=settings.allow_private_links))
        self._active: dict[str, Job] = {}  # queued and running jobs
        self._in_flight: dict[str, asyncio.Task[None]] = {}  # running jobs, in start order
        self._run_finished = asyncio.Event()  # set while nothing runs
        self._run_finished.set()
        self._subscribers: dict[str, list[asyncio.Queue[JobEvent]]] = {}
        self._announced: dict[str, int] = {}  # job id → last Queued position sent
        self._last_progress: dict[str, float] = {}
        # The latest progress of each running job, for followers who join while it runs.
        self._latest_progress: dict[str, Progress] = {}
        self._wakeup = asyncio.Event()
        self._submit_lock = asyncio.Lock()
        self._handlers: list[tuple[str, DeliveryHandler]] = []
        self._deliveries: dict[str, asyncio.Task[None]] = {}
        self._handler_busy: set[str] = set()  # jobs whose handler is running right now
        self._dispatcher: asyncio.Task[None] | None = None
        # Set while the service takes work (between start and stop).
        self.started = asyncio.Event()
        self._start_hooks: list[tuple[Callable[[], Awaitable[Any]], contextvars.Context]] = []
        self._hook_tasks: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self._interrupted = False  # the running job was stopped by shutdown: re-queue it
        # Batching across jobs (MAX_BATCH_IMAGES > 4): jobs riding in another job's engine call
        # (companion id → lead id), cancels asked of jobs in a batch, and jobs to run alone (their
        # batch failed).
        self._riding: dict[str, str] = {}
        # Lead id → every job of its call, while it runs; jobs cancelled out of a running batch.
        self._batches: dict[str, tuple[Job, ...]] = {}
        self._dropped: set[str] = set()
        self._cancel_asked: set[str] = set()
        self._alone: set[str] = set()

    # ---- lifecycle -------------------------------------------------------------------------

    @property
    def family(self) -> ModelFamily:
        """The loaded model's family (valid after `start`), to resolve prompts."""
        return self.backend.family

    async def start(self, *, recover: bool = True) -> None:
        """Start the GPU backend, re-queue unfinished jobs and deliver finished undelivered ones.

        `recover=False` (the local CLI) leaves jobs of other processes in the database alone.
        """
        await self.backend.start()
        self._stopping = False
        # Half-written pictures of a crash or a full disk.
        await asyncio.to_thread(remove_temporaries, self.settings.images_dir)
        if recover:
            await self._recover()
        self._dispatcher = asyncio.create_task(self._dispatch_forever(), name="job-dispatcher")
        self._wakeup.set()
        self.started.set()
        for hook, context in self._start_hooks:
            self._run_hook(hook, context)

    def when_started(self, hook: Callable[[], Awaitable[Any]]) -> None:
        """Run `hook()` as a task once the service has started (now, if it has), and again after
        every later start: work that needs the model's facts and the worker, e.g. finishing what
        a restart interrupted. Like asyncio's callbacks, it runs in the registering context."""
        context = contextvars.copy_context()
        self._start_hooks.append((hook, context))
        if self.started.is_set():
            self._run_hook(hook, context)

    def _run_hook(self, hook: Callable[[], Awaitable[Any]], context: contextvars.Context) -> None:
        task: asyncio.Task[Any] = context.copy().run(_spawn, hook)
        self._hook_tasks.add(task)
        task.add_done_callback(self._hook_tasks.discard)

    async def _recover(self) -> None:
        recovered = await self.repository.jobs_with_status(JobStatus.RUNNING, JobStatus.QUEUED)
        for job in recovered:
            if job.id in self._active:
                continue
            if job.status is JobStatus.RUNNING and job.attempts >= MAX_ATTEMPTS:
                await self._record_failure(job, f"Stopped after the worker died {job.attempts} times on it.")
                continue
            was_running = job.status is JobStatus.RUNNING
            if was_running:
                await self.repository.mark_queued(job.id)
                job.status = JobStatus.QUEUED
                job.started_at = None
            self._active[job.id] = job
            # A job that was running goes first in its user's lane: it was their next one.
            self._queue.push(self._ticket(job), front=was_running)
        if recovered:
            log.info("re-queued %d unfinished jobs", len(self._queue))
        for job in await self.repository.undelivered_jobs():
            self._schedule_delivery(job)

    async def stop(self, grace: float | None = None) -> None:
        """Stop taking work; let the running job finish within `grace` s; keep the rest queued."""
        grace = self.settings.shutdown_grace if grace is None else grace
        self._stopping = True
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
        # A handler in the middle of posting may finish (else it would post again after restart);
        # deliveries waiting to retry are simply dropped and retried after restart.
        busy = [task for job_id, task in self._deliveries.items() if job_id in self._handler_busy]
        if busy:
            await asyncio.wait(busy, timeout=max(grace, 1.0))
        for task in list(self._deliveries.values()):
            task.cancel()
        await asyncio.gather(*self._deliveries.values(), return_exceptions=True)
        self._deliveries.clear()
        await self.backend.stop()
        self._interrupted = False

    # ---- submitting and cancelling ---------------------------------------------------------

    async def submit(self, new: NewJob) -> Job:
        """Queue a job. Raises QueueFull over the limits, JobNotFound / InvalidParameter / InvalidLink
        for a bad parent or link. Submitting an id that exists returns that job unchanged."""
        if new.id is not None and (existing := await self.get_job(new.id)) is not None:
            return existing
        kind = JobKind(new.kind)
        if kind not in RUNNABLE_KINDS:
            raise InvalidParameter(f"{kind.value} is not available yet.")
        new = dataclasses.replace(new, mode=default_mode(kind, new.mode))
        self._check_limits(new.user_id)
        if self.disk_full:
            raise DiskFull(DISK_FULL_REFUSAL)
        job_id = new.id or new_job_id()
        request, image_urls = await self._derive_request(new, kind)
        if is_video(request.extra):  # video: the spec completed from the settings
            request = video_request(request, self.settings, self.family)
        meta = dict(new.meta)
        if await self.repository.is_stealth(new.user_id):
            meta["stealth"] = True  # /stealth: kept out of server galleries, also after /public
        # Every picture is fetched before queueing: a bad link is an error now, not a failed job.
        # Links go through the prompt's PromptImages: each is downloaded and decoded once for all
        # the jobs of one prompt, scaled down to the working size (bot/jobs/prompt_images.py).
        images = new.prompt_images or PromptImages()
        fit = (request.width, request.height) if kind is JobKind.IMAGINE else REFERENCE_FIT

        async def fetch(url: str) -> Image.Image:
            return (await images.get(url, fit, self.image_links)).open()

        prepared = await prepare_inputs(
            kind,
            request,
            image_urls,
            ip_adapter=bool(self.settings.ip_adapter),
            uploads=new.uploads,
            fetch=fetch,
        )
        end_picture = await fetch_end_image(request, image_urls, new.uploads, fetch)  # video: --end
        # The prompt's input picture is stored once on disk: later jobs hard-link the first file.
        shared_input = images.cached(image_urls[0], fit) if prepared.input_image is not None else None
        if shared_input is not None and not new.uploads:
            prepared = dataclasses.replace(prepared, input_image=None)
        else:
            shared_input = None
        mask = decode_mask(new.mask, (request.width, request.height)) if kind is JobKind.REGION else None
        async with self._submit_lock:
            with refusing_when_full():
                if (existing := await self.get_job(job_id)) is not None:
                    return existing
                self._check_limits(new.user_id)
                self._check_waiting_here(new)
                video = kind in VIDEO_KINDS or is_video(request.extra)  # video: VIDEO_COST toward limits
                check_video_cost(self._active.values(), new, video, self.settings, new.waiting_limit)
                if shared_input is not None:
                    await asyncio.to_thread(shared_input.store, self.job_folder(job_id) / INPUT_FILE)
                await asyncio.to_thread(save_inputs, self.job_folder(job_id), prepared)
                await asyncio.to_thread(save_end_image, self.job_folder(job_id), end_picture)  # video
                if mask is not None:
                    await asyncio.to_thread(save_image, self.job_folder(job_id) / MASK_FILE, mask)
                job = Job(
                    id=job_id,
                    kind=kind,
                    status=JobStatus.QUEUED,
                    user_id=new.user_id,
                    guild_id=new.guild_id,
                    channel_id=new.channel_id,
                    prompt=new.prompt,
                    request=request.to_dict(),
                    image_urls=list(image_urls),
                    parent_id=new.parent_id,
                    parent_index=new.parent_index,
                    mode=new.mode,
                    speed=Speed.RELAX.value if new.speed == Speed.RELAX.value else Speed.FAST.value,
                    seeds=request.seeds,
                    enqueued_at=time.time(),
                    meta=prepared.meta(meta),
                )
                await self.repository.insert_job(job)
                self._active[job.id] = job
                self._queue.push(self._ticket(job))
        log.info("queued %s job %s for user %s", kind.value, job.id, job.user_id)
        self._announce_positions()  # a newcomer may go ahead of a busy user's waiting jobs
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
            if job_id in self._dropped:
                return True
            self._cancel_asked.add(job_id)
            lead = self._riding.get(job_id, job_id)
            others = [
                member
                for member in self._batches.get(lead, ())
                if member.id != job_id and member.id not in self._dropped
            ]
            if others:
                # Batching across jobs: the call goes on for the others; this job ends now and its
                # images are dropped when the call returns.
                self._dropped.add(job_id)
                await self._record_outcome(job, JobStatus.CANCELLED, "Cancelled.", 0.0)
            else:
                self.backend.cancel(lead)  # stops at the next step; the outcome comes from the backend
            return True
        self._queue.remove(job_id)
        await self._record_outcome(job, JobStatus.CANCELLED, "Cancelled.", 0.0)
        self._announce_positions()
        return True

    def _check_limits(self, user_id: int) -> None:
        waiting = self._queue.waiting_for(user_id)
        if waiting >= self.settings.max_jobs_per_user:
            raise QueueFull(
                f"You already have {waiting} jobs waiting (the limit is {self.settings.max_jobs_per_user}). "
                "Wait for one to finish."
            )
        if len(self._queue) >= self.settings.max_queue:
            raise QueueFull(f"{len(self._queue)} jobs are waiting, the most this bot takes. Try again soon.")

    def _check_waiting_here(self, new: NewJob) -> None:
        """The server's limit on one member's waiting jobs (`NewJob.waiting_limit`)."""
        limit = new.waiting_limit
        if limit is None or new.guild_id is None:
            return
        waiting = sum(
            1
            for job in self._active.values()
            if job.status is JobStatus.QUEUED and job.user_id == new.user_id and job.guild_id == new.guild_id
        )
        if waiting >= limit:
            raise QueueFull(
                f"You already have {waiting} jobs waiting in this server (its limit is {limit}). "
                "Wait for one to finish."
            )

    async def _derive_request(self, new: NewJob, kind: JobKind) -> tuple[GenerationRequest, list[str]]:
        if kind in (JobKind.IMAGINE, *IMAGE_JOB_KINDS):
            if new.request is None:
                raise InvalidParameter(f"A {kind.value} job needs a request.")
            return new.request, list(new.image_urls)
        parent = await self._parent(new)
        image = None if kind is JobKind.REROLL else await self._parent_image(parent, new.parent_index)
        if kind in VIDEO_KINDS:  # video: Animate / Extend
            return derive_video_request(kind, new, parent, image, self.settings, self.family)
        return derive_request(kind, new, parent, image, self.family)

    async def _parent(self, new: NewJob) -> Job:
        if new.parent_id is None:
            raise InvalidParameter(f"A {JobKind(new.kind).value} job needs a parent job.")
        parent = await self.repository.get_job(new.parent_id)
        if parent is None:
            raise JobNotFound(f"There is no job {new.parent_id}.")
        if parent.status is not JobStatus.DONE:
            raise InvalidParameter("That job has not finished yet.")
        return parent

    async def _parent_image(self, parent: Job, index: int | None) -> JobImage:
        if index is None:
            raise InvalidParameter("Pick one image of the grid.")
        image = await self.repository.get_image(parent.id, index)
        if image is None:
            raise InvalidParameter(f"Job {parent.id} has no image #{index + 1}.")
        return image

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
        events: asyncio.Queue[JobEvent] = asyncio.Queue()
        job = self._active.get(job_id)
        if job is None:
            stored = await self.repository.get_job(job_id)
            if stored is None:
                raise JobNotFound(f"There is no job {job_id}.")
            job = self._active.get(job_id, stored)
            if job.status.is_terminal:
                yield await self._terminal_event(job)
                return
        self._subscribers.setdefault(job_id, []).append(events)
        try:
            if job.status is JobStatus.RUNNING:
                yield Started(job)
                # A follower who joins mid-run sees where the job is, not "0%" until the next step.
                latest = self._latest_progress.get(job_id)
                if latest is not None:
                    yield latest
            elif job.status is JobStatus.QUEUED:
                position = self.queue_position(job_id) or 0
                self._announced[job_id] = position
                yield Queued(position)
            while True:
                event = await events.get()
                yield event
                if isinstance(event, Finished | Failed | Cancelled):
                    return
        finally:
            listeners = self._subscribers.get(job_id, [])
            if events in listeners:
                listeners.remove(events)
            if not listeners:
                self._subscribers.pop(job_id, None)

    async def _terminal_event(self, job: Job) -> JobEvent:
        if job.status is JobStatus.DONE:
            return Finished(job, await self.repository.get_images(job.id))
        if job.status is JobStatus.CANCELLED:
            return Cancelled(job)
        return Failed(job, job.error or "Failed.")

    def _emit(self, job_id: str, event: JobEvent) -> None:
        for listener in self._subscribers.get(job_id, ()):
            listener.put_nowait(event)

    def _announce_positions(self) -> None:
        """Tell subscribers of waiting jobs their new place in line, when it changed."""
        watched = [job_id for job_id in self._subscribers if job_id in self._queue]
        if not watched:
            return
        positions = self._queue.positions()
        for job_id in watched:
            position = positions[job_id]
            if self._announced.get(job_id) != position:
                self._announced[job_id] = position
                self._emit(job_id, Queued(position))

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
            companions = self._companions(job)
            if companions:
                self._batches[job.id] = (job, *companions)
            for member in (job, *companions):
                member.status = JobStatus.RUNNING  # from now on a cancel goes to the backend
            self._run_finished.clear()
            self._in_flight[job.id] = asyncio.create_task(
                self._run_guarded(job, companions), name=f"run-{job.id}"
            )

    def _batchable(self, job: Job) -> bool:
        return job.kind is JobKind.IMAGINE and not job.image_urls and job.id not in self._alone

    def _companions(self, lead: Job) -> list[Job]:
        """Waiting txt2img jobs that can share `lead`'s engine call, in queue order (batching
        across jobs), taken out of the queue; none unless MAX_BATCH_IMAGES > 4."""
        room = self.settings.max_batch_images - len(lead.seeds)
        if self.settings.max_batch_images <= 4 or not self._batchable(lead):
            return []
        request = lead.generation_request
        companions = []
        for job_id in [ticket.job_id for ticket in self._queue.order()]:
            job = self._active[job_id]
            if room <= 0:
                break
            if (
                len(job.seeds) <= room
                and self._batchable(job)
                and shares_call(request, job.generation_request)
            ):
                self._queue.remove(job_id)
                self._riding[job_id] = lead.id
                companions.append(job)
                room -= len(job.seeds)
        return companions

    async def _run_guarded(self, job: Job, companions: list[Job] | None = None) -> None:
        try:
            try:
                await self._run(job, companions or [])
            except Exception as error:
                log.exception("job %s failed outside the engine", job.id)
                for member in (job, *(companions or [])):
                    if member.status.is_terminal or member.id in self._dropped:
                        continue
                    try:
                        await self._record_outcome(
                            member, JobStatus.FAILED, f"{type(error).__name__}: {error}", 0.0
                        )
                    except Exception:
                        # Even the database failed: the row stays 'running' and is retried after restart.
                        log.exception("could not record the failure of job %s", member.id)
                        self._active.pop(member.id, None)
        finally:
            self._batches.pop(job.id, None)
            for member in (job, *(companions or [])):
                self._riding.pop(member.id, None)
                self._cancel_asked.discard(member.id)
                self._dropped.discard(member.id)
            self._in_flight.pop(job.id, None)
            if not self._in_flight:
                self._run_finished.set()
            self._wakeup.set()

    async def _run(self, job: Job, companions: list[Job]) -> None:
        for member in (job, *companions):
            if member.id in self._dropped:
                continue  # cancelled out of its batch before the call began
            member.status = JobStatus.RUNNING
            member.started_at = time.time()
            member.attempts += 1
            await self.repository.mark_running(member.id, member.started_at)
            self._announced.pop(member.id, None)
            self._latest_progress.pop(member.id, None)  # from an earlier attempt
            self._emit(member.id, Started(member))
        self._announce_positions()
        request = job.generation_request
        operation, inputs = await self._inputs(job)
        order = WorkOrder(
            job_id=job.id,
            operation=operation,
            request=request,
            inputs=inputs,
            timeout=self.settings.job_timeout,
            previews=self.previews,
            progress_interval=self.settings.progress_interval,
            companions=tuple((member.id, member.generation_request) for member in companions),
        )
        async for event in self.backend.submit(order):
            if isinstance(event, WorkProgress):
                previews = (event.preview, *event.companions) if companions else (event.preview,)
                for member, preview in zip((job, *companions), previews, strict=False):
                    if member.id not in self._dropped:
                        self._progress(member.id, event.step, event.total, preview)
                continue
            self._batches.pop(job.id, None)  # the call is over: a cancel from now on changes nothing
            if isinstance(event, WorkDone):
                await self._store_batch(job, companions, request, operation, event)
            elif isinstance(event, WorkFailed) and companions:
                await self._batch_failed([job, *companions], event)
            elif isinstance(event, WorkFailed):
                if event.reason == "cancelled" and self._interrupted:
                    await self.repository.mark_queued(job.id)
                    job.status = JobStatus.QUEUED
                    return
                if event.reason == "lost":
                    await self._requeue_lost(job, event.message)
                    return
                status = JobStatus.CANCELLED if event.reason == "cancelled" else JobStatus.FAILED
                await self._record_outcome(job, status, event.message, event.gpu_seconds)

    async def _store_batch(
        self,
        job: Job,
        companions: list[Job],
        request: GenerationRequest,
        operation: Operation,
        done: WorkDone,
    ) -> None:
        """Store each job of a batched call with its own images; GPU time is shared by images."""
        results = [done.result, *done.companions]
        images = sum(len(result.images) for result in results) or 1
        for member, result in zip([job, *companions], results, strict=True):
            if member.id in self._dropped:
                continue  # cancelled while its batch ran: its images are dropped
            share = WorkDone(result, done.gpu_seconds * len(result.images) / images)
            await self._store_result(member, member.generation_request, operation, share)

    async def _batch_failed(self, jobs: list[Job], failed: WorkFailed) -> None:
        """A batched call stopped: the jobs whose cancel stopped it are cancelled; the others go
        back first in their users' lanes and run alone (a failing prompt then fails only itself)."""
        for job in jobs:
            if job.id in self._dropped:
                continue  # cancelled out of the batch already
            if failed.reason == "cancelled" and self._interrupted:
                await self.repository.mark_queued(job.id)
                job.status = JobStatus.QUEUED
            elif failed.reason == "lost":
                await self._requeue_lost(job, failed.message)
            elif job.id in self._cancel_asked:
                await self._record_outcome(job, JobStatus.CANCELLED, "Cancelled.", 0.0)
            else:
                log.info("job %s of a stopped batch (%s) runs again alone", job.id, failed.reason)
                self._alone.add(job.id)
                await self.repository.mark_queued(job.id)
                job.status = JobStatus.QUEUED
                job.started_at = None
                self._queue.push(self._ticket(job), front=True)
        self._announce_positions()

    async def _requeue_lost(self, job: Job, message: str) -> None:
        """The worker died under this job: run it again first in its user's lane, up to MAX_ATTEMPTS."""
        if job.attempts >= MAX_ATTEMPTS:
            await self._record_failure(job, f"Stopped after the worker died {job.attempts} times on it.")
            return
        log.warning("job %s goes back to the queue (attempt %d): %s", job.id, job.attempts, message)
        await self.repository.mark_queued(job.id)
        job.status = JobStatus.QUEUED
        job.started_at = None
        self._queue.push(self._ticket(job), front=True)
        self._announce_positions()

    def _progress(self, job_id: str, step: int, total: int, preview: Image.Image | None) -> None:
        now = time.monotonic()
        if now - self._last_progress.get(job_id, -float("inf")) < self.settings.progress_interval:
            return
        self._last_progress[job_id] = now
        progress = Progress(step, total, preview)
        self._latest_progress[job_id] = progress
        self._emit(job_id, progress)

    async def _inputs(self, job: Job) -> tuple[Operation, GenerationInputs]:
        """The engine operation of a job and its input pictures (read from disk)."""
        folder = self.job_folder(job.id)
        if (
            video := await load_video_inputs(job, folder, self.repository.get_image, self.job_folder)
        ) is not None:
            return video
        if (image_job := await load_inputs(job, self.job_folder(job.id))) is not None:
            return image_job
        if job.kind is JobKind.IMAGINE:
            if not job.image_urls:
                return Operation.TXT2IMG, GenerationInputs()
            image = await asyncio.to_thread(_open_rgb, self.job_folder(job.id) / INPUT_FILE)
            return Operation.IMG2IMG, GenerationInputs(image=image)
        parent = await self.repository.get_job(job.parent_id or "")
        if parent is None:
            raise JobNotFound(f"The parent job {job.parent_id} is gone.")
        if job.kind is JobKind.REROLL:
            return await self._inputs(parent)
        image = await self.repository.get_image(parent.id, job.parent_index or 0)
        if image is None:
            raise JobNotFound(f"Image #{(job.parent_index or 0) + 1} of job {parent.id} is gone.")
        picture = await asyncio.to_thread(_open_rgb, image.path)
        operation = operation_of(job.kind)
        if operation is Operation.OUTPAINT:
            placement = tuple(job.request["extra"]["placement"])
            return operation, GenerationInputs(image=picture, placement=placement)  # type: ignore[arg-type]
        if operation is Operation.REGION:
            return operation, GenerationInputs(image=picture, mask=await self._mask(job))
        return operation, GenerationInputs(image=picture)

    async def _mask(self, job: Job) -> Image.Image | None:
        """A Vary (Region) job's stored mask, or None for other jobs."""
        if job.kind is not JobKind.REGION:
            return None
        path = self.job_folder(job.id) / MASK_FILE
        if not path.is_file():
            raise JobNotFound(f"The mask of job {job.id} is gone.")
        return await asyncio.to_thread(_open_mask, path)

    async def _store_result(
        self, job: Job, request: GenerationRequest, operation: Operation, done: WorkDone
    ) -> None:
        """Write the PNGs (with metadata) and the grid, then the rows: only then is the job done."""
        result: GenerationResult = done.result
        extra = (
            {"Denoising strength": f"{request.strength:g}"} if operation is not Operation.TXT2IMG else None
        )
        if (edit := await edit_behind(self.repository, job)) is not None:  # also a 🔄 of an edit
            extra = {**(extra or {}), **edit_fields(edit, await self._mask(edit))}
        folder = self.job_folder(job.id)
        delay = self._disk_retry_delay
        while True:
            # A full disk does not fail the job: the pictures are kept in memory and saving is
            # retried until there is room (the owner is told); other errors fail it as before.
            try:
                # The GPU worker's NSFW verdicts (none: not checked), stored before the job is
                # done: every front applies the policy from them (bot/governance/nsfw.py).
                meta = {key: value for key, value in job.meta.items() if key != "nsfw"}
                if result.nsfw is not None:
                    meta["nsfw"] = list(result.nsfw)
                if result.details:  # describe/shorten results, the method a reference job used
                    meta["result"] = result.details
                if meta != job.meta:
                    job.meta = meta
                    await self.repository.set_meta(job.id, job.meta)
                paths = (
                    await asyncio.to_thread(save_result, folder, request, result, extra)
                    if result.images
                    else []
                )
                if result.clips:  # video: <n>.mp4 beside each poster <n>.png
                    max_bytes = int(self.settings.video_max_mb * 2**20)
                    await asyncio.to_thread(save_clips, folder, request, result, max_bytes)
                images = [
                    JobImage(job.id, n, path, picture.width, picture.height, seed)
                    for n, (path, picture, seed) in enumerate(
                        zip(paths, result.images, result.seeds, strict=True)
                    )
                ]
                finished = time.time()
                charged = charged_gpu_seconds(request, done.gpu_seconds)
                await self.repository.mark_done(job.id, images, finished, charged)
                break
            except Exception as error:
                if not is_disk_full(error) or self._stopping:
                    raise
                if not self.disk_full:
                    log.error("the disk of DATA_DIR is full; job %s waits to be saved: %s", job.id, error)
                self.disk_full = True
                self._emit(job.id, Stalled(DISK_FULL_NOTICE))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)
        if self.disk_full:
            log.warning("there is room on the disk again; job %s is saved", job.id)
            self.disk_full = False
        job.status = JobStatus.DONE
        job.finished_at = finished
        job.gpu_seconds = charged
        job.seeds = [image.seed for image in images]
        job.error = None
        log.info("job %s done in %.1f GPU s", job.id, done.gpu_seconds)
        self._finish(job, Finished(job, images))

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
        self._alone.discard(job.id)
        self._last_progress.pop(job.id, None)
        self._latest_progress.pop(job.id, None)
        self._announced.pop(job.id, None)
        self._emit(job.id, event)
        self._schedule_delivery(job)

    # ---- delivery --------------------------------------------------------------------------

    def add_delivery_handler(self, handler: DeliveryHandler, name: str | None = None) -> None:
        """Register `async handler(job, images)`, called once per finished job — done, failed or
        cancelled (look at `job.status`; `images` is empty unless done) — also for jobs that
        finished before a restart. Register before `start()`; with no handler, finished jobs stay
        undelivered until a process with one starts. The name (default: the function's
        qualified name) is stored with each delivery, so keep it stable across releases.
        """
        name = name or getattr(handler, "__qualname__", repr(handler))
        if any(existing == name for existing, _ in self._handlers):
            raise ValueError(f"a delivery handler named {name!r} is already registered")
        self._handlers.append((name, handler))

    def _schedule_delivery(self, job: Job) -> None:
        if job.id in self._deliveries or job.delivered:
            return
        task = asyncio.create_task(self._deliver(job), name=f"deliver-{job.id}")
        self._deliveries[job.id] = task
        task.add_done_callback(lambda _: self._deliveries.pop(job.id, None))

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
                self._handler_busy.add(job.id)
                try:
                    await handler(job, images)
                    break
                except Exception:
                    log.exception("delivering job %s with %s failed; retrying in %g s", job.id, name, delay)
                finally:
                    self._handler_busy.discard(job.id)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max)
            await self.repository.record_delivery(job.id, name, all_done=position == len(pending))
        job.delivered = True

    # ---- before deleting jobs (/forget-me) ---------------------------------------------------

    async def wait_settled(self, job_ids: Iterable[str], within: float) -> bool:
        """Wait until none of these jobs waits, runs or is being delivered; False after `within` s.

        Call it after cancelling the jobs and before deleting their rows and files, so that no
        worker result or delivery writes to rows that are gone. Deliveries still pending at the
        deadline (e.g. retrying a channel that keeps failing) are dropped.
        """
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
        deliveries = [task for job_id, task in self._deliveries.items() if job_id in ids]
        if deliveries:
            _, pending = await asyncio.wait(deliveries, timeout=max(0.0, deadline - loop.time()))
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        return not any(job_id in self._active for job_id in ids)

    # ---- accounting ------------------------------------------------------------------------

    async def gpu_usage(self, user_id: int) -> GpuUsage:
        """GPU seconds and jobs of a user, today and in all (see Repository.gpu_usage)."""
        return await self.repository.gpu_usage(user_id)


def _open_mask(path: Path) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("L")


def _open_rgb(path: Path) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGB")


def _spawn(hook: Callable[[], Awaitable[Any]]) -> asyncio.Task[Any]:
    return asyncio.ensure_future(hook())
