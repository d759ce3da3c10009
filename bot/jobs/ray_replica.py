"""`BACKEND=ray`, the replica side: what runs inside each Ray Serve replica (the driver side,
which picks replicas and streams orders to them, is ray_backend.py).

`EngineReplica` loads the model pool (and the NSFW checker, when NSFW_FILTER is on) exactly as
the thread backend does and runs each order with `execution.run_order` on a worker thread,
streaming `WorkProgress` and a final `ReplicaReport` back; `cancel` sets the order's flag, so the
engine stops at its next step. `build_application` makes one single-replica deployment per
replica (`engine-0`, `engine-1`, …) under one ingress (`ReplicaDirectory`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from ray import serve

from bot.config import Config
from bot.engine.family import ModelFamily
from bot.engine.safety_checker import load_safety_checker
from bot.jobs.execution import WorkDone, WorkFailed, WorkOrder, WorkProgress, run_order

__all__ = [
    "EngineReplica",
    "PoolLoader",
    "ReplicaDirectory",
    "ReplicaReport",
    "ReplicaState",
    "build_application",
    "replica_name",
]

log = logging.getLogger(__name__)

# `factory.load_model_pool`: (settings, on_load=callback(model, seconds)) → a ModelPool. Passed in
# (pickled by reference) so that the replicas load models exactly as the thread backend does.
PoolLoader = Callable[..., Any]


@dataclass(frozen=True)
class ReplicaState:
    """What a replica reports about itself (after start-up and after each order)."""

    pid: int
    family: ModelFamily
    models: list[str]
    loads: int
    load_seconds: float


@dataclass(frozen=True)
class ReplicaReport:
    """The last item of a replica's stream: the order's outcome and the replica's state."""

    outcome: WorkDone | WorkFailed
    state: ReplicaState


class EngineReplica:
    """One GPU replica: the model pool and a worker thread (the Serve deployment's class)."""

    def __init__(self, settings: Config, load_pool: PoolLoader) -> None:
        self._loads = 0
        self._load_seconds = 0.0
        self._flags: dict[str, threading.Event] = {}
        # One thread owns the engine, as in ThreadBackend; the replica's event loop stays free for
        # cancel and state calls.
        self._worker = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="gpu-worker")
        self._pool = load_pool(settings, on_load=self._count_load)
        # NSFW_FILTER on: this replica's checker, loaded once with its models.
        self._checker = load_safety_checker(settings)

    def _count_load(self, model: str, seconds: float) -> None:
        self._loads += 1
        self._load_seconds += seconds
        log.info("replica %d loaded %s in %.1f s (%d loads)", os.getpid(), model, seconds, self._loads)

    def state(self) -> ReplicaState:
        """Who this replica is and which models it holds."""
        return ReplicaState(
            os.getpid(), self._pool.family, self._pool.loaded_models, self._loads, self._load_seconds
        )

    def cancel(self, job_id: str) -> None:
        """Stop that order at its next step (also when the order has not arrived here yet)."""
        self._flags.setdefault(job_id, threading.Event()).set()

    async def run(self, order: WorkOrder) -> AsyncIterator[WorkProgress | ReplicaReport]:
        """Run one order: progress events, then one `ReplicaReport`."""
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[WorkProgress | None] = asyncio.Queue()
        flag = self._flags.setdefault(order.job_id, threading.Event())

        def emit(event: WorkProgress) -> None:
            loop.call_soon_threadsafe(events.put_nowait, event)

        future = loop.run_in_executor(self._worker, self._run_guarded, order, flag, emit)
        # Scheduled after every emit of the worker thread, so the stream keeps their order.
        future.add_done_callback(lambda _: events.put_nowait(None))
        try:
            while (event := await events.get()) is not None:
                yield event
            yield ReplicaReport(future.result(), self.state())
        finally:
            # Also when the caller went away: the engine stops at its next step.
            flag.set()
            self._flags.pop(order.job_id, None)

    def _run_guarded(
        self, order: WorkOrder, flag: threading.Event, emit: Callable[[WorkProgress], None]
    ) -> WorkDone | WorkFailed:
        try:
            return run_order(self._pool, order, flag, emit, self._checker)
        except BaseException as error:
            log.exception("the GPU replica was interrupted")
            return WorkFailed(f"The GPU worker was interrupted: {type(error).__name__}", "error")


class ReplicaDirectory:
    """The application's ingress: holds the replicas' deployments together under one name."""

    def __init__(self, *replicas: Any) -> None:
        self._count = len(replicas)

    def count(self) -> int:
        return self._count


def replica_name(index: int) -> str:
    return f"engine-{index}"


def build_application(settings: Config, load_pool: PoolLoader) -> Any:
    """The Serve application: RAY_REPLICAS single-replica engine deployments and an ingress."""
    replica = serve.deployment(
        EngineReplica,
        num_replicas=1,
        # One order at a time is this backend's rule; the extra room is for cancel and probes.
        max_ongoing_requests=8,
        ray_actor_options={
            "num_gpus": settings.ray_gpus_per_replica,
            "num_cpus": settings.ray_cpus_per_replica,
        },
        graceful_shutdown_timeout_s=5,
    )
    directory = serve.deployment(ReplicaDirectory, ray_actor_options={"num_cpus": 0})
    return directory.bind(
        *(
            replica.options(name=replica_name(n)).bind(settings, load_pool)
            for n in range(settings.ray_replicas)
        )
    )
