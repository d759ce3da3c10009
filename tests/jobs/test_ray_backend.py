"""The Ray Serve backend on a real local cluster (two CPU replicas, tiny model): jobs run side by
side with fairness, model affinity saves reloads, a killed replica's job runs again once, and
start-up with resources the cluster lacks is one clear line instead of a hang."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from PIL import Image

from bot.engine.interface import Operation
from bot.engine.request import GenerationRequest, GenerationResult
from bot.errors import ConfigError
from bot.jobs.events import Finished, Progress
from bot.jobs.execution import WorkDone, WorkOrder
from bot.jobs.models import Job, JobImage, JobKind, NewJob
from bot.jobs.service import JobService
from bot.store.repository import Repository
from tests.jobs.conftest import make_settings, outcome, wait_until
from tests.jobs.ray_cluster import REPLICAS, RayCluster, SharedBackend, ray_settings

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="session")]


def job(prompt: str, *, user: int, steps: int = 3, size: int = 64) -> NewJob:
    request = GenerationRequest(prompt=prompt, width=size, height=size, seed=5, steps=steps)
    return NewJob(kind=JobKind.IMAGINE, user_id=user, prompt=prompt, request=request)


@pytest_asyncio.fixture(loop_scope="session")
async def service(ray_backend: Any, tmp_path: Path) -> AsyncIterator[JobService]:
    """A JobService on the shared Ray backend that records each delivery."""
    settings = make_settings(tmp_path / "data")
    repository = await Repository.open(settings.database_path, settings.images_dir)
    service = JobService(settings, repository, SharedBackend(ray_backend), delivery_retry_delay=0.01)
    service.delivered = []  # type: ignore[attr-defined]

    async def record(finished: Job, images: list[JobImage]) -> None:
        service.delivered.append((finished.id, finished.status.value, len(images)))  # type: ignore[attr-defined]

    service.add_delivery_handler(record, name="record")
    await service.start()
    yield service
    await service.stop(grace=0)
    await repository.close()


async def test_two_replicas_run_two_jobs_at_once_and_fairness_holds(service: JobService) -> None:
    """User 1 queues four jobs, then user 2 one: the first two run side by side (their times
    overlap) and user 2's job starts before user 1's fourth."""
    jobs = [await service.submit(job(f"one {n}", user=1, steps=30, size=128)) for n in range(4)]
    jobs.append(await service.submit(job("two", user=2, steps=30, size=128)))
    for item in jobs:
        assert isinstance(await outcome(service, item.id), Finished)
    rows = {row.prompt: row for row in [await service.repository.get_job(item.id) for item in jobs]}
    first, second = rows["one 0"], rows["one 1"]
    assert max(first.started_at, second.started_at) < min(first.finished_at, second.finished_at)
    assert rows["two"].started_at < rows["one 3"].started_at


async def test_affinity_avoids_reloads_on_an_alternating_queue(ray_backend: Any) -> None:
    """Models x, y, x, y… on two replicas: no load after warm-up with affinity; reloads without."""

    async def run(model: str, n: int) -> None:
        request = GenerationRequest(prompt=f"{model} {n}", width=64, height=64, seed=n, steps=1, model=model)
        order = WorkOrder(f"affinity-{Path(model).name}-{n}", Operation.TXT2IMG, request)
        events = [event async for event in ray_backend.submit(order)]
        assert isinstance(events[-1], WorkDone), events[-1]

    x, y = (ray_backend._settings.model_aliases[name] for name in ("x", "y"))
    assert ray_backend.capacity == REPLICAS
    ray_backend.affinity = True
    await run(x, 0)
    await run(y, 0)  # warm-up: each replica now holds one of them
    warm = ray_backend.loads
    for n in range(1, 5):
        await run(x, n)
        await run(y, n)
    assert ray_backend.loads == warm, [slot.models for slot in ray_backend.slots]

    ray_backend.affinity = False
    try:
        before = ray_backend.loads
        for n in range(5, 9):
            await run(x, n)
            await run(y, n)
        assert ray_backend.loads - before >= 6
    finally:
        ray_backend.affinity = True


async def test_a_killed_replica_s_job_runs_again_and_is_delivered_once(
    service: JobService, ray_backend: Any
) -> None:
    """SIGKILL the replica mid-job: the job finishes on a replica, attempts == 2, one delivery."""
    submitted = await service.submit(job("survivor", user=7, steps=80, size=128))
    async for event in service.subscribe(submitted.id):
        if isinstance(event, Progress):
            break
    slot = ray_backend.replica_of(submitted.id)
    assert slot is not None and slot.pid is not None
    os.kill(slot.pid, signal.SIGKILL)
    assert isinstance(await outcome(service, submitted.id), Finished)
    stored = await service.repository.get_job(submitted.id)
    assert stored.attempts == 2
    await wait_until(lambda: bool(service.delivered), 30)  # type: ignore[attr-defined]
    await asyncio.sleep(0.5)
    assert service.delivered == [(submitted.id, "done", 4)]  # type: ignore[attr-defined]
    # Serve restarts the replica; the backend takes it back once it answers.
    await wait_until(lambda: ray_backend.capacity == REPLICAS, 120)


async def test_a_replica_that_stops_answering_mid_job_is_left_and_its_job_runs_elsewhere(
    service: JobService, ray_backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGSTOP the replica mid-job (a frozen or cut-off machine: no error, just silence): after a
    quiet spell a probe times out, the job goes back to the queue and is delivered once by the other
    replica; /info's line says a worker is away; SIGCONT → the replica is taken back."""
    from bot.jobs import ray_backend as module

    monkeypatch.setattr(module, "PROBE_TIMEOUT", 2.0)
    monkeypatch.setattr(ray_backend, "stall_probe", 1.0)
    submitted = await service.submit(job("frozen", user=8, steps=80, size=128))
    async for event in service.subscribe(submitted.id):
        if isinstance(event, Progress):
            break
    slot = ray_backend.replica_of(submitted.id)
    assert slot is not None and slot.pid is not None
    frozen = slot.pid
    os.kill(frozen, signal.SIGSTOP)
    try:
        await wait_until(lambda: ray_backend.capacity == REPLICAS - 1, 30)
        assert (
            service.backend_status
            == f"{REPLICAS - 1} of {REPLICAS} GPU workers reachable; jobs wait in line for the others."
        )
        assert isinstance(await outcome(service, submitted.id), Finished)
        stored = await service.repository.get_job(submitted.id)
        assert stored.attempts == 2
        await wait_until(lambda: bool(service.delivered), 30)  # type: ignore[attr-defined]
        assert service.delivered == [(submitted.id, "done", 4)]  # type: ignore[attr-defined]
    finally:
        os.kill(frozen, signal.SIGCONT)
    await wait_until(lambda: ray_backend.capacity == REPLICAS, 60)
    assert service.backend_status is None


