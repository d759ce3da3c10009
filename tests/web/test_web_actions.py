"""The web's ❌ Cancel, Remix and Custom Zoom over HTTP: the same job service and admission as
Discord, only the owner cancels, every POST needs its CSRF token."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from bot.engine import canvas
from bot.jobs.custom_zoom import custom_zoom_prompt
from bot.jobs.models import JobKind, JobStatus
from tests.jobs.conftest import FakeEngine
from tests.web.conftest import SERVER

pytestmark = pytest.mark.timeout(120)


def client() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def post(http: aiohttp.ClientSession, url: str, body: dict, csrf: str | None) -> tuple[int, dict]:
    headers = {"X-CSRF-Token": csrf} if csrf is not None else {}
    async with http.post(url, json=body, headers=headers) as response:
        try:
            data = await response.json()
        except aiohttp.ContentTypeError:
            data = {"text": await response.text()}
        return response.status, data


async def imagine(web, http, csrf: str, prompt: str, server: str = "") -> str:
    status, answer = await post(http, f"{web.url}/api/imagine", {"prompt": prompt, "server": server}, csrf)
    assert status == 200, answer
    return answer["jobs"][0]["id"]


async def finished(web, job_id: str):
    async for _event in web.jobs.subscribe(job_id):
        pass
    return await web.jobs.get_job(job_id)


async def act(web, http, csrf: str, job_id: str, **body) -> tuple[int, dict]:
    return await post(http, f"{web.url}/api/jobs/{job_id}/actions", body, csrf)


async def test_only_the_owner_cancels_a_running_or_waiting_job(start_web, fake_oauth):
    """Bob (same server, sees the job) gets 404; no CSRF → 403; Alice cancels her running job and
    her waiting one; a finished job cannot be cancelled."""
    engine = FakeEngine(hold_after=1)
    web = await start_web(engine, DISCORD_OAUTH_BASE=fake_oauth.url, STEPS="4")
    async with client() as alice, client() as bob:
        alice_csrf = await web.sign_in(alice, fake_oauth, "111")
        bob_csrf = await web.sign_in(bob, fake_oauth, "222")
        running = await imagine(web, alice, alice_csrf, "a slow fox", SERVER["id"])
        waiting = await imagine(web, alice, alice_csrf, "a patient fox", SERVER["id"])
        assert await asyncio.to_thread(engine.holding.wait, 30)
        async with bob.get(f"{web.url}/api/jobs/{running}") as response:
            assert response.status == 200  # Bob may see it (shared server) ...
        status, _ = await post(bob, f"{web.url}/api/jobs/{running}/cancel", {}, bob_csrf)
        assert status == 404  # ... but not cancel it
        for token in (None, "wrong"):
            status, _ = await post(alice, f"{web.url}/api/jobs/{running}/cancel", {}, token)
            assert status == 403
        assert (await web.jobs.get_job(running)).status is JobStatus.RUNNING
        assert (await web.jobs.get_job(waiting)).status is JobStatus.QUEUED
        async with alice.get(f"{web.url}/") as response:
            assert (await response.text()).count("data-cancel") == 2  # ❌ on both cards

        status, answer = await post(alice, f"{web.url}/api/jobs/{waiting}/cancel", {}, alice_csrf)
        assert (status, answer) == (200, {"cancelled": True, "id": waiting})
        assert (await web.jobs.get_job(waiting)).status is JobStatus.CANCELLED
        status, answer = await post(alice, f"{web.url}/api/jobs/{running}/cancel", {}, alice_csrf)
        assert status == 200 and answer["cancelled"] is True
        engine.release.set()
        assert (await finished(web, running)).status is JobStatus.CANCELLED
        assert engine.steps_by_prompt.get("a patient fox", 0) == 0

        status, answer = await post(alice, f"{web.url}/api/jobs/{running}/cancel", {}, alice_csrf)
        assert status == 400 and answer["error"]["message"] == "This job has already finished."
        async with alice.get(f"{web.url}/") as response:
            page = await response.text()
        assert page.count("data-cancel") == 0 and "Cancelled" in page


async def test_the_job_page_of_a_running_job_has_cancel_for_its_owner_only(start_web, fake_oauth):
    """❌ Cancel shows on the owner's job page while the job runs; not for Bob, not once done."""
    engine = FakeEngine(hold_after=1)
    web = await start_web(engine, DISCORD_OAUTH_BASE=fake_oauth.url, STEPS="4")
    async with client() as alice, client() as bob:
        csrf = await web.sign_in(alice, fake_oauth, "111")
        await web.sign_in(bob, fake_oauth, "222")
        job_id = await imagine(web, alice, csrf, "a slow fox", SERVER["id"])
        assert await asyncio.to_thread(engine.holding.wait, 30)
        async with alice.get(f"{web.url}/jobs/{job_id}") as response:
            assert 'id="cancel-job"' in await response.text()
        async with bob.get(f"{web.url}/jobs/{job_id}") as response:
            assert 'id="cancel-job"' not in await response.text()
        engine.release.set()
        await finished(web, job_id)
        async with alice.get(f"{web.url}/jobs/{job_id}") as response:
            assert 'id="cancel-job"' not in await response.text()


