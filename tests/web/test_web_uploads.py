"""The web editor on uploads: a picture posted from the Create page becomes the member's upload
job with the single-image buttons (Remove Background among them) and a signed editor link."""

from __future__ import annotations

import io

import aiohttp
import pytest
from PIL import Image

from bot.jobs.models import JobKind, JobStatus
from tests.jobs.conftest import FakeEngine
from tests.web.conftest import SERVER

pytestmark = pytest.mark.timeout(120)


def png(size: tuple[int, int] = (80, 56)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


async def send(http, url, files, csrf, **fields):
    form = aiohttp.FormData(default_to_multipart=True)
    for name, value in fields.items():
        form.add_field(name, value)
    for filename, data in files:
        form.add_field("image", data, filename=filename, content_type="image/png")
    headers = {"X-CSRF-Token": csrf} if csrf is not None else {}
    async with http.post(url, data=form, headers=headers) as response:
        try:
            return response.status, await response.json()
        except aiohttp.ContentTypeError:
            return response.status, {"text": await response.text()}


async def test_an_uploaded_picture_opens_the_editor_and_gets_the_single_image_buttons(start_web, fake_oauth):
    """POST /api/uploads → an upload job of the member (no GPU), its editor link works, the job
    page offers Remove Background, and pressing it makes a background job from the upload."""
    engine = FakeEngine()
    web = await start_web(engine, DISCORD_OAUTH_BASE=fake_oauth.url, STEPS="2")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as alice:
        csrf = await web.sign_in(alice, fake_oauth, "111")
        status, _ = await send(alice, f"{web.url}/api/uploads", [("cat.png", png())], None)
        assert status == 403  # no CSRF header: refused like every upload
        status, answer = await send(
            alice,
            f"{web.url}/api/uploads",
            [("cat.png", png())],
            csrf,
            prompt="a red cat",
            server=SERVER["id"],
        )
        assert status == 200, answer
        job = await web.jobs.get_job(answer["job"])
        assert (job.kind, job.status, job.user_id, job.guild_id) == (JobKind.UPLOAD, JobStatus.DONE, 111, 900)
        assert job.prompt == "a red cat" and engine.calls == []
        assert answer["jobs"][0]["label"] == "Upload" and answer["editor"].startswith(f"/edit/{job.id}/0?")
        async with alice.get(f"{web.url}{answer['editor']}") as response:
            assert response.status == 200 and f"/edit/{job.id}/0/image.png" in await response.text()
        async with alice.get(f"{web.url}/jobs/{job.id}") as response:
            page = await response.text()
        assert response.status == 200 and "Remove Background" in page and "Vary (Subtle)" in page
        async with alice.post(
            f"{web.url}/api/jobs/{job.id}/actions",
            json={"action": "remove_background", "index": 1},
            headers={"X-CSRF-Token": csrf},
        ) as response:
            made = await response.json()
        assert response.status == 200, made
        assert made["jobs"][0]["kind"] == "background"


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([("notes.png", b"just some text")], "can't be used as an image"),
        ([], "Give one image"),
    ],
)
async def test_uploads_that_are_no_pictures_are_refused_inline(start_web, fake_oauth, files, message):
    """`Invalid link` / `Invalid parameter` as JSON for the form, nothing stored."""
    web = await start_web(FakeEngine(), DISCORD_OAUTH_BASE=fake_oauth.url, STEPS="2")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as alice:
        csrf = await web.sign_in(alice, fake_oauth, "111")
        status, answer = await send(alice, f"{web.url}/api/uploads", files, csrf)
    assert status == 400 and message in answer["error"]["message"]
    assert await web.jobs.repository.archive(111, limit=5) == []
