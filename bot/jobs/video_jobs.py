"""Video jobs on the durable queue: `/imagine <image> … --video`, Animate and Extend.

The job service hands video jobs here at four points (each a marked line in service.py):
- `video_request` when a job is submitted: the spec is completed from the settings (frames, fps,
  steps, size) and stored with the job, so it runs the same after a restart;
  `derive_video_request` for Animate / Extend of a parent job;
- `fetch_end_image` / `save_end_image`: the `--end` picture is downloaded before the job is queued
  (a bad link is `Invalid link` now, not a failed job) and kept as `end.png` in the job's folder;
- `load_video_inputs` when it runs: the start picture (the prompt's `input.png` or the parent's
  image), the end picture, or the parent's clip for Extend;
- `save_clips` before the job is marked done: `<n>.mp4` beside the poster `<n>.png`.

Kinds: a prompt with `--video` is an IMAGINE job whose request carries the spec; Animate is an
ANIMATE job on one image of a parent (mode = motion); Extend an EXTEND job on one clip of a video
job (mode = motion), at most `MAX_EXTENDS` times in a chain.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from PIL import Image

from bot.config import Config
from bot.engine.family import ModelFamily
from bot.engine.interface import GenerationInputs, Operation
from bot.engine.request import GenerationRequest, GenerationResult
from bot.engine.video_spec import MOTIONS, VIDEO_KEY, VideoSpec, is_video, video_spec
from bot.errors import InvalidParameter, JobNotFound, QueueFull
from bot.jobs.derive import random_seed
from bot.jobs.files import save_image
from bot.jobs.models import Job, JobImage, JobKind, JobStatus, NewJob
from bot.jobs.video_files import VIDEO_FILE, read_frames, write_mp4

__all__ = [
    "END_FILE",
    "MAX_EXTENDS",
    "VIDEO_GUIDANCE",
    "VIDEO_KINDS",
    "check_video_cost",
    "clip_path",
    "derive_video_request",
    "fetch_end_image",
    "is_video_job",
    "is_video_submission",
    "load_video_inputs",
    "save_clips",
    "save_end_image",
    "video_request",
    "waiting_weight",
]

VIDEO_KINDS = (JobKind.ANIMATE, JobKind.EXTEND)
END_FILE = "end.png"
INPUT_FILE = "input.png"
MAX_EXTENDS = 4
# Wan's recommended classifier-free guidance for image-to-video.
VIDEO_GUIDANCE = 5.0
# The tiny model's defaults for VIDEO_RESOLUTION=0 / VIDEO_STEPS=0 (its frames are noise anyway).
_TINY_RESOLUTION, _TINY_STEPS = 64, 4
_RESOLUTION, _STEPS = 480, 30


def is_video_job(job: Job) -> bool:
    return job.kind in VIDEO_KINDS or is_video(job.request.get("extra", {}))


def is_video_submission(new: NewJob) -> bool:
    """Whether a submission makes a video (Animate, Extend, or a `--video` prompt)."""
    return new.kind in VIDEO_KINDS or (new.request is not None and is_video(new.request.extra))


def waiting_weight(job: Job, settings: Config) -> float:
    """What a waiting job counts as toward the waiting-job limits: VIDEO_COST for a video job."""
    return settings.video_cost if is_video_job(job) else 1.0


def check_video_cost(
    active: Iterable[Job], new: NewJob, video: bool, settings: Config, waiting_limit: int | None
) -> None:
    """Raise QueueFull when `new` (`video`: a video job) would take its owner over a waiting-job limit with video jobs
    counted as VIDEO_COST image jobs each (MAX_JOBS_PER_USER, and the server's /limits when given).
    A video job alone always fits (its weight is capped at the limit); without video jobs the
    service's own count decides."""
    mine = [job for job in active if job.status is JobStatus.QUEUED and job.user_id == new.user_id]
    if not video and not any(is_video_job(job) for job in mine):
        return
    weight = settings.video_cost if video else 1.0
    limits = [("", settings.max_jobs_per_user, mine)]
    if waiting_limit is not None and new.guild_id is not None:
        limits.append(
            (" in this server", waiting_limit, [job for job in mine if job.guild_id == new.guild_id])
        )
    for where, limit, jobs in limits:
        load = sum(waiting_weight(job, settings) for job in jobs) + min(weight, limit)
        if load > limit:
            raise QueueFull(
                f"You already have {len(jobs)} jobs waiting{where}, and a video counts as "
                f"{settings.video_cost:g} (the limit is {limit}). Wait for one to finish."
            )


def _recipe(settings: Config, family: ModelFamily) -> dict[str, int]:
    tiny = family.name.startswith("tiny")
    return {
        "frames": settings.video_frames,
        "fps": settings.video_fps,
        "extend_frames": settings.video_extend_frames,
        "resolution": settings.video_resolution or (_TINY_RESOLUTION if tiny else _RESOLUTION),
        "steps": settings.video_steps or (_TINY_STEPS if tiny else _STEPS),
    }


def _complete(
    request: GenerationRequest, spec: dict[str, Any], settings: Config, family: ModelFamily
) -> GenerationRequest:
    """`request` with its full spec (checked), `--bs` clips and the video guidance."""
    try:
        full = VideoSpec.from_dict({**spec, **_recipe(settings, family)})
    except ValueError as error:
        raise InvalidParameter(f"Video settings: {error}.") from None
    return dataclasses.replace(
        request,
        # The video model lives beside the default model (VIDEO_MODEL): not an alias's, no LoRAs.
        model="",
        loras=(),
        batch_size=full.batch,
        guidance_scale=VIDEO_GUIDANCE,
        extra={**request.extra, VIDEO_KEY: full.to_dict()},
    )


def video_request(request: GenerationRequest, settings: Config, family: ModelFamily) -> GenerationRequest:
    """A submitted request as it is stored: a `--video` one completed from the settings."""
    if not is_video(request.extra):
        return request
    if settings.video_model.strip().lower() == "off":
        raise InvalidParameter("Video is off on this bot (VIDEO_MODEL=off).")
    return _complete(request, request.extra[VIDEO_KEY], settings, family)


def derive_video_request(
    kind: JobKind, new: NewJob, parent: Job, image: JobImage | None, settings: Config, family: ModelFamily
) -> tuple[GenerationRequest, list[str]]:
    """The request of an Animate (of one image of `parent`) or an Extend (of one of its clips).

    `new.mode` is the motion (low / high). With Remix (or the CLI's `--prompt`), `new.request`
    carries the motion prompt, and its `extra["video"]` may add loop / end / raw / batch.
    """
    motion = new.mode or "low"
    if motion not in MOTIONS:
        raise InvalidParameter(f"Invalid motion `{motion}`: expected low or high.")
    if settings.video_model.strip().lower() == "off":
        raise InvalidParameter("Video is off on this bot (VIDEO_MODEL=off).")
    parent_request = parent.generation_request
    given = dict(new.request.extra.get(VIDEO_KEY, {})) if new.request is not None else {}
    if kind is JobKind.ANIMATE:
        if image is None:
            raise InvalidParameter("Pick one image to animate.")
        if is_video_job(parent):
            raise InvalidParameter("That is already a video: use Extend.")
        base = new.request or dataclasses.replace(parent_request, negative_prompt="", weighted_prompts=())
        spec = {"batch": 4, **given, "motion": motion}
        request = dataclasses.replace(
            base, seed=random_seed(), width=image.width // 8 * 8, height=image.height // 8 * 8
        )
        return _complete(request, spec, settings, family), []
    if not is_video_job(parent):
        raise InvalidParameter("Only a video can be extended.")
    parent_spec = video_spec(parent_request.extra)
    extended = int(parent_request.extra.get("extends", 0))
    if extended >= MAX_EXTENDS:
        raise InvalidParameter(f"A video can be extended at most {MAX_EXTENDS} times.")
    base = new.request or parent_request
    # Extend continues from the clip's last frame: no end frame, no loop.
    spec = {**parent_spec.to_dict(), **given, "motion": motion, "loop": False, "end": ""}
    request = dataclasses.replace(base, seed=random_seed(), extra={**base.extra, "extends": extended + 1})
    return _complete(request, spec, settings, family), []


Fetch = Callable[[str], Awaitable[Image.Image]]


async def fetch_end_image(
    request: GenerationRequest, image_urls: list[str], uploads: list[Any], fetch: Fetch
) -> Image.Image | None:
    """The `--end` picture of a video job: the upload after those of `image_urls` (a picture the
    front already holds, e.g. the CLI's `--end FILE`), else the link downloaded with `fetch`."""
    if not is_video(request.extra):
        return None
    end = video_spec(request.extra).end
    if not end:
        return None
    extra = [upload for upload in uploads[len(image_urls) :] if isinstance(upload, Image.Image)]
    return extra[0] if extra else await fetch(end)


def save_end_image(folder: Path, picture: Image.Image | None) -> None:
    """Keep the end picture as `end.png` (blocking: run in a thread)."""
    if picture is not None:
        save_image(folder / END_FILE, picture.convert("RGB"))


def clip_path(folder: Path, index: int) -> Path:
    """Clip `index` of the job whose folder is `folder` (its poster is `<index>.png`)."""
    return folder / VIDEO_FILE.format(index)


def _open_rgb(path: Path) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGB")


def _read(
    job: Job, folder: Path, start: Path | None, clip: Path | None
) -> tuple[Operation, GenerationInputs]:
    end_path = folder / END_FILE
    end = _open_rgb(end_path) if end_path.is_file() else None
    if clip is not None:
        if not clip.is_file():
            raise JobNotFound(f"The clip {clip.name} of job {job.parent_id} is gone.")
        return Operation.EXTEND, GenerationInputs(clip=tuple(read_frames(clip)), end_image=end)
    assert start is not None
    if not start.is_file():
        raise JobNotFound(f"The start image of job {job.id} is gone.")
    return Operation.ANIMATE, GenerationInputs(image=_open_rgb(start), end_image=end)


Lookup = Callable[[str, int], Awaitable[JobImage | None]]


async def load_video_inputs(
    job: Job, folder: Path, get_image: Lookup, job_folder: Callable[[str], Path]
) -> tuple[Operation, GenerationInputs] | None:
    """The operation and pictures of a video job (None for other jobs), read from disk."""
    if not is_video_job(job):
        return None
    if job.kind is JobKind.IMAGINE:
        return await asyncio.to_thread(_read, job, folder, folder / INPUT_FILE, None)
    index = job.parent_index or 0
    image = await get_image(job.parent_id or "", index)
    if image is None:
        raise JobNotFound(f"Image #{index + 1} of job {job.parent_id} is gone.")
    if job.kind is JobKind.EXTEND:
        return await asyncio.to_thread(_read, job, folder, None, clip_path(job_folder(image.job_id), index))
    return await asyncio.to_thread(_read, job, folder, image.path, None)


def save_clips(
    folder: Path, request: GenerationRequest, result: GenerationResult, max_bytes: int
) -> list[Path]:
    """Write each clip of a result as `<n>.mp4` with its recipe (blocking: run in a thread).
    Raises JobFailed when one cannot be made to fit `max_bytes`."""
    spec = video_spec(request.extra)
    paths = []
    for n, (clip, seed) in enumerate(zip(result.clips, result.seeds, strict=True)):
        recipe = {
            "prompt": request.prompt,
            "negative_prompt": request.negative_prompt,
            "motion": spec.motion,
            "raw": spec.raw,
            "loop": spec.loop,
            "end": bool(spec.end),
            "seed": seed,
            "frames": len(clip),
            "fps": spec.fps,
            "steps": spec.steps,
            "model": result.model_name,
        }
        paths.append(write_mp4(clip_path(folder, n), clip, spec.fps, recipe, max_bytes).path)
    return paths
