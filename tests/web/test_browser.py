"""The web app in headless Chromium, on the real tiny model: sign in through a fake Discord,
create from the prompt bar and watch the percentage rise, U2, ❤️, Archive, Favourites, download
the PNG and read its parameters; draw a rectangle in the Vary (Region) editor."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import pytest
from PIL import Image

from bot.governance.admission import Place
from bot.jobs.files import parse_a1111_parameters
from bot.jobs.models import JobKind, JobStatus, NewJob
from tests.web.browser import browser_page, require_browser, screenshot

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]


@dataclass
class GatedEngine:
    """The real engine, held after the first denoising step until the test opens the gate.

    So the page is seen between 0 and 100 % whatever the machine's speed.
    """

    inner: Any
    gate: threading.Event = field(default_factory=threading.Event)
    held: threading.Event = field(default_factory=threading.Event)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def generate(self, operation, request, inputs=None, on_step=None):
        def step(progress):
            holding = progress.step == 1 and not self.gate.is_set()
            if holding:
                self.held.set()  # before the page can see this step's percentage
            if on_step is not None:
                on_step(progress)
            if holding:
                self.gate.wait(300)

        from bot.engine.interface import NO_INPUTS

        return self.inner.generate(operation, request, inputs or NO_INPUTS, step)


@pytest.fixture(autouse=True)
def _browser() -> None:
    require_browser()


async def test_create_watch_upscale_favourite_archive_download(start_web, fake_oauth, tiny_engine, tmp_path):
    """The whole member journey in Chromium, with screenshots of Create, Job and Archive."""
    engine = GatedEngine(tiny_engine)
    web = await start_web(engine, DISCORD_OAUTH_BASE=fake_oauth.url, STEPS="4")
    async with browser_page() as page:
        # 1. Sign in with (fake) Discord.
        await page.goto(web.url + "/")
        assert page.url.startswith(web.url + "/signin")
        await page.click("#signin")
        await page.wait_for_url(web.url + "/")
        assert "Alice" in await page.inner_text("nav.top")
        # 2. The prompt bar submits on Enter; the percentage rises while the job runs.
        await page.fill("#prompt", "a lighthouse at dusk, oil painting --seed 1234")
        await page.press("#prompt", "Enter")
        card = page.locator("#feed article.result").first
        await page.wait_for_function(
            # The card appears only when the POST has answered: until then there is nothing to read.
            "() => /^[1-9][0-9]?%$/.test(document.querySelector('#feed article .progress')?.textContent ?? '')"
        )
        assert engine.held.is_set()
        engine.gate.set()
        await card.locator(".picture img:not(.preview)").wait_for()
        history = [int(n) for n in (await card.locator(".progress").get_attribute("data-history")).split(",")]
        assert history == sorted(history) and history[0] < history[-1] == 100 and len(set(history)) >= 3
        assert await card.get_attribute("data-status") == "done"
        await screenshot(page, "web-create.png", tmp_path)
        job_id = await card.get_attribute("data-job")
        job = await web.jobs.get_job(job_id)
        assert job.status is JobStatus.DONE and job.user_id == 111
        # 3. U2 opens image #2 of the grid; ❤️ makes it a favourite.
        await card.locator('a[data-u="2"]').click()
        await page.wait_for_url(f"{web.url}/jobs/{job_id}/2")
        await page.click("#favourite")
        await page.wait_for_selector('#favourite[aria-pressed="true"]')
        assert await web.jobs.repository.favourite_indexes(111, job_id) == {1}
        # 4. Download the PNG: its `parameters` hold the prompt and the seed of image #2.
        async with page.expect_download() as download_info:
            await page.click("#download")
        download = await download_info.value
        saved = tmp_path / "download.png"
        await download.save_as(saved)
        fields = parse_a1111_parameters(Image.open(saved).info["parameters"])
        assert fields["prompt"].startswith("a lighthouse at dusk, oil painting")
        assert fields["Seed"] == "1235"
        # 5. The job page: picture, prompt, parameters, seeds.
        await page.goto(f"{web.url}/jobs/{job_id}")
        assert "1234, 1235, 1236, 1237" in await page.inner_text("#seeds")
        await screenshot(page, "web-job.png", tmp_path)
        # 6. Archive and Favourites list it.
        await page.goto(f"{web.url}/archive")
        assert await page.locator(f'#archive a[href="/jobs/{job_id}"]').count() == 1
        await screenshot(page, "web-archive.png", tmp_path)
        await page.goto(f"{web.url}/favourites")
        assert await page.locator(f'#favourites a[href="/jobs/{job_id}/2"]').count() == 1
        # 7. A prompt error shows inline, without a job.
        await page.goto(web.url + "/")
        await page.fill("#prompt", "a fox --stylize 5000")
        await page.press("#prompt", "Enter")
        error = page.locator("#prompt-error")
        await error.wait_for(state="visible")
        assert "Invalid parameter" in await error.inner_text()
        assert page.errors == []


async def test_region_editor_sends_the_rectangle_as_drawn(start_web, tiny_engine, tmp_path):
    """Drawing a rectangle in the editor makes a Vary (Region) job whose stored mask is white exactly
    there; the job runs; the same link again is refused."""
    web = await start_web(tiny_engine, local=True, STEPS="2")
    requests = await web.context.admission.read("a fox --seed 3", Place(0))
    parent = await web.jobs.submit(
        NewJob(kind=JobKind.IMAGINE, user_id=0, prompt="a fox", request=requests[0].to_generation(3))
    )
    async for _ in web.jobs.subscribe(parent.id):
        pass
    from bot.web.links import editor_url

    await web.jobs.repository.update_user_settings(0, remix=True)  # the page asks for a prompt
    url = editor_url(web.settings, job_id=parent.id, index=1, user_id=0)
    path = url.split("/", 3)[3]
    async with browser_page() as page:
        await page.goto(f"{web.url}/{path}")
        canvas = page.locator("#editor-canvas")
        await page.locator("#editor-image").wait_for()
        box = await canvas.bounding_box()
        width, height = 128, 128
        assert round(box["width"]) == width and round(box["height"]) == height

        def at(x: float, y: float) -> tuple[float, float]:
            return box["x"] + x * box["width"] / width, box["y"] + y * box["height"] / height

        await page.mouse.move(*at(32, 40))
        await page.mouse.down()
        await page.mouse.move(*at(60, 60), steps=4)
        await page.mouse.move(*at(96, 80), steps=4)
        await page.mouse.up()
        await page.fill("#region-prompt", "a lighthouse")
        await page.click("#region-submit")
        await page.locator("#editor-done").wait_for(state="visible")
        await screenshot(page, "web-editor.png", tmp_path)
        # The same link again: already used.
        await page.reload()
        assert "already used" in await page.inner_text("body")
        assert page.errors == []
    children = await web.jobs.repository.child_jobs(parent.id)
    assert [(job.kind, job.parent_index) for job in children] == [(JobKind.REGION, 1)]
    mask = Image.open(web.jobs.job_folder(children[0].id) / "mask.png")
    assert mask.size == (width, height)
    left, top, right, bottom = mask.convert("L").getbbox()
    assert abs(left - 32) <= 1 and abs(top - 40) <= 1 and abs(right - 96) <= 1 and abs(bottom - 80) <= 1
    assert mask.convert("L").crop((34, 42, 94, 78)).getextrema() == (255, 255)
    async for _ in web.jobs.subscribe(children[0].id):
        pass
    assert (await web.jobs.get_job(children[0].id)).status is JobStatus.DONE


async def test_cancel_a_running_job_then_remix_a_variation(start_web, tiny_engine, tmp_path):
    """❌ on a running card stops the job and the card says Cancelled; with Remix switched on, V2
    opens the prompt editor pre-filled with the job's prompt, shows a bad prompt's error inline,
    and the edited prompt makes the variation."""
    engine = GatedEngine(tiny_engine)
    web = await start_web(engine, local=True, STEPS="4")
    async with browser_page() as page:
        await page.goto(web.url + "/")
        # 1. A running job: its card has ❌; clicking it cancels the job.
        await page.fill("#prompt", "a slow lighthouse --seed 5")
        await page.press("#prompt", "Enter")
        await page.wait_for_function(
            "() => /^[1-9][0-9]?%$/.test(document.querySelector('#feed article .progress')?.textContent ?? '')"
        )
        running = page.locator("#feed article.result").first
        running_id = await running.get_attribute("data-job")
        await running.locator("button[data-cancel]").click()
        await page.wait_for_function(
            f"() => document.querySelector('#feed article[data-job=\"{running_id}\"]')?.dataset.status === 'cancelled'"
        )
        assert await running.locator(".progress").inner_text() == "Cancelled"
        assert await running.locator("button[data-cancel]").count() == 0
        engine.gate.set()  # the worker goes on to its next step, where the cancel stops it
        async for _ in web.jobs.subscribe(running_id):
            pass
        assert (await web.jobs.get_job(running_id)).status is JobStatus.CANCELLED
        # 2. A finished grid; Remix on (stored as the member's /settings remix).
        await page.fill("#prompt", "a red fox --seed 3")
        await page.press("#prompt", "Enter")
        await page.wait_for_function(
            "() => document.querySelector('#feed article[data-status=\"done\"]')?.dataset.grid === '1'"
        )
        parent_id = await page.locator('#feed article[data-status="done"]').first.get_attribute("data-job")
        parent = await web.jobs.get_job(parent_id)
        await page.click("#remix")
        await page.wait_for_function("() => document.getElementById('remix-dialog')?.dataset.on === '1'")
        assert (await web.jobs.repository.get_user_settings(0)).remix is True
        # 3. V2 opens the editor with the prompt; a bad edit is answered inline; a good one runs.
        await page.locator(
            f'#feed article[data-job="{parent_id}"] button[data-action="variation"][data-index="2"]'
        ).click()
        await page.locator("#remix-dialog[open]").wait_for()
        assert await page.input_value("#remix-prompt") == parent.prompt
        assert await page.inner_text("#remix-label") == "New prompt for image #2"
        await page.fill("#remix-prompt", "a blue fox --chaos 500")
        await page.click("#remix-submit")
        await page.locator("#remix-error").wait_for(state="visible")
        assert "Invalid parameter" in await page.inner_text("#remix-error")
        await page.fill("#remix-prompt", "a blue fox, watercolour --seed 9")
        await screenshot(page, "web-remix.png", tmp_path)
        await page.click("#remix-submit")
        await page.locator("#remix-dialog").wait_for(state="hidden")
        await page.wait_for_function(
            "() => document.querySelectorAll('#feed article[data-status=\"done\"]').length >= 2"
        )
        assert page.errors == []
    (child,) = await web.jobs.repository.child_jobs(parent_id)
    assert (child.kind, child.parent_index, child.status) == (JobKind.VARIATION, 1, JobStatus.DONE)
    assert child.request["prompt"] == "a blue fox, watercolour" and child.seeds[0] == 9


async def test_job_page_cancel_and_custom_zoom(start_web, tiny_engine):
    """The job page of a running job follows it and ❌ Cancel stops it; on a single image, Custom
    Zoom opens the prompt with `--ar` and `--zoom 2`, answers a bad `--zoom` inline, and makes the
    zoom job the edited prompt asks for."""
    engine = GatedEngine(tiny_engine)
    web = await start_web(engine, local=True, STEPS="4")
    (running,) = await web.context.admission.imagine("a slow lighthouse", Place(0))
    async with browser_page() as page:
        await page.goto(f"{web.url}/jobs/{running.id}")
        await page.wait_for_function(
            "() => /^Running [1-9][0-9]?%$/.test(document.getElementById('job-status')?.textContent ?? '')"
        )
        await page.click("#cancel-job")
        await page.wait_for_function("() => document.getElementById('job')?.dataset.status === 'cancelled'")
        assert await page.inner_text("#job-status") == "Cancelled"
        engine.gate.set()
        async for _ in web.jobs.subscribe(running.id):
            pass
        assert (await web.jobs.get_job(running.id)).status is JobStatus.CANCELLED
        (parent,) = await web.context.admission.imagine("a red fox --seed 3", Place(0))
        async for _ in web.jobs.subscribe(parent.id):
            pass
        await page.goto(f"{web.url}/jobs/{parent.id}/1")
        await page.click("#custom-zoom")
        await page.locator("#remix-dialog[open]").wait_for()
        assert await page.inner_text("#remix-title") == "Custom Zoom"
        assert await page.input_value("#remix-prompt") == "a red fox --seed 3 --ar 1:1 --zoom 2"
        await page.fill("#remix-prompt", "a red fox --ar 16:9 --zoom 3")
        await page.click("#remix-submit")
        await page.locator("#remix-error").wait_for(state="visible")
        assert "Invalid parameter" in await page.inner_text("#remix-error")
        await page.fill("#remix-prompt", "a red fox on a wide beach --ar 16:9 --zoom 1.5")
        await page.click("#remix-submit")
        await page.locator("#remix-dialog").wait_for(state="hidden")
        await page.wait_for_function(
            "() => document.querySelector('#feed article')?.dataset.status === 'done'"
        )
        assert page.errors == []
    (zoom,) = await web.jobs.repository.child_jobs(parent.id)
    assert (zoom.kind, zoom.mode, zoom.parent_index) == (JobKind.ZOOM, "1.5 16:9", 0)
    assert zoom.request["prompt"] == "a red fox on a wide beach" and zoom.status is JobStatus.DONE
