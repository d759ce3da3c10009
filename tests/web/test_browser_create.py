"""The Create page in headless Chromium: the settings panel edits the prompt's parameters (16:9
chosen in the panel is the job's `--ar 16:9`), a successful V click leaves no empty red bar, and
the server picker keeps its choice across loads."""

from __future__ import annotations

import pytest

from bot.jobs.models import JobStatus
from tests.web.browser import browser_page, require_browser, screenshot
from tests.web.conftest import SERVER

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]


@pytest.fixture(autouse=True)
def _browser() -> None:
    require_browser()


async def test_the_settings_panel_makes_the_jobs_parameters(start_web, fake_oauth, tmp_path):
    """16:9, stylize and raw chosen in the panel are the job's `--ar 16:9 --s … --raw`; V1 then
    makes variations with no error bar; the picked server is still picked after a reload."""
    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url, MODEL_ALIASES="7=tiny")
    async with browser_page() as page:
        await page.goto(web.url + "/")
        await page.click("#signin")
        await page.wait_for_url(web.url + "/")
        # 1. The panel: 16:9, stylize 250, raw, --v 7; the prompt bar shows them as parameters.
        await page.fill("#prompt", "a lighthouse at dusk")
        await page.click("#settings-toggle")
        await page.click('#ar-presets button[data-ar="16:9"]')
        await page.locator("#stylize").fill("250")
        await page.check("#raw")
        await page.select_option("#model", "--v 7")
        assert await page.input_value("#prompt") == "a lighthouse at dusk --ar 16:9 --s 250 --raw --v 7"
        assert await page.inner_text("#ar-value") == "16:9"
        # Typing a parameter moves the controls; back to 1:1 removes --ar.
        await page.fill("#prompt", "a fox --ar 2:3 --c 40")
        await page.dispatch_event("#prompt", "input")
        assert await page.input_value("#ar-slider") == "1"
        assert await page.input_value("#chaos") == "40"
        await page.click('#ar-presets button[data-ar="1:1"]')
        await page.click('#ar-presets button[data-ar="16:9"]')
        assert await page.input_value("#prompt") == "a fox --c 40 --ar 16:9"
        await screenshot(page, "web-create-panel.png", tmp_path)
        # 2. Sent through the same admission: the job is 16:9.
        await page.press("#prompt", "Enter")
        card = page.locator("#feed article.result").first
        await card.locator(".picture img:not(.preview)").wait_for()
        job = await web.jobs.get_job(await card.get_attribute("data-job"))
        assert job.status is JobStatus.DONE and "--ar 16:9" in job.prompt
        assert job.request["width"] > job.request["height"]
        # 3. V1 succeeds: a new card, and no (empty) red error bar on the old one.
        await card.locator('button[data-action="variation"][data-index="1"]').click()
        await page.locator("#feed article.result").nth(1).wait_for()
        await page.wait_for_function("document.querySelectorAll('#feed article.result').length === 2")
        assert await page.locator("#feed .card-error").count() == 0
        # 4. The server picker keeps its choice.
        await page.select_option("#server", SERVER["id"])
        await page.reload()
        assert await page.input_value("#server") == SERVER["id"]
        assert page.errors == []


async def test_the_archive_lightbox_keys_and_uncropped_grids(start_web, fake_oauth):
    """Archive: a click opens the lightbox (uncropped); → / ← step, V makes variations of the
    shown image, Esc closes, U opens the image's page; card grids are not cropped."""
    from bot.governance.admission import Place

    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url)
    made = []
    for prompt in ("a wide fox --ar 16:9", "a tall fox --ar 2:3"):
        (job,) = await web.context.admission.imagine(prompt, Place(111))
        async for _ in web.jobs.subscribe(job.id):
            pass
        made.append(job)
    newest, oldest = made[1], made[0]
    async with browser_page() as page:
        await page.goto(web.url + "/archive")
        await page.click("#signin")
        await page.wait_for_url(web.url + "/archive")
        first = page.locator("#archive a.card").first
        fit = await first.locator("img").evaluate("(img) => getComputedStyle(img).objectFit")
        assert fit == "contain"
        await first.click()
        box = page.locator("#lightbox")
        await box.wait_for(state="visible")
        assert page.url == web.url + "/archive"  # the lightbox, not the job page
        image = page.locator("#lightbox-image")
        assert await image.get_attribute("src") == f"/images/{newest.id}/grid.png"
        assert await image.evaluate("(img) => getComputedStyle(img).objectFit") == "contain"
        await page.keyboard.press("ArrowRight")
        assert await image.get_attribute("src") == f"/images/{oldest.id}/grid.png"
        await page.keyboard.press("ArrowLeft")
        assert await image.get_attribute("src") == f"/images/{newest.id}/grid.png"
        await page.keyboard.press("v")
        await page.locator("#lightbox-made").wait_for()
        children = await web.context.services.library.children(newest.id)
        assert len(children) == 1 and children[0].user_id == 111 and children[0].parent_index == 0
        await page.keyboard.press("Escape")
        await box.wait_for(state="hidden")
        await first.click()
        await box.wait_for(state="visible")
        await page.keyboard.press("u")
        await page.wait_for_url(f"{web.url}/jobs/{newest.id}/1")
        assert page.errors == []
