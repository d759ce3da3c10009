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


async def _run_batch_and_cancel(
    tmp_path: Path, cancel: list[str]
) -> tuple[BatchingFakeEngine, dict[str, Any]]:
    """Jobs a and b share one held call; the jobs named in `cancel` are cancelled mid-call, then
    the call is let go. The outcome of each job, by name."""
    engine = batching_engine()
    engine.hold = True
    service = await open_service(tmp_path, engine, "8")
    try:
        jobs = {
            name: await service.submit(imagine(n, name, request=make_request(name, seed=seed, steps=20)))
            for n, (name, seed) in enumerate((("a", 10), ("b", 20)), start=1)
        }
        await service.start()
        await asyncio.to_thread(engine.holding.wait, 10)
        assert engine.batches == [["a", "b"]]
        for name in cancel:
            assert await service.cancel(jobs[name].id)
        # A job cancelled out of a running batch ends at once, while the call still runs.
        if len(cancel) < 2:
            assert isinstance(await outcome(service, jobs[cancel[0]].id), Cancelled)
        engine.hold = False
        engine.release.set()
        outcomes = {name: await outcome(service, job.id) for name, job in jobs.items()}
        rows = {name: await service.repository.get_job(job.id) for name, job in jobs.items()}
        b_image = await service.repository.get_image(jobs["b"].id, 0)
    finally:
        await close(service)
    return engine, {"outcomes": outcomes, "rows": rows, "b_image": b_image}


async def test_cancelling_one_job_of_a_batch_lets_the_call_finish_for_the_other(tmp_path: Path) -> None:
    """b is cancelled mid-call: b ends Cancelled at once; a's images come from the same call (no
    restart, one attempt); b's images are dropped."""
    engine, seen = await _run_batch_and_cancel(tmp_path, ["b"])
    assert isinstance(seen["outcomes"]["b"], Cancelled)
    finished = seen["outcomes"]["a"]
    assert isinstance(finished, Finished)
    assert [image.seed for image in finished.images] == [10, 11, 12, 13]
    assert engine.batches == [["a", "b"]]
    assert [call.request.prompt for call in engine.calls if call.operation == "txt2img"] == []
    assert engine.steps_by_prompt["a | b"] == 20  # the call ran to its end, once
    assert seen["rows"]["a"].attempts == 1
    assert seen["rows"]["b"].status.value == "cancelled"
    assert seen["b_image"] is None  # no image row for the dropped images


async def test_cancelling_the_lead_of_a_batch_keeps_its_companion(tmp_path: Path) -> None:
    """The call is the lead's (the order carries its id): cancelling it still leaves b's images."""
    engine, seen = await _run_batch_and_cancel(tmp_path, ["a"])
    assert engine.steps_by_prompt["a | b"] == 20
    assert isinstance(seen["outcomes"]["a"], Cancelled)
    finished = seen["outcomes"]["b"]
    assert isinstance(finished, Finished)
    assert [image.seed for image in finished.images] == [20, 21, 22, 23]
    assert seen["rows"]["b"].attempts == 1


async def test_cancelling_every_job_of_a_batch_stops_the_call(tmp_path: Path) -> None:
    engine, seen = await _run_batch_and_cancel(tmp_path, ["a", "b"])
    assert all(isinstance(event, Cancelled) for event in seen["outcomes"].values())
    assert engine.steps_by_prompt["a | b"] < 20  # stopped at the next step, not run to the end
    assert [call.operation for call in engine.calls] == ["batch"]  # and nothing ran again alone


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


async def _two_tiny_jobs_batched(
    tmp_path: Path, tiny_engine: Any, *, steps: int
) -> tuple[list[GenerationRequest], list[list[Any]]]:
    """Two 64 px jobs on the tiny model through a service with MAX_BATCH_IMAGES=8 (one batched
    call, checked): their requests and each job's events."""
    counting = CountingEngine(tiny_engine)
    service = await open_service(tmp_path, counting, "8")
    requests = [
        GenerationRequest(prompt="a red fox in the snow", width=64, height=64, seed=5, steps=steps),
        GenerationRequest(prompt="a lighthouse at dusk", width=64, height=64, seed=900, steps=steps),
    ]
    try:
        jobs = [
            await service.submit(imagine(n, r.prompt, request=r)) for n, r in enumerate(requests, start=1)
        ]
        followers = [asyncio.create_task(follow(service, job.id)) for job in jobs]
        await service.start()
        events = await asyncio.gather(*followers)
    finally:
        await close(service)
    assert counting.batched_calls == 1
    return requests, list(events)


async def test_batched_jobs_on_the_tiny_model_match_the_same_jobs_run_alone(
    tmp_path: Path, tiny_engine
) -> None:
    requests, histories = await _two_tiny_jobs_batched(tmp_path, tiny_engine, steps=3)
    for request, history in zip(requests, histories, strict=True):
        finished = history[-1]
        assert isinstance(finished, Finished)
        alone = tiny_engine.generate(Operation.TXT2IMG, request, NO_INPUTS, None)
        assert [image.seed for image in finished.images] == alone.seeds
        for stored, reference in zip(finished.images, alone.images, strict=True):
            with Image.open(stored.path) as picture:
                assert largest_difference(picture.convert("RGB"), reference) <= 1.0


async def test_each_job_of_a_batch_sees_the_preview_of_its_own_images(tmp_path: Path, tiny_engine) -> None:
    """Progress previews of a batched call are split per job: each job's 2x2 preview is its own
    four images at that step (as if it ran alone), not the other job's and not all eight."""
    from bot.engine.preview import latents_to_preview
    from bot.engine.request import StepProgress

    requests, events = await _two_tiny_jobs_batched(tmp_path, tiny_engine, steps=2)
    for request, job_events in zip(requests, events, strict=True):
        previews = [event.preview for event in job_events if isinstance(event, Progress)]
        assert previews and all(preview is not None for preview in previews)
        # The job alone, its preview made at each step (the latents tensor lives on after the step).
        alone: list[Image.Image] = []

        def watch(progress: StepProgress, alone: list[Image.Image] = alone) -> None:
            alone.append(latents_to_preview(progress.latents, tiny_engine.family))

        tiny_engine.generate(Operation.TXT2IMG, request, NO_INPUTS, watch)
        assert [preview.size for preview in previews] == [picture.size for picture in alone]  # 2x2, not 8
        assert all(largest_difference(a, b) <= 2.0 for a, b in zip(previews, alone, strict=True))
    first, second = ([e.preview for e in job_events if isinstance(e, Progress)][-1] for job_events in events)
    assert largest_difference(first, second) > 10
