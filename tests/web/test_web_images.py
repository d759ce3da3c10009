"""The web's Blend, Describe and Shorten over HTTP: multipart uploads with the CSRF token, the same
errors as Discord's attachments, the right job kind for the signed-in member, and the
suggestions' buttons (imagine one, imagine all, four more)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import aiohttp
import pytest
from PIL import Image

from bot.discord.image_commands import Upload, read_upload
from bot.engine.interface import NO_INPUTS, Operation
from bot.engine.request import GenerationResult
from bot.jobs.downloads import INVALID_LINK_TEXT, MAX_IMAGE_BYTES
from bot.jobs.models import JobKind, JobStatus
from tests.jobs.conftest import FakeEngine
from tests.web.conftest import SERVER

pytestmark = pytest.mark.timeout(120)

RED, BLUE = (220, 20, 20), (20, 20, 220)


@dataclass
class TextEngine(FakeEngine):
    """The fake engine, answering describe (four prompts from the seed) and shorten (the words,
    the last one unimportant, and two shorter prompts) like the real one's result."""

    def generate(self, operation, request, inputs=NO_INPUTS, on_step=None):
        if operation is Operation.DESCRIBE:
            prompts = [
                f"a {inputs.image.getpixel((0, 0))} picture, idea {n} of seed {request.seed}"
                for n in range(1, 5)
            ]
            return GenerationResult([], [], "fake", "", 0, 0.0, details={"prompts": prompts})
        if operation is Operation.SHORTEN:
            words = request.prompt.split()
            scores = [[word, 1.0 if n < len(words) - 1 else 0.1] for n, word in enumerate(words)]
            shorter = [" ".join(words[:-1]), " ".join(words[:2])]
            return GenerationResult([], [], "fake", "", 0, 0.0, details={"words": scores, "shorter": shorter})
        return super().generate(operation, request, inputs, on_step)


def png(colour: tuple[int, int, int], size: int = 48) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def client() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def upload(
    http: aiohttp.ClientSession, url: str, files: list[tuple[str, bytes]], csrf: str | None, **fields: str
) -> tuple[int, dict]:
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


async def post(http: aiohttp.ClientSession, url: str, body: dict, csrf: str) -> tuple[int, dict]:
    async with http.post(url, json=body, headers={"X-CSRF-Token": csrf}) as response:
        try:
            return response.status, await response.json()
        except aiohttp.ContentTypeError:
            return response.status, {"text": await response.text()}


async def finished(web, job_id: str):
    async for _event in web.jobs.subscribe(job_id):
        pass
    return await web.jobs.get_job(job_id)


async def nothing_queued(web) -> None:
    assert await web.jobs.repository.jobs_with_status(JobStatus.QUEUED, JobStatus.RUNNING) == []
    assert await web.jobs.repository.archive(111, limit=5) == []


async def test_blend_of_two_uploads_is_a_grid_job_of_the_member(start_web, fake_oauth):
    """Two uploads + Landscape → one blend job of Alice in her server, both pictures stored as its
    references; a POST without (or with a wrong) CSRF token is refused and queues nothing."""
    web = await start_web(TextEngine(), DISCORD_OAUTH_BASE=fake_oauth.url, STEPS="2")
    files = [("red.png", png(RED)), ("blue.png", png(BLUE))]
    async with client() as alice:
        csrf = await web.sign_in(alice, fake_oauth, "111")
        for token in (None, "wrong"):
            status, _ = await upload(alice, f"{web.url}/api/blend", files, token, dimensions="landscape")
            assert status == 403
        await nothing_queued(web)
        status, answer = await upload(
            alice, f"{web.url}/api/blend", files, csrf, dimensions="landscape", server=SERVER["id"]
        )
        assert status == 200, answer
        (made,) = answer["jobs"]
        assert made["kind"] == "blend" and made["label"] == "Blend"
        job = await finished(web, made["id"])
        assert (job.kind, job.user_id, job.guild_id, job.status) == (JobKind.BLEND, 111, 900, JobStatus.DONE)
        assert job.prompt == "<red.png> <blue.png> --ar 3:2"
        assert job.request["width"] > job.request["height"]
        assert len(job.meta["references"]) == 2
        folder = web.jobs.job_folder(job.id)
        stored = [Image.open(folder / f"ref-{n}.png").convert("RGB").getpixel((0, 0)) for n in (0, 1)]
        assert stored == [RED, BLUE]
        async with alice.get(f"{web.url}/api/jobs/{job.id}") as response:
            summary = await response.json()
        assert summary["grid"] is True and len(summary["images"]) == 4 and summary["text"] is None
        # 🔄 on the blend works like on any grid.
        status, answer = await post(alice, f"{web.url}/api/jobs/{job.id}/actions", {"action": "reroll"}, csrf)
        assert status == 200 and answer["jobs"][0]["kind"] == "reroll"


