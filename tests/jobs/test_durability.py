"""Delivery exactly once, graceful shutdown and recovery after a restart (fake engine)."""

from __future__ import annotations

import asyncio

from bot.jobs.events import Cancelled, Failed, Finished
from bot.jobs.models import Job, JobImage, JobStatus
from bot.jobs.service import MAX_ATTEMPTS, JobService
from tests.jobs.conftest import FakeEngine, ServiceFactory, imagine, make_request, outcome, wait_until


class Recorder:
    """A delivery handler that records calls and can fail its first `failures` calls."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.calls: list[tuple[str, JobStatus, int]] = []
        self.__qualname__ = "Recorder"

    async def __call__(self, job: Job, images: list[JobImage]) -> None:
        self.calls.append((job.id, job.status, len(images)))
        if self.failures:
            self.failures -= 1
            raise ConnectionError("Discord is down")

    def delivered(self) -> list[str]:
        return [job_id for job_id, _, _ in self.calls]


async def test_every_finished_job_is_delivered_once(
    services: ServiceFactory, fake_engine: FakeEngine
) -> None:
    """Done, failed and cancelled jobs each reach the handler once, with images only when done."""

    def boom(request):
        raise RuntimeError("broken")

    fake_engine.fail["boom"] = boom
    fake_engine.hold = True
    recorder = Recorder()
    service = await services(start=False)
    service.add_delivery_handler(recorder)
    await service.start()
    done = await service.submit(imagine(1, "ok"))
    failed = await service.submit(imagine(1, "boom"))
    cancelled = await service.submit(imagine(1, "never"))
    await service.cancel(cancelled.id)
    fake_engine.release.set()
    for job in (done, failed, cancelled):
        await outcome(service, job.id)
    await wait_until(lambda: len(recorder.calls) == 3)
    assert sorted(recorder.calls) == sorted(
        [
            (done.id, JobStatus.DONE, 4),
            (failed.id, JobStatus.FAILED, 0),
            (cancelled.id, JobStatus.CANCELLED, 0),
        ]
    )
    await wait_until(lambda: not service.delivering)
    stored = [await service.repository.get_job(job.id) for job in (done, failed, cancelled)]
    assert all(job.delivered for job in stored)


async def test_failing_handler_is_retried_then_never_called_again(services: ServiceFactory) -> None:
    """A handler that raises is retried until it succeeds; after that, restarts do not redeliver."""
    recorder = Recorder(failures=2)
    service = await services(start=False, delivery_retry_delay=0.01)
    service.add_delivery_handler(recorder)
    await service.start()
    job = await service.submit(imagine(1))
    await outcome(service, job.id)
    await wait_until(lambda: not service.delivering)
    assert recorder.delivered() == [job.id] * 3
    await services.close(service)

    again = Recorder()
    restarted = await services(start=False)
    restarted.add_delivery_handler(again)
    await restarted.start()
    await asyncio.sleep(0.05)
    assert again.calls == []
    assert (await restarted.repository.get_job(job.id)).delivered


async def test_undelivered_job_is_delivered_after_restart(services: ServiceFactory) -> None:
    """A job that finished while delivery kept failing is delivered by the next process, once."""
    service = await services(start=False, delivery_retry_delay=60)
    service.add_delivery_handler(Recorder(failures=1))
    await service.start()
    job = await service.submit(imagine(1))
    await outcome(service, job.id)
    await services.close(service, grace=0)

    recorder = Recorder()
    restarted = await services(start=False)
    restarted.add_delivery_handler(recorder)
    await restarted.start()
    await wait_until(lambda: bool(recorder.calls))
    await wait_until(lambda: not restarted.delivering)
    assert recorder.calls == [(job.id, JobStatus.DONE, 4)]


async def test_stop_lets_the_running_job_finish_and_keeps_the_rest(
    services: ServiceFactory, fake_engine: FakeEngine
) -> None:
    """On shutdown the running job finishes within the grace period; waiting jobs stay queued."""
    fake_engine.hold = True
    service = await services()
    running = await service.submit(imagine(1, "running"))
    waiting = [await service.submit(imagine(2, f"waiting {n}")) for n in range(2)]
    await asyncio.to_thread(fake_engine.holding.wait, 10)
    stopping = asyncio.create_task(services.close(service, grace=10))
    await asyncio.sleep(0.05)
    fake_engine.release.set()
    await stopping
    repository_check = await services(start=False)
    statuses = [(await repository_check.repository.get_job(j.id)).status for j in [running, *waiting]]
    assert statuses == [JobStatus.DONE, JobStatus.QUEUED, JobStatus.QUEUED]
    assert [call.request.prompt for call in fake_engine.calls] == ["running"]


async def test_job_interrupted_by_shutdown_runs_again_after_restart(
    services: ServiceFactory, fake_engine: FakeEngine
) -> None:
    """A job still running when the grace period ends is stopped, kept queued, and done after restart."""
    fake_engine.hold = True
    service = await services()
    job = await service.submit(imagine(1, "slow"))
    await asyncio.to_thread(fake_engine.holding.wait, 10)
    stopping = asyncio.create_task(services.close(service, grace=0.05))
    await asyncio.sleep(0.2)  # grace over: the service has asked the worker to stop
    fake_engine.release.set()
    await stopping
    fake_engine.hold = False
    restarted = await services(start=False)
    assert (await restarted.repository.get_job(job.id)).status is JobStatus.QUEUED
    await restarted.start()
    assert isinstance(await outcome(restarted, job.id), Finished)


async def test_jobs_found_running_or_queued_are_resumed(services: ServiceFactory) -> None:
    """Rows left 'running' or 'queued' by a crashed process run after start; the running one first."""
    service = await services(start=False)
    crashed = await service.submit(imagine(1, "was running"))
    queued = await service.submit(imagine(1, "was queued"))
    await service.repository.mark_running(crashed.id, started_at=1.0)
    await services.close(service)

    restarted = await services()
    assert isinstance(await outcome(restarted, crashed.id), Finished)
    assert isinstance(await outcome(restarted, queued.id), Finished)
    assert (await restarted.repository.get_job(crashed.id)).attempts == 2


async def test_job_that_keeps_crashing_the_worker_is_failed(services: ServiceFactory) -> None:
    """A job found running after MAX_ATTEMPTS starts is failed instead of run again."""
    service = await services(start=False)
    job = await service.submit(imagine(1, "poison"))
    for _ in range(MAX_ATTEMPTS):
        await service.repository.mark_running(job.id, started_at=1.0)
    await services.close(service)

    restarted = await services()
    event = await outcome(restarted, job.id)
    assert isinstance(event, Failed) and "worker died" in event.message


async def test_subscribing_to_a_finished_job_gives_its_outcome(services: ServiceFactory) -> None:
    """A late subscriber (e.g. after restart) gets the terminal event at once."""
    service: JobService = await services()
    job = await service.submit(imagine(1))
    cancelled = await service.submit(imagine(1, request=make_request(seed=5)))
    await service.cancel(cancelled.id)
    await outcome(service, job.id)
    await services.close(service)
    restarted = await services()
    assert isinstance(await outcome(restarted, job.id), Finished)
    assert isinstance(await outcome(restarted, cancelled.id), Cancelled)
