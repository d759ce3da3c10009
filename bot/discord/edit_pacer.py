"""Progress-message edits within Discord's limits: latest state wins, paced per channel and bot.

With hundreds of jobs waiting, every job that starts moves every waiting one up a place: editing
each message each time is thousands of edits (Discord allows 50 requests/s per bot and far fewer
per channel). So:

- `queue_bucket` makes a place in line worth an edit only when it crosses a coarse boundary
  (0, 1, 2, 3, 4, 5, 10, 20, 30, 50, 100, 200, 500, …): the number stays informative, the edits few.
- `EditPacer` keeps, per channel, only the LATEST wanted edit of each message and sends them at
  most one per `channel_interval` seconds per channel and `per_second` for the whole bot. A
  message that gets newer content before its turn is edited once, with the newest content.
- `forget(message_id)` (before a progress message is deleted or shows how its job ended) drops
  its pending edit, waits for one in flight and refuses later ones. A 404 (Discord error 10008,
  Unknown Message) marks the message gone: it is never edited again.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import discord

__all__ = ["QUEUE_BOUNDARIES", "EditPacer", "queue_bucket"]

log = logging.getLogger(__name__)

QUEUE_BOUNDARIES = (0, 1, 2, 3, 4, 5, 10, 20, 30, 50, 100, 200, 500, 1000, 2000, 5000)
UNKNOWN_MESSAGE = 10008
GONE_REMEMBERED = 10_000


def queue_bucket(position: int) -> int:
    """The coarse band of a place in line: an edit is worth it only when this changes."""
    return bisect.bisect_left(QUEUE_BOUNDARIES, position)


@dataclass
class _Pending:
    message: Any  # discord.Message or PartialMessage: anything with `async edit(**kwargs)`
    edit: dict[str, Any]


class EditPacer:
    """Sends message edits paced per channel and globally, the latest content per message."""

    def __init__(self, *, per_second: float = 10.0, channel_interval: float = 1.0) -> None:
        self.per_second = per_second
        self.channel_interval = channel_interval
        self.sent = 0  # edits sent (for tests and logs)
        self._pending: dict[int, OrderedDict[int, _Pending]] = {}
        self._drainers: dict[int, asyncio.Task[None]] = {}
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._closed: OrderedDict[int, None] = OrderedDict()
        self._next_slot = 0.0

    def request(self, channel_id: int, message: Any, **edit: Any) -> None:
        """Edit `message` to `edit` soon; replaces a pending edit of the same message."""
        if message.id in self._closed:
            return
        queue = self._pending.setdefault(channel_id, OrderedDict())
        if message.id in queue:
            queue[message.id].edit = edit  # keeps its turn, takes the newest content
        else:
            queue[message.id] = _Pending(message, edit)
        if channel_id not in self._drainers:
            self._drainers[channel_id] = asyncio.create_task(
                self._drain(channel_id), name=f"edits-channel-{channel_id}"
            )

    async def forget(self, message_id: int) -> None:
        """No more edits of this message: drop its pending edit and wait for one in flight."""
        self._close(message_id)
        for queue in self._pending.values():
            queue.pop(message_id, None)
        in_flight = self._in_flight.get(message_id)
        if in_flight is not None:
            # Waits without taking the edit's own outcome; a cancellation of the caller (shutdown)
            # still goes through.
            await asyncio.wait({in_flight})

    def is_closed(self, message_id: int) -> bool:
        return message_id in self._closed

    async def close(self) -> None:
        """Drop every pending edit (shutdown)."""
        tasks = list(self._drainers.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._pending.clear()

    def _close(self, message_id: int) -> None:
        self._closed[message_id] = None
        self._closed.move_to_end(message_id)
        while len(self._closed) > GONE_REMEMBERED:
            self._closed.popitem(last=False)

    async def _drain(self, channel_id: int) -> None:
        try:
            while queue := self._pending.get(channel_id):
                await self._global_turn()
                if not queue:
                    break  # forgotten while waiting
                message_id, pending = queue.popitem(last=False)
                task = asyncio.create_task(self._send(pending))
                self._in_flight[message_id] = task
                try:
                    await asyncio.shield(task)
                finally:
                    if self._in_flight.get(message_id) is task:
                        del self._in_flight[message_id]
                await asyncio.sleep(self.channel_interval)
        finally:
            self._drainers.pop(channel_id, None)
            if not self._pending.get(channel_id):
                self._pending.pop(channel_id, None)

    async def _global_turn(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        slot = max(now, self._next_slot)
        self._next_slot = slot + 1.0 / self.per_second
        if slot > now:
            await asyncio.sleep(slot - now)

    async def _send(self, pending: _Pending) -> None:
        message = pending.message
        if message.id in self._closed:
            return
        try:
            self.sent += 1
            await message.edit(**pending.edit)
        except discord.NotFound as error:
            # 10008 Unknown Message (or its channel is gone): never edit it again.
            log.info("message %s is gone (%s); no more edits", message.id, error.code or UNKNOWN_MESSAGE)
            self._close(message.id)
        except discord.HTTPException as error:
            # A missed progress edit is harmless; the result is delivered separately.
            log.warning("could not edit message %s: %s", message.id, error)
