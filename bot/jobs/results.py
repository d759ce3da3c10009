"""Storing what the GPU worker made: PNGs with their recipe, the grid, the rows — only then is a
job done.

- The worker's NSFW verdicts (`GenerationResult.nsfw`; None: not checked) and describe/shorten
  details are stored in the job's meta BEFORE it is marked done: every front applies the policy
  from them (bot/governance/nsfw.py), also to jobs delivered after a restart.
- A full disk does not fail the job: the pictures stay in memory and saving is retried, with
  backoff, until there is room; the owner sees a `Stalled` notice and new jobs are refused
  meanwhile (`disk_full`). Other errors fail the job as before.
- A batched call's GPU time is shared among its jobs by their number of images.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from PIL import Image

from bot.engine.interface import Operation
from bot.engine.request import GenerationRequest
from bot.jobs.accounting import charged_gpu_seconds
from bot.jobs.derive import edit_fields
from bot.jobs.disk import DISK_FULL_NOTICE, is_disk_full
from bot.jobs.edit_origin import edit_behind
from bot.jobs.editor_jobs import editor_fields
from bot.jobs.events import Stalled
from bot.jobs.execution import WorkDone
from bot.jobs.files import save_result
from bot.jobs.models import Job, JobImage, JobStatus
from bot.jobs.ports import JobRecords
from bot.jobs.prompted_edits import with_edit_method
from bot.jobs.video_jobs import save_clips

__all__ = ["ResultStore"]

log = logging.getLogger(__name__)


class ResultStore:
    """Writes results to DATA_DIR/images/<job>/ and records them (see the module docstring)."""

    def __init__(
        self,
        repository: JobRecords,
        job_folder: Callable[[str], Path],
        mask: Callable[[Job], Awaitable[Image.Image | None]],
        stalled: Callable[[str, Stalled], None],
        *,
        retry_delay: float = 5.0,
        video_max_bytes: Callable[[], int] = lambda: 8 * 2**20,
    ) -> None:
        self.repository = repository
        self._job_folder = job_folder
        self._mask = mask
        self._stalled = stalled
        self._retry_delay = retry_delay
        self._video_max_bytes = video_max_bytes  # VIDEO_MAX_MB: each clip is fitted under it
        self.disk_full = False  # a result could not be saved for lack of space; cleared when it is
        self.stopping = False  # set by the service's stop: a full disk then fails instead of waiting

    async def store_batch(
        self,
        jobs: list[Job],
        operation: Operation,
        done: WorkDone,
        skip: set[str],
        stored: Callable[[Job, list[JobImage]], None],
    ) -> None:
        """Store each job of a (batched) call with its own images, calling `stored(job, images)`
        after each; jobs in `skip` (cancelled while the call ran) are dropped. GPU time is shared
        by images."""
        results = [done.result, *done.companions]
        images = sum(len(result.images) for result in results) or 1
        for member, result in zip(jobs, results, strict=True):
            if member.id in skip:
                continue
            share = WorkDone(result, done.gpu_seconds * len(result.images) / images)
            stored(member, await self.store(member, member.generation_request, operation, share))

    async def store(
        self, job: Job, request: GenerationRequest, operation: Operation, done: WorkDone
    ) -> list[JobImage]:
        """Write the PNGs (with metadata) and the grid, then the rows; marks `job` done."""
        result = done.result
        extra = (
            {"Denoising strength": f"{request.strength:g}"} if operation is not Operation.TXT2IMG else None
        )
        if (edit := await edit_behind(self.repository, job)) is not None:  # also a 🔄 of an edit
            extra = with_edit_method(
                {**(extra or {}), **edit_fields(edit, await self._mask(edit))}, result.details
            )
        if editor := editor_fields(job):  # Remove background, Smart Select: no denoising
            extra = editor
        folder = self._job_folder(job.id)
        delay = self._retry_delay
        while True:
            try:
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
                    max_bytes = self._video_max_bytes()
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
                if not is_disk_full(error) or self.stopping:
                    raise
                if not self.disk_full:
                    log.error("the disk of DATA_DIR is full; job %s waits to be saved: %s", job.id, error)
                self.disk_full = True
                self._stalled(job.id, Stalled(DISK_FULL_NOTICE))
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
        return images
