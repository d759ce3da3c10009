"""`BACKEND=ray`, the driver side (the replica side is ray_replica.py): the same orders run on GPU replicas managed by Ray Serve (the only module that
imports ray; install with `pip install '.[ray]'`).

One Serve application (`RAY_REPLICAS` replicas, each reserving `RAY_GPUS_PER_REPLICA` GPUs) loads
the model pool (and the NSFW checker, when NSFW_FILTER is on) in every replica, exactly as the
thread backend does, and runs each order with `execution.run_order` on a worker thread of the
replica; the checker's verdicts come back with the images. Progress and previews stream back
(`handle.options(stream=True)`); a cancel is a second small call that sets the order's flag, so
the engine stops at its next step.

Each replica is its own single-replica deployment (`engine-0`, `engine-1`, …) under one ingress,
so this backend, not Serve's router, picks the replica: it runs one order per replica at a time
(`capacity` = reachable replicas), prefers a replica that already holds the job's model
(`affinity.pick_slot`), and knows which replica died. A replica that dies mid-job yields
`WorkFailed(reason="lost")` (the job service queues the job again); the replica is left out of
dispatch until Serve has restarted it and it answers again, while the jobs wait in the fair queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import ray
from ray import serve
from ray.exceptions import RayTaskError

from bot.config import Config
from bot.engine.family import ModelFamily
from bot.errors import ConfigError
from bot.jobs.affinity import ReplicaSlot, pick_slot, should_wait_for_holder
from bot.jobs.execution import FAILURE_TEXT, WorkEvent, WorkFailed, WorkOrder
from bot.jobs.ray_head import LocalHead
from bot.jobs.ray_replica import (
    PoolLoader,
    ReplicaReport,
    ReplicaState,
    build_application,
    replica_name,
)

__all__ = ["APP_NAME", "RayServeBackend", "ReplicaReport", "ReplicaState"]

log = logging.getLogger(__name__)

APP_NAME = "mj-bot"
NAMESPACE = "mj-bot"
# How long a replica may take to answer a health probe before it counts as unreachable.
PROBE_TIMEOUT = 10.0
PROBE_INTERVAL = 1.0
# Seconds a running job's stream may stay silent before its replica is probed (a step, the VAE
# decode or a model load can take this long; a probe answers even while the engine works).
STALL_PROBE = 30.0
# Idle replicas are probed this often, so an outage is noticed before a job is sent into it.
WATCH_INTERVAL = 5.0

# How long an order may wait for the busy replica holding its model before another reloads it,
# while no load has been measured yet.
MIN_HOLDER_WAIT = 5.0

T = TypeVar("T")


async def _in_daemon_thread(function: Callable[..., T], *args: Any) -> T:
    """Run a blocking call on a daemon thread (like asyncio.to_thread, but a call that never
    returns, such as `serve.run` waiting for resources, cannot keep the process alive at exit)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)

    def work() -> None:
        try:
            result = function(*args)
        except BaseException as error:
            outcome: tuple[Any, BaseException | None] = (None, error)
        else:
            outcome = (result, None)
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits for this any more
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(target=work, name=f"ray-{function.__name__}", daemon=True).start()
    return await future