async def test_blend_and_describe_refuse_what_discord_refuses(start_web, fake_oauth):
    """1 or 6 images, a file that is not a picture, one over the size limit: the same errors as
    Discord's attachments give, inline, and nothing is queued."""
    web = await start_web(TextEngine(), DISCORD_OAUTH_BASE=fake_oauth.url)
    with pytest.raises(Exception) as discord_error:
        await read_upload(None, Upload("https://cdn/big.png", "big.png", MAX_IMAGE_BYTES + 1))  # type: ignore[arg-type]
    async with client() as alice:
        csrf = await web.sign_in(alice, fake_oauth, "111")
        blend = f"{web.url}/api/blend"
        status, answer = await upload(alice, blend, [("red.png", png(RED))], csrf)
        assert (status, answer["error"]["title"]) == (400, "Invalid parameter")
        assert answer["error"]["message"] == "/blend needs 2 to 5 images; you gave 1."
        six = [(f"{n}.png", png(RED)) for n in range(6)]
        status, answer = await upload(alice, blend, six, csrf)
        assert answer["error"]["message"] == "/blend needs 2 to 5 images; you gave 6."
        not_a_picture = [("red.png", png(RED)), ("notes.png", b"<html>not a picture</html>")]
        status, answer = await upload(alice, blend, not_a_picture, csrf)
        assert (status, answer["error"]) == (400, {"title": "Invalid link", "message": INVALID_LINK_TEXT})
        big = [("red.png", png(RED)), ("big.png", b"\x89PNG" + b"\0" * MAX_IMAGE_BYTES)]
        status, answer = await upload(alice, blend, big, csrf)
        assert status == 400
        assert answer["error"] == {"title": discord_error.value.title, "message": discord_error.value.message}
        assert answer["error"]["message"] == "big.png is larger than 20 MB."
        status, answer = await upload(
            alice, blend, [("a.png", png(RED)), ("b.png", png(RED))], csrf, dimensions="wide"
        )
        assert answer["error"]["title"] == "Invalid parameter"

        describe = f"{web.url}/api/describe"
        status, answer = await upload(alice, describe, [("notes.png", b"GIF89a broken")], csrf)
        assert (status, answer["error"]["message"]) == (400, INVALID_LINK_TEXT)
        status, answer = await upload(alice, describe, [("big.png", b"\0" * (MAX_IMAGE_BYTES + 10))], csrf)
        assert answer["error"]["message"] == "big.png is larger than 20 MB."
        status, answer = await upload(alice, describe, [], csrf)
        assert answer["error"]["title"] == "Invalid parameter"
        status, _ = await upload(alice, describe, [("red.png", png(RED))], None)
        assert status == 403
        await nothing_queued(web)


