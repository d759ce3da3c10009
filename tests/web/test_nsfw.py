"""NSFW_FILTER on the web, from the verdicts the GPU worker stored: flagged pictures are blurred
(spoiler, the original on a deliberate click) or blanked (block, never the original)."""

from __future__ import annotations

import io

import aiohttp
import pytest
from PIL import Image

from bot.governance.nsfw import PLACEHOLDER_GREY
from tests.jobs.conftest import FakeEngine
from tests.tiny_checker import FakeChecker
from tests.web.test_http import client, finished, imagine

pytestmark = pytest.mark.timeout(120)


class StripedEngine(FakeEngine):
    """The fake engine with black and white stripes instead of flat colour (a blur shows)."""

    def generate(self, *args, **kwargs):
        result = super().generate(*args, **kwargs)
        for image in result.images:
            for x in range(0, image.width, 2):
                image.paste((255, 255, 255), (x, 0, x + 1, image.height))
                image.paste((0, 0, 0), (x + 1, 0, x + 2, image.height))
        return result


def contrast(image: Image.Image) -> int:
    row = [image.getpixel((x, image.height // 2))[0] for x in range(8, image.width - 8)]
    return max(row) - min(row)


async def picture(http: aiohttp.ClientSession, url: str) -> tuple[Image.Image, bytes]:
    async with http.get(url) as response:
        assert response.status == 200
        data = await response.read()
    return Image.open(io.BytesIO(data)).convert("RGB"), data


async def test_block_mode_serves_blank_tiles_and_never_the_file(start_web, fake_oauth, tmp_path):
    """Image #2 flagged under block: its PNG (also as a download) and its tile of the grid are
    grey; image #1 is the stored file itself."""
    web = await start_web(
        DISCORD_OAUTH_BASE=fake_oauth.url,
        NSFW_FILTER="block",
        NSFW_MODEL="fake-checker",
        checker=FakeChecker({1}),
    )
    async with client() as http:
        csrf = await web.sign_in(http, fake_oauth)
        job = await finished(web, (await imagine(http, web.url, csrf, "a beach"))["jobs"][0]["id"])
        assert job.meta["nsfw"] == [False, True, False, False]
        images = await web.jobs.repository.get_images(job.id)
        for suffix in ("", "?download=1", "?reveal=1"):
            second, _ = await picture(http, f"{web.url}/images/{job.id}/1.png{suffix}")
            assert second.getpixel((5, 5)) == PLACEHOLDER_GREY, suffix
        _, first = await picture(http, f"{web.url}/images/{job.id}/0.png")
        assert first == images[0].path.read_bytes()
        grid, _ = await picture(http, f"{web.url}/images/{job.id}/grid.png")
        assert grid.getpixel((grid.width * 3 // 4, grid.height // 4)) == PLACEHOLDER_GREY
        assert grid.getpixel((grid.width // 4, grid.height // 4)) != PLACEHOLDER_GREY


async def test_spoiler_mode_blurs_until_revealed(start_web, fake_oauth):
    """Image #1 flagged under spoiler: served blurred (the stripes smeared), as is its grid tile;
    `?reveal=1` and a download give the stored file."""
    web = await start_web(
        StripedEngine(),
        DISCORD_OAUTH_BASE=fake_oauth.url,
        NSFW_FILTER="spoiler",
        NSFW_MODEL="fake-checker",
        checker=FakeChecker({0}),
    )
    async with client() as http:
        csrf = await web.sign_in(http, fake_oauth)
        job = await finished(web, (await imagine(http, web.url, csrf, "a beach"))["jobs"][0]["id"])
        stored = (await web.jobs.repository.get_images(job.id))[0].path.read_bytes()
        shown, _ = await picture(http, f"{web.url}/images/{job.id}/0.png")
        assert contrast(shown) < 60  # stripes of 0 and 255
        unflagged, _ = await picture(http, f"{web.url}/images/{job.id}/1.png")
        assert contrast(unflagged) == 255
        grid, _ = await picture(http, f"{web.url}/images/{job.id}/grid.png")
        assert contrast(grid.crop((0, 0, grid.width // 2, grid.height // 2))) < 60
        assert contrast(grid.crop((grid.width // 2, 0, grid.width, grid.height // 2))) == 255
        for suffix in ("?reveal=1", "?download=1"):
            _, revealed = await picture(http, f"{web.url}/images/{job.id}/0.png{suffix}")
            assert revealed == stored, suffix


async def test_with_the_filter_off_the_stored_files_are_served(start_web, fake_oauth):
    """NSFW_FILTER=off: the PNG is the stored file, whatever a checker might say."""
    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url)
    async with client() as http:
        csrf = await web.sign_in(http, fake_oauth)
        job = await finished(web, (await imagine(http, web.url, csrf, "a beach"))["jobs"][0]["id"])
        stored = (await web.jobs.repository.get_images(job.id))[1].path.read_bytes()
        _, served = await picture(http, f"{web.url}/images/{job.id}/1.png")
    assert served == stored
