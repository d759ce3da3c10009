"""What the GPU worker does with one work order, on the worker thread.

Shared by every backend (the in-process thread, and each Ray Serve replica): run the engine
call, stop it cooperatively from the step callback (cancel flag, time limit), turn latents into a
cheap preview, retry once in smaller batches after running out of GPU memory, and screen the
finished images with the worker's NSFW checker (if the operator set one), so that the verdicts
come back with the images. It never raises: the outcome is a `WorkDone` or a `WorkFailed`.

Progress is paced here and only here: at most one `WorkProgress` per `WorkOrder.progress_interval`
(PROGRESS_INTERVAL) per call, and a preview is rendered only for a step that is sent, so the
engine does not pay for previews nobody sees and a remote replica sends little. The job service
passes each one on unchanged; fronts only fit their edits to their own rate limits.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from PIL import Image

from bot.engine.family import ModelFamily
from bot.engine.interface import NO_INPUTS, Engine, GenerationInputs, Operation
from bot.engine.request import GenerationRequest, GenerationResult, JobCancelled, StepCallback, StepProgress
from bot.engine.safety_checker import CheckerUnavailable, ImageChecker
from bot.errors import UserFacingError
from bot.grid import render_grid

log = logging.getLogger(__name__)

# What members read when the engine raised something else than a user-facing error: the
# exception's text (paths, library internals) goes to the log only.
FAILURE_TEXT = "Something went wrong while making this job. The bot's log has the details."

# "lost": the worker itself went away mid-job (a remote replica died): the job may run again.
FailureReason = Literal["cancelled", "timeout", "out_of_memory", "error", "lost"]


def failure_text(error: BaseException) -> str:
    """What the member reads for an engine error: a user-facing error's own sentence, else FAILURE_TEXT."""
    return error.message if isinstance(error, UserFacingError) else FAILURE_TEXT


@dataclass(frozen=True)
class WorkOrder:
    """One engine call, self-contained so that it could be sent to another process."""

    job_id: str
    operation: Operation
    request: GenerationRequest
    inputs: GenerationInputs = NO_INPUTS
    timeout: float | None = None
    previews: bool = True
    progress_interval: float = 2.0
    # Batching across jobs: other txt2img jobs run in the same engine call, after this one's images
    # (job id, request). Their results come back in `WorkDone.companions`, in this order.
    companions: tuple[tuple[str, GenerationRequest], ...] = ()


@dataclass(frozen=True)
class WorkProgress:
    step: int
    total: int
    preview: Image.Image | None = None
    # A batched call's previews of `WorkOrder.companions`, in order (each job sees its own images).
    companions: tuple[Image.Image | None, ...] = ()


@dataclass(frozen=True)
class WorkDone:
    result: GenerationResult
    gpu_seconds: float
    companions: tuple[GenerationResult, ...] = ()  # of `WorkOrder.companions`, in order


@dataclass(frozen=True)
class WorkFailed:
    message: str
    reason: FailureReason
    gpu_seconds: float = 0.0


WorkEvent = WorkProgress | WorkDone | WorkFailed


class JobTimedOut(JobCancelled):
    """Raised from the step callback when a job exceeds its time limit."""


def is_out_of_memory(error: BaseException) -> bool:
    """torch.cuda.OutOfMemoryError (or any error class of that name: fakes in tests, other backends)."""
    return any(cls.__name__ == "OutOfMemoryError" for cls in type(error).__mro__)


def _call(
    engine: Engine, order: WorkOrder, request: GenerationRequest, on_step: StepCallback
) -> GenerationResult:
    return engine.generate(order.operation, request, order.inputs, on_step)


