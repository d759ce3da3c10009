"""JobService with a fake engine: fairness, limits, cancellation, failures, events, derived jobs."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from bot.errors import QueueFull, UserFacingError
from bot.jobs.events import Cancelled, Failed, Finished, Progress, Queued, Started
from bot.jobs.execution import FAILURE_TEXT
from bot.jobs.files import read_png_parameters
from bot.jobs.models import JobKind, JobStatus, NewJob
from bot.jobs.service import JobService
from tests.jobs.conftest import (
    FakeEngine,
    OutOfMemoryError,
    ServiceFactory,
    imagine,
    make_request,
    make_settings,
    outcome,
    wait_until,
)


async def test_fairness_newcomers_run_before_a_heavy_users_third_job(
    service: JobService, fake_engine: FakeEngine
) -> None:
    """User A queues 5 jobs, then B and C one each: B and C finish before A's third."""
    fake_engine.hold = True
    jobs = [await service.submit(imagine(1, f"a{n}")) for n in range(5)]
    jobs += [await service.submit(imagine(2, "b")), await service.submit(imagine(3, "c"))]
    fake_engine.release.set()
    for job in jobs:
        assert isinstance(await outcome(service, job.id), Finished)
    order = [call.request.prompt for call in fake_engine.calls]
    assert order.index("b") < order.index("a2")
    assert order.index("c") < order.index("a2")


async def test_done_job_has_images_with_metadata_and_grid(service: JobService) -> None:
    """A finished imagine job has 4 PNGs with A1111 parameters, a grid, and matching rows."""
    job = await service.submit(imagine(1, "a lighthouse", request=make_request("a lighthouse", seed=41)))
    event = await outcome(service, job.id)
    assert isinstance(event, Finished)
    assert [image.seed for image in event.images] == [41, 42, 43, 44]
    for image in event.images:
        parameters = read_png_parameters(image.path)
        assert parameters is not None
        assert parameters.startswith("a lighthouse\n") and f"Seed: {image.seed}" in parameters
    assert service.grid_path(job.id).is_file()
    stored = await service.repository.get_job(job.id)
    assert stored.status is JobStatus.DONE and stored.seeds == [41, 42, 43, 44]
    assert stored.finished_at >= stored.started_at >= stored.enqueued_at
    assert await service.repository.get_images(job.id) == event.images


async def test_events_arrive_in_order(service: JobService, fake_engine: FakeEngine) -> None:
    """A subscriber sees Queued, Started, Progress with step counts, then Finished."""
    fake_engine.hold = True
    blocker = await service.submit(imagine(1, "first"))
    job = await service.submit(imagine(2, "second"))
    events = []

    async def follow() -> None:
        async for event in service.subscribe(job.id):
            events.append(event)

    follower = asyncio.create_task(follow())
    await wait_until(lambda: bool(events))
    fake_engine.release.set()
    await follower
    await outcome(service, blocker.id)
    assert events[0] == Queued(1)
    assert isinstance(events[1], Started)
    assert [(e.step, e.total) for e in events if isinstance(e, Progress)] == [(1, 2), (2, 2)]
    assert isinstance(events[-1], Finished)


async def test_progress_is_throttled_per_interval(tmp_path, fake_engine: FakeEngine) -> None:
    """With a 60 s interval, a 5-step job sends a single progress update."""
    factory = ServiceFactory(make_settings(tmp_path, PROGRESS_INTERVAL="60"), fake_engine)
    try:
        service = await factory()
        job = await service.submit(imagine(1, request=make_request(steps=5)))
        events = [event async for event in service.subscribe(job.id)]
        assert len([e for e in events if isinstance(e, Progress)]) == 1
        assert fake_engine.steps_run == 5
    finally:
        await factory.close_all()


