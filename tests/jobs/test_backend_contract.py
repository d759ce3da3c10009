"""One contract, both backends: the thread backend and Ray Serve (a real local cluster with CPU
replicas) give the job service the same events, cancels, failures and pixels on the tiny model."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.engine.interface import NO_INPUTS, Operation
from bot.engine.loader import load_engine
from bot.engine.pool import ModelPool
from bot.engine.request import GenerationRequest
from bot.jobs.backend import ThreadBackend
from bot.jobs.events import Cancelled, Failed, Finished, Progress, Started
from bot.jobs.models import JobKind, JobStatus, NewJob
from bot.jobs.service import JobService
from bot.store.repository import Repository
from tests.jobs.conftest import make_settings, outcome
from tests.jobs.ray_cluster import SharedBackend

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture(params=["thread", "ray"])
def backend(request: pytest.FixtureRequest, tiny_engine: Any) -> Any:
    """The thread backend over the tiny engine, or the session's Ray backend (lent, not owned)."""
    if request.param == "ray":
        return SharedBackend(request.getfixturevalue("ray_backend"))
    tiny_settings = request.getfixturevalue("tiny_settings")

    def load(model: str) -> Any:
        return tiny_engine if model == tiny_settings.model else load_engine(tiny_settings, model)

    return ThreadBackend(lambda: ModelPool(tiny_settings.model, load))


@pytest_asyncio.fixture(loop_scope="session")
async def service(backend: Any, tmp_path: Path) -> AsyncIterator[JobService]:
    """A started JobService over the tiny model on that backend."""
    settings = make_settings(tmp_path / "data", MAX_JOBS_PER_USER="20")
    repository = await Repository.open(settings.database_path, settings.images_dir)
    service = JobService(settings, repository, backend)
    await service.start()
    yield service
    await service.stop(grace=0)
    await repository.close()


def job(prompt: str, *, user: int = 1, seed: int = 7, steps: int = 3, size: int = 64) -> NewJob:
    request = GenerationRequest(prompt=prompt, width=size, height=size, seed=seed, steps=steps)
    return NewJob(kind=JobKind.IMAGINE, user_id=user, prompt=prompt, request=request)


async def first_progress(service: JobService, job_id: str) -> None:
    async for event in service.subscribe(job_id):
        if isinstance(event, Progress):
            return
    raise AssertionError("the job ended without progress")


async def test_progress_arrives_in_order_then_the_result(service: JobService) -> None:
    """Started, then each step's progress in order, then Finished with four images."""
    submitted = await service.submit(job("a lighthouse", steps=4))
    events = [event async for event in service.subscribe(submitted.id)]
    kinds = [type(event) for event in events if not isinstance(event, Progress)]
    assert kinds[-2:] == [Started, Finished]
    steps = [(event.step, event.total) for event in events if isinstance(event, Progress)]
    assert steps == [(n, 4) for n in range(1, 5)]
    assert len(events[-1].images) == 4


async def test_cancel_a_waiting_and_a_running_job(service: JobService) -> None:
    """A waiting job is cancelled at once; running ones stop within a step, long before the end."""
    capacity = service.backend.capacity
    running = [await service.submit(job(f"long {n}", user=n, steps=150, size=128)) for n in range(capacity)]
    waiting = await service.submit(job("waiting", user=99))
    await asyncio.gather(*(first_progress(service, item.id) for item in running))
    assert service.queue_position(waiting.id) == 1
    assert await service.cancel(waiting.id)
    assert isinstance(await outcome(service, waiting.id), Cancelled)
    for item in running:
        assert await service.cancel(item.id)
    for item in running:
        assert isinstance(await outcome(service, item.id), Cancelled)
        stored = await service.repository.get_job(item.id)
        assert stored.status is JobStatus.CANCELLED and stored.gpu_seconds < 60


async def test_a_failing_job_does_not_hurt_the_next(service: JobService) -> None:
    """A job whose model cannot load fails alone; the next job on the same backend succeeds."""
    broken = job("broken model")
    broken = dataclasses.replace(
        broken, request=dataclasses.replace(broken.request, model="/nonexistent/broken.safetensors")
    )
    bad = await service.submit(broken)
    good = await service.submit(job("good model", user=2))
    failed = await outcome(service, bad.id)
    assert isinstance(failed, Failed) and "could not be loaded" in failed.message
    assert isinstance(await outcome(service, good.id), Finished)


async def test_same_seed_gives_the_same_pixels_as_the_engine_itself(
    service: JobService, tiny_engine: Any
) -> None:
    """The images equal a direct in-process engine call with the same request, byte for byte."""
    submitted = await service.submit(job("a red fox", seed=1234))
    finished = await outcome(service, submitted.id)
    assert isinstance(finished, Finished)
    expected = tiny_engine.generate(Operation.TXT2IMG, submitted.generation_request, NO_INPUTS, None)
    assert [image.seed for image in finished.images] == expected.seeds
    from PIL import Image

    for image, reference in zip(finished.images, expected.images, strict=True):
        with Image.open(image.path) as stored:
            assert stored.convert("RGB").tobytes() == reference.tobytes()


