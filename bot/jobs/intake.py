"""What a job needs before it may wait and before it runs: limits, its parent, its pictures, its mask.

`Intake` is the job service's helper for both ends of the queue:

- before queueing (`check_limits`, `check_waiting_here`, `prepare`, `store_files`): the bot's and
  the server's limits on waiting jobs, the request derived from the parent job's image, every
  linked or uploaded picture fetched and decoded (a bad link is an error now, not a failed job),
  the Vary (Region) mask, a video's `--end` picture, all written to the job's folder;
- before running (`inputs`, `mask`): the engine operation and its input pictures, read back from
  that folder or from the parent job's images (a video job's from bot/jobs/video_jobs.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from bot.config import Config
from bot.engine.edits import retexture_ready
from bot.engine.family import ModelFamily
from bot.engine.instruct_pix2pix import instruct_model_problem
from bot.engine.interface import GenerationInputs, Operation
from bot.engine.matting import matte_model_missing
from bot.engine.request import GenerationRequest
from bot.engine.segment import segment_model_missing
from bot.engine.video_spec import is_video
from bot.errors import ConfigError, InvalidParameter, JobNotFound, NotAvailable, QueueFull
from bot.jobs.derive import decode_mask, derive_request, operation_of
from bot.jobs.downloads import LinkFetcher
from bot.jobs.editor_jobs import EDITOR_KINDS, UPLOAD_ORIGINAL, uses_upload_original
from bot.jobs.files import save_image
from bot.jobs.image_jobs import (
    IMAGE_JOB_KINDS,
    INPUT_FILE,
    PreparedInputs,
    load_inputs,
    prepare_inputs,
    save_inputs,
)
from bot.jobs.models import Job, JobImage, JobKind, JobStatus, NewJob, Speed
from bot.jobs.needs import ModelNeeds
from bot.jobs.own_images import OwnImages
from bot.jobs.ports import JobRecords
from bot.jobs.prompt_images import ImageLinks, PromptImage, PromptImages
from bot.jobs.scheduler import FairQueue
from bot.jobs.video_jobs import (
    VIDEO_KINDS,
    check_video_cost,
    derive_video_request,
    fetch_end_image,
    is_video_submission,
    load_video_inputs,
    save_end_image,
    video_request,
)

__all__ = ["INPUT_FILE", "MASK_FILE", "REFERENCE_FIT", "Intake", "Prepared"]

# Pictures of /blend, /describe and references are scaled down to cover this size.
REFERENCE_FIT = (1024, 1024)
# Vary (Region): the area to repaint, white = regenerate, at the size of the job's images.
MASK_FILE = "mask.png"


@dataclass(frozen=True)
class Prepared:
    """A job checked and fetched, ready to be written to its folder and queued."""

    request: GenerationRequest
    image_urls: list[str]
    meta: dict
    inputs: PreparedInputs
    # The prompt's input picture, stored once on disk: later jobs of the prompt hard-link it.
    shared_input: PromptImage | None
    mask: Image.Image | None
    # A video's `--end` picture (kept as end.png).
    end_image: Image.Image | None = None


class Intake:
    """Limits, parents, input pictures and masks of jobs (see the module docstring)."""

    def __init__(
        self,
        settings: Callable[[], Config],
        repository: JobRecords,
        queue: FairQueue,
        family: Callable[[], ModelFamily],
        job_folder: Callable[[str], Path],
    ) -> None:
        self._settings = settings  # the service's current settings (they may be replaced)
        self.repository = repository
        self.image_links = ImageLinks(LinkFetcher(allow_private=settings().allow_private_links))
        # Links to the web app's own pictures are read from the store (bot/jobs/own_images.py).
        self.own_images = OwnImages(settings, repository)
        self._queue = queue
        # What operations need (models on this machine), checked before queueing; None: nothing.
        self.needs: ModelNeeds | None = None
        self._family = family
        self._job_folder = job_folder

    # ---- limits --------------------------------------------------------------------------

    def check_limits(self, user_id: int) -> None:
        """The bot's limits: waiting jobs per user (MAX_JOBS_PER_USER) and in all (MAX_QUEUE)."""
        waiting = self._queue.waiting_for(user_id)
        if waiting >= self._settings().max_jobs_per_user:
            raise QueueFull(
                f"You already have {waiting} jobs waiting (the limit is {self._settings().max_jobs_per_user}). "
                "Wait for one to finish."
            )
        if len(self._queue) >= self._settings().max_queue:
            raise QueueFull(f"{len(self._queue)} jobs are waiting, the most this bot takes. Try again soon.")

    def check_waiting_here(
        self, new: NewJob, active: Mapping[str, Job], prepared: Prepared | None = None
    ) -> None:
        """The server's limit on one member's waiting jobs (`NewJob.waiting_limit`); video jobs
        (also a 🔄 of one: its `prepared` request) count as VIDEO_COST image jobs toward both
        waiting limits."""
        video = is_video_submission(new) or (prepared is not None and is_video(prepared.request.extra))
        check_video_cost(active.values(), new, video, self._settings(), new.waiting_limit)
        limit = new.waiting_limit
        if limit is None or new.guild_id is None:
            return
        waiting = sum(
            1
            for job in active.values()
            if job.status is JobStatus.QUEUED and job.user_id == new.user_id and job.guild_id == new.guild_id
        )
        if waiting >= limit:
            raise QueueFull(
                f"You already have {waiting} jobs waiting in this server (its limit is {limit}). "
                "Wait for one to finish."
            )

    # ---- before queueing -----------------------------------------------------------------

    async def prepare(self, new: NewJob, kind: JobKind) -> Prepared:
        """The job's request, meta, input pictures and mask. Raises for a bad parent or link, or
        an operation this bot cannot run now (NotSetUp)."""
        if kind is JobKind.INSTRUCT and (
            missing := instruct_model_problem(self._settings().instruct_model, self._settings().models_dir)
        ):
            raise NotAvailable(missing)  # INSTRUCT_MODEL missing or not InstructPix2Pix: nothing queued
        if self.needs is not None:
            await self.needs.check(kind)
        if kind is JobKind.RETEXTURE and (missing := retexture_ready(self._settings())) is not None:
            raise InvalidParameter(missing)
        if kind in EDITOR_KINDS and (missing := segment_model_missing(self._settings())):
            raise NotAvailable(missing)  # before anything is queued, not a failed job
        if kind is JobKind.BACKGROUND and (missing := matte_model_missing(self._settings())):
            raise NotAvailable(missing)
        request, image_urls = await self._derive_request(new, kind)
        if is_video(request.extra):  # --video: the full spec (the family is known once the model loaded)
            request = video_request(request, self._settings(), self._family())
        meta = dict(new.meta)
        if await self.repository.is_stealth(new.user_id):
            meta["stealth"] = True  # /stealth: kept out of server galleries, also after /public
        # Links go through the prompt's PromptImages: each is downloaded and decoded once for all
        # the jobs of one prompt, scaled down to the working size (bot/jobs/prompt_images.py).
        images = new.prompt_images or PromptImages()
        linked_edit = kind is JobKind.INSTRUCT and new.parent_id is None  # `--edit <link>`
        fit = (request.width, request.height) if kind is JobKind.IMAGINE or linked_edit else REFERENCE_FIT

        async def fetch(url: str) -> Image.Image:
            read = self.own_images.reader(url, new.user_id, new.guild_id)
            return (await images.get(url, fit, self.image_links, read)).open()

        prepared = await prepare_inputs(
            JobKind.IMAGINE if linked_edit else kind,
            request,
            image_urls,
            ip_adapter=bool(self._settings().ip_adapter),
            uploads=new.uploads,
            fetch=fetch,
        )
        end_image = await fetch_end_image(request, image_urls, new.uploads, fetch)  # video: --end
        shared_input = images.cached(image_urls[0], fit) if prepared.input_image is not None else None
        if shared_input is not None and not new.uploads:
            prepared = dataclasses.replace(prepared, input_image=None)
        else:
            shared_input = None
        mask = decode_mask(new.mask, (request.width, request.height)) if kind is JobKind.REGION else None
        return Prepared(request, image_urls, prepared.meta(meta), prepared, shared_input, mask, end_image)

    @staticmethod
    def new_job(job_id: str, kind: JobKind, new: NewJob, prepared: Prepared) -> Job:
        """The waiting job of a prepared `NewJob`."""
        return Job(
            id=job_id,
            kind=kind,
            status=JobStatus.QUEUED,
            user_id=new.user_id,
            guild_id=new.guild_id,
            channel_id=new.channel_id,
            prompt=new.prompt,
            request=prepared.request.to_dict(),
            image_urls=list(prepared.image_urls),
            parent_id=new.parent_id,
            parent_index=new.parent_index,
            mode=new.mode,
            speed=Speed.RELAX.value if new.speed == Speed.RELAX.value else Speed.FAST.value,
            seeds=prepared.request.seeds,
            enqueued_at=time.time(),
            meta=prepared.meta,
        )

    async def store_files(self, job_id: str, prepared: Prepared) -> None:
        """Write the job's input pictures and mask to its folder."""
        folder = self._job_folder(job_id)
        if prepared.shared_input is not None:
            await asyncio.to_thread(prepared.shared_input.store, folder / INPUT_FILE)
        await asyncio.to_thread(save_inputs, folder, prepared.inputs)
        if prepared.mask is not None:
            await asyncio.to_thread(save_image, folder / MASK_FILE, prepared.mask)
        await asyncio.to_thread(save_end_image, folder, prepared.end_image)

    async def _derive_request(self, new: NewJob, kind: JobKind) -> tuple[GenerationRequest, list[str]]:
        if kind in (JobKind.IMAGINE, *IMAGE_JOB_KINDS) or (
            kind is JobKind.INSTRUCT and new.parent_id is None
        ):
            if new.request is None:
                raise InvalidParameter(f"A {kind.value} job needs a request.")
            return new.request, list(new.image_urls)
        parent = await self._parent(new)
        image = None if kind is JobKind.REROLL else await self._parent_image(parent, new.parent_index)
        if kind in VIDEO_KINDS:  # Animate / Extend
            return derive_video_request(kind, new, parent, image, self._settings(), self._family())
        return derive_request(kind, new, parent, image, self._family_of(parent.request.get("model", "")))

    def _family_of(self, model: str) -> ModelFamily:
        """The family of the model a parent job ran on: a --v alias may be another family than
        MODEL (FLUX's 16 px grid beside SD 1.x's 8 px: Zoom and Pan canvases must fit it)."""
        settings = self._settings()
        if not model or model == settings.model:
            return self._family()
        from bot.engine.source import resolve_model_source  # reads configs, no weights

        try:
            return resolve_model_source(model, settings.models_dir, settings.device).family
        except (ConfigError, OSError, ValueError):
            return self._family()

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

    # ---- before running ------------------------------------------------------------------

    async def inputs(self, job: Job) -> tuple[Operation, GenerationInputs]:
        """The engine operation of a job and its input pictures (read from disk)."""
        folder = self._job_folder(job.id)
        if job.kind is not JobKind.REROLL:  # a 🔄 of a video runs on its parent's inputs (below)
            video = await load_video_inputs(job, folder, self.repository.get_image, self._job_folder)
            if video is not None:
                return video
        if (image_job := await load_inputs(job, folder)) is not None:
            return image_job
        if job.kind is JobKind.INSTRUCT and job.parent_id is None:  # `--edit <link>`
            return Operation.INSTRUCT, GenerationInputs(
                image=await asyncio.to_thread(_open_rgb, folder / INPUT_FILE)
            )
        if job.kind is JobKind.IMAGINE:
            if not job.image_urls:
                return Operation.TXT2IMG, GenerationInputs()
            image = await asyncio.to_thread(_open_rgb, folder / INPUT_FILE)
            return Operation.IMG2IMG, GenerationInputs(image=image)
        parent = await self.repository.get_job(job.parent_id or "")
        if parent is None:
            raise JobNotFound(f"The parent job {job.parent_id} is gone.")
        if job.kind is JobKind.REROLL:
            return await self.inputs(parent)
        image = await self.repository.get_image(parent.id, job.parent_index or 0)
        if image is None:
            raise JobNotFound(f"Image #{(job.parent_index or 0) + 1} of job {parent.id} is gone.")
        path = image.path
        if uses_upload_original(job.kind, parent) is not None:  # Remove background on an upload
            original = self._job_folder(parent.id) / UPLOAD_ORIGINAL
            path = original if original.is_file() else path
        picture = await asyncio.to_thread(_open_rgb, path)
        operation = operation_of(job.kind)
        if operation is Operation.OUTPAINT:
            placement = tuple(job.request["extra"]["placement"])
            return operation, GenerationInputs(image=picture, placement=placement)  # type: ignore[arg-type]
        if operation is Operation.REGION:
            return operation, GenerationInputs(image=picture, mask=await self.mask(job))
        return operation, GenerationInputs(image=picture)

    async def mask(self, job: Job) -> Image.Image | None:
        """A Vary (Region) job's stored mask, or None for other jobs."""
        if job.kind is not JobKind.REGION:
            return None
        path = self._job_folder(job.id) / MASK_FILE
        if not path.is_file():
            raise JobNotFound(f"The mask of job {job.id} is gone.")
        return await asyncio.to_thread(_open_mask, path)


def _open_mask(path: Path) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("L")


def _open_rgb(path: Path) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGB")
