"""The Vary (Region) editor's link and mask: forged, expired or used links → 403 and no job; the
mask is read as drawn (white = regenerate) and refused when empty or of the wrong size."""

from __future__ import annotations

import base64
import dataclasses
import io
import time

import aiohttp
import pytest
from PIL import Image, ImageDraw

from bot.engine import canvas
from bot.governance.admission import Place
from bot.jobs.models import JobKind, NewJob
from bot.web.editor import MaskError, decode_mask
from bot.web.links import editor_url
from tests.web.conftest import query_of

pytestmark = pytest.mark.timeout(120)


def mask_url(size: tuple[int, int], box: tuple[int, int, int, int] | None) -> str:
    picture = Image.new("RGB", size, "black")
    if box is not None:
        ImageDraw.Draw(picture).rectangle(box, fill="white")
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture
async def parent(start_web):
    """A finished job of the local user (id 0) and the web app serving it."""
    web = await start_web(local=True)
    requests = await web.context.admission.read("a fox --seed 9", Place(0))
    job = await web.jobs.submit(
        NewJob(kind=JobKind.IMAGINE, user_id=0, prompt="a fox", request=requests[0].to_generation(9))
    )
    async for _ in web.jobs.subscribe(job.id):
        pass
    return web, job


async def jobs_of(web) -> int:
    return len(await web.jobs.repository.archive(0, limit=100))


@pytest.mark.parametrize(
    "tamper",
    [
        lambda q: {**q, "s": "0" * 64},  # forged signature
        lambda q: {**q, "u": "1"},  # someone else
        lambda q: {**q, "e": str(int(q["e"]) + 3600)},  # expiry pushed back
    ],
)
async def test_a_forged_link_is_403_and_makes_no_job(parent, tamper):
    """Any change to the signed fields: the page and the submit answer 403, no job is made."""
    web, job = parent
    query = tamper(query_of(editor_url(web.settings, job_id=job.id, index=0, user_id=0)))
    before = await jobs_of(web)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{web.url}/edit/{job.id}/0", params=query) as response:
            assert response.status == 403
        body = {**query, "mask": mask_url((64, 64), (0, 0, 10, 10))}
        async with http.post(f"{web.url}/edit/{job.id}/0", json=body) as response:
            assert response.status == 403
    assert await jobs_of(web) == before


async def test_an_expired_link_is_403(parent):
    """A link past its time to live is refused."""
    web, job = parent
    query = query_of(editor_url(web.settings, job_id=job.id, index=0, user_id=0, now=time.time() - 3600))
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{web.url}/edit/{job.id}/0", params=query) as response,
    ):
        assert response.status == 403


async def test_the_link_works_once(parent, monkeypatch):
    """The first submit makes the job; the same link again is 403 (page and submit)."""
    web, job = parent
    received = []
    submit = web.context.admission.submit

    async def capture(new_job):
        received.append(new_job.mask)
        return await submit(new_job)

    monkeypatch.setattr(web.context.admission, "submit", capture)
    query = query_of(editor_url(web.settings, job_id=job.id, index=0, user_id=0))
    image = await web.jobs.repository.get_image(job.id, 0)
    body = {**query, "mask": mask_url((image.width, image.height), (8, 8, 31, 23)), "prompt": ""}
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{web.url}/edit/{job.id}/0", params=query) as response:
            assert response.status == 200 and "editor-canvas" in await response.text()
        async with http.post(f"{web.url}/edit/{job.id}/0", json=body) as response:
            assert response.status == 200, await response.text()
        async with http.post(f"{web.url}/edit/{job.id}/0", json=body) as response:
            assert response.status == 403
        async with http.get(f"{web.url}/edit/{job.id}/0", params=query) as response:
            assert response.status == 403
    assert len(received) == 1
    assert Image.open(io.BytesIO(received[0])).getbbox() == (8, 8, 32, 24)


async def test_an_empty_selection_is_an_error_and_keeps_the_link(parent):
    """No area drawn: a clear error, no job, and the link still works for a second try."""
    web, job = parent
    query = query_of(editor_url(web.settings, job_id=job.id, index=0, user_id=0))
    image = await web.jobs.repository.get_image(job.id, 0)
    before = await jobs_of(web)
    async with aiohttp.ClientSession() as http:
        body = {**query, "mask": mask_url((image.width, image.height), None)}
        async with http.post(f"{web.url}/edit/{job.id}/0", json=body) as response:
            assert response.status == 400
            assert "Select an area" in (await response.json())["error"]["message"]
        async with http.get(f"{web.url}/edit/{job.id}/0", params=query) as response:
            assert response.status == 200
    assert await jobs_of(web) == before


