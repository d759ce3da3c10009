"""Model aliases: requests for another model go to that model's engine, loaded on demand."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from bot.engine.family import SD1, SDXL
from bot.engine.interface import Operation
from bot.engine.pool import ModelPool
from bot.engine.request import GenerationRequest
from bot.errors import ConfigError, JobFailed


@dataclass
class RecordingEngine:
    """Stands in for an Engine: remembers the requests it ran."""

    model_name: str
    family: object
    ran: list[str] = field(default_factory=list)
    freed: int = 0

    def generate(self, operation, request, inputs=None, on_step=None):
        self.ran.append(request.prompt)
        return self.model_name

    def free_memory(self):
        self.freed += 1


def make_pool():
    loaded: list[str] = []

    def load(model: str) -> RecordingEngine:
        if model == "broken":
            raise ConfigError("MODEL='broken' not found")
        loaded.append(model)
        return RecordingEngine(model, SDXL if model == "xl" else SD1)

    return ModelPool("xl", load), loaded


def ask(pool: ModelPool, model: str) -> str:
    return pool.generate(
        Operation.TXT2IMG,
        GenerationRequest(prompt=model or "default", width=64, height=64, seed=1, model=model),
    )


def test_default_and_alias_models_are_dispatched_and_cached():
    """'' and the default go to the default; an alias model loads once and is reused."""
    pool, loaded = make_pool()
    assert pool.family == SDXL
    assert [ask(pool, m) for m in ["", "xl", "anime", "anime"]] == ["xl", "xl", "anime", "anime"]
    assert loaded == ["xl", "anime"]


def test_only_one_extra_model_stays_loaded():
    """Switching aliases unloads the previous extra model and frees memory."""
    pool, loaded = make_pool()
    ask(pool, "anime")
    ask(pool, "photo")
    ask(pool, "anime")
    assert loaded == ["xl", "anime", "photo", "anime"]
    assert pool.default.freed == 2


def test_an_unloadable_alias_fails_the_job_not_the_bot():
    """A bad alias target becomes a user-facing JobFailed; the default keeps working."""
    pool, _ = make_pool()
    with pytest.raises(JobFailed, match="could not be loaded"):
        ask(pool, "broken")
    assert ask(pool, "") == "xl"
