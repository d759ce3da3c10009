"""The one erase routine without Discord: rows found by column, jobs stopped before anything is
deleted (nothing deleted if a job will not stop), and an interrupted erase finished on restart."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from bot.governance.models import PersonalSettings
from bot.governance.privacy import StillRunning, Subject, erase, remove_folders, resume_erasures
from bot.jobs.models import JobStatus
from bot.jobs.service import JobService
from bot.store.repository import Repository
from tests.jobs.conftest import FakeEngine, imagine, outcome, wait_until

ALICE, BOB = 1, 2


async def test_delete_user_data_covers_tables_added_later(service: JobService) -> None:
    """A table a later migration adds with a user_id column is swept too; a banned word the user
    added stays for the server without their id; bob's rows stay."""
    repository = service.repository
    await repository._db.execute("CREATE TABLE later_feature (user_id INTEGER, note TEXT)")
    await repository._db.executemany("INSERT INTO later_feature VALUES (?, 'x')", [(ALICE,), (BOB,)])
    await repository._db.commit()
    for user in (ALICE, BOB):
        await repository.set_user_settings(PersonalSettings(user, stylize=50))
        await repository.set_user_option(user, "wide", "--ar 2:1")
    await repository.add_banned_word(10, "okapi", added_by=ALICE)
    deleted = await repository.erase_rows("user_id", ALICE)
    assert {table: rows for table, rows in deleted.items() if rows} == {
        "later_feature": 1,
        "user_options": 1,
        "user_settings": 1,
    }
    with sqlite3.connect(service.settings.database_path) as db:
        assert db.execute("SELECT user_id FROM later_feature").fetchall() == [(BOB,)]
        assert db.execute("SELECT word, added_by FROM banned_words").fetchall() == [("okapi", None)]
    assert await repository.get_user_options(BOB) == {"wide": "--ar 2:1"}
    assert (await repository.get_user_settings(BOB)).stylize == 50


async def test_forget_user_cancels_running_and_waiting_jobs_first(
    service: JobService, fake_engine: FakeEngine
) -> None:
    """Alice's running and waiting jobs end as cancelled and delivered before rows and files go."""
    delivered: list[tuple[str, JobStatus]] = []

    async def record(job, _images) -> None:
        delivered.append((job.id, job.status))

    service.add_delivery_handler(record)
    done = await service.submit(imagine(ALICE, "a finished fox"))
    await outcome(service, done.id)
    assert service.job_folder(done.id).is_dir()
    fake_engine.hold = True
    running = await service.submit(imagine(ALICE, "a running fox"))
    await asyncio.to_thread(fake_engine.holding.wait, 5)
    waiting = await service.submit(imagine(ALICE, "a waiting fox"))
    bobs = await service.submit(imagine(BOB, "bob's fox"))
    forgetting = asyncio.create_task(erase(service, Subject.MEMBER, ALICE))
    await wait_until(lambda: (waiting.id, JobStatus.CANCELLED) in delivered)
    fake_engine.release.set()
    report = await forgetting
    assert (report.cancelled, report.jobs, report.images, report.folders) == (2, 3, 4, 1)
    assert {(running.id, JobStatus.CANCELLED), (waiting.id, JobStatus.CANCELLED)} <= set(delivered)
    assert await service.repository.user_job_ids(ALICE) == []
    assert not service.job_folder(done.id).exists()
    assert (await outcome(service, bobs.id)).job.status is JobStatus.DONE


async def test_a_job_that_will_not_stop_means_nothing_is_deleted(
    service: JobService, fake_engine: FakeEngine
) -> None:
    """If the running job does not stop in time the user is asked to retry, and all data stays."""
    await service.repository.set_user_option(ALICE, "wide", "--ar 2:1")
    fake_engine.hold = True
    running = await service.submit(imagine(ALICE, "a stuck fox"))
    await asyncio.to_thread(fake_engine.holding.wait, 5)
    with pytest.raises(StillRunning):
        await erase(service, Subject.MEMBER, ALICE, within=0.1)
    assert await service.repository.user_job_ids(ALICE) == [running.id]
    assert await service.repository.get_user_options(ALICE) == {"wide": "--ar 2:1"}
    fake_engine.release.set()
    await erase(service, Subject.MEMBER, ALICE)
    assert await service.repository.user_job_ids(ALICE) == []


async def test_read_only_repository_reads_and_cannot_write(service: JobService) -> None:
    """`open_read_only` sees the rows and refuses writes (the parse CLI never changes the database)."""
    await service.repository.set_user_settings(PersonalSettings(ALICE, stylize=750))
    reader = await Repository.open_read_only(service.settings.database_path, service.settings.images_dir)
    try:
        assert (await reader.get_user_settings(ALICE)).stylize == 750
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await reader.set_user_option(ALICE, "wide", "--ar 2:1")
    finally:
        await reader.close()


async def test_purging_a_server_empties_a_table_added_later_with_a_guild_id(service: JobService) -> None:
    """A later table with a guild_id column loses this server's rows, keeps the other server's;
    the server's jobs and image folders are gone, another server's job stays."""
    repository = service.repository
    await repository._db.execute("CREATE TABLE later_guild_feature (guild_id INTEGER, note TEXT)")
    await repository._db.executemany("INSERT INTO later_guild_feature VALUES (?, 'x')", [(10,), (20,)])
    await repository._db.commit()
    ours = await service.submit(imagine(ALICE, "ours", guild_id=10))
    theirs = await service.submit(imagine(ALICE, "theirs", guild_id=20))
    for job in (ours, theirs):
        await outcome(service, job.id)
    assert service.job_folder(ours.id).is_dir()
    report = await erase(service, Subject.SERVER, 10)
    assert report.jobs == 1 and report.folders == 1
    with sqlite3.connect(service.settings.database_path) as db:
        assert db.execute("SELECT guild_id FROM later_guild_feature").fetchall() == [(20,)]
        assert db.execute("SELECT COUNT(*) FROM erasures").fetchone() == (0,)
    assert await repository.get_job(ours.id) is None
    assert not service.job_folder(ours.id).exists()
    assert await repository.get_job(theirs.id) is not None


async def test_an_erase_interrupted_after_the_files_is_finished_on_restart(service: JobService) -> None:
    """The intent is recorded first: a stop after the files went (rows still there) is finished by
    `resume_erasures`, leaving no row that names a missing file."""
    repository = service.repository
    job = await service.submit(imagine(ALICE, "a fox"))
    await outcome(service, job.id)
    await repository.record_erasure("user_id", ALICE, requested_by=ALICE, channel_id=None)
    remove_folders([service.job_folder(job.id)])  # the crash came right after step 3
    assert await repository.get_images(job.id)  # rows now name missing files
    finished = await resume_erasures(service)
    assert [(pending.subject, pending.subject_id) for pending, _ in finished] == [("user_id", ALICE)]
    assert await repository.get_job(job.id) is None
    assert await repository.get_images(job.id) == []
    assert await repository.pending_erasures() == []