def smaller_batches(request: GenerationRequest) -> list[GenerationRequest]:
    """Split a batch in halves (4 → 2 + 2 at seed and seed+2): per-image generators keep the seeds."""
    size = max(1, request.batch_size // 2)
    return [
        dataclasses.replace(
            request, seed=(request.seed + offset) % 2**32, batch_size=min(size, request.batch_size - offset)
        )
        for offset in range(0, request.batch_size, size)
    ]


def _merge(results: list[GenerationResult]) -> GenerationResult:
    first = results[0]
    return dataclasses.replace(
        first,
        images=[image for result in results for image in result.images],
        seeds=[seed for result in results for seed in result.seeds],
        clips=[clip for result in results for clip in result.clips],
        seconds=sum(result.seconds for result in results),
    )


class _StepWatcher:
    """The step callback: cancellation, time limit and progress with previews, paced (the one
    place progress is paced, see the module docstring)."""

    def __init__(
        self,
        order: WorkOrder,
        family: ModelFamily,
        cancel_flag: threading.Event,
        emit: Callable[[WorkProgress], None],
    ) -> None:
        self._order = order
        self._family = family
        self._cancel_flag = cancel_flag
        self._emit = emit
        self._deadline = time.monotonic() + order.timeout if order.timeout else None
        self._last_emit = -float("inf")
        self._preview_broken = False

    def __call__(self, progress: StepProgress) -> None:
        if self._cancel_flag.is_set():
            raise JobCancelled()
        now = time.monotonic()
        if self._deadline is not None and now > self._deadline:
            raise JobTimedOut()
        if now - self._last_emit < self._order.progress_interval:
            return
        self._last_emit = now
        first, *others = self._previews(progress)
        self._emit(WorkProgress(progress.step, progress.total, first, tuple(others)))

    def _previews(self, progress: StepProgress) -> list[Image.Image | None]:
        """One preview grid per job of the call: the order's, then each companion's."""
        sizes = [
            self._order.request.batch_size,
            *(request.batch_size for _, request in self._order.companions),
        ]
        latents = progress.latents
        if not self._order.previews or latents is None or self._preview_broken:
            return [None] * len(sizes)
        try:
            if progress.render is not None:  # the engine's tiny VAE decoder (TAESD)
                pictures = progress.render()
            else:
                from bot.engine.preview import latents_to_images

                pictures = latents_to_images(latents, progress.family or self._family)
            if len(pictures) != sum(sizes):
                raise ValueError(f"{len(pictures)} preview pictures for {sum(sizes)} images")
            grids, start = [], 0
            for size in sizes:
                grids.append(render_grid(pictures[start : start + size]))
                start += size
            return grids
        except Exception:
            # A preview is a nicety: never let it fail the job.
            log.exception("progress preview failed; continuing without previews")
            self._preview_broken = True
            return [None] * len(sizes)


def screened(
    results: list[GenerationResult], checker: ImageChecker | None, job_id: str
) -> list[GenerationResult]:
    """The results with the checker's verdict on each image (`nsfw`), in one check for all.

    Without a checker, or with no images, they are returned unchanged (`nsfw` None). A failing
    checker does not fail the job: it is logged (a checker that could not load, only at start)
    and the results keep `nsfw` None, which NSFW_NO_VERDICT decides (bot/governance/nsfw.py).
    """
    images = [image for result in results for image in result.images]
    if checker is None or not images:
        return results
    try:
        verdicts = [bool(flag) for flag in checker.check(images)]
        if len(verdicts) != len(images):
            raise ValueError(f"the NSFW checker gave {len(verdicts)} verdicts for {len(images)} images")
    except CheckerUnavailable:  # said once, when the worker started
        return results
    except Exception:
        log.exception("the NSFW check of job %s failed; its images get no verdict", job_id)
        return results
    if any(verdicts):
        log.info("the NSFW checker flagged images %s of job %s", verdicts, job_id)
    checked, start = [], 0
    for result in results:
        end = start + len(result.images)
        checked.append(
            dataclasses.replace(result, nsfw=tuple(verdicts[start:end]) if result.images else None)
        )
        start = end
    return checked


def run_order(
    engine: Engine,
    order: WorkOrder,
    cancel_flag: threading.Event,
    emit: Callable[[WorkProgress], None],
    checker: ImageChecker | None = None,
) -> WorkDone | WorkFailed:
    """Run one order to its outcome; with a `checker`, its images are screened before it is done.
    Runs on the worker thread; `emit` must be thread-safe."""
    started = time.monotonic()
    watcher = _StepWatcher(order, engine.family, cancel_flag, emit)

    def elapsed() -> float:
        return time.monotonic() - started

    try:
        result: GenerationResult | None = None
        try:
            if order.companions:
                requests = [order.request, *(request for _, request in order.companions)]
                first, *others = screened(engine.txt2img_jobs(requests, watcher), checker, order.job_id)
                return WorkDone(first, elapsed(), tuple(others))
            result = _call(engine, order, order.request, watcher)
        except Exception as error:
            if order.companions or not is_out_of_memory(error):
                raise  # a batch that fails is run again job by job (JobService)
        if result is None:
            # Retried outside the except block: its traceback would keep the failed tensors alive.
            log.warning("job %s ran out of GPU memory; retrying in smaller batches", order.job_id)
            engine.free_memory()
            result = _merge([_call(engine, order, part, watcher) for part in smaller_batches(order.request)])
        (result,) = screened([result], checker, order.job_id)
    except JobTimedOut:
        return WorkFailed(
            f"Stopped after {order.timeout:g} s, the time limit for one job.", "timeout", elapsed()
        )
    except JobCancelled:
        return WorkFailed("Cancelled.", "cancelled", elapsed())
    except Exception as error:
        if is_out_of_memory(error):
            engine.free_memory()
            return WorkFailed(
                "Out of GPU memory, even in smaller batches. Try a smaller size (--ar) or a lower --quality.",
                "out_of_memory",
                elapsed(),
            )
        log.exception("job %s failed in the engine", order.job_id)
        return WorkFailed(failure_text(error), "error", elapsed())
    return WorkDone(result, elapsed())
