"""A full disk: a finished job waits (its owner told) and is saved once there is room, new
requests hear "the bot's disk is full", and no half-written file is left behind."""

from __future__ import annotations

import asyncio
import errno
import sqlite3

import pytest

from bot.errors import DiskFull
from bot.jobs import files
from bot.jobs.disk import DISK_FULL_NOTICE, remove_temporaries
from bot.jobs.events import Finished, Stalled
from bot.jobs.service import JobService
from tests.jobs.conftest import FakeEngine, imagine, wait_until


class FullDisk:
    """Patches the PNG writer's fsync: ENOSPC while `full` (after the temp file was created)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.full = True
        self.refused = 0
        real = files.os.fsync

        def fsync(fd: int) -> None:
            if self.full:
                self.refused += 1
                raise OSError(errno.ENOSPC, "No space left on device")
            real(fd)

        monkeypatch.setattr(files.os, "fsync", fsync)


@pytest.fixture
async def service(services) -> JobService:
    return await services(delivery_retry_delay=0.01, disk_retry_delay=0.05)


async def test_a_job_finished_on_a_full_disk_waits_tells_and_is_saved_later(
    service: JobService, fake_engine: FakeEngine, monkeypatch
) -> None:
    """ENOSPC while saving: Stalled (told), new jobs refused, then Finished when space returns."""
    disk = FullDisk(monkeypatch)
    job = await service.submit(imagine(1, "a red fox"))
    events = []

    async def follow() -> None:
        async for event in service.subscribe(job.id):
            events.append(event)

    follower = asyncio.create_task(follow())
    await wait_until(lambda: any(isinstance(event, Stalled) for event in events))
    assert next(event.message for event in events if isinstance(event, Stalled)) == DISK_FULL_NOTICE
    with pytest.raises(DiskFull, match="disk is full"):
        await service.submit(imagine(2, "a blue fox"))
    folder = service.job_folder(job.id)
    assert not [path for path in folder.iterdir() if path.name.endswith(".tmp")]
    disk.full = False
    await asyncio.wait_for(follower, 10)
    assert isinstance(events[-1], Finished)
    assert len(await service.repository.get_images(job.id)) == 4
    assert not service.disk_full
    await service.submit(imagine(2, "a blue fox"))  # room again: accepted


async def test_mark_done_failing_on_a_full_database_is_retried(service: JobService, monkeypatch) -> None:
    """The pictures were written but the database was full: the job does not freeze."""
    real = service.repository.mark_done
    failures = []

    async def full_once(*args, **kwargs):
        if not failures:
            failures.append(1)
            raise sqlite3.OperationalError("database or disk is full")
        return await real(*args, **kwargs)

    monkeypatch.setattr(service.repository, "mark_done", full_once)
    job = await service.submit(imagine(1, "a red fox"))
    events = [event async for event in service.subscribe(job.id)]
    assert isinstance(events[-1], Finished)
    assert failures == [1]


async def test_new_jobs_on_a_full_disk_hear_so(service: JobService, monkeypatch) -> None:
    """Storing a new job fails for lack of space: `Disk full`, not "Something went wrong"."""

    async def full(*_args, **_kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(service.repository, "insert_job", full)
    with pytest.raises(DiskFull, match="disk is full"):
        await service.submit(imagine(1, "a red fox"))


def test_half_written_files_are_removed_at_start(tmp_path) -> None:
    """`.<name>.tmp` files in job folders go; pictures stay."""
    folder = tmp_path / "images" / "job1"
    folder.mkdir(parents=True)
    (folder / ".0.png.tmp").write_bytes(b"half")
    (folder / "0.png").write_bytes(b"whole")
    assert remove_temporaries(tmp_path / "images") == 1
    assert [path.name for path in folder.iterdir()] == ["0.png"]
