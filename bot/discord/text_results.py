"""The messages of jobs whose result is text: /describe's suggestions and /shorten's analysis.

The job service stored the result in `job.meta["result"]`; `JobFront.deliver` hands such jobs
here. The buttons (bot/discord/buttons.py) read the prompts back from that same record.
"""

from __future__ import annotations

from typing import Any

import discord

from bot.discord.buttons import NUMBER_EMOJI, describe_view, shorten_view
from bot.discord.render import MAX_CONTENT, mention
from bot.engine.shorten import STRIKE_BELOW
from bot.jobs.models import Job, JobKind

__all__ = ["describe_content", "shorten_content", "text_result"]


def describe_content(prompts: list[str], user_id: int) -> str:
    """`**Describe** - @user` and the numbered suggestions, as Midjourney lists them."""
    head = f"**Describe** - {mention(user_id)}\n"
    room = (MAX_CONTENT - len(head)) // max(1, len(prompts)) - 8
    lines = [f"{NUMBER_EMOJI[n]} {_clip(prompt, room)}" for n, prompt in enumerate(prompts)]
    return head + "\n\n".join(lines)


def shorten_content(prompt: str, words: list[list[Any]], shorter: list[str], user_id: int) -> str:
    """The important tokens (bold; unimportant ones struck out), their ranking, the shorter prompts."""
    shown = " ".join(
        f"~~{word}~~" if score < STRIKE_BELOW else (f"**{word}**" if score >= 0.7 else word)
        for word, score in words
    )
    ranking = " · ".join(f"{word} {score:.2f}" for word, score in sorted(words, key=lambda item: -item[1]))
    options = "\n".join(f"{NUMBER_EMOJI[n]} {_clip(text, 300)}" for n, text in enumerate(shorter[:5]))
    text = (
        f"**Shorten** - {mention(user_id)}\n"
        f"**IMPORTANT TOKENS**\n{_clip(shown, 700)}\n"
        f"-# ranked: {_clip(ranking, 400)}\n"
        f"**SHORTENED PROMPTS**\n{options or '(nothing to leave out)'}"
    )
    return text[:MAX_CONTENT]


def text_result(job: Job) -> tuple[str, discord.ui.View | None]:
    """The content and buttons of a finished describe / shorten job."""
    result = job.meta.get("result") or {}
    if job.kind is JobKind.DESCRIBE:
        prompts = list(result.get("prompts", []))
        return describe_content(prompts, job.user_id), describe_view(job.id, len(prompts))
    params = job.meta.get("params", "")
    shorter = [f"{text} {params}".strip() for text in result.get("shorter", [])]
    content = shorten_content(job.generation_request.prompt, result.get("words", []), shorter, job.user_id)
    return content, shorten_view(job.id, len(shorter))


def _clip(text: str, room: int) -> str:
    return text if len(text) <= room else text[: max(1, room - 1)] + "…"
