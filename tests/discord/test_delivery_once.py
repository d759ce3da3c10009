"""A finished job is posted exactly once: after a failed write, a crash between posting and
recording, or a crash right after its progress message was posted (no stray "Waiting to start")."""

from __future__ import annotations

import asyncio

from bot.discord.reconcile import POSTING_MARK
from tests.discord.helpers import is_result


def _results(world) -> list:
    return [message for message in world.messages() if is_result(message)]


async def test_a_failed_write_after_posting_does_not_post_twice(world, error_log):
    """Recording the result message fails once: the retried delivery adopts the post."""
    repository = world.service.repository
    original = repository.set_message_ids
    failures = []

    async def failing(job_id, *, progress_message_id=None, result_message_id=None):
        if result_message_id is not None and not failures:
            failures.append(job_id)
            raise OSError(28, "No space left on device")
        await original(job_id, progress_message_id=progress_message_id, result_message_id=result_message_id)

    repository.set_message_ids = failing
    await world.alice.slash(world.channel, "imagine", prompt="a lighthouse")
    await world.wait_for(is_result)
    await world.wait_until(lambda: bool(failures))
    await world.wait_until(lambda: len(world.messages()) == 1)  # the progress message went
    await asyncio.sleep(1.5)  # past the delivery retry
    assert len(_results(world)) == 1
    job = await repository.get_job(failures[0])
    assert job.result_message_id == _results(world)[0].id
    assert [record.getMessage() for record in error_log.take()] == [
        f"delivering job {job.id} with JobFront.deliver failed; retrying in 1 s"
    ]


async def test_a_crash_between_posting_and_recording_does_not_post_twice(world):
    """The process stops after the post, before its id is recorded: after restart, one result."""
    repository = world.service.repository
    original = repository.set_message_ids
    blocked = asyncio.Event()

    async def stuck(job_id, *, progress_message_id=None, result_message_id=None):
        if result_message_id is not None:
            blocked.set()
            await asyncio.Event().wait()  # never returns: the "kill" comes first
        await original(job_id, progress_message_id=progress_message_id, result_message_id=result_message_id)

    repository.set_message_ids = stuck
    await world.alice.slash(world.channel, "imagine", prompt="a lighthouse")
    await world.wait_until(blocked.is_set)
    assert len(_results(world)) == 1
    await world.restart()
    await world.wait_until(lambda: len(world.messages()) == 1)
    await asyncio.sleep(1.5)
    (result,) = _results(world)
    job = await world.job_of(result)
    assert job.result_message_id == result.id


async def test_a_crash_after_the_progress_post_leaves_no_waiting_message(world):
    """The progress message's id was never recorded: after restart the job is delivered and the
    stray "(Waiting to start)" message with its ❌ is removed."""
    world.engine.gate.clear()
    await world.alice.slash(world.channel, "imagine", prompt="a lighthouse")
    await world.wait_until(lambda: len(world.messages()) == 1)
    job = next(iter(world.service._active.values()))
    # What a kill right after posting leaves: the message exists, its id is not in the database.
    await world.service.repository._db.execute(
        "UPDATE jobs SET progress_message_id = NULL WHERE id = ?", (job.id,)
    )
    await world.service.repository._db.commit()
    world.engine.gate.set()
    await world.restart()
    await world.wait_for(is_result)
    await world.wait_until(lambda: len(world.messages()) == 1)
    assert len(_results(world)) == 1
    stored = await world.service.repository.get_job(job.id)
    assert POSTING_MARK in stored.meta
