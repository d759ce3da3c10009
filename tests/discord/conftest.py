"""A simcord world around the real bot: the tiny model on CPU, a throwaway DATA_DIR, one guild.

The job service is started and stopped by the fixture (outside the bot), and its event stream is
declared to simcord as an external input (`env.external_wait`): the GPU worker is real and runs
on its own thread, so actor calls return once the bot has answered, and tests wait for results
with `World.wait_for`. Any ERROR logged by anyone fails the test (discord.py only logs errors
raised in callbacks); so does any error simcord captured, and so does any request body the bot
sent that Discord's OpenAPI description (tests/discord_spec.py) rejects.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import discord
import pytest
import simcord

from bot.config import Config
from bot.discord.bot import MidjourneyBot
from bot.jobs.backend import ThreadBackend
from bot.jobs.models import Job
from bot.jobs.service import JobService
from bot.store.repository import Repository
from tests.discord_spec import assert_valid_requests
from tests.tiny_env import tiny_env

WAIT_SECONDS = 60


class GatedEngine:
    """The tiny engine, with a gate a test can close to hold jobs before they start generating,
    and an optional real-time delay per denoising step (a job that takes as long as a real one,
    so progress edits are not all coalesced away by the edit pacer)."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self.gate = threading.Event()
        self.gate.set()
        self.step_delay = 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def _held(self, method: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.gate.wait(WAIT_SECONDS)
            return getattr(self._engine, method)(*args, **kwargs)

        return call

    def generate(self, operation: Any, request: Any, inputs: Any = None, on_step: Any = None) -> Any:
        delay = self.step_delay
        if delay and on_step is not None:
            inner = on_step

            def on_step(progress: Any) -> None:
                time.sleep(delay)  # on the worker thread, like a real step
                inner(progress)

        if inputs is None:
            return self._held("generate")(operation, request, on_step=on_step)
        return self._held("generate")(operation, request, inputs, on_step)


class _ExternalEvents:
    """A job's event stream whose waits simcord counts as external input, not stuck bot work."""

    def __init__(self, env: simcord.Env, inner: AsyncIterator[Any]) -> None:
        self._env = env
        self._inner = inner

    def __aiter__(self) -> _ExternalEvents:
        return self

    async def __anext__(self) -> Any:
        return await self._env.external_wait(self._inner.__anext__(), reason="job events from the GPU worker")


class ErrorLog(logging.Handler):
    """Collects ERROR records from every logger."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self) -> list[logging.LogRecord]:
        taken, self.records = self.records, []
        return taken


@pytest.fixture
def error_log() -> Any:
    """Fails the test if anything logged an error that the test did not take."""
    handler = ErrorLog()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
    messages = [f"{r.name}: {r.getMessage()}" for r in handler.records]
    assert not messages, f"errors were logged: {messages}"


def world_settings(tiny_model_dir: Path, data_dir: Path, **extra: str) -> Config:
    return Config.from_env(tiny_env(tiny_model_dir, data_dir, **extra))


@dataclass(frozen=True)
class NsfwSetup:
    """A world's content filter: NSFW_FILTER and the checker its GPU worker runs (None: none)."""

    mode: str
    checker: Any = None

    def env(self) -> dict[str, str]:
        return {"NSFW_FILTER": self.mode, "NSFW_MODEL": "fake-checker"}

    def load_checker(self) -> Any:
        return self.checker


@dataclass
class World:
    env: simcord.Env
    settings: Config
    engine: GatedEngine
    guild: Any
    channel: Any
    alice: Any
    bob: Any
    service: JobService
    _repositories: list[Repository] = field(default_factory=list)
    nsfw: NsfwSetup | None = None

    @property
    def front(self) -> Any:
        return self.env.bot.front

    def messages(self) -> list[discord.Message]:
        return self.channel.history()

    async def wait_for(
        self, predicate: Callable[[discord.Message], bool], *, after: int = 0
    ) -> discord.Message:
        """The first channel message (newer than id `after`) matching `predicate`, once it exists."""
        found: list[discord.Message] = []

        def exists() -> bool:
            found[:] = [m for m in self.messages() if m.id > after and predicate(m)]
            return bool(found)

        await self.wait_until(exists)
        return found[0]

    async def wait_until(self, condition: Callable[[], bool]) -> None:
        """Return once `condition()` holds (the GPU worker runs on its own thread)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_SECONDS
        while not condition():
            if loop.time() > deadline:
                raise AssertionError(
                    f"gave up waiting; the channel has {[m.content for m in self.messages()]}"
                )
            await asyncio.sleep(0.05)

    async def job_of(self, message: discord.Message) -> Job:
        """The job a bot message belongs to (recorded just after the message is posted)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_SECONDS
        while (job := await self.service.repository.job_for_message(message.id)) is None:
            assert loop.time() < deadline, f"no job recorded for {message.content!r}"
            await asyncio.sleep(0.05)
        return job

    def attachment_bytes(self, message: discord.Message, n: int = 0) -> bytes:
        data = self.env.backend.cdn.get(message.attachments[n].url)
        assert data is not None
        return data

    async def open_service(self) -> JobService:
        repository = await Repository.open(self.settings.database_path, self.settings.images_dir)
        self._repositories.append(repository)
        return JobService(self.settings, repository, world_backend(self.engine, self.nsfw))

    async def restart(self) -> None:
        """A new bot and job service on the same DATA_DIR, as after a process restart."""
        await self.service.stop()
        self.service = await self.open_service()
        bot = MidjourneyBot(self.settings, jobs=self.service, manage_jobs=False)
        await self.env.restart_bot(bot)
        _declare_external_events(self.env, self.service)
        await self.service.start()


def _declare_external_events(env: simcord.Env, service: JobService) -> None:
    subscribe = service.subscribe
    service.subscribe = lambda job_id: _ExternalEvents(env, subscribe(job_id))  # type: ignore[method-assign]


def world_backend(engine: GatedEngine, nsfw: NsfwSetup | None) -> ThreadBackend:
    load_checker = nsfw.load_checker if nsfw is not None else None
    return ThreadBackend(lambda: engine, load_checker=load_checker)


@pytest.fixture
def engine(tiny_engine: Any) -> GatedEngine:
    return GatedEngine(tiny_engine)


@pytest.fixture
def nsfw(request: pytest.FixtureRequest) -> NsfwSetup | None:
    """The world's content filter: none, unless a test parametrizes this fixture indirectly."""
    return getattr(request, "param", None)


@pytest.fixture
async def env(
    engine: GatedEngine, tiny_model_dir: Path, tmp_path: Path, error_log: ErrorLog, nsfw: NsfwSetup | None
) -> Any:
    """A running simcord Env around the real bot (its World is in `env.world`)."""
    settings = world_settings(tiny_model_dir, tmp_path / "data", **(nsfw.env() if nsfw else {}))
    repository = await Repository.open(settings.database_path, settings.images_dir)
    service = JobService(settings, repository, world_backend(engine, nsfw))
    bot = MidjourneyBot(settings, jobs=service, manage_jobs=False)
    environment = simcord.Env(bot, settle_timeout=30)
    await environment.start()
    _declare_external_events(environment, service)
    await service.start()
    guild = environment.create_guild("Art club")
    channel = guild.create_text_channel("art")
    alice = guild.add_member(environment.create_user("alice"))
    bob = guild.add_member(environment.create_user("bob"))
    world = World(environment, settings, engine, guild, channel, alice, bob, service, [repository], nsfw)
    environment.world = world  # type: ignore[attr-defined]
    try:
        yield environment
    finally:
        engine.gate.set()
        await environment.shutdown()
        await world.service.stop()
        for opened in world._repositories:
            await opened.close()
        environment._raise_errors_since(environment._errors_acknowledged)
    # Everything the bot sent Discord during the test must pass Discord's OpenAPI description.
    assert_valid_requests(environment.http_requests)


@pytest.fixture
def world(env: Any) -> World:
    return env.world
