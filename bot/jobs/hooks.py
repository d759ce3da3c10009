"""Work that runs each time the job service starts (`JobService.when_started`)."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["StartHooks"]

Hook = Callable[[], Awaitable[Any]]


class StartHooks:
    """Hooks run as tasks, each in the context it was registered in (like asyncio's callbacks)."""

    def __init__(self) -> None:
        self._hooks: list[tuple[Hook, contextvars.Context]] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    def add(self, hook: Hook, *, run_now: bool) -> None:
        context = contextvars.copy_context()
        self._hooks.append((hook, context))
        if run_now:
            self._run(hook, context)

    def run_all(self) -> None:
        for hook, context in self._hooks:
            self._run(hook, context)

    def _run(self, hook: Hook, context: contextvars.Context) -> None:
        task: asyncio.Task[Any] = context.copy().run(_spawn, hook)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _spawn(hook: Hook) -> asyncio.Task[Any]:
    return asyncio.ensure_future(hook())
