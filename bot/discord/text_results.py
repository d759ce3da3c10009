"""The messages of jobs whose result is text: /describe's suggestions and /shorten's analysis.

The job service stored the result in `job.meta["result"]`; `JobFront.deliver` hands such jobs
here. The buttons (bot/discord/buttons.py) read the prompts back from that same record.

/describe answers as Midjourney does: an embed whose description is the four numbered prompts
and whose image is the described picture (uploaded with the message, `attachment://…`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import discord

from bot.discord.buttons import NUMBER_EMOJI, describe_view, shorten_view
from bot.discord.render import MAX_CONTENT, mention
from bot.engine.shorten import STRIKE_BELOW
from bot.jobs.models import Job, JobKind

__all__ = [
    "MAX_EMBED_DESCRIPTION",
    "TextResult",
    "describe_content",
    "describe_embed",
    "shorten_content",
    "text_result",
]

# Discord's limit on an embed's description.
MAX_EMBED_DESCRIPTION = 4096


@dataclass(frozen=True)
class TextResult:
    """A describe / shorten result message: text, embed (None: none) and prompt buttons.
    `shows_picture`: the embed's image is the job's input picture, to upload with the message."""

    content: str
    embed: discord.Embed | None
    view: discord.ui.View | None
    shows_picture: bool = False


def describe_content(user_id: int) -> str:
    """`**Describe** - @user`: who asked, above the embed."""
    return f"**Describe** - {mention(user_id)}"


def describe_embed(prompts: list[str]) -> discord.Embed:
    """The numbered suggestions as the embed's description (its image is set when uploading)."""
    room = MAX_EMBED_DESCRIPTION // max(1, len(prompts)) - 8
    lines = [f"{NUMBER_EMOJI[n]} {_clip(prompt, room)}" for n, prompt in enumerate(prompts)]
    return discord.Embed(description="\n\n".join(lines) or "(no suggestions)")


def shorten_content(
    prompt: str,
    words: list[list[Any]],
    shorter: list[str],
    user_id: int,
    phrases: list[int] | None = None,
) -> str:
    """The important tokens (bold; unimportant ones struck out) with the prompt's commas, their
    ranking, the shorter prompts."""
    ends = _phrase_ends(phrases, len(words))
    shown = " ".join(
        (f"~~{word}~~" if score < STRIKE_BELOW else (f"**{word}**" if score >= 0.7 else word))
        + ("," if n in ends else "")
        for n, (word, score) in enumerate(words)
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


def text_result(job: Job) -> TextResult:
    """The message of a finished describe / shorten job."""
    result = job.meta.get("result") or {}
    if job.kind is JobKind.DESCRIBE:
        prompts = list(result.get("prompts", []))
        return TextResult(
            describe_content(job.user_id),
            describe_embed(prompts),
            describe_view(job.id, len(prompts)),
            shows_picture=True,
        )
    params = job.meta.get("params", "")
    shorter = [f"{text} {params}".strip() for text in result.get("shorter", [])]
    words = result.get("words", [])
    content = shorten_content(
        job.generation_request.prompt, words, shorter, job.user_id, result.get("phrases")
    )
    return TextResult(content, None, shorten_view(job.id, len(shorter)))


def _phrase_ends(phrases: list[int] | None, count: int) -> set[int]:
    """Indexes of the words after which the prompt had a comma (results stored before phrases
    were recorded have none)."""
    if not phrases or len(phrases) != count:
        return set()
    return {n for n in range(count - 1) if phrases[n] != phrases[n + 1]}


def _clip(text: str, room: int) -> str:
    return text if len(text) <= room else text[: max(1, room - 1)] + "…"