async def test_the_region_job_carries_the_mask_when_the_queue_takes_masks(parent):
    """With NewJob's `mask` field the submit makes a REGION job with the mask; without it (this
    branch before the editing work lands) a clear 'not available' error and no job."""
    web, job = parent
    await web.jobs.repository.update_user_settings(0, remix=True)
    query = query_of(editor_url(web.settings, job_id=job.id, index=0, user_id=0))
    image = await web.jobs.repository.get_image(job.id, 0)
    body = {**query, "mask": mask_url((image.width, image.height), (0, 0, 15, 15)), "prompt": "a lighthouse"}
    before = await jobs_of(web)
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{web.url}/edit/{job.id}/0", json=body) as response,
    ):
        answer = await response.json()
    if "mask" in {item.name for item in dataclasses.fields(NewJob)}:
        made = await web.jobs.get_job(answer["job"])
        assert made.kind is JobKind.REGION and made.parent_id == job.id and made.parent_index == 0
    else:
        assert response.status == 400 and "not available" in answer["error"]["message"]
        assert await jobs_of(web) == before


@pytest.mark.parametrize(
    ("data", "size", "message"),
    [
        ("data:image/jpeg;base64,AAAA", (8, 8), "PNG"),
        ("data:image/png;base64,not base64!", (8, 8), "could not be read"),
        (None, (16, 16), "is 8x8"),
        ("empty", (8, 8), "Select an area"),
    ],
)
def test_bad_masks_are_refused_with_a_reason(data, size, message):
    """Wrong format, unreadable, wrong size or nothing selected: MaskError naming the problem."""
    if data is None:
        data = mask_url((8, 8), (0, 0, 3, 3))
    elif data == "empty":
        data = mask_url((8, 8), None)
    with pytest.raises(MaskError, match=message):
        decode_mask(data, size)


def test_a_transparent_drawing_counts_only_where_painted():
    """Transparent pixels are kept, opaque white ones regenerate (a canvas export with alpha)."""
    picture = Image.new("RGBA", (10, 10), (255, 255, 255, 0))
    ImageDraw.Draw(picture).rectangle((2, 3, 5, 6), fill=(255, 255, 255, 255))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    mask = Image.open(
        io.BytesIO(
            decode_mask("data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode(), (10, 10))
        )
    )
    assert mask.getbbox() == (2, 3, 6, 7)


async def submit_region(web, job, prompt: str) -> tuple[int, dict]:
    query = query_of(editor_url(web.settings, job_id=job.id, index=0, user_id=0))
    image = await web.jobs.repository.get_image(job.id, 0)
    body = {**query, "mask": mask_url((image.width, image.height), (0, 0, 15, 15)), "prompt": prompt}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{web.url}/edit/{job.id}/0", json=body) as response,
    ):
        return response.status, await response.json()


async def test_the_editor_follows_discords_remix_rules(parent):
    """As Discord's Vary (Region): Remix off → no prompt box, the image's own prompt (a typed one
    is refused); Remix on → the box, and the typed prompt read by the admission (banned words)."""
    web, job = parent
    query = query_of(editor_url(web.settings, job_id=job.id, index=0, user_id=0))
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{web.url}/edit/{job.id}/0", params=query) as response,
    ):
        page = await response.text()
    assert 'id="region-prompt"' not in page and "Remix is off" in page
    status, answer = await submit_region(web, job, "a lighthouse")
    assert status == 400 and "Remix is off" in answer["error"]["message"]
    status, answer = await submit_region(web, job, "")
    made = await web.jobs.get_job(answer["job"])
    assert (made.kind, made.prompt, made.mode) == (JobKind.REGION, job.prompt, None)

    await web.jobs.repository.update_user_settings(0, remix=True)
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{web.url}/edit/{job.id}/0", params=query) as response,
    ):
        assert 'id="region-prompt"' in await response.text()
    status, answer = await submit_region(web, job, "a nude lighthouse")
    assert status == 400 and answer["error"]["title"] == "Banned prompt detected"
    status, answer = await submit_region(web, job, "a red door --seed 5")
    made = await web.jobs.get_job(answer["job"])
    assert made.kind is JobKind.REGION and made.prompt.startswith("a red door")
    assert made.generation_request.seed == 5 and made.meta["source"] == "web-editor"


