"""The job buttons through simcord: U, V, 🔄, Vary, Upscale, ❌, green used buttons, remix."""

from __future__ import annotations

import discord
import pytest

from bot.grid import grid_tile
from bot.jobs.models import JobKind, JobStatus
from tests.discord.helpers import (
    GRID_LABELS,
    SINGLE_LABELS,
    UPSCALED_LABELS,
    button,
    button_labels,
    image_of,
    is_result,
)


@pytest.fixture
async def grid(world):
    """A finished /imagine grid by alice."""
    await world.alice.slash(world.channel, "imagine", prompt="a red fox --ar 3:2")
    message = await world.wait_for(is_result)
    await world.wait_until(lambda: len(world.messages()) == 1)
    return message


async def test_u2_posts_the_second_image_at_full_size(world, grid):
    """U2 → `**prompt** - Image #2 @user`: the grid's second tile at full size, with its four buttons."""
    await world.alice.click(grid, label="U2")
    single = await world.wait_for(lambda m: "Image #2" in m.content, after=grid.id)
    assert single.content == f"**a red fox --ar 3:2** - Image #2 <@{world.alice.id}>"
    assert button_labels(single) == SINGLE_LABELS
    tile = grid_tile(image_of(world, grid).convert("RGB"), 1)
    picture = image_of(world, single).convert("RGB")
    assert picture.size == tile.size
    assert picture.tobytes() == tile.tobytes()


async def test_used_u_and_v_buttons_turn_green(world, grid):
    """A clicked U button turns green on the grid; the others stay grey."""
    await world.bob.click(grid, label="U3")
    await world.wait_for(lambda m: "Image #3" in m.content, after=grid.id)
    updated = next(m for m in world.messages() if m.id == grid.id)
    assert button(updated, "U3").style is discord.ButtonStyle.success
    assert button(updated, "U1").style is discord.ButtonStyle.secondary
    assert button_labels(updated) == GRID_LABELS


JOB_BUTTONS = [
    # (button on the grid or on Image #1, expected content after the prompt, kind, images)
    ("V1", "Variations (Strong) by", JobKind.VARIATION, 4),
    ("Vary (Subtle)", "Variations (Subtle) by", JobKind.VARIATION, 4),
    ("🔄", None, JobKind.REROLL, 4),
    ("Upscale (Subtle)", "Upscaled (Subtle) by", JobKind.UPSCALE, 1),
]


@pytest.mark.parametrize(("label", "words", "kind", "images"), JOB_BUTTONS)
async def test_job_buttons_make_the_right_job_and_message(world, grid, label, words, kind, images):
    """Each job button makes a job owned by the clicker and a result message worded like Midjourney's."""
    source = grid
    if label.startswith(("Vary", "Upscale")):
        await world.alice.click(grid, label="U1")
        source = await world.wait_for(lambda m: "Image #1" in m.content, after=grid.id)
    if label == "🔄":
        await world.bob.click(source, custom_id=button(source, emoji="🔄").custom_id)
    else:
        await world.bob.click(source, label=label)
    result = await world.wait_for(is_result, after=source.id)
    who = f"<@{world.bob.id}>"
    expected = (
        f"**a red fox --ar 3:2** - {words} {who} (fast)"
        if words
        else f"**a red fox --ar 3:2** - {who} (fast)"
    )
    assert result.content == expected
    job = await world.job_of(result)
    assert job.kind is kind
    assert job.user_id == world.bob.id
    assert len(await world.service.repository.get_images(job.id)) == images
    if kind is JobKind.UPSCALE:
        tile = grid_tile(image_of(world, grid), 0)
        assert image_of(world, result).size == (tile.width * 2, tile.height * 2)
        assert button_labels(result) == UPSCALED_LABELS  # no upscale of an upscale; ❤️
    else:
        assert button_labels(result) == GRID_LABELS
        assert image_of(world, result).size == image_of(world, grid).size


async def test_buttons_on_old_messages_work_after_a_restart(world, grid):
    """After a restart (new bot and job service, same DATA_DIR), U and V on the old grid still work."""
    await world.restart()
    await world.alice.click(grid, label="U4")
    single = await world.wait_for(lambda m: "Image #4" in m.content, after=grid.id)
    await world.alice.click(grid, label="V2")
    variations = await world.wait_for(is_result, after=single.id)
    assert "Variations (Strong)" in variations.content
    await world.alice.click(single, label="Vary (Strong)")
    await world.wait_for(is_result, after=variations.id)


async def test_remix_opens_a_modal_and_uses_the_edited_prompt(world, grid):
    """With remix on, V2 opens a modal pre-filled with the prompt; the edited prompt is used."""
    await world.service.repository.update_user_settings(world.alice.id, remix=True)
    shown = await world.alice.click(grid, label="V2")
    assert shown.modal is not None
    field = shown.modal["components"][0]["components"][0]
    assert field["value"] == "a red fox --ar 3:2"
    await world.alice.submit_modal(shown, {field["custom_id"]: "a blue fox --ar 3:2"})
    result = await world.wait_for(is_result, after=grid.id)
    assert result.content == f"**a blue fox --ar 3:2** - Variations (Strong) by <@{world.alice.id}> (fast)"
    job = await world.job_of(result)
    assert job.generation_request.prompt == "a blue fox"
    assert job.parent_id is not None and job.parent_index == 1


async def test_cancel_button_stops_the_owners_job_only(world):
    """❌ by someone else is refused; by the owner it stops the running job and the message says so."""
    world.engine.gate.clear()
    await world.alice.slash(world.channel, "imagine", prompt="a slow snail")
    progress = await world.wait_for(lambda m: "a slow snail" in m.content)
    cancel = button(progress, emoji="❌").custom_id
    refused = await world.bob.click(progress, custom_id=cancel)
    assert refused.followups == [] and refused.ephemeral
    assert refused.response.embeds[0].description == "Only the person who started this job can cancel it."
    await world.alice.click(progress, custom_id=cancel)
    # The job is held before its first step; it stops there once let go.
    world.engine.gate.set()
    await world.wait_for(lambda m: m.content.endswith("(Cancelled)"))
    job = await world.job_of(progress)
    assert (await world.service.repository.get_job(job.id)).status is JobStatus.CANCELLED