async def test_start_with_resources_the_cluster_lacks_is_one_clear_line(
    ray_cluster: RayCluster, ray_backend: Any, tiny_model_dir: Path, tmp_path: Path
) -> None:
    """Asking the CPU-only cluster for GPU replicas fails within RAY_START_TIMEOUT, naming it."""
    from bot.jobs.factory import load_model_pool
    from bot.jobs.ray_backend import RayServeBackend

    settings = ray_settings(
        tiny_model_dir, tmp_path, ray_cluster.address, RAY_GPUS_PER_REPLICA="1", RAY_START_TIMEOUT="5"
    )
    backend = RayServeBackend(settings, load_model_pool, app_name="mj-unmet")
    with pytest.raises(ConfigError) as raised:
        await backend.start()
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("RAY_START_TIMEOUT=5: Ray could not start 2 replica(s) with 1 GPU(s)")
    assert "the cluster has free" in message


class UnreachableReplica:
    """A Serve handle whose replica cannot be reached until `back` is set (no cluster needed)."""

    def __init__(self, state: Any) -> None:
        self.back = asyncio.Event()
        self.state_ = state
        self.runs = 0

    def options(self, **_: Any) -> UnreachableReplica:
        return self

    @property
    def run(self) -> Any:
        return _Remote(self._run)

    @property
    def state(self) -> Any:
        return _Remote(self._state)

    @property
    def cancel(self) -> Any:
        return _Remote(self._state)

    async def _state(self, *_: Any) -> Any:
        if not self.back.is_set():
            raise ConnectionError("cluster unreachable")
        return self.state_

    def _run(self, order: WorkOrder) -> Any:
        from bot.jobs.ray_backend import ReplicaReport

        self.runs += 1
        replica = self

        class Stream:
            def cancel(self) -> None:
                return None

            async def __aiter__(self) -> AsyncIterator[Any]:
                if not replica.back.is_set():
                    raise ConnectionError("cluster unreachable")
                images = [Image.new("RGB", (64, 64)) for _ in order.request.seeds]
                result = GenerationResult(
                    images, order.request.seeds, "tiny", "Fake", order.request.steps, 7.0
                )
                yield ReplicaReport(WorkDone(result, 0.1), replica.state_)

        return Stream()


class _Remote:
    def __init__(self, function: Any) -> None:
        self.remote = function


async def test_an_unreachable_cluster_keeps_jobs_waiting_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The replica cannot be reached: the job goes back to the queue and waits (the service stays
    up, the log says so); once the replica answers again, the job runs."""
    from bot.engine.family import TINY
    from bot.jobs.factory import load_model_pool
    from bot.jobs.ray_backend import RayServeBackend, ReplicaState

    pytest.importorskip("ray.serve")
    settings = make_settings(tmp_path / "data", BACKEND="ray", RAY_REPLICAS="1")
    backend = RayServeBackend(settings, load_model_pool)
    replica = UnreachableReplica(ReplicaState(123, TINY, ["tiny"], 1, 0.5))
    backend._handles = [replica]
    backend._slot_changed = asyncio.Condition()
    backend._family = TINY
    backend.slots[0].healthy = True
    repository = await Repository.open(settings.database_path, settings.images_dir)
    service = JobService(settings, repository, SharedBackend(backend))
    await service.start()
    try:
        submitted = await service.submit(job("patient", user=1, steps=1))
        await wait_until(lambda: replica.runs == 1 and backend.capacity == 0)
        await asyncio.sleep(1.5)  # a dispatcher poll or two: nothing is sent while it is away
        stored = await service.get_job(submitted.id)
        assert stored.status.value == "queued" and replica.runs == 1
        assert "unreachable" in caplog.text and "goes back to the queue" in caplog.text
        assert service.backend_status == "0 of 1 GPU workers reachable; jobs wait in line for the others."
        replica.back.set()
        await wait_until(lambda: backend.capacity == 1, 10)
        assert service.backend_status is None
        assert (await service.get_job(submitted.id)).status.value in ("queued", "running", "done")
        assert isinstance(await outcome(service, submitted.id), Finished)
        assert replica.runs == 2 and (await service.repository.get_job(submitted.id)).attempts == 2
    finally:
        await service.stop(grace=0)
        await repository.close()
