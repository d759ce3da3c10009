"""/banned and /limits through simcord: what members can no longer queue, and where."""

from __future__ import annotations

import pytest
from simcord import SetupError

from bot.jobs.models import JobStatus
from tests.discord.governance.conftest import error_title
from tests.discord.helpers import is_result


async def job_count(world) -> int:
    return sum((await world.service.repository.count_jobs()).values())


BLOCKED = [
    "a nude statue",
    "a N.U.D.E statue",  # case and punctuation between letters
    "a n u d e statue",
    "a nuuude statue",
    "a statue --no n.s.f.w",  # the negative prompt is checked too
]


@pytest.mark.parametrize("prompt", BLOCKED)
async def test_banned_words_are_refused_before_queueing(world, prompt):
    """Built-in words, also through simple evasions, get `Banned prompt detected` and no job."""
    result = await world.alice.slash(world.channel, "imagine", prompt=prompt)
    assert result.ephemeral
    assert error_title(result) == "Banned prompt detected"
    assert await job_count(world) == 0
    assert world.messages() == []


@pytest.mark.parametrize("prompt", ["a class of students", "a grassy meadow", "a nudibranch"])
async def test_innocent_words_containing_a_banned_word_pass(world, prompt):
    """`class` holds `ass`, `nudibranch` starts like `nude`: both are queued and imagined."""
    await world.alice.slash(world.channel, "imagine", prompt=prompt)
    await world.wait_for(lambda m: is_result(m) and prompt in m.content)


async def test_a_word_added_by_admins_is_banned_only_in_that_server(world, admin, other):
    """/banned add giraffe blocks `g.i.r.a.f.f.e` here; another server is unaffected."""
    added = await admin.slash(world.channel, "banned add", word="Giraffe")
    assert "`giraffe` is now banned" in added.response.content
    refused = await world.alice.slash(world.channel, "imagine", prompt="a g.i.r.a.f.f.e in a hat")
    assert error_title(refused) == "Banned prompt detected"
    await other.alice.slash(other.channel, "imagine", prompt="a giraffe in a hat")
    await world.wait_until(lambda: any(is_result(m) for m in other.channel.history()))


async def test_removing_a_built_in_word_allows_it_in_that_server_only(world, admin, other):
    """/banned remove nude lifts the built-in word here; other servers still refuse it; add restores it."""
    removed = await admin.slash(world.channel, "banned remove", word="nude")
    assert "allowed" in removed.response.content
    await world.alice.slash(world.channel, "imagine", prompt="a nude statue")
    await world.wait_for(lambda m: is_result(m) and "nude statue" in m.content)
    elsewhere = await other.alice.slash(other.channel, "imagine", prompt="a nude statue")
    assert error_title(elsewhere) == "Banned prompt detected"
    await admin.slash(world.channel, "banned add", word="nude")
    again = await world.alice.slash(world.channel, "imagine", prompt="a nude statue")
    assert error_title(again) == "Banned prompt detected"


async def test_banned_list_shows_the_servers_changes_and_the_full_list(world, admin):
    """/banned list: additions, lifted built-ins, and a file with every word in force."""
    await admin.slash(world.channel, "banned add", word="giraffe")
    await admin.slash(world.channel, "banned remove", word="nsfw")
    result = await admin.slash(world.channel, "banned list")
    assert result.ephemeral
    fields = {field.name: field.value for field in result.response.embeds[0].fields}
    assert fields["Added in this server"] == "`giraffe`"
    assert fields["Built-in words allowed in this server"] == "`nsfw`"
    listing = world.env.backend.cdn.get(result.response.attachments[0].url).decode().split("\n")
    assert "giraffe" in listing and "nude" in listing and "nsfw" not in listing


async def test_removing_a_word_that_is_not_banned_is_an_error(world, admin):
    """/banned remove of an unknown word says so and changes nothing."""
    result = await admin.slash(world.channel, "banned remove", word="lighthouse")
    assert error_title(result) == "Invalid parameter"
    assert await world.service.repository.guild_word_changes(world.guild.id) == []


async def test_plain_members_cannot_see_banned_or_limits(world):
    """/banned and /limits are hidden from members without Manage Server."""
    for command in ("banned list", "limits show"):
        with pytest.raises(SetupError, match="default-member-permissions"):
            await world.bob.slash(world.channel, command)


async def test_max_repeat_refuses_more_jobs_naming_repeat_and_the_limit(world, admin):
    """With max_repeat 2, `--repeat 3` is an Invalid parameter naming --repeat and 2; nothing queued."""
    await admin.slash(world.channel, "limits set", max_repeat=2)
    result = await world.alice.slash(world.channel, "imagine", prompt="a cat --repeat 3")
    assert error_title(result) == "Invalid parameter"
    assert "--repeat 3" in result.response.embeds[0].description
    assert "at most 2" in result.response.embeds[0].description
    assert await job_count(world) == 0


async def test_waiting_jobs_over_the_servers_limit_are_queue_full(world, admin):
    """With max_jobs_per_user 1, a member's second waiting job in this server is `Queue full`."""
    await admin.slash(world.channel, "limits set", max_jobs_per_user=1)
    world.engine.gate.clear()
    await world.alice.slash(world.channel, "imagine", prompt="first")
    await world.wait_until(lambda: world.service.running_job_id is not None)
    await world.alice.slash(world.channel, "imagine", prompt="second")
    result = await world.alice.slash(world.channel, "imagine", prompt="third")
    assert error_title(result) == "Queue full"
    assert "limit is 1" in result.response.embeds[0].description
    await world.bob.slash(world.channel, "imagine", prompt="bob's turn")  # his own limit
    statuses = [job.status for job in await world.service.repository.guild_jobs(world.guild.id)]
    assert statuses.count(JobStatus.QUEUED) == 2  # alice's second and bob's
    world.engine.gate.set()


async def test_imagine_outside_the_allowed_channels_names_them(world, admin):
    """Once a channel is allowed, /imagine elsewhere is refused, naming the allowed channel."""
    studio = world.guild.create_text_channel("studio")
    await admin.slash(world.channel, "limits set", allow_channel=studio)
    result = await world.alice.slash(world.channel, "imagine", prompt="a fox")
    assert result.ephemeral
    assert error_title(result) == "Channel not allowed"
    assert f"<#{studio.id}>" in result.response.embeds[0].description
    assert await job_count(world) == 0
    await world.alice.slash(studio, "imagine", prompt="a fox")
    await world.wait_until(lambda: any(is_result(m) for m in studio.history()))
    await admin.slash(world.channel, "limits set", all_channels=True)
    shown = await admin.slash(world.channel, "limits show")
    fields = {field.name: field.value for field in shown.response.embeds[0].fields}
    assert fields["/imagine channels"] == "any channel"
