"""--draft in Discord: the reply says how the draft runs; ✨ Enhance re-renders it at full quality
from the same seeds, also after a restart."""

from __future__ import annotations

import pytest

from bot.jobs.models import JobKind
from tests.discord.helpers import button, is_result


async def test_draft_reply_and_enhance_after_a_restart(world):
    """The reply names the draft recipe; after a restart, Enhance makes the full-step grid with the same seeds."""
    shown = await world.alice.slash(world.channel, "imagine", prompt="a red fox --draft --seed 42")
    assert shown.ephemeral
    assert "Draft: 1 step of the base model" in shown.response.content
    grid = await world.wait_for(is_result)
    draft_job = await world.job_of(grid)
    assert draft_job.generation_request.steps == 1
    assert button(grid, label="Enhance") is not None

    await world.restart()
    await world.bob.click(grid, label="Enhance")
    result = await world.wait_for(is_result, after=grid.id)
    enhanced = await world.job_of(result)
    assert enhanced.kind is JobKind.REROLL and enhanced.mode == "enhance"
    assert enhanced.user_id == world.bob.id
    request = enhanced.generation_request
    assert request.steps == 2  # STEPS=2 in the test world: the full recipe
    assert not request.is_draft
    assert enhanced.seeds == draft_job.seeds
    assert len(await world.service.repository.get_images(enhanced.id)) == 4


async def test_enhance_on_a_normal_grid_is_refused(world):
    """Only a --draft grid can be enhanced (an old Enhance id on another job says so)."""
    await world.alice.slash(world.channel, "imagine", prompt="a red fox")
    grid = await world.wait_for(is_result)
    job = await world.job_of(grid)
    from bot.errors import InvalidParameter
    from bot.jobs.models import NewJob

    with pytest.raises(InvalidParameter, match="Only a --draft grid"):
        await world.service.submit(
            NewJob(kind=JobKind.REROLL, user_id=world.bob.id, parent_id=job.id, mode="enhance")
        )
