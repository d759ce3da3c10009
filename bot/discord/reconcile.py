"""Posting a job's result exactly once, even across a crash or a failed write.

A result post is (1) marked in the job's meta with its nonce, (2) sent with that `nonce` and
`enforce_nonce` (Discord answers a repeated nonce from the same bot within a few minutes with
the message already made, instead of a second one), (3) recorded. A delivery that finds the mark
but no record — the process died, or the database write failed, between (2) and (3) — first
looks in the channel's recent messages for the one already posted (its attachment is named after
the job, its ❌/buttons carry the job id) and adopts it; only if none is there is it posted again,
with the same nonce. The same scan finds a progress message whose id was never recorded (a
crash right after posting it), so it does not stay "(Waiting to start)" forever.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import discord

from bot.discord.buttons import parse_custom_id

__all__ = ["HISTORY_SCANNED", "POSTING_MARK", "Posted", "find_posted", "request_nonce", "result_nonce"]

log = logging.getLogger(__name__)

POSTING_MARK = "result_nonce"
# Messages of the channel read back when reconciling: a result is posted right after its job.
HISTORY_SCANNED = 100


def result_nonce(job_id: str) -> str:
    """A nonce for the job's result post: Discord takes at most 25 characters."""
    return "r" + job_id.replace("-", "")[:24]


def request_nonce(interaction_id: int) -> str:
    """A nonce for a post one interaction asked for (U-n's image, `/show`'s result): the same
    request posted again (a retry, or the interaction finished after a restart) makes no second
    message, while every other click or command gets its own."""
    return f"i{interaction_id}"


@dataclass
class Posted:
    """What the channel already shows of a job: its result message, stray progress messages."""

    result: discord.Message | None = None
    progress: list[discord.Message] = field(default_factory=list)


def _cancels(message: discord.Message, job_id: str) -> bool:
    """True for a progress message of `job_id`: the one with its ❌ (cancel) button."""
    for row in message.components:
        for component in getattr(row, "children", [row]):
            parsed = parse_custom_id(getattr(component, "custom_id", None) or "")
            if parsed is not None and parsed[0] == "cancel" and parsed[1] == job_id:
                return True
    return False


async def find_posted(channel: Any, bot_user_id: int | None, job_id: str, result_content: str) -> Posted:
    """Scan the channel's recent messages for what was already posted for `job_id`."""
    posted = Posted()
    try:
        async for message in channel.history(limit=HISTORY_SCANNED):
            if bot_user_id is not None and message.author.id != bot_user_id:
                continue
            names = [attachment.filename for attachment in message.attachments]
            is_result = message.content == result_content and (
                not names or any(name.removeprefix("SPOILER_").startswith(job_id) for name in names)
            )
            if is_result and posted.result is None:
                posted.result = message
            elif _cancels(message, job_id):
                posted.progress.append(message)
    except discord.HTTPException as error:
        # Without Read Message History the nonce alone guards against a double post.
        log.info("could not read back channel %s for job %s: %s", getattr(channel, "id", "?"), job_id, error)
    return posted
