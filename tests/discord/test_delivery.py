"""Delivery through the channel: after the interaction token expired, within the upload limit,
and through Discord errors."""

from __future__ import annotations

import pytest
import simcord.interactions
from PIL import Image

from bot.jobs.models import JobStatus
from tests.discord.helpers import image_of, is_result

FIFTEEN_MINUTES = 15 * 60


async def test_a_job_finishing_after_the_token_expired_is_posted_in_the_channel(world):
    """A grid finishing 16 minutes after /imagine (token expired) still arrives, as a channel message."""
    world.engine.gate.clear()
    await world.alice.slash(world.channel, "imagine", prompt="a patient heron")
    await world.wait_for(lambda m: "a patient heron" in m.content)
    await world.env.advance_time(FIFTEEN_MINUTES + 60)
    world.engine.gate.set()
    grid = await world.wait_for(is_result)
    assert grid.content == f"**a patient heron** - <@{world.alice.id}> (fast)"
    assert grid.webhook_id is None and grid.interaction_metadata is None
    assert not grid.flags.ephemeral
    assert not [e for e in world.env.http_requests if e.method == "POST" and e.path.startswith("/webhooks/")]


@pytest.fixture
def small_upload_limit(monkeypatch):
    """Interactions report a 3 kB upload limit, below the tiny model's PNG grids (simcord says 25 MiB)."""
    original = simcord.interactions.base_payload

    def with_small_limit(*args, **kwargs):
        record, payload = original(*args, **kwargs)
        payload["attachment_size_limit"] = 3_000
        return record, payload

    monkeypatch.setattr(simcord.interactions, "base_payload", with_small_limit)
    return 3_000


async def test_the_grid_is_encoded_to_fit_the_upload_limit(world, small_upload_limit):
    """With a 3 kB limit the grid arrives as a smaller WebP; the full PNGs stay on disk."""
    await world.alice.slash(world.channel, "imagine", prompt="a noisy meadow")
    grid = await world.wait_for(is_result)
    attachment = grid.attachments[0]
    assert attachment.filename.endswith(".webp")
    assert len(world.attachment_bytes(grid)) <= small_upload_limit
    job = await world.job_of(grid)
    on_disk = world.service.grid_path(job.id)
    with Image.open(on_disk) as full:
        assert full.format == "PNG"
        assert image_of(world, grid).width <= full.width
    assert on_disk.stat().st_size > small_upload_limit


UPLOAD_ERRORS = [
    (500, 2),  # Discord having a bad moment: retried with backoff
    (413, 1),  # too large for this channel after all: retried with a smaller budget
]


@pytest.mark.parametrize(("status", "times"), UPLOAD_ERRORS)
async def test_discord_errors_on_upload_are_retried(world, status, times):
    """Discord errors on the result upload are retried; the grid arrives and the job is delivered."""
    world.front.retry = world.front.retry.__class__(attempts=4, first_delay=0.05)
    world.engine.gate.clear()
    await world.alice.slash(world.channel, "imagine", prompt="a stubborn mule")
    progress = await world.wait_for(lambda m: "a stubborn mule" in m.content)
    world.env.inject_error("POST", "/channels/*/messages", status=status, times=times)
    world.engine.gate.set()
    grid = await world.wait_for(is_result, after=progress.id)
    job = await world.job_of(grid)
    await world.wait_until(lambda: job.id not in world.service.delivering)
    stored = await world.service.repository.get_job(job.id)
    assert stored.status is JobStatus.DONE and stored.delivered


async def test_a_channel_closed_to_the_bot_ends_delivery_without_endless_retries(world):
    """If the bot lost access to the channel, delivery gives up (a warning) instead of retrying forever."""
    world.engine.gate.clear()
    await world.alice.slash(world.channel, "imagine", prompt="a closed door")
    progress = await world.wait_for(lambda m: "a closed door" in m.content)
    job = await world.job_of(progress)
    world.env.inject_error(
        "POST", "/channels/*/messages", status=403, code=50013, message="Missing Permissions", times=None
    )
    world.engine.gate.set()
    await world.wait_until(
        lambda: job.id not in world.service.delivering and world.service.running_job_id is None
    )
    stored = await world.service.repository.get_job(job.id)
    assert stored.status is JobStatus.DONE and stored.delivered
    assert not [m for m in world.messages() if m.content.endswith("(fast)")]


async def test_a_working_job_is_never_posted(world):
    """A Smart Select job (UNLISTED_KINDS) with a channel is not posted, done or not: its mask is a
    step of the editor, not a result."""
    import dataclasses

    from bot.jobs.models import JobKind, new_job_id

    await world.alice.slash(world.channel, "imagine", prompt="a quiet pond")
    grid = await world.wait_for(is_result)
    job = await world.job_of(grid)
    images = await world.service.repository.get_images(job.id)
    before = len(world.messages())
    selection = dataclasses.replace(job, id=new_job_id(), kind=JobKind.SELECT, delivered=False)
    await world.front.deliver(selection, images)
    assert len(world.messages()) == before  # (a listed kind would post these pictures here)
