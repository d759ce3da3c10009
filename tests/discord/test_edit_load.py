"""200 jobs through the real JobFront and job service over a recording fake of Discord's message
endpoints: progress edits stay within a budget, deleted messages are never edited again."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import discord
import pytest

from bot.discord.delivery import JobFront
from bot.governance.admission import Admission
from tests.jobs.conftest import FakeEngine, ServiceFactory, imagine, make_settings

JOBS = 200
CHANNELS = 4
_ids = itertools.count(10_000)


def _not_found() -> discord.NotFound:
    return discord.NotFound(
        SimpleNamespace(status=404, reason="Not Found"), {"code": 10008, "message": "Unknown Message"}
    )


@dataclass
class FakeDiscord:
    """Messages by id; every edit, delete and post in order."""

    log: list[tuple[str, int, float]] = field(default_factory=list)
    deleted: set[int] = field(default_factory=set)

    def channel(self, channel_id: int) -> FakeChannel:
        return FakeChannel(self, channel_id)


@dataclass
class FakeMessage:
    discord: FakeDiscord
    id: int
    channel: Any

    async def edit(self, **kwargs: Any) -> None:
        await asyncio.sleep(0)
        self.discord.log.append(("edit", self.id, time.monotonic()))
        if self.id in self.discord.deleted:
            raise _not_found()

    async def delete(self) -> None:
        self.discord.log.append(("delete", self.id, time.monotonic()))
        self.discord.deleted.add(self.id)


@dataclass
class FakeChannel:
    discord: FakeDiscord
    id: int

    async def send(self, content: str, **kwargs: Any) -> FakeMessage:
        await asyncio.sleep(0)
        message = FakeMessage(self.discord, next(_ids), self)
        self.discord.log.append(("send", message.id, time.monotonic()))
        return message

    def get_partial_message(self, message_id: int) -> FakeMessage:
        return FakeMessage(self.discord, message_id, self)


class FakeBot:
    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake

    def get_partial_messageable(self, channel_id: int, **_: Any) -> FakeChannel:
        return self.fake.channel(channel_id)


@pytest.fixture
async def services(tmp_path) -> Any:
    """Production pacing (PROGRESS_INTERVAL at its default) and room for 200 waiting jobs."""
    settings = make_settings(
        tmp_path / "data", PROGRESS_INTERVAL="2", MAX_JOBS_PER_USER="1000", MAX_QUEUE="1000"
    )
    factory = ServiceFactory(settings, FakeEngine(hold=True))
    yield factory
    factory.engine.release.set()
    await factory.close_all()


async def _until(condition: Any) -> None:
    async with asyncio.timeout(300):
        while not condition():  # noqa: ASYNC110 (the fake Discord has no event to wait on)
            await asyncio.sleep(0.05)


async def test_200_jobs_stay_within_the_edit_budget_and_never_edit_deleted_messages(services) -> None:
    """Edits ≤ 1 per channel per second (so ≪ 1 per job), none after a delete or a 404."""
    fake_engine, fast_settings = services.engine, services.settings
    service = await services(start=False)
    fake = FakeDiscord()
    front = JobFront(FakeBot(fake), service, Admission(service, fast_settings), fast_settings)
    front.register()
    await service.start()
    channels = [fake.channel(1000 + n) for n in range(CHANNELS)]
    jobs = []
    started = time.monotonic()
    for n in range(JOBS):
        channel = channels[n % CHANNELS]
        new_job = imagine(n % 20 + 1, f"a lighthouse {n}", channel_id=channel.id)
        jobs.append(await front.submit(channel, new_job))
    # A member deletes a few progress messages while their jobs wait: 404 from then on.
    progress_ids = [message_id for kind, message_id, _ in fake.log if kind == "send"]
    for message_id in progress_ids[150:155]:
        await FakeMessage(fake, message_id, None).delete()
    fake_engine.hold = False
    fake_engine.release.set()
    await _until(lambda: len([entry for entry in fake.log if entry[0] == "send"]) >= 2 * JOBS)
    elapsed = time.monotonic() - started
    await front.close()

    edits = [entry for entry in fake.log if entry[0] == "edit"]
    per_message = Counter(message_id for _, message_id, _ in edits)
    edits_after_delete = 0
    gone_edits: Counter[int] = Counter()
    deleted: set[int] = set()
    for kind, message_id, _ in fake.log:
        if kind == "delete":
            deleted.add(message_id)
        elif kind == "edit" and message_id in deleted:
            gone_edits[message_id] += 1
            edits_after_delete += 1
    print(
        f"{len(edits)} edits for {JOBS} jobs in {elapsed:.1f} s; most on one message {max(per_message.values())}"
    )
    # The member's own deletes: at most the one edit that found out (404), then none.
    assert all(count <= 1 for count in gone_edits.values()), gone_edits
    assert set(gone_edits) <= set(progress_ids[150:155])
    # The budget: one edit per channel per second at most (plus the first of each channel).
    assert len(edits) <= CHANNELS * (elapsed + 1)
    assert len(edits) <= JOBS  # well under one edit per job here
    assert edits_after_delete <= 5


def test_queue_boundaries_are_coarse() -> None:
    """A place in line moving from 199 to 0 crosses at most a dozen bands."""
    from bot.discord.edit_pacer import queue_bucket

    assert len({queue_bucket(position) for position in range(200)}) <= 12
    assert queue_bucket(0) != queue_bucket(1) != queue_bucket(2)


async def test_the_pacer_sends_only_the_latest_content_and_forgets_on_delete() -> None:
    """Three quick edits of one message → the first, then the newest; none after forget."""
    from bot.discord.edit_pacer import EditPacer

    fake = FakeDiscord()
    pacer = EditPacer(per_second=100, channel_interval=0.05)
    first, second = FakeMessage(fake, 1, None), FakeMessage(fake, 2, None)
    contents: list[str] = []

    async def edit(**kwargs: Any) -> None:
        contents.append(kwargs["content"])

    first.edit = edit  # type: ignore[method-assign]
    for text in ("a", "b", "c"):
        pacer.request(7, first, content=text)
    pacer.request(7, second, content="x")
    await pacer.forget(2)
    await asyncio.sleep(0.3)
    assert contents == ["a", "c"] or contents == ["c"]
    assert [entry for entry in fake.log if entry[1] == 2] == []
    pacer.request(7, second, content="y")
    await asyncio.sleep(0.1)
    assert [entry for entry in fake.log if entry[1] == 2] == []
    await pacer.close()
