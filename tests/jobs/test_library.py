"""The job library both fronts read: favourites toggled once for Discord and the web, a member's
active jobs, messages posted for a job, and what stays off the gallery."""

from __future__ import annotations

import pytest

from bot.errors import InvalidParameter
from bot.jobs.library import JobLibrary
from bot.jobs.service import JobService
from tests.jobs.conftest import imagine, outcome


async def test_favourites_toggle_and_refuse_a_missing_image(service: JobService) -> None:
    """❤️ on, off; an image that is not stored is refused the same way on both fronts."""
    library = JobLibrary(service.repository)
    job = await service.submit(imagine(user_id=1))
    await outcome(service, job.id)
    assert await library.toggle_favourite(1, job.id, 2) is True
    assert await library.favourite_indexes(1, job.id) == {1}
    assert [(found.id, index) for found, index in await library.favourites(1)] == [(job.id, 1)]
    assert await library.toggle_favourite(1, job.id, 2) is False
    with pytest.raises(InvalidParameter, match="no longer stored"):
        await library.toggle_favourite(1, job.id, 9)


async def test_jobs_images_messages_and_stealth(service: JobService) -> None:
    """A finished job's images, the member's ids, a posted message found again, stealth hides it."""
    library = JobLibrary(service.repository)
    job = await service.submit(imagine(user_id=2, guild_id=5))
    await outcome(service, job.id)
    assert len(await library.images(job.id)) == 4
    assert (await library.image(job.id, 0)).index == 0
    assert await library.member_job_ids(2) == [job.id]
    assert await library.active_jobs(2) == []
    assert [found.id for found in await library.archive(2)] == [job.id]
    assert [found.id for found in await library.gallery(5)] == [job.id]
    await library.record_message(job.id, 999, 7, "show")
    assert (await service.repository.job_for_message(999)).id == job.id
    stored = await library.job(job.id)
    assert await library.is_hidden(stored) is False
    await service.repository.set_stealth(2, True)
    assert await library.is_hidden(stored) is True
    assert await library.gallery(5) == []
