"""/queue and /purge-guild through simcord."""

from __future__ import annotations

import pytest
from simcord import SetupError

from bot.jobs.models import JobStatus
from tests.discord.governance.conftest import admin_of, command_id, error_title
from tests.discord.helpers import is_result, patches_of


async def hold_jobs(world, *prompts, member=None, channel=None):
    """Submit jobs while the GPU is held: the first runs (and waits), the rest wait in line."""
    world.engine.gate.clear()
    for prompt in prompts:
        await (member or world.alice).slash(channel or world.channel, "imagine", prompt=prompt)
        await world.wait_until(lambda: world.service.running_job_id is not None)


async def test_queue_lists_this_servers_running_and_waiting_jobs(world, admin, other):
    """/queue shows the running job and the waiting ones with their members; not other servers' jobs."""
    await hold_jobs(world, "first lighthouse", "second lighthouse")
    await world.bob.slash(world.channel, "imagine", prompt="bob's boat")
    await other.alice.slash(other.channel, "imagine", prompt="elsewhere")
    result = await admin.slash(world.channel, "queue")
    assert result.ephemeral
    embed = result.response.embeds[0]
    assert embed.title == "Queue: 1 running, 2 waiting"
    lines = embed.description.split("\n")
    assert lines[0].startswith("▶️ running") and "first lighthouse" in lines[0]
    assert f"<@{world.bob.id}>" in lines[2] and "bob's boat" in lines[2]
    assert "elsewhere" not in embed.description
    world.engine.gate.set()


async def test_an_admin_cancels_a_members_job_from_the_queue(world, admin):
    """Picking bob's waiting job in the /queue menu cancels it, and the panel is refreshed."""
    await hold_jobs(world, "first lighthouse")
    await world.bob.slash(world.channel, "imagine", prompt="bob's boat")
    (bobs,) = await world.service.repository.user_jobs(world.bob.id)
    panel = await admin.slash(world.channel, "queue")
    updated = await admin.select(panel.response, [bobs.id])
    assert "Cancelled" in updated.response.content
    assert (await world.service.get_job(bobs.id)).status is JobStatus.CANCELLED
    await world.wait_for(lambda m: m.content.endswith("(Cancelled)") and "bob's boat" in m.content)
    world.engine.gate.set()


async def test_plain_members_cannot_see_queue_or_purge(world):
    """/queue and /purge-guild are hidden from members without Manage Server."""
    for command in ("queue", "purge-guild"):
        with pytest.raises(SetupError, match="default-member-permissions"):
            await world.bob.slash(world.channel, command)


async def test_purge_needs_manage_server_even_when_the_command_reaches_the_bot(world):
    """An override that lets bob run /purge-guild still gets `Missing permission` from the bot."""
    world.guild.set_command_permissions(command_id(world, "purge-guild"), {world.bob: True})
    result = await world.bob.slash(world.channel, "purge-guild")
    assert error_title(result) == "Missing permission"


async def make_server_data(world, admin, member, channel):
    await admin.slash(channel, "style add", name="neon", template="{prompt}, neon")
    await admin.slash(channel, "style default", name="neon")
    await admin.slash(channel, "banned add", word="giraffe")
    await admin.slash(channel, "banned remove", word="nsfw")
    await admin.slash(channel, "limits set", max_repeat=3)
    await member.slash(channel, "imagine", prompt="a kept lighthouse")
    await world.wait_until(lambda: any(is_result(m) for m in channel.history()))


async def test_keep_it_deletes_nothing(world, admin):
    """Answering `Keep it` to /purge-guild leaves every job and style."""
    await make_server_data(world, admin, world.alice, world.channel)
    question = await admin.slash(world.channel, "purge-guild")
    await admin.click(question.response, label="Keep it")
    assert len(await world.service.repository.guild_jobs(world.guild.id)) == 1
    assert len(await world.service.repository.get_guild_presets(world.guild.id)) == 1


async def test_purge_deletes_the_servers_jobs_files_and_rules_only(world, admin, other):
    """After confirming, no job, image file, style, setting or word change of this server is left;
    another server's data and a job still running here are handled."""
    other_admin = admin_of(world, other.guild, "dave")
    await make_server_data(world, other_admin, other.alice, other.channel)
    await make_server_data(world, admin, world.alice, world.channel)
    repository = world.service.repository
    ours = await repository.guild_jobs(world.guild.id)
    folders = [world.service.job_folder(job.id) for job in ours]
    assert all(folder.is_dir() for folder in folders)
    await hold_jobs(world, "still running")
    question = await admin.slash(world.channel, "purge-guild")
    assert "2 jobs" in question.response.content
    await admin.click(question.response, label="Delete everything")
    world.engine.gate.set()  # the running job stops at its next step, then the purge goes on
    await world.wait_until(lambda: any(p.get("content", "").startswith("Deleted") for p in patches_of(world)))
    (report,) = [p["content"] for p in patches_of(world) if p.get("content", "").startswith("Deleted")]
    assert report.startswith(
        "Deleted 2 jobs and 5 image files"
    )  # 4 images + grid; the cancelled job made none
    assert await repository.guild_jobs(world.guild.id) == []
    assert not any(folder.exists() for folder in folders)
    assert await repository.get_guild_presets(world.guild.id) == []
    assert await repository.guild_word_changes(world.guild.id) == []
    settings = await repository.get_guild_rules(world.guild.id)
    assert (settings.default_style, settings.max_repeat) == (None, None)
    # The other server keeps everything.
    assert len(await repository.guild_jobs(other.guild.id)) == 1
    assert len(await repository.get_guild_presets(other.guild.id)) == 1
    assert len(await repository.guild_word_changes(other.guild.id)) == 2
    assert (await repository.get_guild_rules(other.guild.id)).max_repeat == 3
