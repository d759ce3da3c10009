"""The NSFW checker runs in the GPU worker: on the worker thread, once per order, its verdicts
stored with the job before the job is done; a failing checker does not fail the job."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any

import pytest

from bot.config import Config
from bot.engine.safety_checker import load_safety_checker
from bot.errors import ConfigError
from bot.jobs.backend import ThreadBackend
from bot.jobs.events import Finished
from bot.jobs.factory import make_backend
from bot.jobs.models import JobStatus
from bot.jobs.service import JobService
from bot.store.repository import Repository
from tests.jobs.conftest import FakeEngine, imagine, make_request, make_settings, outcome
from tests.jobs.test_batching import batching_engine
from tests.tiny_checker import FakeChecker, build_tiny_checker


async def open_service(settings: Config, engine: Any, load_checker: Any) -> JobService:
    repository = await Repository.open(settings.database_path, settings.images_dir)
    return JobService(settings, repository, ThreadBackend(lambda: engine, load_checker=load_checker))


async def close(service: JobService) -> None:
    await service.stop(5)
    await service.repository.close()


async def test_verdicts_are_stored_before_the_job_is_done_and_checked_on_the_worker_thread(
    tmp_path: Path,
) -> None:
    """The fake checker flags image 2: the job's meta holds the verdicts when mark_done runs;
    the check ran once, on the GPU worker thread, not on the event loop's."""
    checker = FakeChecker({1})
    service = await open_service(make_settings(tmp_path / "data"), FakeEngine(), lambda: checker)
    seen_at_done: list[Any] = []
    mark_done = service.repository.mark_done

    async def recording_mark_done(job_id: str, *args: Any, **kwargs: Any) -> Any:
        seen_at_done.append((await service.repository.get_job(job_id)).meta.get("nsfw"))
        return await mark_done(job_id, *args, **kwargs)

    service.repository.mark_done = recording_mark_done  # type: ignore[method-assign]
    try:
        await service.start()
        job = await service.submit(imagine())
        assert isinstance(await outcome(service, job.id), Finished)
        stored = await service.repository.get_job(job.id)
    finally:
        await close(service)
    assert seen_at_done == [[False, True, False, False]]
    assert stored.status is JobStatus.DONE and stored.meta["nsfw"] == [False, True, False, False]
    assert checker.calls == 1
    assert checker.threads[0].name == "gpu-worker"
    assert checker.threads[0] is not threading.main_thread()


async def test_a_failing_checker_does_not_fail_the_job(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A checker that raises is logged; the job is done with its images and no verdicts (which
    the fronts treat as flagged)."""
    checker = FakeChecker(broken=True)
    service = await open_service(make_settings(tmp_path / "data"), FakeEngine(), lambda: checker)
    try:
        await service.start()
        job = await service.submit(imagine())
        with caplog.at_level(logging.ERROR):
            finished = await outcome(service, job.id)
        stored = await service.repository.get_job(job.id)
    finally:
        await close(service)
    assert isinstance(finished, Finished) and len(finished.images) == 4
    assert "nsfw" not in stored.meta
    assert "NSFW check" in caplog.text


async def test_without_a_checker_nothing_is_stored(tmp_path: Path) -> None:
    """NSFW_FILTER=off (no checker in the worker): the job's meta has no verdicts."""
    service = await open_service(make_settings(tmp_path / "data"), FakeEngine(), None)
    try:
        await service.start()
        job = await service.submit(imagine())
        assert isinstance(await outcome(service, job.id), Finished)
        stored = await service.repository.get_job(job.id)
    finally:
        await close(service)
    assert "nsfw" not in stored.meta


async def test_a_rerun_without_a_check_keeps_no_verdicts_of_an_earlier_run(tmp_path: Path) -> None:
    """A job that already holds verdicts (from a run interrupted before it was done) and is then
    finished by a worker whose check fails keeps none: stale verdicts never outlive their run."""
    service = await open_service(
        make_settings(tmp_path / "data"), FakeEngine(), lambda: FakeChecker(broken=True)
    )
    try:
        await service.start()
        job = await service.submit(imagine(meta={"nsfw": [False] * 4}))
        assert isinstance(await outcome(service, job.id), Finished)
        stored = await service.repository.get_job(job.id)
    finally:
        await close(service)
    assert "nsfw" not in stored.meta


async def test_each_job_of_a_batched_call_gets_its_own_verdicts(tmp_path: Path) -> None:
    """MAX_BATCH_IMAGES=8: one check for both jobs' eight images; image 6 (job b's #2) is b's alone."""
    checker = FakeChecker({5})
    engine = batching_engine()
    settings = make_settings(tmp_path / "data", MAX_BATCH_IMAGES="8")
    service = await open_service(settings, engine, lambda: checker)
    try:
        a = await service.submit(imagine(1, "a", request=make_request("a", seed=10)))
        b = await service.submit(imagine(2, "b", request=make_request("b", seed=20)))
        await service.start()
        await asyncio.gather(outcome(service, a.id), outcome(service, b.id))
        stored_a = await service.repository.get_job(a.id)
        stored_b = await service.repository.get_job(b.id)
    finally:
        await close(service)
    assert engine.batches == [["a", "b"]]
    assert checker.calls == 1
    assert stored_a.meta["nsfw"] == [False, False, False, False]
    assert stored_b.meta["nsfw"] == [False, True, False, False]


@pytest.mark.slow
async def test_the_real_checker_loads_once_on_the_worker_and_screens_every_job(tmp_path: Path) -> None:
    """A tiny StableDiffusionSafetyChecker that flags everything, loaded by the worker at start:
    two jobs, both fully flagged, one load."""
    folder = build_tiny_checker(tmp_path / "checker", -1.0)
    settings = make_settings(tmp_path / "data", NSFW_FILTER="block", NSFW_MODEL=str(folder))
    loads: list[str] = []

    def load_checker() -> Any:
        loads.append(threading.current_thread().name)
        return load_safety_checker(settings)

    service = await open_service(settings, FakeEngine(), load_checker)
    try:
        await service.start()
        jobs = [await service.submit(imagine(n, f"prompt {n}")) for n in (1, 2)]
        for job in jobs:
            assert isinstance(await outcome(service, job.id), Finished)
        stored = [await service.repository.get_job(job.id) for job in jobs]
    finally:
        await close(service)
    assert loads == ["gpu-worker"]
    assert [job.meta["nsfw"] for job in stored] == [[True] * 4, [True] * 4]


def test_a_filter_without_a_model_stops_the_backend_from_being_made(tmp_path: Path) -> None:
    """make_backend refuses NSFW_FILTER=spoiler without NSFW_MODEL before loading anything."""
    with pytest.raises(ConfigError, match="NSFW_FILTER=spoiler needs NSFW_MODEL"):
        make_backend(make_settings(tmp_path / "data", NSFW_FILTER="spoiler", NSFW_CHECKER="safety-checker"))