async def test_remix_setting_and_an_edited_prompt_make_a_child_job(start_web, fake_oauth):
    """The web's Remix toggle is Discord's /settings remix; V2 / 🔄 / Vary (Subtle) with an edited
    prompt make children with the new prompt, read by the admission (errors inline, no job)."""
    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url)
    repository = web.jobs.repository
    async with client() as http:
        csrf = await web.sign_in(http, fake_oauth)
        status, _ = await post(http, f"{web.url}/api/settings", {"remix": True}, None)
        assert status == 403
        status, answer = await post(http, f"{web.url}/api/settings", {"remix": True}, csrf)
        assert (status, answer) == (200, {"remix": True})
        assert (await repository.get_user_settings(111)).remix is True
        async with http.get(f"{web.url}/") as response:
            page = await response.text()
        assert 'id="remix" checked' in page and 'data-on="1"' in page
        parent = await finished(web, await imagine(web, http, csrf, "a red fox --seed 10"))

        status, answer = await act(
            web, http, csrf, parent.id, action="variation", index=2, prompt="a blue fox --seed 5"
        )
        assert status == 200, answer
        child = await finished(web, answer["jobs"][0]["id"])
        assert (child.kind, child.parent_id, child.parent_index) == (JobKind.VARIATION, parent.id, 1)
        assert child.prompt == "a blue fox --seed 5" and child.request["prompt"] == "a blue fox"
        assert child.mode == "strong" and child.seeds[0] == 5 and child.status is JobStatus.DONE

        status, answer = await act(web, http, csrf, parent.id, action="reroll", prompt="a {green, gold} fox")
        rerolls = [await finished(web, job["id"]) for job in answer["jobs"]]
        assert sorted(job.request["prompt"] for job in rerolls) == ["a gold fox", "a green fox"]
        assert {(job.kind, job.parent_index) for job in rerolls} == {(JobKind.REROLL, None)}
        status, answer = await act(
            web, http, csrf, parent.id, action="vary_subtle", index=1, prompt="a fox, pastel"
        )
        subtle = await web.jobs.get_job(answer["jobs"][0]["id"])
        assert (subtle.mode, subtle.request["prompt"]) == ("subtle", "a fox, pastel")

        before = len(await repository.child_jobs(parent.id))
        for body, title in (
            ({"action": "variation", "index": 1, "prompt": "a fox --chaos 500"}, "Invalid parameter"),
            ({"action": "variation", "index": 1, "prompt": "   "}, "Empty prompt"),
            ({"action": "variation", "index": 1, "prompt": "a fox --repeat 6"}, "Invalid prompt"),
            ({"action": "upscale_subtle", "index": 1, "prompt": "a fox"}, "Invalid parameter"),
            ({"action": "variation", "index": 1, "prompt": "a fox --zoom 2"}, "Invalid parameter"),
        ):
            status, answer = await act(web, http, csrf, parent.id, **body)
            assert status == 400 and answer["error"]["title"] == title, (body, answer)
        assert len(await repository.child_jobs(parent.id)) == before

        status, answer = await post(http, f"{web.url}/api/settings", {"remix": False}, csrf)
        assert answer == {"remix": False} and (await repository.get_user_settings(111)).remix is False
        status, _ = await post(http, f"{web.url}/api/settings", {"stylize": 5}, csrf)
        assert status == 400


async def test_a_remixed_prompt_meets_the_servers_banned_words(start_web, fake_oauth):
    """The remix text goes through the same banned-word check as /imagine in the job's server."""
    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url)
    await web.jobs.repository.add_banned_word(int(SERVER["id"]), "lizard", 1)
    async with client() as http:
        csrf = await web.sign_in(http, fake_oauth)
        parent = await finished(web, await imagine(web, http, csrf, "a red fox", SERVER["id"]))
        status, answer = await act(web, http, csrf, parent.id, action="variation", index=1, prompt="a lizard")
    assert status == 400 and answer["error"]["title"] == "Banned prompt detected"
    assert await web.jobs.repository.child_jobs(parent.id) == []