@pytest.mark.parametrize(
    ("limits", "submissions", "accepted"),
    [
        # 2 per user: a user's third waiting job is refused; other users still get in.
        ({"MAX_JOBS_PER_USER": "2"}, [1, 1, 1, 2], [True, True, False, True]),
        # 3 in all: the fourth job is refused whoever sends it.
        ({"MAX_QUEUE": "3"}, [1, 2, 3, 4], [True, True, True, False]),
    ],
)
async def test_queue_full(tmp_path, fake_engine, limits, submissions, accepted) -> None:
    """Over the per-user or global limit of waiting jobs, submission fails with Queue full."""
    factory = ServiceFactory(make_settings(tmp_path, **limits), fake_engine)
    try:
        service = await factory(start=False)  # nothing runs: every job keeps waiting
        results = []
        for user in submissions:
            try:
                await service.submit(imagine(user))
                results.append(True)
            except QueueFull as error:
                assert error.title == "Queue full"
                results.append(False)
        assert results == accepted
    finally:
        await factory.close_all()


async def test_same_id_twice_is_a_no_op(service: JobService, fake_engine: FakeEngine) -> None:
    """Submitting the same job id twice returns the first job and runs it once."""
    first = await service.submit(imagine(1, "once", id="job-1"))
    second = await service.submit(imagine(1, "twice", id="job-1"))
    assert second.id == first.id and second.prompt == "once"
    await outcome(service, first.id)
    again = await service.submit(imagine(1, "thrice", id="job-1"))
    assert again.status is JobStatus.DONE
    assert [call.request.prompt for call in fake_engine.calls] == ["once"]
    assert (await service.repository.count_jobs())[JobStatus.DONE] == 1


async def test_cancel_waiting_job(service: JobService, fake_engine: FakeEngine) -> None:
    """A cancelled waiting job is removed from the queue and never runs."""
    fake_engine.hold = True
    running = await service.submit(imagine(1, "running"))
    waiting = await service.submit(imagine(1, "waiting"))
    assert service.queue_position(waiting.id) is not None
    assert not await service.cancel(waiting.id, user_id=2)  # someone else's job
    assert await service.cancel(waiting.id, user_id=1)
    assert service.queue_position(waiting.id) is None
    assert isinstance(await outcome(service, waiting.id), Cancelled)
    fake_engine.release.set()
    await outcome(service, running.id)
    assert [call.request.prompt for call in fake_engine.calls] == ["running"]
    assert (await service.repository.get_job(waiting.id)).status is JobStatus.CANCELLED
    assert not await service.cancel(waiting.id)


async def test_cancel_running_job_stops_within_one_step(service: JobService, fake_engine: FakeEngine) -> None:
    """Cancelling a running job stops it at the next step and the next job runs."""
    fake_engine.hold = True
    job = await service.submit(imagine(1, "long", request=make_request("long", steps=50)))
    after = await service.submit(imagine(2, "after"))
    await asyncio.to_thread(fake_engine.holding.wait, 10)
    steps_before = fake_engine.steps_by_prompt.get("long", 0)
    assert await service.cancel(job.id)
    fake_engine.hold = False
    fake_engine.release.set()
    assert isinstance(await outcome(service, job.id), Cancelled)
    assert isinstance(await outcome(service, after.id), Finished)
    # The step in flight when cancel arrived completes; none of the other 49 runs.
    assert fake_engine.steps_by_prompt["long"] <= steps_before + 1
    assert (await service.repository.get_job(job.id)).status is JobStatus.CANCELLED


async def test_worker_exception_fails_job_and_next_runs(service: JobService, fake_engine: FakeEngine) -> None:
    """An engine exception fails that job with a plain sentence (its text only in the log: it
    reaches web job cards and Discord); the next job still runs."""

    def boom(request):
        raise ValueError("the sampler exploded")

    fake_engine.fail["boom"] = boom
    bad = await service.submit(imagine(1, "boom"))
    good = await service.submit(imagine(1, "fine"))
    event = await outcome(service, bad.id)
    assert isinstance(event, Failed) and event.message == FAILURE_TEXT
    assert isinstance(await outcome(service, good.id), Finished)
    stored = await service.repository.get_job(bad.id)
    assert stored.status is JobStatus.FAILED and stored.error == FAILURE_TEXT
    assert "sampler exploded" not in stored.error


