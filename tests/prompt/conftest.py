"""Helpers for the prompt-language tests: a plain SD 1.5 context and a one-job shortcut."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.engine.family import SD1
from bot.prompt import ImagineRequest, PromptContext, expand_prompt

ALIASES = {"6": "org/model-six", "niji": "anime.safetensors", "niji6": "anime6.safetensors"}


@pytest.fixture
def context() -> PromptContext:
    """An SD 1.5 context with three model aliases and no personal or guild settings."""
    return PromptContext(model_aliases=dict(ALIASES), family=SD1)


@pytest.fixture
def one(context: PromptContext) -> Callable[..., ImagineRequest]:
    """Expand a prompt that must give exactly one job, with the default context."""

    def expand_one(text: str, with_context: PromptContext | None = None) -> ImagineRequest:
        requests = expand_prompt(text, with_context or context)
        assert len(requests) == 1, requests
        return requests[0]

    return expand_one
