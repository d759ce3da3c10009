"""Repository: migrations, job rows, settings tables, accounting."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.governance.models import GuildRules, PersonalSettings
from bot.jobs.models import Job, JobImage, JobKind, JobStatus
from bot.prompt import StylePreset
from bot.store.repository import MIGRATIONS_DIR, Repository
from tests.jobs.conftest import make_request


@pytest.fixture
async def repository(tmp_path: Path):
    repository = await Repository.open(tmp_path / "bot.sqlite3", tmp_path / "images")
    yield repository
    await repository.close()


def make_job(job_id: str = "j1", user_id: int = 1, **fields) -> Job:
    return Job(
        id=job_id,
        kind=JobKind.IMAGINE,
        status=JobStatus.QUEUED,
        user_id=user_id,
        guild_id=10,
        channel_id=20,
        prompt="a fox --ar 3:2",
        request=make_request("a fox").to_dict(),
        enqueued_at=fields.pop("enqueued_at", 100.0),
        **fields,
    )


async def test_migrations_apply_once(tmp_path: Path) -> None:
    """Opening a database twice applies each migration once and uses WAL with foreign keys."""
    first = await Repository.open(tmp_path / "db.sqlite3", tmp_path)
    assert await first.migrate() == []
    await first.close()
    again = await Repository.open(tmp_path / "db.sqlite3", tmp_path)
    await again.close()
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        versions = [(int(path.name[:4]),) for path in sorted(MIGRATIONS_DIR.glob("*.sql"))]
        assert db.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall() == versions
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_job_round_trip_and_duplicate_insert(repository: Repository) -> None:
    """A stored job reads back equal; inserting the same id again changes nothing."""
    job = make_job(meta={"label": "x"}, image_urls=["https://example.com/a.png"])
    assert await repository.insert_job(job)
    assert not await repository.insert_job(make_job(mode="strong"))
    assert await repository.get_job("j1") == job
    assert await repository.get_job("missing") is None


async def test_done_job_stores_images_relative_to_the_images_folder(repository: Repository) -> None:
    """Images come back with absolute paths under images_dir and the job's seeds are updated."""
    await repository.insert_job(make_job())
    folder = repository.images_dir / "j1"
    images = [JobImage("j1", n, folder / f"{n}.png", 64, 64, 7 + n) for n in range(2)]
    await repository.mark_done("j1", images, finished_at=200.0, gpu_seconds=1.5)
    assert await repository.get_images("j1") == images
    assert await repository.get_image("j1", 1) == images[1]
    job = await repository.get_job("j1")
    assert (job.status, job.seeds, job.gpu_seconds) == (JobStatus.DONE, [7, 8], 1.5)
    assert await repository.undelivered_jobs() == [job]


async def test_foreign_keys_are_enforced(repository: Repository) -> None:
    """An image of a job that does not exist is refused."""
    with pytest.raises(sqlite3.IntegrityError):
        await repository.mark_done("ghost", [JobImage("ghost", 0, Path("x.png"), 8, 8, 1)], 1.0, 0.0)


async def test_message_lookup(repository: Repository) -> None:
    """A front can find a job from a message it posted, and message ids are kept on the job."""
    await repository.insert_job(make_job())
    await repository.add_job_message("j1", 555, 20, "result")
    await repository.set_message_ids("j1", progress_message_id=444)
    await repository.set_message_ids("j1", result_message_id=555)
    job = await repository.job_for_message(555)
    assert (job.id, job.progress_message_id, job.result_message_id) == ("j1", 444, 555)
    assert await repository.job_for_message(1) is None


async def test_user_settings_defaults_and_updates(repository: Repository) -> None:
    """Unknown users get defaults; updates persist; unknown names are refused."""
    assert await repository.get_user_settings(9) == PersonalSettings(user_id=9)
    updated = await repository.update_user_settings(9, remix=True, stylize=250, speed="relax")
    assert await repository.get_user_settings(9) == updated
    assert (updated.remix, updated.stylize, updated.speed, updated.variation_mode) == (
        True,
        250,
        "relax",
        "strong",
    )
    with pytest.raises(ValueError, match="colour"):
        await repository.update_user_settings(9, colour="red")


async def test_options_presets_guild_settings_and_banned_words(repository: Repository) -> None:
    """The tables later issues use store and return what was put in."""
    await repository.set_user_option(1, "cinematic", "--ar 21:9 --s 400")
    assert await repository.get_user_options(1) == {"cinematic": "--ar 21:9 --s 400"}
    await repository.set_user_option(1, "cinematic", None)
    assert await repository.get_user_options(1) == {}

    preset = StylePreset("noir", "{prompt}, film noir", negative="colour", params="--s 300")
    await repository.set_guild_preset(5, preset)
    assert await repository.get_guild_presets(5) == [preset]
    assert await repository.delete_guild_preset(5, "noir")

    settings = GuildRules(5, default_style="noir", max_jobs_per_user=3, allowed_channels=[1, 2])
    await repository.set_guild_rules(settings)
    assert await repository.get_guild_rules(5) == settings

    await repository.add_banned_word(None, "gore")
    await repository.add_banned_word(5, "spoon")
    await repository.add_banned_word(6, "fork")
    assert [w.word for w in await repository.banned_words(5)] == ["gore", "spoon"]
    assert await repository.remove_banned_word(5, "spoon")
    assert [w.word for w in await repository.banned_words(5)] == ["gore"]


async def test_gpu_usage_today_and_lifetime(repository: Repository) -> None:
    """GPU seconds sum per user, split at 00:00 UTC of today."""
    now = 10 * 86400 + 3600.0  # 01:00 UTC on day 10
    for job_id, finished, seconds in [("old", now - 2 * 3600, 4.0), ("new", now - 600, 1.5)]:
        await repository.insert_job(make_job(job_id))
        await repository.mark_finished_without_images(job_id, JobStatus.FAILED, "x", finished, seconds)
    await repository.insert_job(make_job("waiting"))
    usage = await repository.gpu_usage(1, now=now)
    assert (usage.jobs_today, usage.seconds_today, usage.jobs_total, usage.seconds_total) == (1, 1.5, 2, 5.5)
