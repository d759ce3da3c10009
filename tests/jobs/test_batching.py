"""Batching across jobs (MAX_BATCH_IMAGES > 4): waiting txt2img jobs that share model, size, steps
and sampler run as one engine call, each with its own progress, seeds and result."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from bot.engine.interface import NO_INPUTS, Operation
from bot.engine.request import GenerationRequest, GenerationResult, StepCallback
from bot.jobs.backend import ThreadBackend
from bot.jobs.events import Cancelled, Finished, Progress
from bot.jobs.service import JobService
from bot.store.repository import Repository
from tests.jobs.conftest import FakeEngine, imagine, make_request, make_settings, outcome


class BatchingFakeEngine(FakeEngine):
    """The fake engine plus `txt2img_jobs`: one call (recorded as "batch") for several jobs."""

    batches: list[list[str]]

    def txt2img_jobs(self, requests: list[GenerationRequest], on_step: StepCallback | None = None):
        self.batches.append([request.prompt for request in requests])
        combined = dataclasses.replace(
            requests[0], prompt=" | ".join(r.prompt for r in requests), batch_size=1
        )
        self._run("batch", combined, None, on_step)
        return [
            GenerationResult(
                [Image.new("RGB", (r.width, r.height), (seed % 256, 80, 160)) for seed in r.seeds],
                r.seeds,
                self.model_name,
                "Fake",
                r.steps,
                7.0,
            )
            for r in requests
        ]


def batching_engine() -> BatchingFakeEngine:
    engine = BatchingFakeEngine()
    engine.batches = []
    return engine


async def open_service(tmp_path: Path, engine: Any, max_batch_images: str) -> JobService:
    settings = make_settings(tmp_path / "data", MAX_BATCH_IMAGES=max_batch_images)
    repository = await Repository.open(settings.database_path, settings.images_dir)
    return JobService(settings, repository, ThreadBackend(lambda: engine))


async def close(service: JobService) -> None:
    await service.stop(5)
    await service.repository.close()


async def follow(service: JobService, job_id: str) -> list[Any]:
    return [event async for event in service.subscribe(job_id)]


async def test_compatible_waiting_jobs_share_one_call_in_queue_order(tmp_path: Path) -> None:
    engine = batching_engine()
    service = await open_service(tmp_path, engine, "8")
    try:
        # Submitted before the worker starts, so all of them wait together.
        a = await service.submit(imagine(1, "a", request=make_request("a", seed=10)))
        other_size = await service.submit(imagine(2, "big", request=make_request("big", size=72)))
        other_steps = await service.submit(imagine(3, "slow", request=make_request("slow", steps=3)))
        b = await service.submit(imagine(4, "b", request=make_request("b", seed=20)))
        c = await service.submit(imagine(5, "c", request=make_request("c", seed=30)))
        await service.start()
        followers = [
            asyncio.create_task(follow(service, job.id)) for job in (a, other_size, other_steps, b, c)
        ]
        events = await asyncio.gather(*followers)
        stored = {job.id: (await service.repository.get_job(job.id)).seeds for job in (a, b, c)}
    finally:
        await close(service)
    # a + b fill 8 images; c waits for a later call; differently shaped jobs run on their own.
    assert engine.batches[0] == ["a", "b"]
    assert [call.request.prompt for call in engine.calls if call.operation == "txt2img"] == [
        "big",
        "slow",
        "c",
    ]
    for job, seed, job_events in ((a, 10, events[0]), (b, 20, events[3]), (c, 30, events[4])):
        finished = job_events[-1]
        assert isinstance(finished, Finished), job_events
        assert [image.seed for image in finished.images] == [seed, seed + 1, seed + 2, seed + 3]
        assert [(e.step, e.total) for e in job_events if isinstance(e, Progress)] == [(1, 2), (2, 2)]
        assert stored[job.id] == [seed, seed + 1, seed + 2, seed + 3]


async def test_max_batch_images_4_means_no_batching(tmp_path: Path) -> None:
    engine = batching_engine()
    service = await open_service(tmp_path, engine, "4")
    try:
        jobs = [
            await service.submit(imagine(n, f"p{n}", request=make_request(f"p{n}", seed=n))) for n in (1, 2)
        ]
        await service.start()
        for job in jobs:
            assert isinstance(await outcome(service, job.id), Finished)
    finally:
        await close(service)
    assert engine.batches == []
    assert [call.request.prompt for call in engine.calls] == ["p1", "p2"]


async def test_cancelling_one_job_of_a_batch_keeps_the_others(tmp_path: Path) -> None:
    """A cancel stops the shared call; the cancelled job ends Cancelled, the other runs again alone."""
    engine = batching_engine()
    engine.hold = True
    service = await open_service(tmp_path, engine, "8")
    try:
        a = await service.submit(imagine(1, "a", request=make_request("a", seed=10, steps=20)))
        b = await service.submit(imagine(2, "b", request=make_request("b", seed=20, steps=20)))
        await service.start()
        await asyncio.to_thread(engine.holding.wait, 10)
        assert engine.batches == [["a", "b"]]
        assert await service.cancel(b.id)
        engine.hold = False
        engine.release.set()
        assert isinstance(await outcome(service, b.id), Cancelled)
        finished = await outcome(service, a.id)
    finally:
        await close(service)
    assert isinstance(finished, Finished)
    assert [image.seed for image in finished.images] == [10, 11, 12, 13]
    assert engine.batches == [["a", "b"]]  # a ran again alone, not in a new batch
    assert [call.request.prompt for call in engine.calls if call.operation == "txt2img"] == ["a"]


def largest_difference(a: Image.Image, b: Image.Image) -> float:
    return float(np.abs(np.asarray(a, dtype=np.float32) - np.asarray(b, dtype=np.float32)).max())


class CountingEngine:
    """The tiny engine, counting its batched calls."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.family = engine.family
        self.model_name = engine.model_name
        self.batched_calls = 0

    def generate(self, *args: Any) -> GenerationResult:
        return self.engine.generate(*args)

    def txt2img_jobs(self, requests: list[GenerationRequest], on_step: StepCallback | None = None):
        self.batched_calls += 1
        return self.engine.txt2img_jobs(requests, on_step)

    def free_memory(self) -> None:
        self.engine.free_memory()


async def test_batched_jobs_on_the_tiny_model_match_the_same_jobs_run_alone(
    tmp_path: Path, tiny_engine
) -> None:
    counting = CountingEngine(tiny_engine)
    service = await open_service(tmp_path, counting, "8")
    requests = [
        GenerationRequest(prompt="a red fox in the snow", width=64, height=64, seed=5, steps=3),
        GenerationRequest(prompt="a lighthouse at dusk", width=64, height=64, seed=900, steps=3),
    ]
    try:
        jobs = [
            await service.submit(imagine(n, r.prompt, request=r)) for n, r in enumerate(requests, start=1)
        ]
        await service.start()
        events = [await outcome(service, job.id) for job in jobs]
    finally:
        await close(service)
    assert counting.batched_calls == 1
    for request, finished in zip(requests, events, strict=True):
        assert isinstance(finished, Finished)
        alone = tiny_engine.generate(Operation.TXT2IMG, request, NO_INPUTS, None)
        assert [image.seed for image in finished.images] == alone.seeds
        for stored, reference in zip(finished.images, alone.images, strict=True):
            with Image.open(stored.path) as picture:
                assert largest_difference(picture.convert("RGB"), reference) <= 1.0
