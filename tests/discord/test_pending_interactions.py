"""An /imagine acknowledged just before the bot stops is not lost: after the restart its job
exists exactly once and the member's "thinking…" reply says what happened."""

from __future__ import annotations

import asyncio
import time

from bot.discord.pending import RESUMED_TEXT
from bot.jobs.models import PendingInteraction
from tests.discord.helpers import is_result


async def _job_count(world) -> int:
    rows = await world.service.repository._fetchall("SELECT COUNT(*) FROM jobs")
    return rows[0][0]


async def _all_answered(world) -> None:
    """Wait until the restarted bot has dealt with every recorded interaction."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while await world.service.repository.pending_interactions():
        assert loop.time() < deadline, "the recorded interactions were never dealt with"
        await asyncio.sleep(0.05)


def _original(world, token: str):
    """Simcord's record of the interaction (its `loading` is Discord's "thinking…")."""
    return world.env.backend.interaction_by_token(token)


async def _stopped_at(world, method: str) -> None:
    """Stop /imagine inside `admission.<method>` as a kill would: nothing after it runs."""

    async def killed(*args, **kwargs):
        raise asyncio.CancelledError  # the handler ends here; no `finally` of ours answers

    setattr(world.env.bot.admission, method, killed)


async def test_a_stop_between_the_defer_and_the_submit_loses_nothing(world):
    """Deferred, recorded, then stopped before the job was stored: the restart submits it once
    and the "thinking…" reply says it is queued."""
    await _stopped_at(world, "submit")
    await world.alice.slash(world.channel, "imagine", prompt="a lighthouse")
    (pending,) = await world.service.repository.pending_interactions()
    assert pending.prompt == "a lighthouse" and pending.user_id == world.alice.id
    assert _original(world, pending.token).loading
    assert await _job_count(world) == 0
    await world.restart()
    result = await world.wait_for(is_result)
    assert result.content.startswith("**a lighthouse**")
    record = _original(world, pending.token)
    await world.wait_until(lambda: not record.loading)
    message = world.env.backend.get_message(record.channel_id, record.message_id)
    assert message.content == RESUMED_TEXT
    assert await _job_count(world) == 1
    assert await world.service.repository.pending_interactions() == []


async def test_a_stop_after_the_submit_does_not_queue_the_job_twice(world):
    """The job was stored (and its progress message posted) but the record not yet forgotten:
    after the restart the same job id is found and nothing is submitted again."""
    repository = world.service.repository
    forget = repository.forget_interaction

    async def killed(interaction_id):
        raise asyncio.CancelledError

    repository.forget_interaction = killed
    await world.alice.slash(world.channel, "imagine", prompt="a lighthouse")
    await world.wait_for(is_result)
    assert len(await repository.pending_interactions()) == 1
    repository.forget_interaction = forget
    await world.restart()
    await _all_answered(world)
    await asyncio.sleep(0.5)
    assert await _job_count(world) == 1
    assert len([message for message in world.messages() if is_result(message)]) == 1


async def test_an_interaction_older_than_15_minutes_is_dropped(world):
    """Discord no longer accepts its token: the record is dropped, nothing is submitted."""
    await world.service.repository.record_interaction(
        PendingInteraction(
            id=12345,
            token="expired",
            application_id=world.env.bot.application_id or 1,
            user_id=world.alice.id,
            guild_id=world.guild.id,
            channel_id=world.channel.id,
            parent_channel_id=None,
            command="imagine",
            prompt="a lighthouse",
            upload_limit=None,
            received_at=time.time() - 16 * 60,
        )
    )
    await world.restart()
    await _all_answered(world)
    assert await _job_count(world) == 0
    assert world.messages() == []
