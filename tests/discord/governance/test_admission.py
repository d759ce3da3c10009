"""One admission path: the remix modal obeys the same server rules as /imagine, and the waiting
limit is checked atomically with the submit."""

from __future__ import annotations

import asyncio

from bot.governance.admission import Place
from bot.jobs.models import JobStatus
from tests.discord.governance.conftest import error_title
from tests.discord.helpers import is_result


async def remix_grid(world):
    """A finished grid by alice, with remix turned on for her."""
    await world.alice.slash(world.channel, "imagine", prompt="a red fox")
    grid = await world.wait_for(is_result)
    await world.wait_until(lambda: len(world.messages()) == 1)
    await world.service.repository.update_user_settings(world.alice.id, remix=True)
    return grid


async def submit_remix(world, grid, text: str):
    shown = await world.alice.click(grid, label="V1")
    field = shown.modal["components"][0]["components"][0]
    return await world.alice.submit_modal(shown, {field["custom_id"]: text})


async def jobs_here(world) -> int:
    return len(await world.service.repository.guild_jobs(world.guild.id))


async def test_a_remixed_repeat_over_the_servers_limit_is_refused(world, admin):
    """With max_repeat 2, a remix with `--repeat 5` is refused as /imagine would be; nothing queued."""
    grid = await remix_grid(world)
    await admin.slash(world.channel, "limits set", max_repeat=2)
    before = await jobs_here(world)
    result = await submit_remix(world, grid, "a blue fox --repeat 5")
    assert error_title(result) == "Invalid parameter"
    assert "at most 2" in result.response.embeds[0].description
    assert await jobs_here(world) == before


async def test_a_remix_in_a_channel_closed_to_imagine_is_refused(world, admin):
    """Once /imagine is limited to another channel, a remix here is `Channel not allowed`."""
    grid = await remix_grid(world)
    studio = world.guild.create_text_channel("studio")
    await admin.slash(world.channel, "limits set", allow_channel=studio)
    before = await jobs_here(world)
    result = await submit_remix(world, grid, "a blue fox")
    assert error_title(result) == "Channel not allowed"
    assert await jobs_here(world) == before


async def test_two_simultaneous_submissions_cannot_both_pass_a_waiting_limit_of_one(world, admin):
    """Both submissions are admitted at once; the service's lock lets exactly one wait."""
    await admin.slash(world.channel, "limits set", max_jobs_per_user=1)
    world.engine.gate.clear()
    await world.alice.slash(world.channel, "imagine", prompt="first")
    await world.wait_until(lambda: world.service.running_job_id is not None)
    admission = world.env.bot.admission
    place = Place(world.alice.id, world.guild.id, world.channel.id)
    requests = await admission.read("second", place) + await admission.read("third", place)
    new_jobs = admission.imagine_jobs(requests, place)
    outcomes = await asyncio.gather(*(admission.submit(job) for job in new_jobs), return_exceptions=True)
    refused = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert len(refused) == 1 and type(refused[0]).__name__ == "QueueFull"
    statuses = [job.status for job in await world.service.repository.guild_jobs(world.guild.id)]
    assert statuses.count(JobStatus.QUEUED) == 1
    world.engine.gate.set()
