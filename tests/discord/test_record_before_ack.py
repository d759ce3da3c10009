"""The interaction is recorded before it is acknowledged (issue 19, items 11 and 13): a kill at
the acknowledgement does not lose the request, and a full database disk answers "Disk full"."""

from __future__ import annotations

import asyncio
import sqlite3

import discord
import pytest

from bot.jobs.models import JobStatus
from tests.discord.helpers import is_result


async def _killed_at_the_acknowledgement(*args, **kwargs):
    raise asyncio.CancelledError  # the process dies here: nothing after the callback runs


async def test_a_kill_at_the_defer_loses_nothing(world, monkeypatch):
    """/imagine stopped as it is being acknowledged: the restart still makes its grid, once."""
    with monkeypatch.context() as patch:
        patch.setattr(discord.InteractionResponse, "defer", _killed_at_the_acknowledgement)
        await world.alice.slash(world.channel, "imagine", prompt="a lighthouse")
    (pending,) = await world.service.repository.pending_interactions()
    assert pending.prompt == "a lighthouse"
    await world.restart()
    result = await world.wait_for(is_result)
    assert result.content.startswith("**a lighthouse**")
    counts = await world.service.repository.count_jobs()
    assert counts.get(JobStatus.DONE) == 1 and sum(counts.values()) == 1


async def test_a_kill_at_a_buttons_acknowledgement_loses_nothing(world, monkeypatch):
    """V1 stopped as its click is being acknowledged: the restart makes the variations."""
    await world.alice.slash(world.channel, "imagine", prompt="a red fox")
    grid = await world.wait_for(is_result)
    with monkeypatch.context() as patch:
        patch.setattr(discord.InteractionResponse, "edit_message", _killed_at_the_acknowledgement)
        patch.setattr(discord.InteractionResponse, "defer", _killed_at_the_acknowledgement)
        await world.alice.click(grid, label="V1")
    (pending,) = await world.service.repository.pending_interactions()
    assert pending.command == "button"
    await world.restart()
    variations = await world.wait_for(lambda m: "Variations" in m.content and is_result(m), after=grid.id)
    assert variations.content.startswith("**a red fox** - Variations")


@pytest.mark.parametrize("error", ["database or disk is full", "disk I/O error: full"])
async def test_a_full_database_disk_answers_disk_full(world, monkeypatch, error_log, error):
    """Recording the pending /imagine fails for lack of space: the member sees "Disk full", not
    "Something went wrong", and the log has no traceback."""

    async def full(pending):
        raise sqlite3.OperationalError(error)

    monkeypatch.setattr(world.service.repository, "record_interaction", full)
    answered = await world.alice.slash(world.channel, "imagine", prompt="a lighthouse")
    embed = answered.response.embeds[0]
    assert embed.title == "Disk full" and "disk is full" in embed.description
    assert answered.ephemeral
    logged = error_log.take()
    assert logged and all(record.exc_info is None for record in logged)
    assert sum((await world.service.repository.count_jobs()).values()) == 0
