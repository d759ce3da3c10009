"""Model affinity: which free replica a job goes to."""

from __future__ import annotations

import pytest

from bot.jobs.affinity import ReplicaSlot, pick_slot, should_wait_for_holder


@pytest.mark.parametrize(
    ("models", "busy", "model", "affinity", "expected"),
    [
        ([["d", "x"], ["d", "y"]], [False, False], "y", True, 1),  # the holder
        ([["d", "x"], ["d", "y"]], [False, True], "y", True, 0),  # holder busy: reload elsewhere
        ([["d", "x"], ["d"]], [False, False], "z", True, 1),  # room for an extra: nobody loses one
        ([["d", "x"], ["d", "y"]], [False, False], "", True, 0),  # default model: any
        ([["d", "x"], ["d", "y"]], [False, False], "y", False, 0),  # no affinity: first free
        ([["d", "x"], ["d", "y"]], [True, True], "x", True, None),  # none free
    ],
)
def test_pick_slot(models, busy, model, affinity, expected) -> None:
    """Affinity prefers a free replica holding the model, then one with room, then any free one."""
    slots = [
        ReplicaSlot(n, models=held, busy=is_busy, healthy=True)
        for n, (held, is_busy) in enumerate(zip(models, busy, strict=True))
    ]
    chosen = pick_slot(slots, model, affinity=affinity)
    assert (chosen.index if chosen else None) == expected


@pytest.mark.parametrize(
    ("models", "busy", "model", "expected"),
    [
        ([["d", "x"], ["d", "y"]], [True, False], "x", True),  # x's holder busy, y would be evicted
        ([["d", "x"], ["d"]], [True, False], "x", False),  # room on the free one: no eviction
        ([["d", "x"], ["d", "y"]], [True, False], "z", False),  # nobody holds z: load it
        ([["d", "x"], ["d", "y"]], [True, False], "y", False),  # the free one holds it
    ],
)
def test_should_wait_for_holder(models, busy, model, expected) -> None:
    """Wait for a busy replica holding the model rather than evict another model elsewhere."""
    slots = [
        ReplicaSlot(n, models=held, busy=is_busy, healthy=True)
        for n, (held, is_busy) in enumerate(zip(models, busy, strict=True))
    ]
    chosen = pick_slot(slots, model)
    assert chosen is not None
    assert should_wait_for_holder(slots, chosen, model) is expected
