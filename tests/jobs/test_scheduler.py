"""FairQueue: round-robin across users, fast before relax, positions."""

from __future__ import annotations

import pytest

from bot.jobs.scheduler import FairQueue, Ticket


def drain(queue: FairQueue) -> list[str]:
    order = []
    while (ticket := queue.pop()) is not None:
        order.append(ticket.job_id)
    return order


@pytest.mark.parametrize(
    ("submissions", "expected"),
    [
        # (job id, user, speed) in submission order → run order
        (
            [("a1", 1, "fast"), ("a2", 1, "fast"), ("a3", 1, "fast"), ("b1", 2, "fast"), ("c1", 3, "fast")],
            ["a1", "b1", "c1", "a2", "a3"],
        ),
        ([("a1", 1, "relax"), ("b1", 2, "fast"), ("a2", 1, "fast")], ["b1", "a2", "a1"]),
        (
            [("a1", 1, "fast"), ("a2", 1, "fast"), ("b1", 2, "fast"), ("b2", 2, "fast")],
            ["a1", "b1", "a2", "b2"],
        ),
        ([("a1", 1, "turbo")], ["a1"]),
    ],
)
def test_run_order_is_round_robin_and_fast_first(
    submissions: list[tuple[str, int, str]], expected: list[str]
) -> None:
    """Jobs run one per user in turn, fast tier before relax tier."""
    queue = FairQueue()
    for job_id, user, speed in submissions:
        queue.push(Ticket(job_id, user, speed))
    assert queue.order() == [queue._tickets[j] for j in expected]
    assert drain(queue) == expected


def test_user_who_just_ran_goes_to_the_back() -> None:
    """After one of A's jobs is taken, newcomers B and C run before A's next job."""
    queue = FairQueue()
    for n in range(5):
        queue.push(Ticket(f"a{n}", 1))
    assert queue.pop().job_id == "a0"
    queue.push(Ticket("b0", 2))
    queue.push(Ticket("c0", 3))
    assert drain(queue)[:3] == ["a1", "b0", "c0"]


def test_positions_and_removal() -> None:
    """Positions are 1-based in run order and close up when a waiting job is removed."""
    queue = FairQueue()
    for job_id, user in [("a1", 1), ("a2", 1), ("b1", 2)]:
        queue.push(Ticket(job_id, user))
    assert queue.positions() == {"a1": 1, "b1": 2, "a2": 3}
    assert queue.remove("b1") is not None
    assert queue.remove("b1") is None
    assert queue.positions() == {"a1": 1, "a2": 2}
    assert queue.waiting_for(1) == 2 and queue.waiting_for(2) == 0


def test_push_is_idempotent_and_front_goes_first() -> None:
    """The same id is queued once; a resumed job goes before its user's other jobs."""
    queue = FairQueue()
    queue.push(Ticket("a1", 1))
    queue.push(Ticket("a1", 1))
    queue.push(Ticket("a0", 1), front=True)
    assert len(queue) == 2
    assert drain(queue) == ["a0", "a1"]
