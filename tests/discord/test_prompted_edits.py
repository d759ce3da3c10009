"""Retexture and Edit under a single image in Discord (simcord): their buttons open prompt forms."""

from __future__ import annotations

from bot.jobs.models import JobKind
from tests.discord.helpers import GRID_LABELS, button_labels, is_result
from tests.discord.test_editing import single_image


async def _jobs(world) -> int:
    return sum((await world.service.repository.count_jobs()).values())


async def test_edit_opens_an_instruction_form_that_refuses_banned_words_then_edits(world):
    """Edit: an empty instruction form; a banned word is refused with Midjourney's error and no
    job; an instruction makes bob's Edit job, a 2x2 grid worded `Edit by @bob`."""
    single = await single_image(world, "a red fox")
    shown = await world.bob.click(single, label="Edit")
    assert shown.modal["title"] == "Edit"
    field = shown.modal["components"][0]["components"][0]
    assert not field.get("value")
    before = await _jobs(world)
    refused = await world.bob.submit_modal(shown, {field["custom_id"]: "a nude fox"})
    assert refused.ephemeral and refused.response.embeds[0].title == "Banned prompt detected"
    assert await _jobs(world) == before

    shown = await world.bob.click(single, label="Edit")
    field = shown.modal["components"][0]["components"][0]
    await world.bob.submit_modal(shown, {field["custom_id"]: "blue fur --seed 4"})
    result = await world.wait_for(is_result, after=single.id)
    assert result.content == f"**blue fur --seed 4** - Edit by <@{world.bob.id}> (fast)"
    assert button_labels(result) == GRID_LABELS
    job = await world.job_of(result)
    assert (job.kind, job.user_id, job.generation_request.seed) == (JobKind.INSTRUCT, world.bob.id, 4)
    assert len(await world.service.repository.get_images(job.id)) == 4


async def test_retexture_opens_a_prompt_form_and_answers_before_queueing(world):
    """Retexture: the form starts with the image's prompt; a banned word is refused; without
    CONTROLNET_MODEL a clear error names the setting and no job is queued."""
    single = await single_image(world, "a red fox")
    shown = await world.alice.click(single, label="Retexture")
    assert shown.modal["title"] == "Retexture"
    field = shown.modal["components"][0]["components"][0]
    assert field["value"] == "a red fox"
    before = await _jobs(world)
    refused = await world.alice.submit_modal(shown, {field["custom_id"]: "a nude fox"})
    assert refused.response.embeds[0].title == "Banned prompt detected"
    shown = await world.bob.click(single, label="Retexture")
    field = shown.modal["components"][0]["components"][0]
    refused = await world.bob.submit_modal(shown, {field["custom_id"]: "a paper fox"})
    assert "CONTROLNET_MODEL" in refused.response.embeds[0].description
    assert await _jobs(world) == before
