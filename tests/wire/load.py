"""Many interactions at once over the fake gateway, and how soon each was acknowledged.

Used by tests/wire/test_acks.py (every interaction acknowledged exactly once) and by
benchmarks/acks.py (latency percentiles). An interaction's acknowledgement is its callback
(`POST /interactions/{id}/{token}/callback`); its latency is from the moment the fake sent the
INTERACTION_CREATE frame to the moment the callback request reached the fake.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass
from typing import Any

from tests.wire.fake_discord import CHANNEL_ID, FakeDiscord, Recorded

__all__ = [
    "Acknowledgement",
    "acknowledgements",
    "burst",
    "callbacks_of",
    "first_grid",
    "grid_buttons",
    "percentile",
    "wait_acknowledged",
]


@dataclass(frozen=True)
class Acknowledgement:
    """One interaction fired at the bot: what it was, when it was sent, its callbacks."""

    interaction_id: str
    kind: str  # "imagine", or a button's action ("pick", "vary", "reroll")
    sent_at: float
    callbacks: tuple[Recorded, ...]

    @property
    def latency(self) -> float | None:
        """Seconds from the dispatch to the first callback (None: never acknowledged)."""
        return self.callbacks[0].at - self.sent_at if self.callbacks else None


def callbacks_of(fake: FakeDiscord, interaction_id: str) -> list[Recorded]:
    """The interaction callbacks the bot sent for `interaction_id` (one is right, two a bug)."""
    prefix = f"/interactions/{interaction_id}/"
    return [r for r in fake.requests if r.method == "POST" and r.path.startswith(prefix)]


def _kind(payload: dict[str, Any]) -> str:
    if payload["type"] == 3:
        return str(payload["data"]["custom_id"]).split(":")[1]
    return str(payload["data"]["name"])


async def burst(
    fake: FakeDiscord, payloads: list[dict[str, Any]], *, spread: float = 0.0
) -> dict[str, float]:
    """Dispatch every payload (INTERACTION_CREATE), evenly over `spread` seconds (0: back to
    back); the moment each was sent, by interaction id."""
    sent: dict[str, float] = {}
    start = time.perf_counter()
    for n, payload in enumerate(payloads):
        if spread:
            await asyncio.sleep(max(0.0, start + spread * n / len(payloads) - time.perf_counter()))
        sent[payload["id"]] = time.perf_counter()
        await fake.dispatch("INTERACTION_CREATE", payload)
    return sent


async def wait_acknowledged(fake: FakeDiscord, ids: list[str], timeout: float) -> None:  # noqa: ASYNC109
    """Return once every interaction of `ids` has a callback."""
    await fake.wait_until(lambda: all(callbacks_of(fake, one) for one in ids), timeout)


def acknowledgements(
    fake: FakeDiscord, payloads: list[dict[str, Any]], sent: dict[str, float]
) -> list[Acknowledgement]:
    """What became of each payload fired by `burst`."""
    return [
        Acknowledgement(p["id"], _kind(p), sent[p["id"]], tuple(callbacks_of(fake, p["id"])))
        for p in payloads
    ]


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (`fraction` 0.99 → p99) of `values`."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def _is_upload(request: Recorded) -> bool:
    return (
        request.method == "POST"
        and request.path == f"/channels/{CHANNEL_ID}/messages"
        and bool(request.files)
    )


async def first_grid(fake: FakeDiscord, prompt: str, timeout: float) -> dict[str, Any]:  # noqa: ASYNC109
    """Run `/imagine prompt` and return the grid message the bot posted (to click its buttons)."""
    command = fake.slash_command("imagine", prompt=prompt)
    await fake.dispatch("INTERACTION_CREATE", command)
    upload = await fake.wait_for(
        lambda r: _is_upload(r) and prompt in str((r.json or {}).get("content")), timeout
    )
    return upload.response


def grid_buttons(message: dict[str, Any]) -> list[str]:
    """The custom ids of a grid's job buttons (U1-U4, 🔄, V1-V4)."""
    return [
        button["custom_id"]
        for row in message["components"]
        for button in row["components"]
        if str(button.get("custom_id", "")).startswith("mj:")
    ]
