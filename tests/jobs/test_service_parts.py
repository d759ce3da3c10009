"""The job service's parts: progress paced once (by the worker), the jobs' message records
(the `JobLibrary`) and the store-free Discord delivery."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

from PIL import Image

from bot.engine.family import TINY
from bot.engine.request import GenerationResult
from bot.jobs.events import Progress
from bot.jobs.execution import WorkDone, WorkEvent, WorkOrder, WorkProgress
from bot.jobs.library import library_of
from bot.jobs.service import JobService
from bot.store.repository import Repository
from tests.jobs.conftest import imagine, make_settings

BOT = Path(__file__).resolve().parents[2] / "bot"


class BurstBackend:
    """A backend whose worker sends a progress event for every step at once (as a worker with
    PROGRESS_INTERVAL=0 would), then the result."""

    capacity = 1
    family = TINY

    def __init__(self, steps: int) -> None:
        self.steps = steps

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def cancel(self, job_id: str) -> None:
        pass

    async def submit(self, order: WorkOrder) -> AsyncIterator[WorkEvent]:
        for step in range(1, self.steps + 1):
            yield WorkProgress(step, self.steps)
        request = order.request
        images = [Image.new("RGB", (request.width, request.height)) for _ in request.seeds]
        yield WorkDone(GenerationResult(images, request.seeds, "m", "Fake", request.steps, 7.0), 0.1)


async def test_the_service_passes_on_every_progress_the_worker_sends(tmp_path) -> None:
    """Progress is paced once, by the worker: with PROGRESS_INTERVAL=60 the service still passes
    on each of the worker's 5 progress events (it used to drop all but the first)."""
    settings = make_settings(tmp_path, PROGRESS_INTERVAL="60")
    repository = await Repository.open(settings.database_path, settings.images_dir)
    service = JobService(settings, repository, BurstBackend(steps=5))
    try:
        await service.start()
        job = await service.submit(imagine(1))
        events = [event async for event in service.subscribe(job.id)]
        assert [(e.step, e.total) for e in events if isinstance(e, Progress)] == [(n, 5) for n in range(1, 6)]
    finally:
        await service.stop()
        await repository.close()


async def test_the_library_records_messages_on_the_job(service: JobService) -> None:
    """`JobLibrary.record_message` keeps progress/result message ids on the job and every message in
    the job's message list; `stored_job` reads them back."""
    job = await service.submit(imagine(1, id="job-posts"))
    await library_of(service).record_message(job.id, 111, 5, "progress")
    await library_of(service).record_message(job.id, 222, 5, "result")
    await library_of(service).record_message(job.id, 333, 5, "image-1")
    stored = await library_of(service).job(job.id)
    assert (stored.progress_message_id, stored.result_message_id) == (111, 222)
    assert (await service.repository.job_for_message(333)).id == job.id


def test_discord_delivery_makes_no_store_calls() -> None:
    """bot/discord's delivery modules reach stored jobs only through the job service."""
    call = re.compile(r"\b(repository|store)\.[a-z_]+\(")
    modules = ["delivery.py", "uploads.py", "result_pictures.py", "edit_pacer.py"]
    found = {name: call.findall((BOT / "discord" / name).read_text()) for name in modules}
    assert {name: calls for name, calls in found.items() if calls} == {}