async def test_custom_zoom_makes_a_zoom_job_with_the_prompts_zoom_and_shape(start_web, fake_oauth):
    """Custom Zoom of image #1: `--zoom 1.5 --ar 16:9` → a ZOOM job, mode "1.5 16:9", placed where
    the canvas layout puts the original; bad `--zoom` is an inline error; the page offers the form
    pre-filled like Discord's modal."""
    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url)
    async with client() as http:
        csrf = await web.sign_in(http, fake_oauth)
        parent = await finished(web, await imagine(web, http, csrf, "a red fox --ar 1:1"))
        original = await web.jobs.repository.get_image(parent.id, 0)
        async with http.get(f"{web.url}/jobs/{parent.id}/1") as response:
            page = await response.text()
        prefilled = custom_zoom_prompt(parent.prompt, "1:1")
        assert prefilled.endswith("--ar 1:1 --zoom 2")
        assert f'data-action="custom_zoom" data-index="1" data-prompt="{prefilled}"' in page

        text = "a red fox, wide beach --ar 16:9 --zoom 1.5"
        status, answer = await act(web, http, csrf, parent.id, action="custom_zoom", index=1, prompt=text)
        assert status == 200, answer
        zoom = await finished(web, answer["jobs"][0]["id"])
        assert (zoom.kind, zoom.mode, zoom.parent_index) == (JobKind.ZOOM, "1.5 16:9", 0)
        assert zoom.request["prompt"] == "a red fox, wide beach" and zoom.status is JobStatus.DONE
        layout = canvas.zoom_layout((original.width, original.height), 1.5, web.jobs.family, (16, 9))
        assert zoom.request["extra"]["placement"] == list(layout.box)
        picture = await web.jobs.repository.get_image(zoom.id, 0)
        assert picture.width > picture.height
        assert abs(picture.width / picture.height - 16 / 9) < 0.1

        for prompt in ("a red fox --zoom 3", "a red fox --ar 1:1 --zoom 1"):
            status, answer = await act(
                web, http, csrf, parent.id, action="custom_zoom", index=1, prompt=prompt
            )
            assert status == 400 and answer["error"]["title"] == "Invalid parameter", answer
        status, _ = await act(web, http, csrf, parent.id, action="custom_zoom", index=1)
        assert status == 400  # no prompt
        status, _ = await post(
            http,
            f"{web.url}/api/jobs/{parent.id}/actions",
            {"action": "custom_zoom", "index": 1, "prompt": text},
            None,
        )
        assert status == 403
    assert [job.id for job in await web.jobs.repository.child_jobs(parent.id)] == [zoom.id]


async def test_enhance_on_the_web_rerenders_a_draft_grid(start_web, fake_oauth):
    """✨ Enhance (one row of the action table) shows under a --draft grid only, on the job page and
    in the JSON the page's script draws; it makes the draft again at full quality, same seeds."""
    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url)
    async with client() as alice:
        csrf = await web.sign_in(alice, fake_oauth, "111")
        draft = await finished(web, await imagine(web, alice, csrf, "a red fox --draft --seed 42"))
        normal = await finished(web, await imagine(web, alice, csrf, "a red fox --seed 42"))
        async with alice.get(f"{web.url}/jobs/{draft.id}") as response:
            assert 'data-action="enhance"' in await response.text()
        async with alice.get(f"{web.url}/jobs/{normal.id}") as response:
            assert 'data-action="enhance"' not in await response.text()
        async with alice.get(f"{web.url}/api/jobs/{draft.id}") as response:
            rows = (await response.json())["buttons"]
        assert [button["action"] for button in rows[-1]] == ["enhance"] and not rows[-1][0]["remix"]

        status, answer = await act(web, alice, csrf, normal.id, action="enhance")
        assert status == 400 and "Only a --draft grid" in answer["error"]["message"]
        status, answer = await act(web, alice, csrf, draft.id, action="enhance")
        assert status == 200, answer
        enhanced = await finished(web, answer["jobs"][0]["id"])
        assert (enhanced.kind, enhanced.mode, enhanced.parent_id) == (JobKind.REROLL, "enhance", draft.id)
        assert not enhanced.generation_request.is_draft and enhanced.seeds == draft.seeds
        assert enhanced.generation_request.steps > draft.generation_request.steps
