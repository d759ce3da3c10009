"""/personalize and /moodboards: three pairs ranked with the keyboard in Chromium; errors in words."""

from __future__ import annotations

import dataclasses
import uuid

import aiohttp
from PIL import Image

from bot.jobs.models import JobImage
from tests.store.test_repository import make_job
from tests.web.browser import browser_page, require_browser

COLOURS = [(200, 30, 30), (30, 200, 30), (30, 30, 200)]


async def archive_of_three(web) -> list[str]:
    """Three done jobs of the local member (user 0), two images each, files on disk."""
    repository = web.jobs.repository
    ids = []
    for colour in COLOURS:
        job_id = str(uuid.uuid4())
        await repository.insert_job(
            dataclasses.replace(make_job(job_id, user_id=0), guild_id=None, channel_id=None)
        )
        folder = web.settings.images_dir / job_id
        folder.mkdir(parents=True)
        images = []
        for n in range(2):
            Image.new("RGB", (64, 64), tuple(c // (n + 1) for c in colour)).save(folder / f"{n}.png")
            images.append(JobImage(job_id, n, folder / f"{n}.png", 64, 64, n))
        await repository.mark_done(job_id, images, 1.0, 0.1)
        ids.append(job_id)
    return ids


async def test_three_pairs_ranked_with_the_keyboard(start_web) -> None:
    """On /personalize, 1 / 2 / 1 rank three pairs (S skips one): each choice is stored as the
    preferred image over the other, and the progress counts them."""
    require_browser()
    web = await start_web(local=True)
    await archive_of_three(web)
    service = web.context.admission.personalization
    chosen = []
    async with browser_page() as page:
        await page.goto(web.url + "/personalize")
        await page.keyboard.press("s")
        await page.wait_for_url("**/personalize?skip=1")
        for key in ("1", "2", "1"):
            left = await page.get_attribute("input[name=left]", "value")
            right = await page.get_attribute("input[name=right]", "value")
            chosen.append((left, right) if key == "1" else (right, left))
            async with page.expect_navigation():
                await page.keyboard.press(key)
        progress = await page.inner_text("#progress")
        assert page.errors == []
    assert "3 / 20" in progress and "17 more" in progress
    pairs = await web.jobs.repository.style_pairs(0)
    assert [(f"{a[0]}:{a[1]}", f"{b[0]}:{b[1]}") for a, b in pairs] == chosen
    assert len({frozenset(pair) for pair in pairs}) == 3  # never the same pair twice
    assert (await service.status(0)).signals == 3


async def test_moodboard_without_ip_adapter_is_refused_in_words(start_web) -> None:
    """Saving a moodboard on a bot without IP_ADAPTER says so on the page (no exception text)."""
    web = await start_web(local=True)
    ids = await archive_of_three(web)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        csrf = await web.csrf(http)
        form = aiohttp.FormData(
            [("csrf", csrf), ("name", "sea"), ("image", f"{ids[0]}:0"), ("image", f"{ids[1]}:1")]
        )
        async with http.post(web.url + "/moodboards", data=form) as response:
            text = await response.text()
        assert response.status == 200
        assert "Personalization needs the IP-Adapter" in text and "Traceback" not in text
        async with http.get(web.url + "/moodboards") as response:
            page = await response.text()
        assert f"{ids[0]}:0" in page and "No moodboards yet" in page
