"""A remix modal opened before a restart still works when it is sent after it."""

from __future__ import annotations

from tests.discord.helpers import is_result


async def test_a_remix_modal_sent_after_a_restart_submits_the_job(world):
    """V1 with remix on opens the modal; the bot restarts; sending it makes the remixed job."""
    await world.alice.slash(world.channel, "imagine", prompt="a red fox")
    grid = await world.wait_for(is_result)
    await world.service.repository.update_user_settings(world.alice.id, remix=True)
    shown = await world.alice.click(grid, label="V1")
    assert shown.modal is not None
    field = shown.modal["components"][0]["components"][0]
    await world.restart()
    await world.alice.submit_modal(shown, {field["custom_id"]: "a blue fox"})
    result = await world.wait_for(is_result, after=grid.id)
    assert result.content.startswith("**a blue fox** - Variations")
