"""Which GPU replica runs the next order: model affinity over a few replica slots.

Pure bookkeeping (no Ray): the Ray backend keeps one `ReplicaSlot` per replica, updated from what
each replica reports (the models it holds, how often it loaded one), and asks `pick_slot` for a
free one. A replica holds its default model and at most one extra (see `ModelPool`), so a job for
a model some free replica holds goes there; otherwise to a free replica with no extra model yet
(nobody loses theirs); a reload is paid only when every free replica holds another extra model —
and then, if a busy replica holds the model, the backend first waits for it about as long as a
load takes (`should_wait_for_holder`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["ReplicaSlot", "pick_slot", "should_wait_for_holder"]


@dataclass
class ReplicaSlot:
    """One replica as the dispatcher sees it."""

    index: int
    models: list[str] = field(default_factory=list)  # default model first, then the extra one
    busy: bool = False
    healthy: bool = False
    loads: int = 0  # model loads the replica did (its current process)
    load_seconds: float = 0.0  # the time those loads took
    pid: int | None = None

    @property
    def free(self) -> bool:
        return self.healthy and not self.busy

    def holds(self, model: str) -> bool:
        """`model` "" means the default model, which every replica keeps loaded."""
        return not model or model in self.models


def pick_slot(slots: Sequence[ReplicaSlot], model: str, *, affinity: bool = True) -> ReplicaSlot | None:
    """The free slot to run a job for `model` on, or None when all are busy or unreachable.

    Without affinity: the first free slot (what a plain least-busy router does).
    """
    free = [slot for slot in slots if slot.free]
    if not free or not affinity:
        return free[0] if free else None
    for slot in free:
        if slot.holds(model):
            return slot
    for slot in free:
        if len(slot.models) <= 1:
            return slot
    return free[0]


def should_wait_for_holder(slots: Sequence[ReplicaSlot], chosen: ReplicaSlot, model: str) -> bool:
    """True when running on `chosen` would evict another model although a busy, reachable
    replica holds this one: waiting a little for that replica beats a reload."""
    if chosen.holds(model) or len(chosen.models) <= 1:
        return False
    return any(slot.healthy and slot.busy and slot.holds(model) for slot in slots)
