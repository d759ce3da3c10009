"""Repository, web app records: favourites, archive filters, galleries without stealth jobs,
sessions that expire, single-use nonces, and /forget-me taking all of it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.jobs.models import JobStatus, WebSession
from bot.store.repository import Repository
from tests.store.test_repository import make_job as _make_job


def make_job(job_id: str, *, user_id: int = 1, **fields):
    """A stored job of server 10; any field may be changed."""
    return dataclasses.replace(_make_job(job_id, user_id=user_id), **fields)


@pytest.fixture
async def repository(tmp_path: Path):
    repository = await Repository.open(tmp_path / "bot.sqlite3", tmp_path / "images")
    yield repository
    await repository.close()


async def test_archive_filters_and_favourites(repository):
    """Newest first; text (with % and _ taken literally), favourites only, server; favourites list."""
    await repository.insert_job(make_job("a", prompt="a red fox", enqueued_at=1.0))
    await repository.insert_job(make_job("b", prompt="100% blue_bird", enqueued_at=2.0, guild_id=11))
    await repository.insert_job(make_job("c", user_id=2, prompt="a red fox", enqueued_at=3.0))
    assert [job.id for job in await repository.archive(1)] == ["b", "a"]
    assert [job.id for job in await repository.archive(1, text="red")] == ["a"]
    assert [job.id for job in await repository.archive(1, text="0%")] == ["b"]
    assert [job.id for job in await repository.archive(1, text="e_b")] == ["b"]
    assert await repository.archive(1, text="x%") == []
    assert [job.id for job in await repository.archive(1, guild_id=11)] == ["b"]
    assert await repository.toggle_favourite(1, "a", 2, now=5.0) is True
    assert [job.id for job in await repository.archive(1, favourites_only=True)] == ["a"]
    assert [(job.id, index) for job, index in await repository.favourites(1)] == [("a", 2)]
    assert await repository.toggle_favourite(1, "a", 2) is False
    assert await repository.favourites(1) == []


async def test_gallery_leaves_out_stealth_jobs(repository):
    """A server's gallery: done jobs only, never ones made in stealth, none of a member in stealth now."""
    await repository.insert_job(make_job("open", status=JobStatus.DONE, finished_at=1.0))
    await repository.insert_job(
        make_job("hidden", status=JobStatus.DONE, finished_at=2.0, meta={"stealth": True})
    )
    await repository.insert_job(make_job("waiting"))
    await repository.insert_job(make_job("bobs", user_id=2, status=JobStatus.DONE, finished_at=3.0))
    assert [job.id for job in await repository.gallery(10)] == ["bobs", "open"]
    await repository.set_stealth(2, True)
    assert [job.id for job in await repository.gallery(10)] == ["open"]
    await repository.set_stealth(2, False)
    assert [job.id for job in await repository.gallery(10)] == ["bobs", "open"]


async def test_sessions_expire_and_nonces_work_once(repository):
    """A session is found until it expires; a nonce is accepted once."""
    session = WebSession("s1", 1, "alice", [{"id": "10", "name": "club"}], "token", 100.0, 200.0)
    await repository.create_web_session(session)
    assert await repository.get_web_session("s1", now=150.0) == session
    assert await repository.get_web_session("s1", now=200.0) is None
    assert await repository.use_web_nonce("n1", 1, expires_at=500.0, now=100.0) is True
    assert await repository.web_nonce_used("n1")
    assert await repository.use_web_nonce("n1", 1, expires_at=500.0, now=101.0) is False


async def test_forget_me_takes_the_web_records_too(repository):
    """Erasing a member removes their favourites, stealth flag and sessions."""
    await repository.insert_job(make_job("a"))
    await repository.toggle_favourite(1, "a", 0)
    await repository.set_stealth(1, True)
    await repository.create_web_session(WebSession("s1", 1, "alice", [], "t", 1.0, 2e10))
    await repository.erase_rows("user_id", 1)
    assert await repository.favourites(1) == []
    assert not await repository.is_stealth(1)
    assert await repository.get_web_session("s1") is None
