"""The one retry loop of every upload to Discord (pictures and video clips): a 413 shrinks the
budget and tries again at once, 5xx/408/429 wait out the policy's delays, other errors stand."""

from __future__ import annotations

from types import SimpleNamespace

import discord
import pytest

from bot.discord.render import upload_budget
from bot.discord.uploads import MAX_HALVINGS, RetryPolicy, send_retrying

FAST = RetryPolicy(attempts=3, first_delay=0.0)


def refusal(status: int) -> discord.HTTPException:
    return discord.HTTPException(SimpleNamespace(status=status, reason="refused"), "refused")


def attempts_failing_with(*statuses: int):
    budgets: list[int | None] = []

    async def attempt(budget):
        budgets.append(budget)
        if len(budgets) <= len(statuses):
            raise refusal(statuses[len(budgets) - 1])
        return "sent"

    return attempt, budgets


async def test_a_413_halves_a_clip_budget_and_a_5xx_is_retried() -> None:
    attempt, budgets = attempts_failing_with(413, 502, 413)
    start = upload_budget(None)
    assert await send_retrying(attempt, start, FAST, shrink=lambda b: b // 2) == "sent"
    assert budgets == [start, start // 2, start // 2, start // 4]


async def test_a_picture_budget_starts_from_the_channel_default() -> None:
    attempt, budgets = attempts_failing_with(413)
    assert await send_retrying(attempt, None, FAST, shrink=lambda b: upload_budget(b) // 2) == "sent"
    assert budgets == [None, upload_budget(None) // 2]


@pytest.mark.parametrize(
    ("statuses", "tries"),
    [((403,), 1), ((413,) * (MAX_HALVINGS + 1), MAX_HALVINGS + 1), ((500, 500, 500), 3)],
)
async def test_what_cannot_succeed_is_raised(statuses, tries: int) -> None:
    """A 403 at once; a 413 after MAX_HALVINGS halvings; a 5xx once the policy's delays are spent."""
    attempt, budgets = attempts_failing_with(*statuses)
    with pytest.raises(discord.HTTPException):
        await send_retrying(attempt, 8_000_000, FAST, shrink=lambda b: b // 2)
    assert len(budgets) == tries
