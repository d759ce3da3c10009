"""Links to the web app's own pictures in prompts (`--sref <web app>/images/<job>/<n>.png`) are
read from the store, not downloaded, and only for members who may see that job."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PIL import Image

from bot.engine.interface import Operation
from bot.engine.references import ReferenceKind
from bot.errors import InvalidLink
from bot.jobs.events import Finished
from tests.jobs.conftest import imagine, make_request, outcome
from tests.jobs.test_image_jobs import RecordingEngine

SERVER = 900


@pytest.fixture
def fake_engine() -> RecordingEngine:
    return RecordingEngine()


def style_job(user_id: int, url: str, guild_id: int | None = SERVER):
    refs = [{"kind": "style", "url": url, "scale": 0.8}]
    request = dataclasses.replace(make_request("a knight"), extra={"references": refs})
    return imagine(user_id, "a knight", request=request, guild_id=guild_id)


async def made(service, user_id: int = 1, **fields):
    job = await service.submit(imagine(user_id, "a red fox", guild_id=SERVER, **fields))
    assert isinstance(await outcome(service, job.id), Finished)
    return job


async def test_an_own_link_is_read_from_the_store_for_its_owner(service, fake_engine) -> None:
    """The web app's address by the settings (WEB_HOST:WEB_PORT, any loopback name) and the one
    the running web server registers: the stored picture reaches the engine, nothing downloaded."""
    source = await made(service)
    with Image.open((await service.repository.get_image(source.id, 0)).path) as stored:
        picture = np.asarray(stored.convert("RGB"))
    service.intake.own_images.add_origin("http://127.0.0.1:5555")
    for base in ("http://127.0.0.1:8080", "http://localhost:8080", "http://127.0.0.1:5555"):
        job = await service.submit(style_job(1, f"{base}/images/{source.id}/0.png", guild_id=None))
        assert isinstance(await outcome(service, job.id), Finished)
        operation, inputs = fake_engine.inputs[-1]
        assert operation is Operation.REFERENCE
        (reference,) = inputs.references
        assert reference.kind is ReferenceKind.STYLE
        assert np.array_equal(np.asarray(reference.image), picture)
    assert service.image_links.downloads == 0


async def test_others_see_an_own_link_only_in_its_server_and_not_stealth(service) -> None:
    """Bob may use Alice's picture in her job's server; not from elsewhere, not a stealth job's,
    not a missing image, and not through another address (that one is downloaded: refused)."""
    shared = await made(service)
    secret = await made(service, meta={"stealth": True})
    link = f"http://127.0.0.1:8080/images/{shared.id}/0.png"
    job = await service.submit(style_job(2, link))
    assert isinstance(await outcome(service, job.id), Finished)
    refused = [
        style_job(2, link, guild_id=None),
        style_job(2, link, guild_id=901),
        style_job(2, f"http://127.0.0.1:8080/images/{secret.id}/0.png"),
        style_job(1, f"http://127.0.0.1:8080/images/{shared.id}/7.png"),
    ]
    for new in refused:
        with pytest.raises(InvalidLink):
            await service.submit(new)
    assert service.image_links.downloads == 0
    with pytest.raises(InvalidLink):  # not our address: a download, refused as a private address
        await service.submit(style_job(1, f"http://127.0.0.1:9/images/{shared.id}/0.png"))
    assert service.image_links.downloads == 1


def test_which_links_are_ours(tmp_path) -> None:
    """PUBLIC_URL's address (default port spelled or not) and WEB_HOST:WEB_PORT; one image of a
    job, not a grid, not another path, not another host or scheme."""
    from bot.jobs.own_images import OwnImages
    from tests.jobs.conftest import make_settings

    settings = make_settings(tmp_path, PUBLIC_URL="https://mj.example.org", WEB_PORT="8081")
    own = OwnImages(lambda: settings, repository=None)  # type: ignore[arg-type]
    job = "0b7c2b8e-1111-4222-8333-123456789abc"
    assert own.target(f"https://mj.example.org/images/{job}/3.png") == (job, 3)
    assert own.target(f"https://MJ.example.org:443/images/{job}/0.png") == (job, 0)
    assert own.target(f"http://localhost:8081/images/{job}/1.png") == (job, 1)
    for other in (
        f"https://mj.example.org/images/{job}/grid.png",
        f"https://mj.example.org/jobs/{job}",
        f"http://mj.example.org/images/{job}/0.png",
        f"https://evil.example.org/images/{job}/0.png",
        f"http://127.0.0.1:8080/images/{job}/0.png",
        "not a link",
    ):
        assert own.target(other) is None, other


async def test_a_flagged_picture_is_nobody_elses_reference_under_block(service) -> None:
    """NSFW_FILTER=block serves a flagged picture blanked to everyone but its owner, so only the
    owner may use it as a reference; under spoiler (a click reveals it) others may."""
    flagged = await made(service)
    await service.repository.set_meta(flagged.id, {**flagged.meta, "nsfw": [True, False, False, False]})
    link = f"http://127.0.0.1:8080/images/{flagged.id}/0.png"
    service.settings = dataclasses.replace(service.settings, nsfw_filter="block")
    with pytest.raises(InvalidLink):
        await service.submit(style_job(2, link))
    for user_id, url in ((1, link), (2, link.replace("/0.png", "/1.png"))):
        assert isinstance(
            await outcome(service, (await service.submit(style_job(user_id, url))).id), Finished
        )
    unchecked = await made(service)  # no verdicts stored: NSFW_NO_VERDICT decides, as on the web
    unchecked_link = f"http://127.0.0.1:8080/images/{unchecked.id}/0.png"
    with pytest.raises(InvalidLink):
        await service.submit(style_job(2, unchecked_link))
    service.settings = dataclasses.replace(service.settings, nsfw_no_verdict="show")
    assert isinstance(
        await outcome(service, (await service.submit(style_job(2, unchecked_link))).id), Finished
    )
    service.settings = dataclasses.replace(service.settings, nsfw_filter="spoiler")
    assert isinstance(await outcome(service, (await service.submit(style_job(2, link))).id), Finished)