async def test_describe_suggests_four_prompts_and_its_buttons_imagine_them(start_web, fake_oauth):
    """An upload → a describe job of Alice → four numbered suggestions on the page; Imagine #2 is an
    /imagine job with suggestion 2; Imagine all makes four; 🔄 describes the same picture again."""
    web = await start_web(TextEngine(), DISCORD_OAUTH_BASE=fake_oauth.url, STEPS="2")
    async with client() as alice, client() as bob:
        csrf = await web.sign_in(alice, fake_oauth, "111")
        bob_csrf = await web.sign_in(bob, fake_oauth, "222")
        status, answer = await upload(alice, f"{web.url}/api/describe", [("red.png", png(RED))], csrf)
        assert status == 200, answer
        job = await finished(web, answer["jobs"][0]["id"])
        assert (job.kind, job.user_id, job.status) == (JobKind.DESCRIBE, 111, JobStatus.DONE)
        prompts = job.meta["result"]["prompts"]
        assert len(set(prompts)) == 4 and str(RED) in prompts[0]
        async with alice.get(f"{web.url}/api/jobs/{job.id}") as response:
            assert (await response.json())["text"] == {"prompts": prompts}
        async with alice.get(f"{web.url}/") as response:
            page = await response.text()
        for n, prompt in enumerate(prompts, start=1):
            assert f'data-use="{n}"' in page and f">{prompt}</span>" in page
        async with alice.get(f"{web.url}/jobs/{job.id}") as response:
            assert prompts[3] in await response.text()

        suggest = f"{web.url}/api/jobs/{job.id}/suggestions"
        status, answer = await post(alice, suggest, {"action": "imagine", "index": 2}, csrf)
        assert status == 200, answer
        imagined = await web.jobs.get_job(answer["jobs"][0]["id"])
        assert (imagined.kind, imagined.user_id, imagined.prompt) == (JobKind.IMAGINE, 111, prompts[1])
        status, answer = await post(alice, suggest, {"action": "all"}, csrf)
        assert [made["prompt"] for made in answer["jobs"]] == prompts
        status, answer = await post(alice, suggest, {"action": "imagine", "index": 9}, csrf)
        assert answer["error"]["title"] == "Job not found"
        status, answer = await post(alice, suggest, {"action": "redescribe"}, csrf)
        again = await finished(web, answer["jobs"][0]["id"])
        assert again.kind is JobKind.DESCRIBE and again.prompt == job.prompt
        assert str(RED) in again.meta["result"]["prompts"][0]  # the stored picture, read again

        # Describe an image of one of my own jobs (the U-page's Describe button); not Bob's.
        grid = await finished(web, imagined.id)
        status, answer = await upload(alice, f"{web.url}/api/describe", [], csrf, job=grid.id, index="3")
        assert status == 200, answer
        described = await finished(web, answer["jobs"][0]["id"])
        (image,) = [image for image in await web.jobs.repository.get_images(grid.id) if image.index == 2]
        colour = Image.open(image.path).convert("RGB").getpixel((0, 0))
        assert str(colour) in described.meta["result"]["prompts"][0]
        status, _ = await upload(bob, f"{web.url}/api/describe", [], bob_csrf, job=grid.id, index="3")
        assert status == 404


async def test_shorten_shows_the_analysis_and_imagines_a_shorter_prompt(start_web, fake_oauth):
    """A prompt → a shorten job → the words ranked (the unimportant one struck out) and shorter
    prompts with the parameters added back; "Imagine this" makes that /imagine job."""
    web = await start_web(TextEngine(), DISCORD_OAUTH_BASE=fake_oauth.url, STEPS="2")
    async with client() as alice:
        csrf = await web.sign_in(alice, fake_oauth, "111")
        shorten = f"{web.url}/api/shorten"
        status, answer = await post(alice, shorten, {"prompt": "a lighthouse at dusk --chaos 500"}, csrf)
        assert status == 400 and answer["error"]["title"] == "Invalid parameter"
        status, answer = await post(alice, shorten, {"prompt": "--ar 3:2"}, csrf)
        assert answer["error"]["title"] == "Empty prompt"
        await nothing_queued(web)
        status, answer = await post(alice, shorten, {"prompt": "red fox lighthouse very --ar 3:2"}, csrf)
        assert status == 200, answer
        job = await finished(web, answer["jobs"][0]["id"])
        assert (job.kind, job.user_id, job.generation_request.prompt) == (
            JobKind.SHORTEN,
            111,
            "red fox lighthouse very",
        )
        async with alice.get(f"{web.url}/api/jobs/{job.id}") as response:
            text = (await response.json())["text"]
        assert [word["struck"] for word in text["words"]] == [False, False, False, True]
        assert text["shorter"] == ["red fox lighthouse --ar 3:2", "red fox --ar 3:2"]
        async with alice.get(f"{web.url}/") as response:
            page = await response.text()
        assert "<s>very</s>" in page and "IMPORTANT TOKENS" in page and "red fox --ar 3:2</span>" in page
        status, answer = await post(
            alice, f"{web.url}/api/jobs/{job.id}/suggestions", {"action": "imagine", "index": 2}, csrf
        )
        imagined = await web.jobs.get_job(answer["jobs"][0]["id"])
        assert imagined.kind is JobKind.IMAGINE and imagined.prompt == "red fox --ar 3:2"
        assert imagined.request["width"] > imagined.request["height"]
        status, answer = await post(
            alice, f"{web.url}/api/jobs/{job.id}/suggestions", {"action": "redescribe"}, csrf
        )
        assert status == 400
