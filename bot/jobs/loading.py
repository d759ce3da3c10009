"""The model's load as the fronts see it: a request that arrives while the model loads waits for
it (the queue is durable; the member is shown "Waiting for the model to load"), and a load that
failed is remembered and answered in a sentence, never with the exception's text."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.errors import UserFacingError

__all__ = ["LOADING_TEXT", "ModelLoading", "NoModel"]

log = logging.getLogger(__name__)

LOADING_TEXT = "Waiting for the model to load…"


class NoModel(UserFacingError):
    title = "No model"


class ModelLoading:
    """Where the model's load stands: not begun, loading, loaded, or failed."""

    def __init__(self) -> None:
        self._begun = False
        self._settled = asyncio.Event()
        self.error: str | None = None  # a failed load, in words for members

    @property
    def active(self) -> bool:
        """The load has begun and not ended: requests wait for it."""
        return self._begun and not self._settled.is_set()

    def begin(self) -> None:
        """Mark the load as begun (requests from now on wait for it), before `run` is scheduled."""
        self._begun, self.error = True, None
        self._settled.clear()

    async def run(self, load: Callable[[], Awaitable[None]]) -> None:
        """Run `load` (the backend's start), remembering how it ended."""
        self.begin()
        try:
            await load()
        except BaseException:
            self.error = "The model could not be loaded. The bot's operator has to fix it; try again later."
            raise
        finally:
            self._settled.set()

    async def wait(self) -> None:
        """Return once the model is loaded (at once if no load was begun); NoModel if it failed."""
        if self._begun:
            await self._settled.wait()
        if self.error is not None:
            raise NoModel(self.error)
