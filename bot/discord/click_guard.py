"""Ignore a repeated click on the same button by the same member within a few seconds.

A double click (or an impatient second click while Discord is slow) would otherwise submit the
same variation or upscale twice.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

__all__ = ["REPEAT_WINDOW", "RecentClicks"]

REPEAT_WINDOW = 3.0
REMEMBERED = 4096


class RecentClicks:
    """`first(key)` is True for a click, False for the same click again within `window` seconds."""

    def __init__(self, window: float = REPEAT_WINDOW, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self._clock = clock
        self._seen: OrderedDict[Hashable, float] = OrderedDict()

    def first(self, key: Hashable) -> bool:
        now = self._clock()
        while self._seen and (
            len(self._seen) > REMEMBERED or now - next(iter(self._seen.values())) > self.window
        ):
            self._seen.popitem(last=False)
        if key in self._seen and now - self._seen[key] <= self.window:
            return False
        self._seen[key] = now
        self._seen.move_to_end(key)
        return True
