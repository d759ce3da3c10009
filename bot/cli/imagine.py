"""`python -m bot imagine "PROMPT" -o grid.png`: render locally through the job system.

The same path the bot uses: the prompt is read by the one admission (`bot/governance/admission.py`)
as the local member (user 0, in no server: no server's rules, but the built-in banned words, the
prompt language and the member's /settings and /prefer), each job is submitted to a `JobService`
(SQLite under DATA_DIR, the backend BACKEND names, images with metadata), and a delivery handler
copies each finished grid to the output file. Jobs the bot left in the database are not touched.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.config import Config
from bot.governance.admission import LOCAL_USER_ID

log = logging.getLogger(__name__)

CLI_USER_ID = LOCAL_USER_ID


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
    from bot.app import open_services
    from bot.cli.video import copy_clips
    from bot.governance.admission import Place
    from bot.governance.nsfw import NsfwPolicy
    from bot.jobs.events import Failed, Finished, Progress
    from bot.jobs.models import Job, JobImage, JobStatus
    from bot.jobs.video_jobs import is_video_job

    pictures = pictures or {}

    # BACKEND=thread or ray, as for the bot; one CLI run is one user's burst: all of its jobs wait at once.
    services = await open_services(settings, max_jobs_per_user=40)
    service, admission = services.jobs, services.admission
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
        place = Place(CLI_USER_ID)  # the local member, in no server
        requests = await admission.read(prompt, place)
        for note in sorted({request.draft_note for request in requests if request.draft_note}):
            print(note, file=sys.stderr)
        submitted = []
        # The jobs share one PromptImages: a link is fetched once for all of them.
        new_jobs = admission.imagine_jobs(requests, place, meta={"source": "cli"})
        for new_job, request, destination in zip(
            new_jobs, requests, output_paths(output, len(new_jobs)), strict=True
        ):
            # Local files (`cat.png a cat --video`, `--end last.png`): the pictures themselves.
            uploads = [pictures[url] for url in (*request.image_urls, request.end_url) if url in pictures]
            job = await admission.submit(replace(new_job, uploads=uploads) if uploads else new_job)
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
        await _deliveries_done(services, [job.id for job in submitted])
    finally:
        await service.stop(grace=settings.shutdown_grace)
        await services.close()
    return 1 if failures else 0


async def _deliveries_done(services, job_ids: list[str]) -> None:
    """Wait until each job's output file is written (its delivery recorded)."""
    for job_id in job_ids:
        while not (await services.library.job(job_id)).delivered:  # noqa: ASYNC110 (DB state)
            await asyncio.sleep(0.05)