class RayServeBackend:
    """Runs orders on Ray Serve replicas, one per replica at a time, with model affinity."""

    def __init__(
        self, settings: Config, load_pool: PoolLoader, *, app_name: str = APP_NAME, affinity: bool = True
    ) -> None:
        self._settings = settings
        self._load_pool = load_pool
        self._app_name = app_name
        self.affinity = affinity
        self.stall_probe = STALL_PROBE
        self._slots = [ReplicaSlot(n) for n in range(settings.ray_replicas)]
        self._handles: list[Any] = []
        self._running: dict[str, ReplicaSlot] = {}
        self._early_cancels: set[str] = set()
        self._family: ModelFamily | None = None
        self._own_cluster = False
        self._head: LocalHead | None = None  # the one-box cluster's head, when we started it
        self._slot_changed: asyncio.Condition | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._watcher: asyncio.Task[None] | None = None

    # ---- what the job service reads --------------------------------------------------------

    @property
    def capacity(self) -> int:
        return sum(slot.healthy for slot in self._slots)

    @property
    def family(self) -> ModelFamily:
        if self._family is None:
            raise RuntimeError("the backend is not started")
        return self._family

    @property
    def slots(self) -> list[ReplicaSlot]:
        """The replicas as the dispatcher sees them (models held, loads, pid, busy)."""
        return self._slots

    @property
    def loads(self) -> int:
        """Model loads reported by the replicas' current processes, start-up loads included."""
        return sum(slot.loads for slot in self._slots)

    @property
    def status(self) -> str | None:
        """One line for /info while some replicas are unreachable; None when all answer."""
        reachable = self.capacity
        if not self._handles or reachable == len(self._slots):
            return None
        return f"{reachable} of {len(self._slots)} GPU workers reachable; jobs wait in line for the others."

    def replica_of(self, job_id: str) -> ReplicaSlot | None:
        """The replica running this job now, if any."""
        return self._running.get(job_id)

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        if self._handles:
            return
        self._slot_changed = asyncio.Condition()
        settings = self._settings
        try:
            await _in_daemon_thread(self._connect)
            if self._own_cluster:
                self._check_resources()  # no GPUs for RAY_GPUS_PER_REPLICA=1: said at once
        except BaseException:
            await self._teardown()  # and the head we started, if any
            raise
        await _in_daemon_thread(lambda: serve.start(proxy_location="Disabled"))
        replicas = f"{settings.ray_replicas} replica(s) with {settings.ray_gpus_per_replica:g} GPU(s) and {settings.ray_cpus_per_replica:g} CPU(s) each"
        log.info("starting %s on Ray (%s)", replicas, settings.ray_address or "local cluster")
        try:
            async with asyncio.timeout(settings.ray_start_timeout):
                await _in_daemon_thread(
                    lambda: serve.run(
                        build_application(settings, self._load_pool), name=self._app_name, route_prefix=None
                    )
                )
        except TimeoutError:
            resources = await _in_daemon_thread(ray.available_resources)
            await self._teardown()
            raise ConfigError(
                f"RAY_START_TIMEOUT={settings.ray_start_timeout:g}: Ray could not start {replicas} "
                f"in time; the cluster has free {_resources(resources)}"
            ) from None
        except Exception as error:
            await self._teardown()
            raise ConfigError(f"BACKEND='ray': the replicas failed to start: {_last_line(error)}") from None
        self._handles = [
            serve.get_deployment_handle(replica_name(slot.index), app_name=self._app_name)
            for slot in self._slots
        ]
        states = await asyncio.gather(*(handle.state.remote() for handle in self._handles))
        for slot, state in zip(self._slots, states, strict=True):
            self._update(slot, state)
            slot.healthy = True
        self._family = states[0].family
        self._watcher = asyncio.create_task(self._watch(), name="ray-replica-watch")
        log.info("Ray Serve backend ready: %d replicas (pids %s)", len(states), [s.pid for s in states])

    def _connect(self) -> None:
        address = self._settings.ray_address
        if ray.is_initialized():
            return
        if address:
            ray.init(address=address, namespace=NAMESPACE, logging_level=logging.WARNING)
        else:
            # A cluster of this one machine: a head on the loopback address, ours to stop
            # (bot/jobs/ray_head.py says why not `ray.init(address="local")`).
            self._head = LocalHead.start()
            self._own_cluster = True
            ray.init(address=self._head.address, namespace=NAMESPACE, logging_level=logging.WARNING)

    def _check_resources(self) -> None:
        settings = self._settings
        total = ray.cluster_resources()
        for resource, each in (
            ("GPU", settings.ray_gpus_per_replica),
            ("CPU", settings.ray_cpus_per_replica),
        ):
            needed = each * settings.ray_replicas
            if needed > total.get(resource, 0.0):
                raise ConfigError(
                    f"RAY_REPLICAS={settings.ray_replicas} with RAY_{resource}S_PER_REPLICA={each:g} needs "
                    f"{needed:g} {resource}s; this machine has {total.get(resource, 0.0):g}"
                )

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            self._watcher = None
        for job_id in list(self._running):
            self.cancel(job_id)
        for task in list(self._tasks):
            task.cancel()
        await self._teardown()
        self._handles = []
        for slot in self._slots:
            slot.healthy = False

    async def _teardown(self) -> None:
        def teardown() -> None:
            if not ray.is_initialized():
                return
            try:
                serve.delete(self._app_name)
            except Exception:
                log.exception("could not delete the Serve application %s", self._app_name)
            if self._own_cluster:
                serve.shutdown()
                ray.shutdown()

        await _in_daemon_thread(teardown)
        if self._head is not None:
            head, self._head = self._head, None
            await asyncio.to_thread(head.stop)

    # ---- orders ----------------------------------------------------------------------------

    def submit(self, order: WorkOrder) -> AsyncIterator[WorkEvent]:
        if not self._handles:
            raise RuntimeError("the backend is not started")
        return self._stream(order)

    def cancel(self, job_id: str) -> None:
        slot = self._running.get(job_id)
        if slot is None:
            # Not on a replica yet (waiting for one): it is cancelled when it gets there.
            self._early_cancels.add(job_id)
            return
        if self._handles:
            self._spawn(self._send_cancel(self._handles[slot.index], job_id))

    async def _send_cancel(self, handle: Any, job_id: str) -> None:
        try:
            await asyncio.wait_for(handle.cancel.remote(job_id), PROBE_TIMEOUT)
        except Exception as error:
            log.warning("could not reach the replica to cancel job %s: %s", job_id, _last_line(error))

    async def _acquire(self, order: WorkOrder) -> ReplicaSlot:
        """A free replica for this order. When the only free ones would have to evict a model
        while a busy replica holds this one, wait for that replica, at most as long as a load
        takes (past that, reloading is the faster way)."""
        assert self._slot_changed is not None
        model = order.request.model
        loop = asyncio.get_running_loop()
        deadline: float | None = None
        async with self._slot_changed:
            while True:
                slot = pick_slot(self._slots, model, affinity=self.affinity)
                if slot is not None and self.affinity and should_wait_for_holder(self._slots, slot, model):
                    deadline = deadline or loop.time() + self._load_estimate()
                    if loop.time() < deadline:
                        with contextlib.suppress(TimeoutError):
                            async with asyncio.timeout(deadline - loop.time()):
                                await self._slot_changed.wait()
                        continue
                    log.info("no free replica holds %s; loading it on %s", model, replica_name(slot.index))
                if slot is not None:
                    slot.busy = True
                    return slot
                await self._slot_changed.wait()

    def _load_estimate(self) -> float:
        """Seconds one model load took on the replicas, on average (at least one second)."""
        loads = sum(slot.loads for slot in self._slots)
        seconds = sum(slot.load_seconds for slot in self._slots)
        return max(1.0, seconds / loads) if loads else MIN_HOLDER_WAIT

    async def _release(self, slot: ReplicaSlot) -> None:
        assert self._slot_changed is not None
        async with self._slot_changed:
            slot.busy = False
            self._slot_changed.notify_all()

    async def _stream(self, order: WorkOrder) -> AsyncIterator[WorkEvent]:
        slot = await self._acquire(order)
        if order.job_id in self._early_cancels:
            self._early_cancels.discard(order.job_id)
            await self._release(slot)
            yield WorkFailed("Cancelled.", "cancelled")
            return
        self._running[order.job_id] = slot
        handle = self._handles[slot.index]
        responses = handle.options(stream=True).run.remote(order)
        finished = False
        pending: asyncio.Future[Any] | None = None
        try:
            items = aiter(responses)
            while True:
                # A replica that stops answering (its machine frozen or cut off) sends nothing and
                # raises nothing: after a quiet spell, a probe must answer or the replica is lost.
                pending = pending or asyncio.ensure_future(anext(items))
                done, _ = await asyncio.wait({pending}, timeout=self.stall_probe)
                if not done:
                    await self._probe(slot)  # raises after PROBE_TIMEOUT: handled as lost below
                    continue
                arrived, pending = pending, None
                try:
                    item = arrived.result()
                except StopAsyncIteration:
                    raise ConnectionError("the replica's stream ended without an outcome") from None
                if isinstance(item, ReplicaReport):
                    finished = True
                    self._update(slot, item.state)
                    yield item.outcome
                    return
                yield item
        except RayTaskError as error:
            # An error raised by our code in the replica (not the replica dying): the job fails.
            log.error("job %s failed in replica %s: %s", order.job_id, replica_name(slot.index), error)
            yield WorkFailed(FAILURE_TEXT, "error")  # the reason is in the log line above
        except Exception as error:
            log.warning(
                "replica %s (pid %s) was lost during job %s: %s; the job goes back to the queue",
                replica_name(slot.index),
                slot.pid,
                order.job_id,
                _last_line(error),
            )
            slot.healthy = False
            self._spawn(self._revive(slot))
            yield WorkFailed("The GPU replica running this job was lost.", "lost")
        finally:
            if pending is not None:
                pending.cancel()
            if not finished:
                responses.cancel()
            self._running.pop(order.job_id, None)
            await self._release(slot)

    # ---- replica health --------------------------------------------------------------------

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _update(self, slot: ReplicaSlot, state: ReplicaState) -> None:
        slot.pid, slot.models, slot.loads = state.pid, list(state.models), state.loads
        slot.load_seconds = state.load_seconds

    async def _probe(self, slot: ReplicaSlot) -> ReplicaState:
        return await asyncio.wait_for(self._handles[slot.index].state.remote(), PROBE_TIMEOUT)

    async def _revive(self, slot: ReplicaSlot) -> None:
        """Wait until the replica (restarted by Serve, or reachable again) answers; then use it."""
        started = time.monotonic()
        log.warning(
            "replica %s is unreachable; %d of %d replicas take jobs, the others wait in the queue",
            replica_name(slot.index),
            self.capacity,
            len(self._slots),
        )
        while self._handles:
            try:
                state = await self._probe(slot)
            except Exception as error:
                log.debug("replica %s still unreachable: %s", replica_name(slot.index), _last_line(error))
                await asyncio.sleep(PROBE_INTERVAL)
                continue
            self._update(slot, state)
            assert self._slot_changed is not None
            async with self._slot_changed:
                slot.healthy = True
                self._slot_changed.notify_all()
            log.warning(
                "replica %s is back (pid %d) after %.0f s",
                replica_name(slot.index),
                state.pid,
                time.monotonic() - started,
            )
            return

    async def _watch(self) -> None:
        """Probe idle replicas now and then, so that an outage is seen before a job is sent in."""
        while True:
            await asyncio.sleep(WATCH_INTERVAL)
            for slot in self._slots:
                if not slot.free:
                    continue
                try:
                    self._update(slot, await self._probe(slot))
                except Exception:
                    if slot.free:
                        slot.healthy = False
                        self._spawn(self._revive(slot))


def _last_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[-1]}" if lines else type(error).__name__


def _resources(resources: dict[str, float]) -> str:
    shown = {name: amount for name, amount in resources.items() if name in ("CPU", "GPU")}
    return ", ".join(f"{amount:g} {name}" for name, amount in sorted(shown.items())) or "nothing"
