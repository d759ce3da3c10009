"""The seam between the scheduler and the GPU: a small `Backend` interface and the in-process
`ThreadBackend` (one daemon thread that owns the engine, ComfyUI-style).

The worker thread talks to the event loop only through `loop.call_soon_threadsafe`. The Ray Serve
backend (ray_backend.py, ray_replica.py) implements the same interface and runs
`execution.run_order` in each replica; the scheduler, storage and fronts do not change.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import AsyncIterator, Callable
from typing import Protocol

from bot.engine.family import ModelFamily
from bot.engine.safety_checker import ImageChecker
from bot.jobs.execution import Engine, WorkDone, WorkEvent, WorkFailed, WorkOrder, WorkProgress, run_order

log = logging.getLogger(__name__)


class Backend(Protocol):
    """Runs work orders on GPUs, `capacity` at a time, and streams what happens back."""

    @property
    def capacity(self) -> int:
        """How many orders it can run at once right now (1 for one GPU; 0 while unreachable)."""
        ...

    @property
    def family(self) -> ModelFamily:
        """The loaded model's family (valid after `start`)."""
        ...

    async def start(self) -> None:
        """Load the model; return when the backend can take orders."""
        ...

    async def stop(self) -> None:
        """Stop the running order (cooperatively) and release the GPU."""
        ...

    def submit(self, order: WorkOrder) -> AsyncIterator[WorkEvent]:
        """Queue an order; iterate to get progress, then exactly one WorkDone or WorkFailed."""
        ...

    def cancel(self, job_id: str) -> None:
        """Ask the order of this job to stop at its next step (no-op if unknown or finished)."""
        ...


_STOP = None  # sentinel on the order queue


class ThreadBackend:
    """The in-process backend: a daemon thread owns the engine and runs orders in turn.

    `load_checker` (optional) gives the NSFW checker; like the engine it is loaded once, on the
    worker thread when it starts, and it screens each order's images there.
    """

    def __init__(
        self,
        load_engine: Callable[[], Engine],
        *,
        name: str = "gpu-worker",
        load_checker: Callable[[], ImageChecker | None] | None = None,
    ) -> None:
        self._load_engine = load_engine
        self._load_checker = load_checker
        self._name = name
        self._engine: Engine | None = None
        self._checker: ImageChecker | None = None
        self._orders: queue.Queue[tuple[WorkOrder, asyncio.Queue[WorkEvent]] | None] = queue.Queue()
        self._cancel_flags: dict[str, threading.Event] = {}
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def capacity(self) -> int:
        return 1

    @property
    def family(self) -> ModelFamily:
        if self._engine is None:
            raise RuntimeError("the backend is not started")
        return self._engine.family

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("the backend is not started")
        return self._engine

    async def start(self) -> None:
        if self._thread is not None:
            return
        self._loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = self._loop.create_future()
        self._thread = threading.Thread(target=self._work, args=(ready,), name=self._name, daemon=True)
        self._thread.start()
        await ready

    async def stop(self) -> None:
        if self._thread is None:
            return
        for flag in self._cancel_flags.values():
            flag.set()
        self._orders.put(_STOP)
        await asyncio.to_thread(self._thread.join)
        self._thread = None

    def submit(self, order: WorkOrder) -> AsyncIterator[WorkEvent]:
        if self._thread is None:
            raise RuntimeError("the backend is not started")
        events: asyncio.Queue[WorkEvent] = asyncio.Queue()
        self._cancel_flags[order.job_id] = threading.Event()
        self._orders.put((order, events))
        return self._stream(order.job_id, events)

    def cancel(self, job_id: str) -> None:
        flag = self._cancel_flags.get(job_id)
        if flag is not None:
            flag.set()

    async def _stream(self, job_id: str, events: asyncio.Queue[WorkEvent]) -> AsyncIterator[WorkEvent]:
        try:
            while True:
                event = await events.get()
                yield event
                if not isinstance(event, WorkProgress):
                    return
        finally:
            self._cancel_flags.pop(job_id, None)

    # ---- on the worker thread --------------------------------------------------------------

    def _post(self, callback: Callable[..., object], *args: object) -> None:
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:
            log.debug("event loop closed; dropping a worker event")

    def _work(self, ready: asyncio.Future[None]) -> None:
        def settle(error: BaseException | None) -> None:
            if ready.done():
                return
            if error is None:
                ready.set_result(None)
            else:
                ready.set_exception(error)

        try:
            self._engine = self._load_engine()
            self._checker = self._load_checker() if self._load_checker is not None else None
        except BaseException as error:
            self._post(settle, error)
            return
        self._post(settle, None)
        while True:
            item = self._orders.get()
            if item is _STOP:
                return
            order, events = item
            flag = self._cancel_flags.get(order.job_id) or threading.Event()
            outcome: WorkDone | WorkFailed
            if flag.is_set():
                outcome = WorkFailed("Cancelled.", "cancelled")
            else:
                outcome = self._run_guarded(order, flag, events)
            self._post(events.put_nowait, outcome)

    def _run_guarded(
        self, order: WorkOrder, flag: threading.Event, events: asyncio.Queue[WorkEvent]
    ) -> WorkDone | WorkFailed:
        # run_order handles every Exception; this catches the rest so the thread never dies
        # with an order in flight (its stream would wait forever).
        assert self._engine is not None
        try:
            return run_order(
                self._engine, order, flag, lambda event: self._post(events.put_nowait, event), self._checker
            )
        except BaseException as error:
            log.exception("the GPU worker was interrupted")
            return WorkFailed(f"The GPU worker was interrupted: {type(error).__name__}", "error")
