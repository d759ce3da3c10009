"""The job system on the real tiny engine: previews, a burst of 200 submissions."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from bot.errors import QueueFull
from bot.jobs.backend import ThreadBackend
from bot.jobs.events import Finished, Progress
from bot.jobs.files import read_png_parameters
from bot.jobs.models import Job, JobImage, JobKind, JobStatus, NewJob
from bot.jobs.service import JobService
from bot.store.repository import Repository
from tests.jobs.conftest import imagine, make_request, make_settings, outcome, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
async def tiny_service(tmp_path: Path, tiny_engine, request: pytest.FixtureRequest):
    """A JobService over the real tiny engine (indirect parameter: settings overrides)."""
    settings = make_settings(tmp_path / "data", **getattr(request, "param", {}))
    repository = await Repository.open(settings.database_path, settings.images_dir)
    service = JobService(settings, repository, ThreadBackend(lambda: tiny_engine))
    yield service
    await service.stop(5)
    await repository.close()


async def test_real_engine_job_with_previews_and_variation(tiny_service: JobService) -> None:
    """A tiny-model job streams preview pictures, stores its grid, and can be varied."""
    await tiny_service.start()
    job = await tiny_service.submit(imagine(1, "a red fox", request=make_request("a red fox", steps=2)))
    events = [event async for event in tiny_service.subscribe(job.id)]
    previews = [e.preview for e in events if isinstance(e, Progress)]
    assert previews and all(isinstance(p, Image.Image) for p in previews)
    finished = events[-1]
    assert isinstance(finished, Finished) and len(finished.images) == 4
    assert "Model: tiny" in read_png_parameters(finished.images[0].path)
    variation = await tiny_service.submit(
        NewJob(kind=JobKind.VARIATION, user_id=1, parent_id=job.id, parent_index=0, mode="subtle")
    )
    varied = await outcome(tiny_service, variation.id)
    assert isinstance(varied, Finished)
    assert "Denoising strength: 0.35" in read_png_parameters(varied.images[0].path)


@pytest.mark.parametrize("tiny_service", [{"MAX_JOBS_PER_USER": "3", "MAX_QUEUE": "200"}], indirect=True)
async def test_200_submissions_from_20_users(tiny_service: JobService) -> None:
    """All accepted jobs complete, over-limit ones fail with Queue full, the database is consistent."""
    delivered: Counter[str] = Counter()

    async def deliver(job: Job, images: list[JobImage]) -> None:
        delivered[job.id] += 1

    tiny_service.add_delivery_handler(deliver)
    accepted: list[Job] = []
    refused = 0
    # Submitted before the worker starts, so exactly 3 per user are waiting when the 4th arrives.
    for round_ in range(10):
        for user in range(20):
            request = make_request(f"user {user} job {round_}", seed=round_, steps=1, size=64)
            try:
                accepted.append(await tiny_service.submit(imagine(user, request.prompt, request=request)))
            except QueueFull:
                refused += 1
    assert (len(accepted), refused) == (60, 140)
    await tiny_service.start()
    outcomes = await asyncio.gather(*(outcome(tiny_service, job.id) for job in accepted))
    assert all(isinstance(event, Finished) for event in outcomes)
    await wait_until(lambda: not tiny_service.delivering)

    repository = tiny_service.repository
    assert await repository.count_jobs() == {
        JobStatus.QUEUED: 0,
        JobStatus.RUNNING: 0,
        JobStatus.DONE: 60,
        JobStatus.FAILED: 0,
        JobStatus.CANCELLED: 0,
    }
    assert delivered == Counter({job.id: 1 for job in accepted})
    for job in accepted:
        stored = await repository.get_job(job.id)
        images = await repository.get_images(job.id)
        assert stored.delivered and stored.seeds == [image.seed for image in images] == job.seeds
        assert all(image.path.is_file() and image.width == 64 for image in images)
        assert tiny_service.grid_path(job.id).is_file()


async def test_an_alias_of_another_family_gets_its_own_previews(
    tmp_path: Path, tiny_engine, tiny_flow_engines
) -> None:
    """MODEL=tiny (SD 1.x latents, 4 channels) with a --v alias on FLUX (16 channels): the alias's
    job previews its latents with FLUX's projection, not the default model's (which cannot read
    them), and the default model's jobs keep theirs."""
    from bot.engine.pool import ModelPool

    engines = {"tiny": tiny_engine, "tiny-flux": tiny_flow_engines("tiny-flux")}
    settings = make_settings(tmp_path / "data")
    repository = await Repository.open(settings.database_path, settings.images_dir)
    service = JobService(settings, repository, ThreadBackend(lambda: ModelPool("tiny", engines.__getitem__)))
    try:
        await service.start()
        previews = {}
        for model in ("tiny-flux", ""):
            request = make_request("a red fox", steps=2)
            request = dataclasses.replace(request, model=model)
            job = await service.submit(imagine(1, "a red fox", request=request))
            events = [event async for event in service.subscribe(job.id)]
            assert isinstance(events[-1], Finished)
            previews[model] = [event.preview for event in events if isinstance(event, Progress)]
    finally:
        await service.stop(5)
        await repository.close()
    for model, pictures in previews.items():
        assert len(pictures) == 2 and all(isinstance(picture, Image.Image) for picture in pictures), model


@pytest.mark.parametrize(("kind", "mode"), [(JobKind.ZOOM, "1.25 16:9"), (JobKind.VARIATION, "strong")])
async def test_edits_of_an_alias_job_follow_its_own_family(
    tmp_path: Path, tiny_engine, tiny_flow_engines, kind: JobKind, mode: str
) -> None:
    """MODEL=tiny (SD 1.x: 8 px grid, Vary (Strong) 0.65) with a --v alias on FLUX (16 px grid,
    0.85): Custom Zoom of the alias's image lays its canvas out on FLUX's grid (the default
    model's layout left FLUX resizing the canvas, and the job failed) and Vary (Strong) takes
    FLUX's strength."""
    from bot.engine.family import TINY_FLUX
    from bot.engine.pool import ModelPool

    engines = {"tiny": tiny_engine, "tiny-flux": tiny_flow_engines("tiny-flux")}
    settings = make_settings(tmp_path / "data")
    repository = await Repository.open(settings.database_path, settings.images_dir)
    service = JobService(settings, repository, ThreadBackend(lambda: ModelPool("tiny", engines.__getitem__)))
    try:
        await service.start()
        request = dataclasses.replace(
            make_request("a red fox", steps=2), width=72, height=56, model="tiny-flux"
        )
        parent = await service.submit(imagine(1, "a red fox", request=request))
        assert isinstance(await outcome(service, parent.id), Finished)
        child = await service.submit(
            NewJob(kind=kind, user_id=1, parent_id=parent.id, parent_index=0, mode=mode)
        )
        finished = await outcome(service, child.id)
    finally:
        await service.stop(5)
        await repository.close()
    assert isinstance(finished, Finished), finished
    assert finished.job.request["model"] == "tiny-flux"
    assert all(image.width % 16 == 0 and image.height % 16 == 0 for image in finished.images)
    if kind is JobKind.VARIATION:
        assert finished.job.request["strength"] == TINY_FLUX.vary_strong
