"""/info and /show through simcord: your jobs with their places in line, your mode and GPU time;
one of your jobs posted again with working buttons, and nobody else's."""

from __future__ import annotations

import uuid

import discord

from tests.discord.helpers import GRID_LABELS, button_labels, is_result


def fields(embed: discord.Embed) -> dict[str, str]:
    return {field.name: field.value for field in embed.fields}


async def test_info_of_a_new_user(world):
    """No jobs yet: Fast mode, no GPU time, nothing running or queued; only the user sees it."""
    result = await world.alice.slash(world.channel, "info")
    assert result.ephemeral
    shown = fields(result.response.embeds[0])
    assert shown["Job Mode"] == "Fast"
    assert shown["GPU time today (UTC)"] == "0 jobs (0.0 seconds)"
    assert shown["Lifetime usage"] == "0 jobs (0.0 seconds)"
    assert shown["Running jobs (0)"] == "None"
    assert shown["Queued jobs (0)"] == "None"


async def test_info_lists_running_and_queued_jobs_with_positions_then_usage(world):
    """Alice's running job and her queued one (second in line, after bob's), then her GPU time once done."""
    await world.service.repository.update_user_settings(world.alice.id, speed="relax")
    world.engine.gate.clear()
    await world.alice.slash(world.channel, "imagine", prompt="first fox --fast")
    await world.wait_until(lambda: world.service.running_job_id is not None)
    await world.bob.slash(world.channel, "imagine", prompt="bob's owl")
    await world.alice.slash(world.channel, "imagine", prompt="second fox")
    jobs = await world.service.repository.user_jobs(world.alice.id)
    second, first = jobs
    result = await world.alice.slash(world.channel, "info")
    shown = fields(result.response.embeds[0])
    assert shown["Job Mode"] == "Relax"
    assert shown["Running jobs (1)"] == f"imagine · fast · **first fox --fast** · `{first.id}`"
    assert shown["Queued jobs (1)"] == f"#2 · imagine · relax · **second fox** · `{second.id}`"
    world.engine.gate.set()
    finished = ("(fast)", "(relax)")
    await world.wait_until(lambda: len([m for m in world.messages() if m.content.endswith(finished)]) == 3)
    after = fields((await world.alice.slash(world.channel, "info")).response.embeds[0])
    assert after["GPU time today (UTC)"].startswith("2 jobs (")
    assert after["Lifetime usage"].startswith("2 jobs (")
    assert after["Running jobs (0)"] == after["Queued jobs (0)"] == "None"


async def test_show_reposts_your_job_with_working_buttons(world):
    """/show <id> posts the grid again in the channel, worded as before; its U1 works."""
    await world.alice.slash(world.channel, "imagine", prompt="a red fox")
    grid = await world.wait_for(is_result)
    job = await world.job_of(grid)
    result = await world.alice.slash(world.channel, "show", job_id=f"{job.id}.png")
    assert result.response is None  # the "thinking" placeholder is gone
    shown = await world.wait_for(is_result, after=grid.id)
    assert shown.content == grid.content
    assert button_labels(shown) == GRID_LABELS
    assert (await world.job_of(shown)).id == job.id
    await world.bob.click(shown, label="U1")
    await world.wait_for(lambda m: "Image #1" in m.content, after=shown.id)


async def test_show_refuses_someone_elses_job_and_unknown_ids(world):
    """Bob cannot /show alice's job; an id that is no job is `Job not found`; nothing is posted."""
    await world.alice.slash(world.channel, "imagine", prompt="a private fox")
    grid = await world.wait_for(is_result)
    job = await world.job_of(grid)
    await world.wait_until(lambda: len(world.messages()) == 1)
    cases = [(job.id, "Not your job"), (str(uuid.uuid4()), "Job not found"), ("hello", "Job not found")]
    for typed, title in cases:
        result = await world.bob.slash(world.channel, "show", job_id=typed)
        assert result.ephemeral
        assert [embed.title for embed in result.response.embeds] == [title]
    assert world.messages() == [grid]


async def test_info_says_when_gpu_workers_are_unreachable(world):
    """A backend reporting a problem (Ray replicas away) shows it in /info; none: no such field."""
    assert "GPU workers" not in fields((await world.alice.slash(world.channel, "info")).response.embeds[0])
    world.service.backend.status = "1 of 2 GPU workers reachable; jobs wait in line for the others."
    shown = fields((await world.alice.slash(world.channel, "info")).response.embeds[0])
    assert shown["GPU workers"] == "1 of 2 GPU workers reachable; jobs wait in line for the others."
