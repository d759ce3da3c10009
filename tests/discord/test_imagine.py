"""/imagine through simcord: progress, the grid and its buttons, errors, many jobs."""

from __future__ import annotations

import dataclasses

import discord
import pytest

from bot.discord.delivery import MISSING_PERMISSIONS
from bot.discord.replies import WARNING_YELLOW
from bot.jobs.models import JobStatus
from tests.discord.helpers import GRID_LABELS, button_labels, image_of, is_result, patches_of

AR_CASES = [
    ("", 1.0),
    (" --ar 2:1", 2.0),
    (" --ar 2:3", 2 / 3),
]


@pytest.mark.parametrize(("params", "ratio"), AR_CASES)
async def test_imagine_shows_progress_then_a_grid_with_nine_buttons(world, params, ratio):
    """/imagine → progress edits (NN%) → `**prompt** - @user (fast)` with the grid, U/🔄/V buttons, --ar kept."""
    prompt = f"a lighthouse at dusk{params}"
    world.engine.step_delay = 0.5  # steps as slow as a real model's: the paced edits show previews
    result = await world.alice.slash(world.channel, "imagine", prompt=prompt)
    assert result.acknowledged
    grid = await world.wait_for(is_result)
    assert grid.content == f"**{prompt}** - <@{world.alice.id}> (fast)"
    assert button_labels(grid) == GRID_LABELS
    picture = image_of(world, grid)
    assert picture.width / picture.height == pytest.approx(ratio, rel=0.1)
    progress = [p for p in patches_of(world) if "%)" in (p.get("content") or "")]
    assert progress, "the progress message was never edited with a percentage"
    assert all(edit["content"].startswith(f"**{prompt}** - <@{world.alice.id}> (") for edit in progress)
    previews = [a["filename"] for edit in progress for a in edit.get("attachments", [])]
    assert "progress.jpg" in previews, "no low-res preview was shown while generating"
    # The progress message goes away once the grid is there.
    await world.wait_until(lambda: len(world.messages()) == 1)
    assert world.messages()[0].id == grid.id


async def test_invalid_parameter_is_an_ephemeral_error_and_stores_no_job(world):
    """A bad --ar answers only the user, with Midjourney's `Invalid parameter` title, and queues nothing."""
    result = await world.alice.slash(world.channel, "imagine", prompt="a cat --ar 0:0")
    assert result.ephemeral
    assert [embed.title for embed in result.response.embeds] == ["Invalid parameter"]
    assert world.messages() == []
    counts = await world.service.repository.count_jobs()
    assert sum(counts.values()) == 0


async def test_more_than_five_jobs_asks_first(world):
    """Six permutations ask for confirmation first; Yes submits six jobs, each with its own grid."""
    result = await world.alice.slash(
        world.channel, "imagine", prompt="a {red, green, blue, cyan, pink, gray} bird"
    )
    assert result.ephemeral
    assert "**6**" in result.response.content
    assert world.messages() == []
    await world.alice.click(result.response, label="Yes")
    for colour in ("red", "gray"):
        await world.wait_for(lambda m, c=colour: is_result(m) and f"**a {c} bird**" in m.content)
    counts = await world.service.repository.count_jobs()
    assert (
        counts.get(JobStatus.DONE, 0) + counts.get(JobStatus.RUNNING, 0) + counts.get(JobStatus.QUEUED, 0)
        == 6
    )


async def test_no_to_the_confirmation_submits_nothing(world):
    """Answering No to the confirmation stores no job."""
    result = await world.alice.slash(world.channel, "imagine", prompt="a cat --repeat 6")
    await world.alice.click(result.response, label="No")
    assert sum((await world.service.repository.count_jobs()).values()) == 0


async def test_a_channel_where_the_bot_cannot_post_gets_a_clear_error(world):
    """Without Send Messages in the channel, /imagine explains which permissions are missing and runs nothing."""
    locked = world.guild.create_text_channel(
        "locked", overwrites={world.env.bot.user: discord.PermissionOverwrite(send_messages=False)}
    )
    result = await world.alice.slash(locked, "imagine", prompt="a quiet library")
    assert result.ephemeral
    assert result.response.embeds[0].description == MISSING_PERMISSIONS
    job = (await world.service.repository.user_jobs(world.alice.id))[0]
    await world.wait_until(lambda: world.service.running_job_id is None)
    assert (await world.service.repository.get_job(job.id)).status is JobStatus.CANCELLED


async def test_queue_full_is_an_ephemeral_yellow_error(world):
    """Over the per-user limit of waiting jobs, /imagine answers `Queue full` only to the user."""
    world.service.settings = dataclasses.replace(world.service.settings, max_jobs_per_user=1)
    world.engine.gate.clear()
    await world.alice.slash(world.channel, "imagine", prompt="first")
    await world.wait_until(lambda: world.service.running_job_id is not None)
    await world.alice.slash(world.channel, "imagine", prompt="second")
    result = await world.alice.slash(world.channel, "imagine", prompt="third")
    assert result.ephemeral
    (embed,) = result.response.embeds
    assert embed.title == "Queue full"
    assert embed.colour == WARNING_YELLOW
    assert not [m for m in world.messages() if "third" in m.content]


BANNED_CASES = [
    ("a n.u.d.e statue", None),  # the built-in list, through an evasion
    ("a giraffe in a hat", "giraffe"),  # a word this server added
]


@pytest.mark.parametrize(("prompt", "server_word"), BANNED_CASES)
async def test_banned_words_are_refused_like_midjourney(world, prompt, server_word):
    """A banned word (built-in or the server's own) gets `Banned prompt detected`, only for the user."""
    if server_word:
        await world.service.repository.add_banned_word(world.guild.id, server_word)
    result = await world.alice.slash(world.channel, "imagine", prompt=prompt)
    assert result.ephemeral
    assert [embed.title for embed in result.response.embeds] == ["Banned prompt detected"]
    assert world.messages() == []
