"""Reframe in the web editor, in headless Chromium on the tiny model: an uploaded picture, the 16:9
preset, the picture moved with the arrow keys, Submit → a Zoom job whose images are 16:9 and keep
the picture's pixels exactly where the member put it (outside the repainted seam)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from bot.engine import canvas
from bot.jobs.files import parse_a1111_parameters, read_png_parameters
from bot.jobs.models import JobKind, JobStatus
from tests.web.browser import browser_page, require_browser, screenshot

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]

SIDE = 96


@pytest.fixture(autouse=True)
def _browser() -> None:
    require_browser()


def _picture() -> Image.Image:
    picture = Image.new("RGB", (SIDE, SIDE), (30, 90, 200))
    draw = ImageDraw.Draw(picture)
    draw.ellipse((20, 16, 76, 80), fill=(240, 200, 20))
    draw.rectangle((0, 0, 12, SIDE), fill=(200, 20, 60))
    return picture


async def test_reframe_to_16_9_with_the_picture_moved_left(start_web, tiny_engine, tmp_path):
    """Create → Edit → pick a file → the editor; 16:9, two ← presses (x 0.5 → 0.4), Reframe: one
    Zoom job (mode `1 16:9 0.4,0.5`, the recipe says so), its images 16:9 at the model's size, the
    picture's pixels exact inside its box, the new area on both sides painted."""
    web = await start_web(tiny_engine, local=True, STEPS="2")
    path = tmp_path / "photo.png"
    _picture().save(path)
    async with browser_page() as page:
        await page.goto(f"{web.url}/")
        await page.click("#tool-edit")
        await page.set_input_files("#edit-image", str(path))
        await page.fill("#edit-prompt", "a yellow ball on blue")
        await page.click("#edit-submit")
        await page.wait_for_url("**/edit/**")
        await page.locator("#reframe-image").wait_for()
        await page.click("#aspect-16x9")
        ratio = await page.eval_on_selector("#reframe-frame", "f => f.clientWidth / f.clientHeight")
        assert abs(ratio - 16 / 9) < 0.02  # the frame takes the preset's shape
        await page.click("#reframe-title")  # focus off the buttons: the keys go to the editor
        await page.keyboard.press("ArrowLeft")
        await page.keyboard.press("ArrowLeft")
        await page.click("#reframe-submit")
        await page.locator("#reframe-done").wait_for(state="visible")
        await screenshot(page, "web-editor-reframe.png", tmp_path)
        assert page.errors == []
    (job,) = [job for job in await web.jobs.repository.archive(0, limit=10) if job.kind is JobKind.ZOOM]
    assert job.mode == "1 16:9 0.4,0.5"
    async for _ in web.jobs.subscribe(job.id):
        pass
    assert (await web.jobs.get_job(job.id)).status is JobStatus.DONE
    upload = await web.jobs.repository.get_image(job.parent_id, 0)
    original = Image.open(upload.path).convert("RGB")
    layout = canvas.zoom_layout(original.size, 1.0, web.jobs.family, (16, 9), (0.4, 0.5))
    assert job.request["extra"]["placement"] == list(layout.box)
    result = await web.jobs.repository.get_image(job.id, 0)
    assert (result.width, result.height) == layout.size
    assert abs(result.width / result.height - 16 / 9) < 0.05
    left, top, right, bottom = layout.box
    assert (
        left > 0
        and right < layout.width
        and (left / (layout.width - (right - left))) == pytest.approx(0.4, abs=0.03)
    )
    output = np.asarray(Image.open(result.path).convert("RGB"), dtype=np.int16)
    placed = np.asarray(original.resize(layout.box_size, Image.Resampling.LANCZOS), dtype=np.int16)
    seam = canvas.feather_radius(layout.size)
    inside = output[top:bottom, left + seam : right - seam]
    assert np.array_equal(inside, placed[:, seam : placed.shape[1] - seam])  # the picture, exact
    fields = parse_a1111_parameters(read_png_parameters(result.path))
    assert fields["Zoom"] == "1 16:9 0.4,0.5"
