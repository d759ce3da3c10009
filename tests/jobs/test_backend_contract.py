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


@pytest.fixture(params=["thread", "ray"])
def nsfw_backend(request: pytest.FixtureRequest, tiny_engine: Any, tmp_path: Path) -> tuple[Any, Any]:
    """(backend, service settings) with NSFW_FILTER on and a tiny checker that flags everything:
    the thread worker over the tiny engine, or the session's tiny-sd3 Ray replica (lent)."""
    from bot.engine.safety_checker import load_safety_checker
    from tests.tiny_checker import build_tiny_checker

    if request.param == "ray":  # the checker is the replica's, loaded with its model pool
        backend = SharedBackend(request.getfixturevalue("ray_flow_backend"))
        return backend, make_settings(tmp_path / "data", MODEL="tiny-sd3")
    checker = build_tiny_checker(tmp_path / "checker", -1.0)
    settings = make_settings(tmp_path / "data", NSFW_FILTER="spoiler", NSFW_MODEL=str(checker))
    backend = ThreadBackend(
        lambda: ModelPool(settings.model, lambda _model: tiny_engine),
        load_checker=lambda: load_safety_checker(settings),
    )
    return backend, settings


async def test_the_workers_nsfw_verdicts_come_back_with_the_images(nsfw_backend: tuple[Any, Any]) -> None:
    """NSFW_FILTER on: the thread worker (tiny) and a Ray replica (tiny-sd3) both screen the
    images and the verdicts, pickled back with the result, are stored with the job."""
    backend, settings = nsfw_backend
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


# ----------------------------------------------------------------------------------------------
# The new families on Ray: MODEL=tiny-sd3 on one replica (its own application on the session's
# cluster), tiny-flux as a --v alias target loaded by that replica's model pool.


FLOW_MODELS = ("tiny-sd3", "tiny-flux")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def ray_flow_backend(
    ray_cluster: Any, tiny_model_dir: Path, tiny_flow_engines: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Any]:
    """A started one-replica RayServeBackend with MODEL=tiny-sd3 and NSFW_FILTER on (a tiny checker
    that flags everything); the tiny flow models are built in the shared models folder first, so
    the replica only loads them. Its own application on the session's cluster, deleted after this
    module (its CPU is free again for the other Ray tests)."""
    from bot.jobs.factory import load_model_pool
    from bot.jobs.ray_backend import RayServeBackend
    from tests.jobs.ray_cluster import ray_settings
    from tests.tiny_checker import build_tiny_checker

    for model in FLOW_MODELS:
        tiny_flow_engines(model)
    root = tmp_path_factory.mktemp("ray-flow")
    checker = build_tiny_checker(root / "checker", -1.0)
    settings = ray_settings(
        tiny_model_dir,
        root / "data",
        ray_cluster.address,
        MODEL="tiny-sd3",
        RAY_REPLICAS="1",
        NSFW_FILTER="spoiler",
        NSFW_MODEL=str(checker),
    )
    backend = RayServeBackend(settings, load_model_pool, app_name="mj-flow")
    await backend.start()
    yield backend
    await backend.stop()


async def _grid_v_and_region(backend: Any, data_dir: Path, model: str, engine: Any) -> list[str]:
    """A 64 px grid on `model`, its V (Subtle) of image 1 and Vary (Region) of image 2 through a
    JobService on `backend`; each job's images must equal `engine` run in-process on the job's
    stored request and inputs (same seeds, same pixels), and each job must have had previews.
    Returns the kinds of the jobs run."""
    import io

    from PIL import Image

    from bot.engine.canvas import cell_mask

    settings = make_settings(data_dir, MODEL="tiny-sd3")
    repository = await Repository.open(settings.database_path, settings.images_dir)
    service = JobService(settings, repository, backend)
    mask = io.BytesIO()
    cell_mask((64, 64), [5, 6]).save(mask, format="PNG")
    grid = job("a lighthouse at dusk", seed=31, steps=2)
    grid = dataclasses.replace(
        grid, request=dataclasses.replace(grid.request, model="" if model == "tiny-sd3" else model)
    )
    jobs, kinds = [grid], []
    try:
        await service.start()
        for new in jobs:
            submitted = await service.submit(new)
            events = [event async for event in service.subscribe(submitted.id)]
            finished = events[-1]
            assert isinstance(finished, Finished), finished
            previews = [event.preview for event in events if isinstance(event, Progress)]
            assert previews and all(preview is not None for preview in previews), (model, new.kind)
            stored = await service.repository.get_job(submitted.id)
            operation, inputs = await service.intake.inputs(stored)
            expected = engine.generate(operation, stored.generation_request, inputs, None)
            assert [image.seed for image in finished.images] == expected.seeds
            for image, reference in zip(finished.images, expected.images, strict=True):
                with Image.open(image.path) as picture:
                    assert picture.convert("RGB").tobytes() == reference.tobytes(), (model, new.kind)
            assert stored.meta["nsfw"] == [True] * 4, (model, new.kind)  # the replica's checker
            kinds.append(str(new.kind))
            if new is grid:
                parent = {"user_id": 1, "parent_id": submitted.id}
                jobs += [
                    NewJob(kind=JobKind.VARIATION, parent_index=0, mode="subtle", **parent),
                    NewJob(kind=JobKind.REGION, parent_index=1, mask=mask.getvalue(), **parent),
                ]
    finally:
        await service.stop(grace=0)
        await repository.close()
    return kinds


@pytest.mark.parametrize("model", FLOW_MODELS)
async def test_sd3_and_flux_on_a_ray_replica_give_the_engine_s_pixels(
    model: str, ray_flow_backend: Any, tiny_flow_engines: Any, tmp_path: Path
) -> None:
    """MODEL=tiny-sd3 on a Ray replica, and tiny-flux as a --v alias target: the grid, its V and
    its Vary (Region) equal the in-process engines run on each job's stored request and inputs,
    seed for seed and byte for byte, with previews all along (FLUX's packed latents, projected
    with FLUX's own factors)."""
    assert ray_flow_backend.family.name == "tiny-sd3"
    in_process = ModelPool("tiny-sd3", tiny_flow_engines)
    kinds = await _grid_v_and_region(SharedBackend(ray_flow_backend), tmp_path / "data", model, in_process)
    assert kinds == ["imagine", "variation", "region"]
    assert model in ray_flow_backend.slots[0].models
