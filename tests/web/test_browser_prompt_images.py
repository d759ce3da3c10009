"""Images on the Create page's prompt bar, in headless Chromium: a PNG dropped on the bar becomes
a chip; as a Style Reference it is the job's `--sref <link>`, and the job runs with the stored
picture as its style reference (read from the store, not downloaded). "Use as --sref" on another
member's image (job page) and S in the archive's lightbox put a chip there too; the archive's
zip download selects all cards and clears them."""

from __future__ import annotations

import base64
import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from bot.engine.interface import Operation
from bot.governance.admission import Place
from bot.jobs.models import JobKind, JobStatus
from tests.jobs.conftest import FakeEngine
from tests.web.browser import browser_page, require_browser
from tests.web.conftest import SERVER

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]

RED = (200, 30, 30)
DROP = """async ([b64, name, type]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], name, { type }));
  document.getElementById("prompt-bar").dispatchEvent(
    new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
}"""


@pytest.fixture(autouse=True)
def _browser() -> None:
    require_browser()


def png_b64(colour=RED, size=(96, 64)) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


async def sign_in(page, web, path="/"):
    await page.goto(web.url + path)
    await page.click("#signin")
    await page.wait_for_url(web.url + path)


async def finished(web, page):
    card = page.locator("#feed article.result").first
    await card.locator(".picture img:not(.preview)").wait_for()
    return await web.jobs.get_job(await card.get_attribute("data-job"))


async def test_a_png_dropped_on_the_prompt_bar_becomes_the_jobs_style_reference(start_web, fake_oauth):
    """Drop → upload job + chip; a dropped text file and a removed chip leave nothing; Style
    Reference → `--sref <web app>/images/<upload>/0.png`, merged with a typed --sref; the job
    ran on Operation.REFERENCE with the uploaded picture stored as its style reference."""
    engine = FakeEngine()
    web = await start_web(engine, DISCORD_OAUTH_BASE=fake_oauth.url)
    async with browser_page() as page:
        await sign_in(page, web)
        # Not a picture: an error in words, no chip, nothing uploaded.
        await page.evaluate(DROP, [base64.b64encode(b"hello").decode(), "notes.txt", "text/plain"])
        error = page.locator("#prompt-error")
        await error.wait_for()
        assert "notes.txt is not a PNG, JPEG, WebP or GIF picture" in await error.inner_text()
        assert await page.locator("#prompt-chips .chip").count() == 0
        big = "() => MJChips.upload(new File([new Uint8Array(21 * 1024 * 1024)], 'big.png', { type: 'image/png' }))"
        await page.evaluate(big)
        assert await error.inner_text() == "Invalid image: big.png is larger than 20 MB."
        assert await page.locator("#prompt-chips .chip").count() == 0
        # A PNG: uploaded (an upload job of alice), a chip with its thumbnail.
        await page.evaluate(DROP, [png_b64(), "red.png", "image/png"])
        chip = page.locator("#prompt-chips .chip[data-link]")
        await chip.wait_for()
        upload = await web.jobs.get_job(await chip.get_attribute("data-job"))
        assert (upload.kind, upload.user_id) == (JobKind.UPLOAD, 111)
        link = f"{web.url}/images/{upload.id}/0.png"
        assert await chip.get_attribute("data-link") == link
        # A second drop, removed again: it is not in the prompt.
        await page.evaluate(DROP, [png_b64((0, 0, 200)), "blue.png", "image/png"])
        await page.locator("#prompt-chips .chip[data-link]").nth(1).wait_for()
        await page.locator("#prompt-chips .chip").nth(1).locator(".chip-remove").click()
        assert await page.locator("#prompt-chips .chip").count() == 1
        compose = "(text) => MJChips.compose(text)"
        assert await page.evaluate(compose, "a cat --ar 2:3") == f"{link} a cat --ar 2:3"  # Image Prompt
        await chip.locator("select.chip-role").select_option(label="Omni Reference")
        assert await page.evaluate(compose, "a cat") == f"a cat --oref {link}"
        await chip.locator("select.chip-role").select_option(label="Style Reference")
        await page.fill("#prompt", "a lighthouse at dusk --sref 1234")
        await page.press("#prompt", "Enter")
        job = await finished(web, page)
        assert await page.locator("#prompt-chips .chip").count() == 0  # sent: the bar is empty
    assert job.prompt == f"a lighthouse at dusk --sref 1234 {link}"
    assert job.status is JobStatus.DONE
    assert engine.calls[-1].operation == str(Operation.REFERENCE)
    styles = [ref for ref in job.meta["references"] if ref["kind"] == "style"]
    assert {ref["url"]: ref.get("code") for ref in styles} == {link: None, "": 1234}
    assert web.jobs.image_links.downloads == 0  # our own link: read from the store
    folder = web.jobs.job_folder(job.id)
    stored = [np.asarray(Image.open(path).convert("RGB")) for path in sorted(folder.glob("ref-*.png"))]
    assert any((picture == np.array(RED)).all() for picture in stored)