class RecordingBackend(SharedBackend):
    """A backend that keeps the work orders it is given; it starts and stops the thread backend
    (the test's own) but not the session's Ray backend (lent)."""

    def __init__(self, backend: Any) -> None:
        self.owned = not isinstance(backend, SharedBackend)
        super().__init__(backend.inner if isinstance(backend, SharedBackend) else backend)
        self.orders: list[Any] = []

    async def start(self) -> None:
        if self.owned:
            await self.inner.start()

    async def stop(self) -> None:
        if self.owned:
            await self.inner.stop()

    def submit(self, order: Any) -> Any:
        self.orders.append(order)
        return self.inner.submit(order)


async def test_batched_jobs_get_their_own_previews_and_pixels(
    backend: Any, tmp_path: Path, tiny_engine: Any
) -> None:
    """MAX_BATCH_IMAGES=8: two waiting jobs share one call on either backend (a Ray replica runs
    the batch like the thread does); each job gets previews of its own grid, and its images match
    the job run alone."""
    from PIL import Image

    from tests.jobs.test_batching import largest_difference

    recording = RecordingBackend(backend)
    settings = make_settings(tmp_path / "data", MAX_BATCH_IMAGES="8")
    repository = await Repository.open(settings.database_path, settings.images_dir)
    service = JobService(settings, repository, recording)
    try:
        jobs = [
            await service.submit(job("a red fox in the snow", user=1, seed=11, steps=2)),
            await service.submit(job("a lighthouse at dusk", user=2, seed=22, steps=2)),
        ]
        followers = [asyncio.create_task(_events(service, item.id)) for item in jobs]
        await service.start()
        events = await asyncio.gather(*followers)
    finally:
        await service.stop(grace=0)
        await repository.close()
    assert [len(order.companions) for order in recording.orders] == [1]
    for item, item_events in zip(jobs, events, strict=True):
        previews = [event.preview for event in item_events if isinstance(event, Progress)]
        assert previews and all(preview is not None and preview.size == (16, 16) for preview in previews)
        finished = item_events[-1]
        assert isinstance(finished, Finished)
        alone = tiny_engine.generate(Operation.TXT2IMG, item.generation_request, NO_INPUTS, None)
        assert [image.seed for image in finished.images] == alone.seeds
        for image, reference in zip(finished.images, alone.images, strict=True):
            with Image.open(image.path) as stored:
                assert largest_difference(stored.convert("RGB"), reference) <= 1.0


async def _events(service: JobService, job_id: str) -> list[Any]:
    return [event async for event in service.subscribe(job_id)]


@pytest.mark.parametrize("kind", ["thread", "ray"])
async def test_the_workers_nsfw_verdicts_come_back_with_the_images(
    kind: str, tmp_path: Path, tiny_model_dir: Path, tiny_engine: Any, request: pytest.FixtureRequest
) -> None:
    """NSFW_FILTER on with a real tiny checker that flags everything: the thread worker and a Ray
    replica (its own one-replica application, loading the checker with its model pool) both
    screen the images and the verdicts, pickled back with the result, are stored with the job."""
    from bot.engine.safety_checker import load_safety_checker
    from tests.jobs.ray_cluster import ray_settings
    from tests.tiny_checker import build_tiny_checker

    checker = build_tiny_checker(tmp_path / "checker", -1.0)
    nsfw = {"NSFW_FILTER": "spoiler", "NSFW_MODEL": str(checker)}
    backend: Any
    if kind == "ray":
        from bot.jobs.factory import load_model_pool
        from bot.jobs.ray_backend import RayServeBackend

        cluster = request.getfixturevalue("ray_cluster")
        settings = ray_settings(tiny_model_dir, tmp_path / "data", cluster.address, RAY_REPLICAS="1", **nsfw)
        backend = RayServeBackend(settings, load_model_pool, app_name="mj-nsfw")
    else:
        settings = make_settings(tmp_path / "data", **nsfw)
        backend = ThreadBackend(
            lambda: ModelPool(settings.model, lambda _model: tiny_engine),
            load_checker=lambda: load_safety_checker(settings),
        )
    repository = await Repository.open(settings.database_path, settings.images_dir)
    service = JobService(settings, repository, backend)
    try:
        await service.start()
        submitted = await service.submit(job("a beach"))
        assert isinstance(await outcome(service, submitted.id), Finished)
        stored = await service.repository.get_job(submitted.id)
    finally:
        await service.stop(grace=0)
        await repository.close()
    assert stored.status is JobStatus.DONE
    assert stored.meta["nsfw"] == [True, True, True, True]
