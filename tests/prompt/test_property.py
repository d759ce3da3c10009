"""Property: any text either gives valid requests or a user-facing error, quickly."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine.family import SDXL, TINY
from bot.errors import UserFacingError
from bot.prompt import MAX_JOBS, PromptContext, StylePreset, expand_prompt

CONTEXTS = [
    PromptContext(family=TINY),
    PromptContext(
        family=SDXL,
        model_aliases={"6": "org/six", "niji": "anime"},
        suffix="{soft, hard} light",
        options={"wide": "--ar {21:9, 2:1}", "mood": "moody\\, dark"},
        presets={"film": StylePreset("film", "film still of {prompt}", "blurry", "--s 300")},
        default_style="film",
        user_defaults="--s 250 --no text",
    ),
]
# Pieces of prompt syntax, so the generator reaches deep into the parser instead of plain words.
TOKENS = [
    " ", "a", "cat", "{", "}", ",", "\\,", "\\", "::", "::2", "::-1", "::.5", "-", "--", "—", ":",
    "--ar ", "16:9", "--ar 0:1", "--s ", "250", "--no ", "--r ", "3", "40", "--seed ", "--tile",
    "--style ", "raw", "film", "--v ", "6", "--niji", "--iw ", "--w ", "--q ", ".5", "--stop ", "--c ",
    "--stylise", "--wide", "--mood", "--fast", "https://e.com/a.png ", "ftp://x ", "<http://e.com/b.jpg> ",
    "http://[::1 ", "\x00", "\n", "é", "🐱",
]  # fmt: skip
texts = st.one_of(st.text(max_size=300), st.lists(st.sampled_from(TOKENS), max_size=60).map("".join))


def check(text: str, context: PromptContext) -> None:
    try:
        requests = expand_prompt(text, context)
    except UserFacingError as error:
        assert error.message
        return
    assert 1 <= len(requests) <= MAX_JOBS
    for request in requests:
        json.dumps(request.to_dict())
        request.to_generation(seed=request.seed if request.seed is not None else 0)


@pytest.mark.timeout(120)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts, which=st.sampled_from(range(len(CONTEXTS))))
def test_any_text_gives_requests_or_a_user_facing_error(text: str, which: int) -> None:
    """No input raises anything but UserFacingError; every request converts to a valid engine request."""
    check(text, CONTEXTS[which])


@pytest.mark.parametrize(
    "text",
    [
        "{" * 3000 + "}" * 3000,
        "{a,b}" * 1200,
        "{a,{b,{c,{d,{e,{f,{g,h}}}}}}}" * 150,
        "a::" * 2000,
        "--no a " * 800,
        "\\," * 3000,
    ],
)
def test_pathological_input_finishes(text: str) -> None:
    """Huge nesting, thousands of groups or separators end in a result or an error, not a hang."""
    for context in CONTEXTS:
        check(text, context)
