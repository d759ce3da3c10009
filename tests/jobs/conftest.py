"""Fixtures for the job system: a fake engine (same methods as bot.engine.Engine) and a running
JobService over a throwaway DATA_DIR."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.config import Config
from bot.engine.family import TINY
from bot.engine.interface import NO_INPUTS, GenerationInputs, Operation
from bot.engine.request import GenerationRequest, GenerationResult, StepCallback, StepProgress
from bot.jobs.backend import ThreadBackend
from bot.jobs.models import JobKind, NewJob
from bot.jobs.service import JobService
from bot.store.repository import Repository


class OutOfMemoryError(RuntimeError):
    """Named like torch.cuda.OutOfMemoryError, so the worker treats it the same way."""


@dataclass
class Call:
    operation: str
    request: GenerationRequest
    image: Image.Image | None


@dataclass
class FakeEngine:
    """Answers like the real engine with flat-colour images; steps can be held and counted.

    `hold` (when set by a test) blocks before each step until `release` is set. `fail` maps a
    prompt to a callable that gets the request and may raise.
    """

    family: Any = TINY
    model_name: str = "fake"
    calls: list[Call] = field(default_factory=list)
    steps_run: int = 0
    memory_freed: int = 0
    steps_by_prompt: dict[str, int] = field(default_factory=dict)
    step_seconds: float = 0.0
    hold: bool = False
    # Hold after this step's progress was reported (None: never), until `release` is set.
    hold_after: int | None = None
    release: threading.Event = field(default_factory=threading.Event)
    holding: threading.Event = field(default_factory=threading.Event)
    fail: dict[str, Callable[[GenerationRequest], None]] = field(default_factory=dict)

    def generate(
        self,
        operation: Operation,
        request: GenerationRequest,
        inputs: GenerationInputs = NO_INPUTS,
        on_step: StepCallback | None = None,
    ) -> GenerationResult:
        image = inputs.image
        if operation is Operation.UPSCALE:
            assert image is not None
            request = dataclasses.replace(
                request, width=image.width * inputs.factor, height=image.height * inputs.factor, batch_size=1
            )
        return self._run(str(operation), request, image, on_step)

    def free_memory(self) -> None:
        self.memory_freed += 1

    def _run(
        self,
        operation: str,
        request: GenerationRequest,
        image: Image.Image | None,
        on_step: StepCallback | None,
    ) -> GenerationResult:
        self.calls.append(Call(operation, request, image))
        if request.prompt in self.fail:
            self.fail[request.prompt](request)
        for step in range(1, request.steps + 1):
            if self.hold:
                self.holding.set()
                self.release.wait(10)
            if self.step_seconds:
                time.sleep(self.step_seconds)
            self.steps_run += 1
            self.steps_by_prompt[request.prompt] = self.steps_by_prompt.get(request.prompt, 0) + 1
            if on_step is not None:
                on_step(StepProgress(step, request.steps, latents=None))
            if step == self.hold_after:
                self.holding.set()
                self.release.wait(10)
        images = [
            Image.new("RGB", (request.width, request.height), (seed % 256, 80, 160)) for seed in request.seeds
        ]
        return GenerationResult(images, request.seeds, self.model_name, "Fake", request.steps, 7.0)


def make_settings(data_dir: Path, **overrides: str) -> Config:
    env = {"DATA_DIR": str(data_dir), "MODEL": "tiny", "DEVICE": "cpu", "PROGRESS_INTERVAL": "0"}
    env.update(overrides)
    return Config.from_env(env)


def make_request(
    prompt: str = "a red fox", *, seed: int = 1, size: int = 64, steps: int = 2
) -> GenerationRequest:
    return GenerationRequest(prompt=prompt, width=size, height=size, seed=seed, steps=steps)


def imagine(user_id: int = 1, prompt: str = "a red fox", **fields: Any) -> NewJob:
    request = fields.pop("request", None) or make_request(prompt)
    return NewJob(kind=JobKind.IMAGINE, user_id=user_id, prompt=prompt, request=request, **fields)


@pytest.fixture
def fake_engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def settings(tmp_path: Path) -> Config:
    return make_settings(tmp_path / "data")


class ServiceFactory:
    """Opens services over one DATA_DIR (a second one after `stop` is a 'restart')."""

    def __init__(self, settings: Config, engine: Any) -> None:
        self.settings = settings
        self.engine = engine
        self._open: list[tuple[JobService, Repository]] = []

    async def __call__(self, start: bool = True, **service_args: Any) -> JobService:
        repository = await Repository.open(self.settings.database_path, self.settings.images_dir)
        service = JobService(self.settings, repository, ThreadBackend(lambda: self.engine), **service_args)
        self._open.append((service, repository))
        if start:
            await service.start()
        return service

    async def close(self, service: JobService, grace: float = 5.0) -> None:
        for entry in list(self._open):
            if entry[0] is service:
                await service.stop(grace)
                await entry[1].close()
                self._open.remove(entry)

    async def close_all(self) -> None:
        for service, _ in list(self._open):
            await self.close(service)


@pytest.fixture
async def services(settings: Config, fake_engine: FakeEngine) -> AsyncIterator[ServiceFactory]:
    factory = ServiceFactory(settings, fake_engine)
    yield factory
    fake_engine.release.set()
    await factory.close_all()


@pytest.fixture
async def service(services: ServiceFactory) -> JobService:
    return await services(delivery_retry_delay=0.01)


async def outcome(service: JobService, job_id: str) -> Any:
    """The terminal event of a job (Finished, Failed or Cancelled), waiting for it."""
    events = [event async for event in service.subscribe(job_id)]
    return events[-1]


async def wait_until(predicate: Callable[[], bool], seconds: float = 10.0) -> None:
    """Poll the loop until `predicate()` holds (fails the test after `seconds`)."""
    import asyncio

    async with asyncio.timeout(seconds):
        while not predicate():  # noqa: ASYNC110 (a plain condition, no event to wait on)
            await asyncio.sleep(0.005)


# The session's Ray cluster and backend (skipped without ray[serve], except in CI).
from tests.jobs.ray_cluster import ray_backend, ray_cluster  # noqa: E402, F401