async def test_use_as_sref_on_another_members_image_and_in_the_lightbox(start_web, fake_oauth):
    """Bob's "Use as --sref" on Alice's server image opens Create with the chip and the server;
    his job runs with her picture as its style. Alice's lightbox S does the same; the archive's
    Select all / Clear tick and untick every card and the zip holds them all."""
    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url)
    made = []
    for prompt in ("a red fox", "a blue fox"):
        (job,) = await web.context.admission.imagine(prompt, Place(111, int(SERVER["id"])))
        async for _ in web.jobs.subscribe(job.id):
            pass
        made.append(job)
    fox = made[0]
    link_path = f"/images/{fox.id}/0.png"
    async with browser_page() as page:
        fake_oauth.next_user = "222"
        await sign_in(page, web, f"/jobs/{fox.id}/1")
        image_prompt = await page.get_attribute("#use-image-prompt", "href")
        assert image_prompt.startswith("/?image=") and image_prompt.endswith(f"&server={SERVER['id']}")
        await page.click("#use-sref")
        await page.wait_for_url(lambda url: url.startswith(f"{web.url}/?sref="))
        chip = page.locator("#prompt-chips .chip[data-link]")
        assert await chip.get_attribute("data-link") == web.url + link_path
        assert await chip.locator("select.chip-role").input_value() == "sref"
        assert await page.input_value("#server") == SERVER["id"]
        await page.fill("#prompt", "a knight")
        await page.press("#prompt", "Enter")
        job = await finished(web, page)
        assert (job.user_id, job.guild_id) == (222, int(SERVER["id"]))
        assert job.prompt == f"a knight --sref {web.url}{link_path}" and job.status is JobStatus.DONE
        assert [ref["url"] for ref in job.meta["references"]] == [web.url + link_path]
        assert page.errors == []
    async with browser_page() as page:
        fake_oauth.next_user = "111"
        await sign_in(page, web, "/archive")
        await page.locator("#archive a.card").first.click()
        await page.locator("#lightbox").wait_for(state="visible")
        await page.keyboard.press("s")
        await page.wait_for_url(lambda url: url.startswith(f"{web.url}/?sref="))
        newest = made[1]
        chip = page.locator("#prompt-chips .chip[data-link]")
        assert await chip.get_attribute("data-link") == f"{web.url}/images/{newest.id}/0.png"
        # The archive's zip: Select all ticks every card shown, Clear unticks them.
        await page.goto(web.url + "/archive")
        picks = page.locator("#archive input.pick")
        assert await picks.count() == 2
        await page.click("#zip-all")
        assert [await picks.nth(i).is_checked() for i in range(2)] == [True, True]
        assert await page.inner_text("#zip-count") == "2 selected"
        await page.click("#zip-clear")
        assert [await picks.nth(i).is_checked() for i in range(2)] == [False, False]
        await page.click("#zip-all")
        async with page.expect_download() as info:
            await page.click("#zip-download")
        download = await info.value
        names = zipfile.ZipFile(await download.path()).namelist()
        assert {name.split("_")[0] for name in names} == {job.id for job in made}
        assert page.errors == []