async def test_out_of_memory_retries_in_halves_with_the_same_seeds(
    service: JobService, fake_engine: FakeEngine
) -> None:
    """A 4-image batch that runs out of memory is redone as 2 + 2 with seeds s..s+3."""

    def oom_above_two(request):
        if request.batch_size > 2:
            raise OutOfMemoryError("CUDA out of memory")

    fake_engine.fail["big"] = oom_above_two
    job = await service.submit(imagine(1, "big", request=make_request("big", seed=10)))
    event = await outcome(service, job.id)
    assert isinstance(event, Finished)
    assert [image.seed for image in event.images] == [10, 11, 12, 13]
    assert [(c.request.seed, c.request.batch_size) for c in fake_engine.calls] == [(10, 4), (10, 2), (12, 2)]
    assert fake_engine.memory_freed == 1  # cached GPU memory released before the retry


async def test_out_of_memory_twice_fails_clearly(service: JobService, fake_engine: FakeEngine) -> None:
    """If the smaller batches run out of memory too, the job fails saying so."""

    def always(request):
        raise OutOfMemoryError("CUDA out of memory")

    fake_engine.fail["huge"] = always
    job = await service.submit(imagine(1, "huge"))
    event = await outcome(service, job.id)
    assert isinstance(event, Failed) and event.message.startswith("Out of GPU memory")
    assert len(fake_engine.calls) == 2  # the batch, then the first half: no endless retries


async def test_time_limit_stops_a_long_job(tmp_path, fake_engine: FakeEngine) -> None:
    """A job running past JOB_TIMEOUT fails with a message naming the limit."""
    factory = ServiceFactory(make_settings(tmp_path, JOB_TIMEOUT="1"), fake_engine)
    fake_engine.step_seconds = 0.2
    try:
        service = await factory()
        job = await service.submit(imagine(1, "slow", request=make_request("slow", steps=100)))
        event = await outcome(service, job.id)
        assert isinstance(event, Failed) and "time limit" in event.message
        assert fake_engine.steps_run < 100
    finally:
        await factory.close_all()


async def finished_parent(service: JobService, seed: int = 100) -> str:
    job = await service.submit(imagine(7, "a castle", request=make_request("a castle", seed=seed)))
    assert isinstance(await outcome(service, job.id), Finished)
    return job.id


@pytest.mark.parametrize(
    ("kind", "mode", "operation", "strength", "count"),
    [
        (JobKind.VARIATION, "strong", "img2img", 0.65, 4),
        (JobKind.VARIATION, "subtle", "img2img", 0.35, 4),
        (JobKind.UPSCALE, "subtle", "upscale", 0.3, 1),
        (JobKind.UPSCALE, "creative", "upscale", 0.5, 1),
    ],
)
async def test_jobs_derived_from_a_parent_image(
    service: JobService, fake_engine: FakeEngine, kind, mode, operation, strength, count
) -> None:
    """Variation and upscale start from the parent's chosen image at the mode's strength."""
    parent_id = await finished_parent(service)
    job = await service.submit(NewJob(kind=kind, user_id=7, parent_id=parent_id, parent_index=2, mode=mode))
    assert job.mode == mode
    event = await outcome(service, job.id)
    assert isinstance(event, Finished) and len(event.images) == count
    call = fake_engine.calls[-1]
    assert call.operation == operation and call.request.strength == strength
    assert call.request.prompt == "a castle"
    assert call.image.getpixel((0, 0)) == (102, 80, 160)  # image #3 of the parent: seed 102
    if kind is JobKind.UPSCALE:
        assert event.images[0].seed == 102 and event.images[0].width == 128
    else:
        assert call.request.seed != 100


async def test_reroll_keeps_the_request_with_a_new_seed(service: JobService, fake_engine: FakeEngine) -> None:
    """A re-roll runs the parent's request again with another seed."""
    parent_id = await finished_parent(service)
    job = await service.submit(NewJob(kind=JobKind.REROLL, user_id=7, parent_id=parent_id))
    assert isinstance(await outcome(service, job.id), Finished)
    first, second = fake_engine.calls
    assert second.operation == "txt2img"
    assert dataclasses.replace(second.request, seed=first.request.seed) == first.request
    assert second.request.seed != first.request.seed


