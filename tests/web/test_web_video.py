"""Video on the web app (issue 21): Animate on the job page, video cards, Download MP4, Extend."""

from __future__ import annotations

import io

import av
import pytest

from bot.jobs.models import JobKind, JobStatus
from tests.web.test_web_actions import act, client, finished, imagine

pytestmark = pytest.mark.timeout(300)

# Tiny clips: 5 frames at 64 px, 2 steps (the tiny Wan model).
VIDEO = {"VIDEO_FRAMES": "5", "VIDEO_STEPS": "2", "VIDEO_EXTEND_FRAMES": "4", "VIDEO_FPS": "8"}


def frames_of(data: bytes) -> int:
    with av.open(io.BytesIO(data)) as container:
        return sum(1 for _ in container.decode(video=0))


async def test_animate_and_extend_from_the_job_page(start_web, fake_oauth, tiny_engine, tiny_settings):
    """Image #1's page offers Animate; its job's page and the archive show <video> cards of the
    clips; a clip's page has Download MP4 and Extend, whose job adds frames; /clips/ serves MP4s."""
    web = await start_web(
        tiny_engine, DISCORD_OAUTH_BASE=fake_oauth.url, MODELS_DIR=str(tiny_settings.models_dir), **VIDEO
    )
    async with client() as alice:
        csrf = await web.sign_in(alice, fake_oauth, "111")
        grid = await imagine(web, alice, csrf, "a red fox --ar 1:1")
        assert (await finished(web, grid)).status is JobStatus.DONE
        async with alice.get(f"{web.url}/jobs/{grid}/1") as response:
            page = await response.text()
        assert 'data-action="animate_low"' in page and ">Animate (High motion)<" in page

        status, answer = await act(web, alice, csrf, grid, action="animate_low", index=1)
        assert status == 200, answer
        video = answer["jobs"][0]["id"]
        animated = await finished(web, video)
        assert animated.status is JobStatus.DONE and animated.kind is JobKind.ANIMATE
        async with alice.get(f"{web.url}/jobs/{video}") as response:
            page = await response.text()
        assert page.count("<video") == 4 and f"/clips/{video}/0.mp4" in page and 'id="v1"' not in page
        async with alice.get(f"{web.url}/archive") as response:
            assert f'<video src="/clips/{video}/0.mp4"' in await response.text()

        async with alice.get(f"{web.url}/jobs/{video}/1") as response:
            page = await response.text()
        assert 'id="download-mp4"' in page and 'data-action="extend_high"' in page
        async with alice.get(f"{web.url}/clips/{video}/0.mp4?download=1") as response:
            assert response.status == 200 and "attachment" in response.headers["Content-Disposition"]
            assert frames_of(await response.read()) == 5
        async with alice.get(f"{web.url}/clips/{grid}/0.mp4") as response:
            assert response.status == 404  # an image job has no clips

        status, answer = await act(web, alice, csrf, video, action="extend_high", index=1)
        assert status == 200, answer
        longer = answer["jobs"][0]["id"]
        assert (await finished(web, longer)).kind is JobKind.EXTEND
        async with alice.get(f"{web.url}/clips/{longer}/0.mp4") as response:
            assert frames_of(await response.read()) == 5 + 4