async def test_smart_select_clicks_are_working_jobs_not_listed_anywhere(start_web):
    """Two Smart Select clicks answer masks; their jobs are kept (limits, accounting) but the
    archive, the Create page, the server's gallery and /personalize's candidates list only the real
    image, and the clicks' jobs have no channel (nothing is posted to Discord)."""
    web = await start_web(local=True, SEGMENT_MODEL="tiny")
    requests = await web.context.admission.read("a fox --seed 9", Place(0))
    job = await web.jobs.submit(
        NewJob(
            kind=JobKind.IMAGINE,
            user_id=0,
            guild_id=900,
            channel_id=5,
            prompt="a fox",
            request=requests[0].to_generation(9),
        )
    )
    async for _ in web.jobs.subscribe(job.id):
        pass
    query = query_of(editor_url(web.settings, job_id=job.id, index=0, user_id=0))
    async with aiohttp.ClientSession() as http:
        for x, y in ((5, 5), (20, 30)):
            async with http.post(
                f"{web.url}/edit/{job.id}/0/select", json={**query, "x": x, "y": y}
            ) as response:
                answer = await response.json()
            assert response.status == 200, answer
            assert answer["mask"].startswith("data:image/png;base64,")
        async with http.get(f"{web.url}/archive") as response:
            archive_page = await response.text()
        async with http.get(f"{web.url}/") as response:
            create_page = await response.text()
    clicks = [child for child in await web.jobs.repository.child_jobs(job.id) if child.kind is JobKind.SELECT]
    assert sorted(click.mode for click in clicks) == ["point 20,30", "point 5,5"]
    assert all(click.channel_id is None and click.guild_id == 900 for click in clicks)
    repository = web.jobs.repository
    assert [listed.id for listed in await repository.archive(0, limit=10)] == [job.id]
    assert [listed.id for listed in await repository.gallery(900)] == [job.id]
    assert {job_id for job_id, _ in await repository.style_candidates(0)} == {job.id}
    for page in (archive_page, create_page):
        assert job.id in page and not any(click.id in page for click in clicks)


async def test_reframe_makes_one_zoom_job_and_refuses_bad_placements_keeping_the_link(parent):
    """POST …/reframe: an unknown shape, a position outside 0–1 or nothing to paint (the image's
    own shape, no zoom) is a clear error and the link still works; then 9:16 zoomed out 1.5 at the
    top makes one Zoom job (mode `1.5 9:16 0.5,0`) where the layout puts the picture, and the link
    is spent."""
    web, job = parent
    query = query_of(editor_url(web.settings, job_id=job.id, index=0, user_id=0))
    url = f"{web.url}/edit/{job.id}/0/reframe"
    async with aiohttp.ClientSession() as http:
        for bad, message in (
            ({"aspect": "5:4"}, "Reframe takes one of"),
            ({"aspect": "16:9", "x": 1.5}, "Invalid position"),
            ({"aspect": "original", "zoom": 1}, "Nothing to reframe"),
            ({"aspect": "1:1", "zoom": 3}, "expected a number from 1 to 2"),
        ):
            async with http.post(url, json={**query, **bad}) as response:
                assert response.status == 400
                assert message in (await response.json())["error"]["message"]
        before = await jobs_of(web)
        async with http.post(
            url, json={**query, "aspect": "9:16", "zoom": 1.5, "x": 0.5, "y": 0}
        ) as response:
            answer = await response.json()
            assert response.status == 200, answer
        async with http.post(url, json={**query, "aspect": "9:16", "zoom": 1.5}) as response:
            assert response.status == 403  # the link is spent
    made = await web.jobs.get_job(answer["job"])
    assert (made.kind, made.mode, made.parent_id, made.parent_index) == (
        JobKind.ZOOM,
        "1.5 9:16 0.5,0",
        job.id,
        0,
    )
    image = await web.jobs.repository.get_image(job.id, 0)
    layout = canvas.zoom_layout((image.width, image.height), 1.5, web.jobs.family, (9, 16), (0.5, 0.0))
    assert made.request["extra"]["placement"] == list(layout.box) and layout.box[1] == 0
    assert await jobs_of(web) == before + 1