@pytest.mark.parametrize(
    "new_job",
    [
        NewJob(kind=JobKind.VARIATION, user_id=1, parent_id="no-such-job", parent_index=0),
        NewJob(kind=JobKind.IMAGINE, user_id=1, request=None),
        NewJob(kind=JobKind.BLEND, user_id=1, parent_id="x", parent_index=0),
    ],
)
async def test_bad_submissions_are_refused(service: JobService, new_job: NewJob) -> None:
    """Missing parents, missing requests and kinds not built yet are user-facing errors."""
    with pytest.raises(UserFacingError) as caught:
        await service.submit(new_job)
    assert caught.value.title in ("Invalid parameter", "Job not found")
    assert service.waiting_count == 0


async def test_gpu_seconds_are_recorded_per_job_and_user(service: JobService) -> None:
    """Each finished job records its GPU seconds; /info sums them per user."""
    jobs = [await service.submit(imagine(5, f"p{n}")) for n in range(2)]
    for job in jobs:
        await outcome(service, job.id)
    stored = [await service.repository.get_job(job.id) for job in jobs]
    usage = await service.gpu_usage(5)
    assert all(job.gpu_seconds > 0 for job in stored)
    assert usage.jobs_total == usage.jobs_today == 2
    assert usage.seconds_total == pytest.approx(sum(job.gpu_seconds for job in stored))
    assert (await service.gpu_usage(6)).jobs_total == 0


async def test_waiting_subscribers_see_their_place_in_line_change(
    service: JobService, fake_engine: FakeEngine
) -> None:
    """A waiting job's place is announced again when a newcomer goes ahead and when jobs start."""
    fake_engine.hold = True
    await service.submit(imagine(1, "a1"))
    await asyncio.to_thread(fake_engine.holding.wait, 10)
    await service.submit(imagine(1, "a2"))
    last = await service.submit(imagine(1, "a3"))
    events = []

    async def follow() -> None:
        async for event in service.subscribe(last.id):
            events.append(event)

    follower = asyncio.create_task(follow())
    await wait_until(lambda: events == [Queued(2)])
    await service.submit(imagine(2, "b1"))  # round-robin: b1 runs before a3
    await wait_until(lambda: events[-1] == Queued(3))
    fake_engine.release.set()
    await follower
    positions = [event.position for event in events if isinstance(event, Queued)]
    assert positions == [2, 3, 2, 1]
    assert isinstance(events[-1], Finished)


async def test_a_follower_who_joins_mid_run_sees_the_latest_progress(
    service: JobService, fake_engine: FakeEngine
) -> None:
    """Someone who starts following a running job (a web page opened late) gets Started and the
    latest progress at once, not nothing until the next step."""
    fake_engine.hold_after = 1
    job = await service.submit(imagine(1, "a fox", request=make_request("a fox", steps=4)))
    early = service.subscribe(job.id)
    while not isinstance(event := await anext(early), Progress):
        assert isinstance(event, Queued | Started)
    assert event == Progress(1, 4, None)  # the first step has been reported; the engine waits
    events = []

    async def follow() -> None:
        async for event in service.subscribe(job.id):
            events.append(event)

    follower = asyncio.create_task(follow())
    await wait_until(lambda: len(events) >= 2)
    assert isinstance(events[0], Started) and events[1] == Progress(1, 4, None)
    fake_engine.release.set()
    await follower
    await early.aclose()
    assert isinstance(events[-1], Finished)


@pytest.mark.parametrize(
    ("kind", "given", "stored"),
    [
        (JobKind.VARIATION, None, "strong"),
        (JobKind.UPSCALE, None, "subtle"),
        (JobKind.VARIATION, "subtle", "subtle"),
    ],
)
async def test_mode_defaults(service: JobService, kind, given, stored) -> None:
    """Vary defaults to Strong and Upscale to Subtle, and the job records the mode it ran with."""
    parent_id = await finished_parent(service)
    job = await service.submit(NewJob(kind=kind, user_id=7, parent_id=parent_id, parent_index=0, mode=given))
    assert job.mode == stored
    assert (await service.repository.get_job(job.id)).mode == stored
