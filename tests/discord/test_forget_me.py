"""/forget-me through simcord: it asks first, cancels the user's waiting and running jobs, and
leaves no row (in any table with a user_id) and no image file of that user, and nobody else's
data is touched."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.governance.models import PersonalSettings
from bot.jobs.models import JobStatus
from tests.discord.helpers import is_result


def rows_per_user(database: Path, user_id: int) -> dict[str, int]:
    """Rows with this user_id in every table that has such a column (tables added later included)."""
    with sqlite3.connect(database) as db:
        tables = [
            row[0]
            for row in db.execute(
                "SELECT m.name FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS c"
                " WHERE m.type = 'table' AND c.name = 'user_id'"
            )
        ]
        return {
            table: db.execute(f'SELECT COUNT(*) FROM "{table}" WHERE user_id = ?', (user_id,)).fetchone()[0]
            for table in tables
        }


def image_rows(database: Path, job_ids: list[str]) -> int:
    with sqlite3.connect(database) as db:
        marks = ", ".join("?" for _ in job_ids)
        return db.execute(f"SELECT COUNT(*) FROM images WHERE job_id IN ({marks})", job_ids).fetchone()[0]


def files_under(folder: Path) -> set[str]:
    return {path.relative_to(folder).parts[0] for path in folder.rglob("*") if path.is_file()}


async def test_keep_my_data_deletes_nothing(world):
    """The question names what would go; "Keep my data" leaves everything as it was."""
    await world.service.repository.set_user_option(world.alice.id, "wide", "--ar 2:1")
    asked = await world.alice.slash(world.channel, "forget-me")
    assert asked.ephemeral
    assert "1 option" in asked.response.content and "0 jobs" in asked.response.content
    kept = await world.alice.click(asked.response, label="Keep my data")
    assert kept.response.content == "Nothing was deleted."
    assert await world.service.repository.get_user_options(world.alice.id) == {"wide": "--ar 2:1"}


async def test_forget_me_leaves_no_rows_or_files_of_the_user(world):
    """After confirming: alice's settings, options, jobs, image rows and files are gone, her running
    and waiting jobs were cancelled first; bob's settings and his variation of her grid remain."""
    repository = world.service.repository
    database = world.settings.database_path
    await repository.set_user_settings(PersonalSettings(world.alice.id, stylize=750, suffix="oil painting"))
    await repository.set_user_option(world.alice.id, "wide", "--ar 2:1")
    await repository.set_user_settings(PersonalSettings(world.bob.id, speed="relax"))
    await repository.set_user_option(world.bob.id, "tall", "--ar 1:2")
    # A finished grid of alice's, and bob's variation of it.
    await world.alice.slash(world.channel, "imagine", prompt="a red fox")
    grid = await world.wait_for(is_result)
    await world.bob.click(grid, label="V1")
    variation = await world.wait_for(
        lambda m: "Variations" in m.content and bool(m.attachments), after=grid.id
    )
    bobs_job = await world.job_of(variation)
    # One job of alice's runs (held before its first step), another waits.
    world.engine.gate.clear()
    await world.alice.slash(world.channel, "imagine", prompt="a slow snail")
    await world.wait_until(lambda: world.service.running_job_id is not None)
    await world.alice.slash(world.channel, "imagine", prompt="a waiting heron")
    alices_jobs = await repository.user_job_ids(world.alice.id)
    assert len(alices_jobs) == 3

    asked = await world.alice.slash(world.channel, "forget-me")
    assert "3 jobs" in asked.response.content and "2 waiting or running jobs" in asked.response.content
    confirmed = await world.alice.click(asked.response, label="Delete my data")
    world.engine.gate.set()
    await world.wait_until(lambda: confirmed.response.content.startswith("Done."))
    assert "Deleted 3 jobs (2 jobs cancelled), 4 images" in confirmed.response.content

    assert set(rows_per_user(database, world.alice.id).values()) == {0}
    assert image_rows(database, alices_jobs) == 0
    assert files_under(world.settings.images_dir) == {bobs_job.id}
    assert [
        m.content.endswith("(Cancelled)")
        for m in world.messages()
        if "snail" in m.content or "heron" in m.content
    ] == [True, True]
    assert await repository.get_user_settings(world.bob.id) == PersonalSettings(world.bob.id, speed="relax")
    assert await repository.get_user_options(world.bob.id) == {"tall": "--ar 1:2"}
    kept = await repository.get_job(bobs_job.id)
    assert kept is not None and kept.status is JobStatus.DONE and kept.parent_id is None
    assert len(await repository.get_images(bobs_job.id)) == 4
    # Her settings are the defaults again: a new /imagine reads no stylize 750 and no suffix.
    context = await world.env.bot.admission.prompt_context(world.alice.id, world.guild.id)
    assert (context.user_defaults, context.suffix, context.options) == ("", "", {})


async def test_an_erase_finished_after_a_restart_is_told_to_the_member(world):
    """/forget-me interrupted by a stop is finished at start, and the member gets a DM saying so."""
    from tests.discord.helpers import is_result

    await world.alice.slash(world.channel, "imagine", prompt="a red fox")
    await world.wait_for(is_result)
    await world.service.repository.record_erasure(
        "user_id", world.alice.id, requested_by=world.alice.id, channel_id=world.channel.id
    )
    await world.env.bot._resume_erasures()  # what the bot does at start (manage_jobs=True)
    assert await world.service.repository.pending_erasures() == []
    (notice,) = world.alice.user.dm_channel.history()
    assert "now finished" in notice.content and "1 jobs" in notice.content


async def test_a_stop_as_deleting_your_data_is_shown_still_erases(world, monkeypatch):
    """Killed while "Deleting your data…" is being shown: the intent was recorded first, so the
    next start erases alice's data and tells her."""
    import asyncio

    import discord

    await world.alice.slash(world.channel, "imagine", prompt="a red fox")
    await world.wait_for(is_result)
    asked = await world.alice.slash(world.channel, "forget-me")

    async def killed(*args, **kwargs):
        raise asyncio.CancelledError

    with monkeypatch.context() as patch:
        patch.setattr(discord.InteractionResponse, "edit_message", killed)
        await world.alice.click(asked.response, label="Delete my data")
    assert [e.subject_id for e in await world.service.repository.pending_erasures()] == [world.alice.id]
    await world.env.bot._resume_erasures()  # what the next start does (manage_jobs=True)
    assert sum(rows_per_user(world.settings.database_path, world.alice.id).values()) == 0
    (notice,) = world.alice.user.dm_channel.history()
    assert "now finished" in notice.content
