"""The web's uploads are bounded (issue 19 item 5): pictures scaled down like links, bodies spooled
(not held in memory), announced oversize refused before reading, slow bodies cut off."""

from __future__ import annotations

import asyncio
import time

import pytest
from PIL import Image

from bot.jobs.models import JobStatus
from bot.web import uploads
from bot.web.uploads import MAX_UPLOAD_BODY, SPOOL_IN_MEMORY
from tests.web.test_web_images import TextEngine, client, finished, png, upload

pytestmark = pytest.mark.timeout(120)

BIG = 1536  # larger than the upload working size (UPLOAD_FIT 1024)


async def test_uploaded_pictures_are_scaled_down_like_links(start_web, fake_oauth):
    """/blend of two 1536² uploads stores references scaled to 1024², not the full pictures;
    /describe's input too."""
    web = await start_web(TextEngine(), DISCORD_OAUTH_BASE=fake_oauth.url, STEPS="2")
    files = [("red.png", png((220, 20, 20), BIG)), ("blue.png", png((20, 20, 220), BIG))]
    async with client() as alice:
        csrf = await web.sign_in(alice, fake_oauth, "111")
        status, answer = await upload(alice, f"{web.url}/api/blend", files, csrf)
        assert status == 200, answer
        job = await finished(web, answer["jobs"][0]["id"])
        status, answer = await upload(alice, f"{web.url}/api/describe", files[:1], csrf)
        assert status == 200, answer
        described = await finished(web, answer["jobs"][0]["id"])
    assert job.status is JobStatus.DONE and described.status is JobStatus.DONE
    for path in (web.jobs.job_folder(job.id) / "ref-0.png", web.jobs.job_folder(described.id) / "input.png"):
        with Image.open(path) as stored:
            assert stored.size == (1024, 1024), path


async def test_concurrent_uploads_hold_little_memory(start_web, fake_oauth):
    """4 concurrent /blend posts of 5 pictures each: the bytes held in memory while reading stay
    within one spool buffer per file being read (the rest waits on disk)."""
    web = await start_web(TextEngine(), DISCORD_OAUTH_BASE=fake_oauth.url, STEPS="2")
    picture = png((20, 120, 20), 900)
    padded = picture + b"\0" * (3 * 1024 * 1024)  # 3 MB files (PNG readers ignore the tail)
    files = [(f"p{n}.png", padded) for n in range(5)]
    async with client() as alice:
        csrf = await web.sign_in(alice, fake_oauth, "111")
        answers = await asyncio.gather(
            *(upload(alice, f"{web.url}/api/blend", files, csrf) for _ in range(4))
        )
    assert [status for status, _ in answers] == [200] * 4, answers
    gate = web.server.app[uploads.GATE]
    assert 0 < gate.peak <= uploads.MAX_UPLOADS_AT_ONCE * SPOOL_IN_MEMORY
    assert gate.held == 0


async def _raw(url: str, head: bytes, body_parts: list[bytes], pause: float) -> tuple[bytes, float]:
    """Send `head`, then `body_parts` every `pause` s until the server answers; the answer's
    first bytes and the seconds it took (bounded: 10 s)."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    started = time.monotonic()
    writer.write(head)
    answer = asyncio.create_task(reader.read(200))
    try:
        for part in body_parts:
            await asyncio.wait({answer}, timeout=pause)
            if answer.done():
                break
            writer.write(part)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    first = await asyncio.wait_for(answer, 10)
    seconds = time.monotonic() - started
    writer.close()
    return first, seconds


async def test_an_announced_oversize_body_is_refused_before_reading(start_web):
    """A Content-Length over the limit is 413 at once (nothing is read or spooled)."""
    web = await start_web(local=True)
    async with client() as http:
        async with http.get(f"{web.url}/") as response:
            page = await response.text()
        csrf = page.split('name="csrf" content="', 1)[1].split('"', 1)[0]
        cookie = "; ".join(f"{c.key}={c.value}" for c in http.cookie_jar)
    head = (
        "POST /api/blend HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Cookie: {cookie}\r\nX-CSRF-Token: {csrf}\r\n"
        "Content-Type: multipart/form-data; boundary=xx\r\n"
        f"Content-Length: {MAX_UPLOAD_BODY + 1}\r\n\r\n"
    ).encode()
    answer, seconds = await _raw(web.url, head, [], 0)
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert seconds < 5


async def test_a_trickling_upload_is_cut_off(start_web, monkeypatch):
    """A body sent a few bytes at a time is refused after UPLOAD_READ_SECONDS (408)."""
    monkeypatch.setattr(uploads, "UPLOAD_READ_SECONDS", 1.0)
    web = await start_web(local=True)
    async with client() as http:
        async with http.get(f"{web.url}/") as response:
            page = await response.text()
        csrf = page.split('name="csrf" content="', 1)[1].split('"', 1)[0]
        cookie = "; ".join(f"{c.key}={c.value}" for c in http.cookie_jar)
    body = b'--xx\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n' + b"x" * 200
    head = (
        "POST /api/blend HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Cookie: {cookie}\r\nX-CSRF-Token: {csrf}\r\n"
        "Content-Type: multipart/form-data; boundary=xx\r\n"
        f"Content-Length: {len(body) + 1000}\r\n\r\n"
    ).encode()
    parts = [body[i : i + 10] for i in range(0, len(body), 10)]
    answer, seconds = await _raw(web.url, head, parts, 0.25)
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert seconds < 5
