"""Blend and Describe in headless Chromium, on the real tiny model and the tiny captioner: upload
two pictures to Blend and see the grid with its buttons; describe a picture and put suggestion 2
into the prompt bar."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.config import Config
from bot.jobs.models import JobKind
from tests.tiny_env import tiny_env
from tests.web.browser import browser_page, require_browser, screenshot

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]


@pytest.fixture(autouse=True)
def _browser() -> None:
    require_browser()


@pytest.fixture(scope="module")
def describing_engine(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The tiny engine with the tiny captioner and CLIP (no IP-Adapter: /blend's fallback)."""
    from bot.engine.loader import load_engine

    env = tiny_env(
        tiny_model_dir, tmp_path_factory.mktemp("data"), DESCRIBE_MODEL="tiny", DESCRIBE_CLIP="tiny"
    )
    return load_engine(Config.from_env(env))


def png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def picture(name: str, colour: tuple[int, int, int]) -> dict[str, Any]:
    return {"name": name, "mimeType": "image/png", "buffer": png(colour)}


async def test_blend_two_uploads_then_describe_and_use_a_suggestion(
    start_web, fake_oauth, describing_engine, tmp_path
):
    web = await start_web(describing_engine, DISCORD_OAUTH_BASE=fake_oauth.url, STEPS="2")
    async with browser_page() as page:
        await page.goto(web.url + "/")
        await page.click("#signin")
        await page.wait_for_url(web.url + "/")

        # Blend: two uploads, Landscape; the card (made once the POST answered) becomes a grid.
        await page.click("#tool-blend")
        await page.set_input_files(
            "#blend-images", [picture("red.png", (220, 20, 20)), picture("blue.png", (20, 20, 220))]
        )
        await page.select_option("#blend-dimensions", "landscape")
        await page.click("#blend-submit")
        await page.wait_for_function(
            '() => document.querySelector(\'#feed article.result[data-status="done"][data-grid="1"]\')'
            "?.querySelector('.picture img')?.complete === true"
        )
        card = page.locator('#feed article.result[data-grid="1"]').first
        assert await card.locator(".kind").inner_text() == "Blend"
        assert (
            await card.locator("a[data-u]").count() == 4
            and await card.locator("button[data-action=variation]").count() == 4
        )
        assert await card.locator("button[data-action=reroll]").count() == 1
        (blend,) = [
            job for job in await web.jobs.repository.archive(111, limit=5) if job.kind is JobKind.BLEND
        ]
        assert blend.prompt == "<red.png> <blue.png> --ar 3:2"

        # Describe: one upload → four numbered suggestions; "Use" on #2 fills the prompt bar.
        await page.click("#tool-describe")
        assert await page.is_visible("#describe-form") and not await page.is_visible("#blend-form")
        await page.set_input_files("#describe-image", picture("green.png", (20, 200, 40)))
        await page.click("#describe-submit")
        await page.wait_for_function(
            "() => document.querySelectorAll('#feed .text-result .suggestions li')?.length === 4"
        )
        second = page.locator('#feed .text-result li[data-n="2"]').first
        text = await second.locator(".suggestion").inner_text()
        (described,) = [
            job for job in await web.jobs.repository.archive(111, limit=5) if job.kind is JobKind.DESCRIBE
        ]
        assert text == described.meta["result"]["prompts"][1]
        await second.locator("button[data-use]").click()
        assert await page.input_value("#prompt") == text
        await screenshot(page, "web-describe.png", tmp_path)

        # An error shows inline, Midjourney style: Blend with one picture.
        await page.click("#tool-blend")
        await page.set_input_files("#blend-images", [picture("red.png", (220, 20, 20))])
        await page.click("#blend-submit")
        await page.wait_for_function("() => !document.getElementById('tool-error')?.hidden")
        assert (
            await page.inner_text("#tool-error")
            == "Invalid parameter: /blend needs 2 to 5 images; you gave 1."
        )

        # Describe on one image of my own job (its page): the suggestions come under it.
        await page.goto(f"{web.url}/jobs/{blend.id}/1")
        await page.click("#describe-this")
        await page.wait_for_function("() => document.querySelectorAll('#feed .text-result li')?.length === 4")
        assert page.errors == []
