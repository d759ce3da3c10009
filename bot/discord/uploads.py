"""Uploading a picture to Discord: encoded to fit the channel's limit, retried with backoff.

`send_picture` sends a message with (optionally) one picture: a 413 "payload too large" halves the
upload budget and tries again at once, a few times; 5xx, 408 and 429 are retried after growing
delays (`RetryPolicy`); other errors are raised to the caller (the job service's delivery then
retries later).
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import discord
from PIL import Image

from bot.discord.render import EncodedImage, encode_to_fit, upload_budget

__all__ = ["MAX_HALVINGS", "RetryPolicy", "send_picture", "send_retrying"]

log = logging.getLogger(__name__)

Budget = TypeVar("Budget", int, int | None)  # bytes an upload may take (None: the channel's default)

# How often a 413 "payload too large" halves the upload budget before the error stands.
MAX_HALVINGS = 4


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a Discord upload is retried before the job service takes over."""

    attempts: int = 4
    first_delay: float = 1.0
    factor: float = 3.0

    def delays(self) -> list[float]:
        return [self.first_delay * self.factor**n for n in range(self.attempts - 1)]


def _retryable(error: discord.HTTPException) -> bool:
    # 5xx and rate limits pass; 4xx other than "too large" will fail the same way again.
    return error.status >= 500 or error.status in (408, 429)


async def send_picture(
    channel: discord.abc.Messageable,
    content: str,
    picture: Image.Image | None,
    limit: int | None,
    stem: str,
    view: discord.ui.View | None,
    *,
    retry: RetryPolicy,
    nonce: str | None = None,
    embed: discord.Embed | None = None,
) -> discord.Message:
    """Send `picture` (None: only the text) encoded to fit `limit`, retrying Discord errors with backoff.
    With `nonce`, Discord makes one message however often it is sent (`enforce_nonce`).
    With `embed`, the uploaded picture is shown as its image (`attachment://<file name>`).

    A 413 (too large for this channel after all) halves the budget and tries again at once,
    a few times.
    """

    async def attempt(budget: int | None) -> discord.Message:
        kwargs: dict[str, Any] = {"view": view} if view is not None else {}
        if nonce is not None:
            kwargs["nonce"] = nonce  # discord.py sends enforce_nonce with it
        if picture is not None:
            encoded: EncodedImage = await asyncio.to_thread(encode_to_fit, picture, budget, stem)
            kwargs["file"] = discord.File(io.BytesIO(encoded.data), filename=encoded.filename)
            if embed is not None:
                embed.set_image(url=f"attachment://{encoded.filename}")
        if embed is not None:
            kwargs["embed"] = embed
        return await channel.send(
            content,
            allowed_mentions=discord.AllowedMentions(users=True, everyone=False, roles=False),
            **kwargs,
        )

    return await send_retrying(attempt, limit, retry, shrink=lambda budget: upload_budget(budget) // 2)


async def send_retrying(
    attempt: Callable[[Budget], Awaitable[discord.Message]],
    budget: Budget,
    retry: RetryPolicy,
    *,
    shrink: Callable[[Budget], int],
    what: str = "an upload",
) -> discord.Message:
    """`attempt(budget)` until Discord takes it: a 413 makes the budget `shrink(budget)` and tries
    again at once (up to MAX_HALVINGS times); 5xx, 408 and 429 wait out `retry`'s delays; any
    other error, or one that outlasts them, is raised."""
    delays = iter(retry.delays())
    halvings = 0
    while True:
        try:
            return await attempt(budget)
        except discord.HTTPException as error:
            if error.status == 413 and halvings < MAX_HALVINGS:
                halvings += 1
                budget = shrink(budget)
                continue
            delay = next(delays, None) if _retryable(error) else None
            if delay is None:
                raise
            log.warning("Discord refused %s (%s); retrying in %.1fs", what, error.status, delay)
            await asyncio.sleep(delay)
