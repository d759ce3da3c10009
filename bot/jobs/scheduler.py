"""Which waiting job runs next: fast before relax, and round-robin across users within a speed.

Pure data structure, no I/O, used only from the event loop. A user's jobs run in the order they
were submitted; after a user's job is taken, that user goes to the back of the rotation, so one
user's ten jobs do not starve another user's one.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass

from bot.jobs.models import Speed

_TIERS = (Speed.FAST.value, Speed.RELAX.value)


@dataclass(frozen=True)
class Ticket:
    """A waiting job as the scheduler sees it."""

    job_id: str
    user_id: int
    speed: str = Speed.FAST.value


class FairQueue:
    """Waiting jobs, in per-user FIFO lanes, per speed tier, visited round-robin."""

    def __init__(self) -> None:
        # tier -> user -> that user's waiting tickets; dict order is the rotation order.
        self._lanes: dict[str, OrderedDict[int, deque[Ticket]]] = {tier: OrderedDict() for tier in _TIERS}
        self._tickets: dict[str, Ticket] = {}

    def __len__(self) -> int:
        return len(self._tickets)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._tickets

    def push(self, ticket: Ticket, *, front: bool = False) -> None:
        """Add a waiting job; `front` puts it first in its user's lane (a job resumed after restart)."""
        if ticket.job_id in self._tickets:
            return
        tier = ticket.speed if ticket.speed in self._lanes else Speed.FAST.value
        ticket = Ticket(ticket.job_id, ticket.user_id, tier)
        lane = self._lanes[tier].setdefault(ticket.user_id, deque())
        if front:
            lane.appendleft(ticket)
        else:
            lane.append(ticket)
        self._tickets[ticket.job_id] = ticket

    def pop(self) -> Ticket | None:
        """Take the next job to run, or None if nothing waits."""
        for tier in _TIERS:
            users = self._lanes[tier]
            if not users:
                continue
            user_id, lane = next(iter(users.items()))
            ticket = lane.popleft()
            del users[user_id]
            if lane:
                users[user_id] = lane  # back of the rotation
            del self._tickets[ticket.job_id]
            return ticket
        return None

    def remove(self, job_id: str) -> Ticket | None:
        """Take a waiting job out (cancelled); None if it was not waiting."""
        ticket = self._tickets.pop(job_id, None)
        if ticket is None:
            return None
        users = self._lanes[ticket.speed]
        lane = users[ticket.user_id]
        lane.remove(ticket)
        if not lane:
            del users[ticket.user_id]
        return ticket

    def waiting_for(self, user_id: int) -> int:
        return sum(len(users.get(user_id, ())) for users in self._lanes.values())

    def order(self) -> list[Ticket]:
        """Every waiting job in the order they would run if nothing else arrived."""
        result: list[Ticket] = []
        for tier in _TIERS:
            lanes = [deque(lane) for lane in self._lanes[tier].values()]
            while lanes:
                next_round = []
                for lane in lanes:
                    result.append(lane.popleft())
                    if lane:
                        next_round.append(lane)
                lanes = next_round
        return result

    def positions(self) -> dict[str, int]:
        """job id → 1-based place in line (1 runs next)."""
        return {ticket.job_id: place for place, ticket in enumerate(self.order(), start=1)}
