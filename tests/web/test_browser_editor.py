"""The editor on an uploaded picture in headless Chromium: pick a file on the Create page → the
editor opens on it; brush two strokes, undo the second, Smart Select an object with a click,
submit: the Vary (Region) job's mask is exactly the first stroke plus the model's selection."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from PIL import Image

from bot.engine.interface import NO_INPUTS, Operation
from bot.engine.request import GenerationResult
from bot.jobs.models import JobKind, JobStatus
from tests.jobs.conftest import Call, FakeEngine
from tests.web.browser import browser_page, require_browser, screenshot

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]

WIDTH, HEIGHT = 96, 64
SELECTED = (60, 8, 88, 30)  # what the fake segmentation model selects, whatever the click


@dataclass
class SelectingEngine(FakeEngine):
    """The fake engine, with a Smart Select that answers one fixed box (and records the call)."""

    def generate(self, operation, request, inputs=NO_INPUTS, on_step=None):
        if operation is Operation.SMART_SELECT:
            self.calls.append(Call(str(operation), request, inputs.image))
            mask = Image.new("L", (request.width, request.height), 0)
            mask.paste(255, SELECTED)
            return GenerationResult([mask], [request.seed], "fake-sam", "", 0, 0.0)
        return super().generate(operation, request, inputs, on_step)


@pytest.fixture(autouse=True)
def _browser() -> None:
    require_browser()


async def test_upload_brush_undo_smart_select_and_submit(start_web, tmp_path):
    """Create → Edit → pick a file → the editor; stroke 1 stays, stroke 2 is undone, the Smart
    Select click adds the model's box; the submitted mask is exactly those, and the job runs."""
    engine = SelectingEngine()
    web = await start_web(engine, local=True, STEPS="2", SEGMENT_MODEL="tiny")
    picture = tmp_path / "photo.png"
    Image.new("RGB", (WIDTH, HEIGHT), (30, 90, 200)).save(picture)
    async with browser_page() as page:
        await page.goto(f"{web.url}/")
        await page.click("#tool-edit")
        await page.set_input_files("#edit-image", str(picture))
        await page.fill("#edit-prompt", "a blue wall")
        await page.click("#edit-submit")
        await page.wait_for_url("**/edit/**")
        await page.locator("#editor-image").wait_for()
        canvas = page.locator("#editor-canvas")
        box = await canvas.bounding_box()

        def at(x: float, y: float) -> tuple[float, float]:
            return box["x"] + x * box["width"] / WIDTH, box["y"] + y * box["height"] / HEIGHT

        await page.click("#tool-brush")
        await page.fill("#brush-size", "8")
        for start, end in (((8, 40), (40, 40)), ((10, 10), (40, 10))):  # stroke 1, stroke 2
            await page.mouse.move(*at(*start))
            await page.mouse.down()
            await page.mouse.move(*at(*end), steps=6)
            await page.mouse.up()
        await page.click("#tool-undo")  # stroke 2 goes
        await page.click("#tool-smart")
        await page.mouse.click(*at(70, 20))
        await page.wait_for_function(
            "() => !document.getElementById('editor').classList.contains('busy')"
            " && document.getElementById('editor-error').hidden"
        )
        await page.wait_for_timeout(300)  # the mask picture decodes, then joins the drawing
        await page.click("#region-submit")
        await page.locator("#editor-done").wait_for(state="visible")
        await screenshot(page, "web-editor-upload.png", tmp_path)
        assert page.errors == []
    children = [job for job in await web.jobs.repository.jobs_with_status(*JobStatus) if job.parent_id]
    (upload_id,) = {job.parent_id for job in children}
    kinds = sorted(job.kind.value for job in children)
    assert kinds == ["region", "select"]
    # The click's Smart Select job is a working job: the archive lists only the real images.
    listed = await web.jobs.repository.archive(0, limit=10)
    assert sorted(job.kind.value for job in listed) == ["region", "upload"]
    assert upload_id in {job.id for job in listed}
    select = next(job for job in children if job.kind is JobKind.SELECT)
    assert select.mode == "point 70,20"
    region = next(job for job in children if job.kind is JobKind.REGION)
    mask = np.asarray(Image.open(web.jobs.job_folder(region.id) / "mask.png").convert("L")) > 127
    assert mask.shape == (HEIGHT, WIDTH)
    left, top, right, bottom = SELECTED
    assert mask[top:bottom, left:right].all()  # the model's selection
    assert mask[38:43, 10:38].all()  # stroke 1 (8 px wide at y = 40)
    assert not mask[6:15, 12:38].any()  # stroke 2, undone
    assert not mask[50:, :].any() and not mask[:, :4].any()  # nothing else
    async for _ in web.jobs.subscribe(region.id):
        pass
    assert (await web.jobs.get_job(region.id)).status is JobStatus.DONE
