"""Button clicks: a double click makes one job; an image number the job never had is not
"no longer stored"."""

from __future__ import annotations

import pytest

from bot.errors import InvalidParameter
from tests.discord.helpers import button, is_result


@pytest.fixture
async def grid(world):
    await world.alice.slash(world.channel, "imagine", prompt="a red fox")
    return await world.wait_for(is_result)


async def test_a_double_click_makes_one_job(world, grid):
    """V1 clicked twice in a row → one variation job, one result."""
    before = sum((await world.service.repository.count_jobs()).values())
    await world.bob.click(grid, label="V1")
    await world.bob.click(grid, label="V1")
    await world.wait_for(is_result, after=grid.id)
    assert sum((await world.service.repository.count_jobs()).values()) == before + 1


async def test_an_image_number_the_job_never_had_is_invalid(world, grid):
    """Image #7 of a four-image grid: `Invalid parameter`, not "no longer stored"."""
    job = await world.job_of(grid)
    with pytest.raises(InvalidParameter, match="has no image #7"):
        await world.front.post_single(world.channel, job, 7, world.alice.id, None, nonce="i1")


async def test_a_second_cancel_click_is_not_swallowed(world):
    """❌ clicked twice within the double-click window: both clicks reach the job service (a
    first ❌ that came too early must not make the second one a no-op)."""
    world.engine.gate.clear()
    await world.alice.slash(world.channel, "imagine", prompt="a slow snail")
    progress = await world.wait_for(lambda m: "a slow snail" in m.content)
    cancel = button(progress, emoji="❌").custom_id
    asked: list[str] = []
    real_cancel = world.service.cancel

    async def counted(job_id, user_id=None):
        asked.append(job_id)
        return await real_cancel(job_id, user_id=user_id)

    world.service.cancel = counted
    await world.alice.click(progress, custom_id=cancel)
    await world.alice.click(progress, custom_id=cancel)
    world.engine.gate.set()
    await world.wait_for(lambda m: m.content.endswith("(Cancelled)"))
    assert len(asked) == 2
