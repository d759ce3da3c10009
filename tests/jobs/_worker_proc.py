"""A bot-like process for the crash test: runs the JobService on the tiny model.

    python -m tests.jobs._worker_proc DATA_DIR MODELS_DIR DELIVERIES [--submit N] [--edits]
                                      [--step-seconds S]

With --submit it queues N jobs (printing `submitted <id>`); it prints `started <id>` as jobs start,
appends `<job id> <status>` to DELIVERIES from its delivery handler, and exits 0 once every job in
the database is finished and delivered. --edits first makes one imagine job, waits for it, then
queues a Zoom Out 2x, a Pan ⬅️ and a Vary (Region) of its first image (printed like --submit).
--video N queues N `--video --loop --bs 2` jobs (an uploaded start image, 5-frame clips).
--step-seconds slows each denoising step down so that a
test can kill the process while a job runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

from bot.config import Config
from bot.engine.request import GenerationRequest, StepCallback
from bot.jobs.backend import ThreadBackend
from bot.jobs.events import Started
from bot.jobs.models import Job, JobImage, JobKind, JobStatus, NewJob
from bot.jobs.service import JobService
from bot.store.repository import Repository


class SlowSteps:
    """Wraps the engine so that every step also sleeps (the real work still happens)."""

    def __init__(self, engine, seconds: float) -> None:
        self._engine = engine
        self._seconds = seconds
        self.family = engine.family
        self.model_name = engine.model_name

    def _slow(self, on_step: StepCallback | None) -> StepCallback:
        def callback(progress):
            time.sleep(self._seconds)
            if on_step is not None:
                on_step(progress)

        return callback

    def generate(self, operation, request, inputs=None, on_step=None):
        return self._engine.generate(operation, request, inputs, self._slow(on_step))

    def free_memory(self):
        self._engine.free_memory()


async def main(args: argparse.Namespace) -> int:
    settings = Config.from_env(
        {
            "MODEL": "tiny",
            "MODELS_DIR": args.models_dir,
            "DATA_DIR": args.data_dir,
            "DEVICE": "cpu",
            "PROGRESS_INTERVAL": "0",
            # --video jobs: short clips on the tiny video model.
            "VIDEO_FRAMES": "5",
            "VIDEO_STEPS": "3",
        }
    )
    repository = await Repository.open(settings.database_path, settings.images_dir)

    def load():
        from bot.engine.loader import load_engine

        engine = load_engine(settings)
        return SlowSteps(engine, args.step_seconds) if args.step_seconds else engine

    service = JobService(settings, repository, ThreadBackend(load))

    def append(line: str) -> None:
        with open(args.deliveries, "a") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())

    async def deliver(job: Job, images: list[JobImage]) -> None:
        await asyncio.to_thread(append, f"{job.id} {job.status.value} {len(images)}\n")

    service.add_delivery_handler(deliver, name="deliveries-file")

    async def announce(job_id: str) -> None:
        async for event in service.subscribe(job_id):
            if isinstance(event, Started):
                print(f"started {job_id}", flush=True)

    await service.start()
    watchers = []
    for n in range(args.submit):
        request = GenerationRequest(prompt=f"job {n}", width=64, height=64, seed=n, steps=4)
        job = await service.submit(
            NewJob(kind=JobKind.IMAGINE, user_id=n % 2, prompt=request.prompt, request=request)
        )
        print(f"submitted {job.id}", flush=True)
        watchers.append(asyncio.create_task(announce(job.id)))
    for n in range(args.video):
        job = await service.submit(video_job(n))
        print(f"submitted {job.id}", flush=True)
        watchers.append(asyncio.create_task(announce(job.id)))
    if args.edits:
        watchers.extend(await submit_edits(service, announce))
    while True:
        counts = await repository.count_jobs()
        unfinished = counts[JobStatus.QUEUED] + counts[JobStatus.RUNNING]
        if not unfinished and not await repository.undelivered_jobs():
            break
        await asyncio.sleep(0.1)
    await service.stop(5)
    await repository.close()
    return 0


def video_job(n: int) -> NewJob:
    """`/imagine <start image> clip n --video --bs 2`, the start image uploaded (no download)."""
    from PIL import Image

    from bot.engine.video_spec import VIDEO_KEY

    link = f"https://example.com/start-{n}.png"
    extra = {VIDEO_KEY: {"motion": "low", "raw": False, "loop": True, "end": "", "batch": 2}}
    request = GenerationRequest(
        prompt=f"clip {n}", width=64, height=64, seed=n, steps=3, batch_size=2, extra=extra
    )
    start = Image.linear_gradient("L").resize((64, 64)).convert("RGB")
    return NewJob(
        kind=JobKind.IMAGINE,
        user_id=n % 2,
        prompt=request.prompt,
        request=request,
        image_urls=[link],
        uploads=[start],
    )


async def submit_edits(service: JobService, announce) -> list[asyncio.Task[None]]:
    import io

    from bot.engine.canvas import cell_mask

    request = GenerationRequest(prompt="a lighthouse", width=64, height=64, seed=5, steps=1)
    parent = await service.submit(
        NewJob(kind=JobKind.IMAGINE, user_id=9, prompt="a lighthouse", request=request)
    )
    async for _event in service.subscribe(parent.id):
        pass
    mask = io.BytesIO()
    cell_mask((64, 64), [5, 6]).save(mask, format="PNG")
    edits = [
        NewJob(kind=JobKind.ZOOM, user_id=1, mode="2"),
        NewJob(kind=JobKind.PAN, user_id=1, mode="left"),
        NewJob(kind=JobKind.REGION, user_id=1, mask=mask.getvalue()),
    ]
    watchers = []
    for edit in edits:
        edit.parent_id, edit.parent_index, edit.prompt = parent.id, 0, "a lighthouse"
        job = await service.submit(edit)
        print(f"submitted {job.id}", flush=True)
        watchers.append(asyncio.create_task(announce(job.id)))
    return watchers


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir")
    parser.add_argument("models_dir")
    parser.add_argument("deliveries")
    parser.add_argument("--submit", type=int, default=0)
    parser.add_argument("--edits", action="store_true")
    parser.add_argument("--video", type=int, default=0)
    parser.add_argument("--step-seconds", type=float, default=0.0)
    sys.exit(asyncio.run(main(parser.parse_args())))
