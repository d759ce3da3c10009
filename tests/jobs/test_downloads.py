"""Image links in prompts: fetched over http(s) from a local server, with limits."""

from __future__ import annotations

import io

import pytest
from aiohttp import web
from PIL import Image

from bot.errors import InvalidLink
from bot.jobs.downloads import INVALID_LINK_TEXT, fetch_image
from bot.jobs.events import Finished
from bot.jobs.service import JobService
from tests.jobs.conftest import FakeEngine, imagine, make_settings, outcome


@pytest.fixture
def settings(tmp_path):
    """The test image server is on 127.0.0.1: allow private links."""
    return make_settings(tmp_path / "data", ALLOW_PRIVATE_LINKS="1")


def png(colour: tuple[int, int, int], size: int = 32) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
async def image_server():
    """http://127.0.0.1:<port>/ with /cat.png, /big.png, /text and 404 elsewhere."""

    async def cat(request: web.Request) -> web.Response:
        return web.Response(body=png((200, 10, 10)), content_type="image/png")

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=png((1, 2, 3), size=512) + b"\0" * 200_000, content_type="image/png")

    async def text(request: web.Request) -> web.Response:
        return web.Response(text="not a picture")

    app = web.Application()
    app.add_routes([web.get("/cat.png", cat), web.get("/big.png", big), web.get("/text", text)])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_imagine_with_a_link_starts_from_that_image(
    service: JobService, fake_engine: FakeEngine, image_server: str
) -> None:
    """A prompt with an image link runs img2img from the downloaded picture."""
    job = await service.submit(imagine(1, "a cat", image_urls=[f"{image_server}/cat.png"]))
    assert isinstance(await outcome(service, job.id), Finished)
    call = fake_engine.calls[-1]
    assert call.operation == "img2img"
    assert call.image.getpixel((0, 0)) == (200, 10, 10)


@pytest.mark.parametrize("path", ["/missing.png", "/text", "/big.png"])
async def test_bad_links_are_refused(image_server: str, path: str) -> None:
    """Missing, non-image and oversized downloads raise the same neutral InvalidLink."""
    with pytest.raises(InvalidLink) as caught:
        await fetch_image(image_server + path, max_bytes=100_000, allow_private=True)
    assert caught.value.message == INVALID_LINK_TEXT


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/a.png", "file:///etc/passwd", "http://"])
async def test_only_http_links_are_fetched(url: str) -> None:
    """Other schemes are refused before any connection is made."""
    with pytest.raises(InvalidLink) as caught:
        await fetch_image(url, allow_private=True)
    assert caught.value.message == INVALID_LINK_TEXT


async def test_a_bad_link_refuses_the_submission(service: JobService, image_server: str) -> None:
    """A job whose link cannot be fetched is not queued."""
    with pytest.raises(InvalidLink):
        await service.submit(imagine(1, "a cat", image_urls=[f"{image_server}/missing.png"]))
    assert service.waiting_count == 0
