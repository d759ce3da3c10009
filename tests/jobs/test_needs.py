"""/describe without its models never holds the GPU queue (issue 19, item 7): what it needs is
checked before it is queued, a failed download is remembered, members never read exception text."""

from __future__ import annotations

import dataclasses

import pytest

from bot.engine.describe import DescribeModels, Describer
from bot.errors import JobFailed
from bot.jobs.events import Finished
from bot.jobs.image_jobs import describe_request
from bot.jobs.models import JobKind, NewJob
from bot.jobs.needs import ModelNeeds, NotSetUp
from tests.jobs.conftest import ServiceFactory, imagine, make_settings, outcome


def describe_job() -> NewJob:
    return NewJob(kind=JobKind.DESCRIBE, user_id=1, request=describe_request(0), image_urls=[])


async def _service(tmp_path, fake_engine, download, **env):
    factory = ServiceFactory(make_settings(tmp_path / "data", **env), fake_engine)
    service = await factory()
    service.intake.needs = ModelNeeds(lambda: service.settings, download=download)
    return factory, service


async def test_a_describe_whose_models_cannot_be_downloaded_is_refused_before_the_queue(
    tmp_path, fake_engine
) -> None:
    """No hub: the describe is refused at once with the setting's name (the download's error text
    only in the log), tried once, never queued; an /imagine runs meanwhile."""
    downloads: list[str] = []

    def offline(name: str) -> None:
        downloads.append(name)
        raise OSError("We couldn't connect to 'https://huggingface.co' to load the files")

    factory, service = await _service(
        tmp_path, fake_engine, offline, DESCRIBE_MODEL="some-org/not-downloaded", DESCRIBE_CLIP="tiny"
    )
    try:
        for _ in range(2):
            with pytest.raises(NotSetUp) as refused:
                await service.submit(describe_job())
            assert refused.value.message.startswith(
                "Describe is not set up on this bot: DESCRIBE_MODEL `some-org/not-downloaded`"
            )
            assert "huggingface.co" not in refused.value.message
        assert downloads == ["some-org/not-downloaded"]  # remembered: not tried again
        assert sum((await service.repository.count_jobs()).values()) == 0
        job = await service.submit(imagine(2, "a red fox"))
        assert isinstance(await outcome(service, job.id), Finished)
    finally:
        await factory.close_all()


async def test_describe_is_refused_when_it_is_turned_off(tmp_path, fake_engine) -> None:
    """DESCRIBE_MODEL empty: "Describe is not set up on this bot: DESCRIBE_MODEL is empty"."""
    factory, service = await _service(tmp_path, fake_engine, lambda name: None)
    service.settings = dataclasses.replace(service.settings, describe_model="")
    try:
        with pytest.raises(NotSetUp, match="Describe is not set up on this bot: DESCRIBE_MODEL is empty"):
            await service.submit(describe_job())
    finally:
        await factory.close_all()


async def test_models_on_this_machine_need_no_download(tmp_path, fake_engine) -> None:
    """A folder and the tiny models are present: the describe is queued, nothing downloaded."""
    folder = tmp_path / "captioner"
    folder.mkdir()

    def never(name: str) -> None:
        raise AssertionError(f"downloaded {name}")

    factory, service = await _service(
        tmp_path, fake_engine, never, DESCRIBE_MODEL=str(folder), DESCRIBE_CLIP="tiny"
    )
    try:
        await service.intake.needs.check(JobKind.DESCRIBE)  # no NotSetUp, no download
    finally:
        await factory.close_all()


def test_a_failed_load_is_remembered_and_its_text_not_shown(tmp_path, monkeypatch) -> None:
    """The worker's load fails once: the member reads the settings, not the exception, and the
    next describe fails at once without loading again."""
    import transformers

    calls: list[str] = []

    def unreachable(name, *args, **kwargs):
        calls.append(name)
        raise OSError("Max retries exceeded with url: /api/models (Caused by NameResolutionError)")

    monkeypatch.setattr(transformers.AutoProcessor, "from_pretrained", unreachable)
    describer = Describer(DescribeModels(captioner="org/captioner", clip="org/clip"), "cpu")
    for _ in range(2):
        with pytest.raises(JobFailed) as failed:
            describer.describe(None, 0)  # type: ignore[arg-type]
        assert "DESCRIBE_MODEL `org/captioner`" in failed.value.message
        assert "Max retries" not in failed.value.message and "OSError" not in failed.value.message
    assert calls == ["org/captioner"]


async def test_an_instruct_model_that_cannot_be_downloaded_refuses_edits_before_the_queue(
    tmp_path, fake_engine
) -> None:
    """INSTRUCT_MODEL a repo not on this machine and no hub: an Edit is refused at once naming the
    setting (tried once, remembered), nothing queued; with INSTRUCT_MODEL empty (LEDITS++) nothing
    is fetched."""
    downloads: list[str] = []

    def offline(name: str) -> None:
        downloads.append(name)
        raise OSError("We couldn't connect to 'https://huggingface.co' to load the files")

    factory, service = await _service(
        tmp_path, fake_engine, offline, INSTRUCT_MODEL="some-org/pix2pix-elsewhere"
    )
    edit = NewJob(kind=JobKind.INSTRUCT, user_id=1, parent_id="no-such-job", parent_index=0)
    try:
        for _ in range(2):
            with pytest.raises(NotSetUp) as refused:
                await service.submit(edit)
            assert refused.value.message.startswith(
                "Edit is not set up on this bot: INSTRUCT_MODEL `some-org/pix2pix-elsewhere`"
            )
            assert "huggingface.co" not in refused.value.message
        assert downloads == ["some-org/pix2pix-elsewhere"]
        assert sum((await service.repository.count_jobs()).values()) == 0
        service.settings = dataclasses.replace(service.settings, instruct_model="")
        await service.intake.needs.check(JobKind.INSTRUCT)  # LEDITS++: nothing to fetch
        assert downloads == ["some-org/pix2pix-elsewhere"]
    finally:
        await factory.close_all()
