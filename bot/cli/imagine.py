"""`python -m bot imagine "PROMPT" -o grid.png`: render locally through the job system.

The same path the bot uses: the prompt is expanded, each job is submitted to a `JobService`
(SQLite under DATA_DIR, the backend BACKEND names, images with metadata), and a delivery handler
copies each finished grid to the output file. Jobs the bot left in the database are not touched.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import shutil
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.config import Config

log = logging.getLogger(__name__)

CLI_USER_ID = 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("imagine", help="render one prompt to a 2x2 grid, locally")
    parser.add_argument("prompt", help="the prompt, as typed after /imagine (parameters included)")
    parser.add_argument("-o", "--output", type=Path, default=Path("grid.png"), help="grid file to write")
    parser.set_defaults(func=execute)


def output_paths(output: Path, count: int) -> list[Path]:
    """`grid.png` for one job; `grid-1.png`, `grid-2.png`, … for permutations and --repeat."""
    if count == 1:
        return [output]
    return [output.with_name(f"{output.stem}-{n}{output.suffix}") for n in range(1, count + 1)]


def execute(args: argparse.Namespace, settings: Config) -> int:
    from bot.cli.video import local_pictures
    from bot.prompt import context_from_settings, expand_prompt

    prompt, pictures = local_pictures(args.prompt)  # image files stand where links go
    expand_prompt(prompt, context_from_settings(settings))  # bad prompts fail before the model loads
    return asyncio.run(_run(prompt, args.output, settings, pictures))


async def _run(prompt: str, output: Path, settings: Config, pictures: dict[str, Any] | None = None) -> int:
    from bot.cli.video import copy_clips
    from bot.governance.nsfw import NsfwPolicy
    from bot.jobs.events import Failed, Finished, Progress
    from bot.jobs.factory import make_backend
    from bot.jobs.models import Job, JobImage, JobKind, JobStatus, NewJob
    from bot.jobs.prompt_images import PromptImages
    from bot.jobs.service import JobService
    from bot.jobs.video_jobs import is_video_job
    from bot.prompt import context_from_settings, expand_prompt
    from bot.store.repository import Repository

    pictures = pictures or {}
    backend = make_backend(settings)  # BACKEND=thread or ray, as for the bot
    repository = await Repository.open(settings.database_path, settings.images_dir)
    # One CLI run is one user's burst: let all of its jobs wait at once.
    local = replace(settings, max_jobs_per_user=max(settings.max_jobs_per_user, 40))
    service = JobService(local, repository, backend)
    nsfw = NsfwPolicy.from_settings(settings)
    destinations: dict[str, Path] = {}

    async def copy_to_output(job: Job, images: list[JobImage]) -> None:
        """The CLI's delivery: copy the grid (or the single image) to the output path."""
        destination = destinations.get(job.id)
        if destination is None or job.status is not JobStatus.DONE:
            return
        if is_video_job(job):  # --video: the clips, not the posters' grid
            clips = await copy_clips(service.job_folder(job.id), len(images), destination)
            print("\n".join(f"{clip}: clip of job {job.id}" for clip in clips))
            return
        source = service.grid_path(job.id) if len(images) > 1 else images[0].path
        destination.parent.mkdir(parents=True, exist_ok=True)
        flagged = nsfw.flagged(job, len(images))
        if any(flagged):
            # NSFW_FILTER: the output shows flagged images blurred or blanked, as the web does.
            ordered = [image.path for image in sorted(images, key=lambda image: image.index)]
            picture = await asyncio.to_thread(nsfw.covered_picture, ordered, flagged)
            await asyncio.to_thread(picture.save, destination, format="PNG")
            numbers = ", ".join(f"#{n}" for n, flag in enumerate(flagged, start=1) if flag)
            print(
                f"{destination}: image {numbers} covered (NSFW_FILTER={nsfw.mode.value}); "
                f"the originals stay in {service.job_folder(job.id)}",
                file=sys.stderr,
            )
            return
        await asyncio.to_thread(shutil.copyfile, source, destination)

    service.add_delivery_handler(copy_to_output, name="cli-output")
    failures = 0
    try:
        await service.start(recover=False)
        context = replace(context_from_settings(settings), family=service.family)
        jobs = expand_prompt(prompt, context)
        for note in sorted({request.draft_note for request in jobs if request.draft_note}):
            print(note, file=sys.stderr)
        submitted = []
        images = PromptImages()  # a link is fetched once for all the jobs
        for request, destination in zip(jobs, output_paths(output, len(jobs)), strict=True):
            seed = request.seed if request.seed is not None else random.randrange(2**32)
            generation = request.to_generation(seed=seed)
            job = await service.submit(
                NewJob(
                    kind=JobKind.IMAGINE,
                    user_id=CLI_USER_ID,
                    prompt=request.display_prompt or request.prompt,
                    request=generation,
                    prompt_images=images,
                    speed=request.speed,
                    image_urls=list(request.image_urls),
                    # Local files (`cat.png a cat --video`, `--end last.png`): the pictures themselves.
                    uploads=[
                        pictures[url] for url in (*request.image_urls, request.end_url) if url in pictures
                    ],
                )
            )
            destinations[job.id] = destination
            submitted.append(job)
        for job in submitted:
            async for event in service.subscribe(job.id):
                if isinstance(event, Progress):
                    print(f"{job.prompt}: {event.percent}%", file=sys.stderr, flush=True)
                elif isinstance(event, Finished) and not is_video_job(job):  # clips print when copied
                    generation = job.generation_request
                    print(
                        f"{destinations[job.id]}: {job.prompt} ({generation.width}x{generation.height}, "
                        f"seed {generation.seed}, {service.job_folder(job.id)})"
                    )
                elif isinstance(event, Failed):
                    failures += 1
                    print(f"Job failed: {job.prompt}: {event.message}", file=sys.stderr)
        await _deliveries_done(service, [job.id for job in submitted])
    finally:
        await service.stop(grace=settings.shutdown_grace)
        await repository.close()
    return 1 if failures else 0


async def _deliveries_done(service, job_ids: list[str]) -> None:
    """Wait until each job's output file is written (its delivery recorded)."""
    for job_id in job_ids:
        while not (await service.repository.get_job(job_id)).delivered:  # noqa: ASYNC110 (DB state)
            await asyncio.sleep(0.05)
