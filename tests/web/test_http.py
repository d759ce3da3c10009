"""The web app over HTTP: sign-in through a fake Discord, who may see what, CSRF, paths, sessions."""

from __future__ import annotations

import asyncio
import io

import aiohttp
import pytest
from PIL import Image
from yarl import URL

from bot.governance.admission import Place
from bot.jobs.files import parse_a1111_parameters
from bot.jobs.models import JobStatus
from tests.web.conftest import SERVER

pytestmark = pytest.mark.timeout(120)


def client() -> aiohttp.ClientSession:
    # unsafe=True: keep cookies of an IP host (127.0.0.1), as a browser does.
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def imagine(http: aiohttp.ClientSession, url: str, csrf: str, prompt: str, server: str = "") -> dict:
    async with http.post(
        f"{url}/api/imagine", json={"prompt": prompt, "server": server}, headers={"X-CSRF-Token": csrf}
    ) as response:
        return await response.json()


async def finished(web, job_id: str):
    async for _event in web.jobs.subscribe(job_id):
        pass
    return await web.jobs.get_job(job_id)


async def test_sign_in_with_discord_then_create_and_read_the_png(start_web, fake_oauth):
    """Fake Discord signs Alice in; her prompt becomes a job whose PNG carries its parameters."""
    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url)
    async with client() as http:
        csrf = await web.sign_in(http, fake_oauth, "111")
        exchange = fake_oauth.exchanges[-1]
        assert exchange["grant_type"] == "authorization_code"
        assert exchange["redirect_uri"] == f"{web.url}/auth/callback"
        answer = await imagine(http, web.url, csrf, "a lighthouse at dusk --ar 3:2 --seed 7")
        job = await finished(web, answer["jobs"][0]["id"])
        assert job.user_id == 111 and job.status is JobStatus.DONE and job.meta["source"] == "web"
        async with http.get(f"{web.url}/images/{job.id}/1.png?download=1") as response:
            assert response.status == 200
            assert "attachment" in response.headers["Content-Disposition"]
            picture = Image.open(io.BytesIO(await response.read()))
        fields = parse_a1111_parameters(picture.info["parameters"])
        assert fields["prompt"].startswith("a lighthouse at dusk")
        assert fields["Seed"] == "8"  # image #2 of seed 7


async def test_prompt_errors_come_back_inline(start_web, fake_oauth):
    """A bad parameter is answered with Midjourney's title and the reason; no job is made."""
    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url)
    async with client() as http:
        csrf = await web.sign_in(http, fake_oauth)
        answer = await imagine(http, web.url, csrf, "a fox --chaos 500")
    assert answer["error"]["title"] == "Invalid parameter"
    assert "--chaos" in answer["error"]["message"]
    assert await web.jobs.repository.archive(111) == []


async def test_another_members_job_and_image_are_404(start_web, fake_oauth):
    """Bob cannot open Alice's job page or image (no shared server); Alice can."""
    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url)
    async with client() as alice, client() as bob:
        csrf = await web.sign_in(alice, fake_oauth, "111")
        await web.sign_in(bob, fake_oauth, "222")
        job = await finished(web, (await imagine(alice, web.url, csrf, "a secret garden"))["jobs"][0]["id"])
        for path in (
            f"/jobs/{job.id}",
            f"/jobs/{job.id}/1",
            f"/images/{job.id}/0.png",
            f"/api/jobs/{job.id}",
        ):
            async with bob.get(f"{web.url}{path}") as response:
                assert response.status == 404, path
            async with alice.get(f"{web.url}{path}") as response:
                assert response.status == 200, path


async def test_stealth_jobs_never_show_in_the_servers_gallery(start_web, fake_oauth):
    """A job made in stealth mode stays out of the gallery (and Bob's view) even after /public."""
    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url)
    async with client() as alice, client() as bob:
        csrf = await web.sign_in(alice, fake_oauth, "111")
        await web.sign_in(bob, fake_oauth, "222")
        public = await finished(
            web, (await imagine(alice, web.url, csrf, "public fox", SERVER["id"]))["jobs"][0]["id"]
        )
        async with alice.post(
            f"{web.url}/api/stealth", json={"stealth": True}, headers={"X-CSRF-Token": csrf}
        ) as r:
            assert r.status == 200
        hidden = await finished(
            web, (await imagine(alice, web.url, csrf, "stealth fox", SERVER["id"]))["jobs"][0]["id"]
        )
        assert hidden.meta.get("stealth") is True
        async with bob.get(f"{web.url}/servers/{SERVER['id']}") as response:
            page = await response.text()
        assert hidden.id not in page and public.id not in page  # Alice is in stealth mode now
        await web.jobs.repository.set_stealth(111, False)  # /public
        async with bob.get(f"{web.url}/servers/{SERVER['id']}") as response:
            page = await response.text()
        assert public.id in page and hidden.id not in page
        async with bob.get(f"{web.url}/jobs/{hidden.id}") as response:
            assert response.status == 404
        async with bob.get(f"{web.url}/jobs/{public.id}") as response:
            assert response.status == 200


async def test_a_post_without_the_csrf_token_is_403(start_web, fake_oauth):
    """Every POST needs the session's CSRF token: missing or wrong → 403 and no job."""
    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url)
    async with client() as http:
        await web.sign_in(http, fake_oauth)
        for headers in ({}, {"X-CSRF-Token": "wrong"}):
            async with http.post(
                f"{web.url}/api/imagine", json={"prompt": "a fox"}, headers=headers
            ) as response:
                assert response.status == 403
        async with http.post(f"{web.url}/auth/logout") as response:
            assert response.status == 403
    assert await web.jobs.repository.archive(111) == []


@pytest.mark.parametrize(
    "path",
    [
        "/images/{job}/../../bot.sqlite3",
        "/images/{job}/..%2F..%2Fbot.sqlite3",
        "/images/{job}/%2e%2e%2fgrid.png",
        "/images/../data/bot.sqlite3",
        "/images/{job}/0.png/..",
        "/static/../app.py",
        "/static/%2e%2e/app.py",
    ],
)
async def test_dot_dot_in_an_image_path_is_404(start_web, fake_oauth, path):
    """Paths that climb out of an image or static folder answer 404."""
    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url)
    async with client() as http:
        csrf = await web.sign_in(http, fake_oauth)
        job = await finished(web, (await imagine(http, web.url, csrf, "a fox"))["jobs"][0]["id"])
        async with http.get(
            URL(web.url + path.format(job=job.id), encoded=True), allow_redirects=False
        ) as response:
            assert response.status == 404, (path, response.status, (await response.read())[:80])


async def test_an_expired_session_goes_back_to_sign_in(start_web, fake_oauth):
    """Once the session has expired, pages redirect to /signin and the API answers 401."""
    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url)
    async with client() as http:
        await web.sign_in(http, fake_oauth)
        await web.jobs.repository._db.execute("UPDATE web_sessions SET expires_at = 0")
        await web.jobs.repository._db.commit()
        async with http.get(f"{web.url}/archive", allow_redirects=False) as response:
            assert response.status == 302
            assert response.headers["Location"].startswith("/signin")
        async with http.get(f"{web.url}/api/jobs/00000000-0000-0000-0000-000000000000") as response:
            assert response.status == 401


async def test_a_forged_cookie_is_no_session(start_web, fake_oauth):
    """A cookie whose signature does not match is ignored (sign-in page)."""
    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url)
    async with client() as http:
        await web.sign_in(http, fake_oauth)
        cookie = next(c for c in http.cookie_jar if c.key == "mj_session")
        session_id = cookie.value.split(".")[0]
        http.cookie_jar.update_cookies({"mj_session": f"{session_id}.{'0' * 64}"}, URL(web.url))
        async with http.get(f"{web.url}/", allow_redirects=False) as response:
            assert response.status == 302


async def test_sign_in_refuses_a_state_it_did_not_start(start_web, fake_oauth):
    """A callback with a state this browser did not get (CSRF on sign-in) makes no session."""
    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url)
    async with client() as http:
        async with http.get(
            f"{web.url}/auth/callback?code=abc&state=forged", allow_redirects=False
        ) as response:
            assert response.status == 302 and response.headers["Location"].startswith("/signin?error=")
        assert not fake_oauth.exchanges


async def test_buttons_make_derived_jobs_and_favourites_toggle(start_web, fake_oauth):
    """V2, 🔄, Upscale, Zoom Out, Pan and Make Square on the web make jobs with the parent
    recorded; ❤️ toggles and lists."""
    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url)
    async with client() as http:
        csrf = await web.sign_in(http, fake_oauth)
        headers = {"X-CSRF-Token": csrf}
        parent = await finished(web, (await imagine(http, web.url, csrf, "a red fox"))["jobs"][0]["id"])
        made = {}
        steps = (
            ("variation", 2),
            ("reroll", None),
            ("upscale_subtle", 2),
            ("zoom_out_2", 3),
            ("pan_left", 1),
            ("zoom_out_1_5", 4),
        )
        for action, index in steps:
            body = {"action": action, **({"index": index} if index else {})}
            async with http.post(f"{web.url}/api/jobs/{parent.id}/actions", json=body, headers=headers) as r:
                answer = await r.json()
                assert "jobs" in answer, (action, answer)
                made[action] = await finished(web, answer["jobs"][0]["id"])
        assert made["variation"].parent_id == parent.id and made["variation"].parent_index == 1
        assert made["upscale_subtle"].kind.value == "upscale"
        assert (made["zoom_out_2"].kind.value, made["zoom_out_2"].mode) == ("zoom", "2")
        assert (made["pan_left"].kind.value, made["pan_left"].mode) == ("pan", "left")
        assert made["zoom_out_2"].parent_index == 2 and made["pan_left"].parent_index == 0
        square = {"action": "make_square", "index": 1}
        async with http.post(f"{web.url}/api/jobs/{parent.id}/actions", json=square, headers=headers) as r:
            assert (await r.json())["error"]["message"] == "This image is already square."
        async with http.get(f"{web.url}/jobs/{parent.id}/1") as response:
            single = await response.text()
        assert 'data-action="zoom_out_2"' in single and 'data-action="pan_down"' in single
        async with http.get(f"{web.url}/jobs/{parent.id}") as response:
            page = await response.text()
        assert all(job.id in page for job in made.values())  # children listed
        for expected in (True, False, True):
            async with http.post(
                f"{web.url}/api/jobs/{parent.id}/favourite", json={"index": 2}, headers=headers
            ) as r:
                assert (await r.json())["favourite"] is expected
        async with http.get(f"{web.url}/favourites") as response:
            assert f"/jobs/{parent.id}/2" in await response.text()
        async with http.get(f"{web.url}/archive?fav=1") as response:
            page = await response.text()
        assert parent.id in page and made["reroll"].id not in page
        async with http.get(f"{web.url}/archive?q=red") as response:
            assert parent.id in await response.text()
        async with http.get(f"{web.url}/archive?q=blue") as response:
            assert parent.id not in await response.text()


async def test_progress_streams_as_server_sent_events(start_web, fake_oauth):
    """The event stream of a job: progress percentages that rise, then `done` with the grid."""
    from tests.jobs.conftest import FakeEngine

    engine = FakeEngine(step_seconds=0.05)
    web = await start_web(engine, DISCORD_OAUTH_BASE=fake_oauth.url)
    async with client() as http:
        csrf = await web.sign_in(http, fake_oauth)
        job_id = (await imagine(http, web.url, csrf, "a fox --q 2"))["jobs"][0]["id"]
        events = []
        async with http.get(f"{web.url}/api/jobs/{job_id}/events") as response:
            assert response.headers["Content-Type"].startswith("text/event-stream")
            async for line in response.content:
                text = line.decode().strip()
                if text.startswith("event: "):
                    events.append(text[7:])
                if text.startswith("data: ") and events[-1] == "progress":
                    events[-1] = f"progress {__import__('json').loads(text[6:])['percent']}"
    percents = [int(event.split()[1]) for event in events if event.startswith("progress")]
    assert events[-1] == "done"
    assert percents == sorted(percents) and percents[-1] == 100 and len(set(percents)) >= 3


async def test_the_same_prompt_makes_the_same_stored_request_as_the_admission_path(start_web, fake_oauth):
    """The web's job stores exactly what the admission rules make of the same prompt for the member."""
    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url)
    await web.jobs.repository.update_user_settings(111, suffix="--s 250", stylize=50)
    prompt = "a lighthouse at dusk --ar 3:2 --seed 42 --no fog"
    async with client() as http:
        csrf = await web.sign_in(http, fake_oauth)
        job = await finished(web, (await imagine(http, web.url, csrf, prompt))["jobs"][0]["id"])
    expected = (await web.context.admission.read(prompt, Place(111)))[0]
    assert job.request == expected.to_generation(42).to_dict()
    assert job.prompt == expected.display_prompt


async def test_local_mode_needs_no_sign_in(start_web):
    """Local mode (no Discord): the first visit is the local user, with a CSRF token."""
    web = await start_web(local=True)
    async with client() as http:
        csrf = await web.csrf(http)
        answer = await imagine(http, web.url, csrf, "a fox")
        job = await finished(web, answer["jobs"][0]["id"])
    assert job.user_id == 0 and job.status is JobStatus.DONE
    await asyncio.sleep(0)


async def test_prompts_wait_for_the_model_to_load(tmp_path):
    """The web app answers before the model has loaded: the page says "Waiting for the model to
    load", and a prompt typed then is accepted once the model is there, queued and run."""
    import threading

    from bot.config import Config
    from bot.jobs.backend import ThreadBackend
    from bot.jobs.service import JobService
    from bot.store.repository import Repository
    from bot.web.app import WebServer
    from bot.web.context import WebContext
    from bot.web.sessions import LocalUser
    from tests.jobs.conftest import FakeEngine

    loaded = threading.Event()

    def load() -> FakeEngine:
        loaded.wait(30)
        return FakeEngine()

    settings = Config.from_env({"DATA_DIR": str(tmp_path), "MODEL": "tiny", "WEB_SECRET": "s"})
    repository = await Repository.open(settings.database_path, settings.images_dir)
    jobs = JobService(settings, repository, ThreadBackend(load))
    server = WebServer(WebContext.create(settings, jobs, local_user=LocalUser()), host="127.0.0.1", port=0)
    url = await server.start()
    starting = asyncio.create_task(jobs.start())
    try:
        async with client() as http:
            async with http.get(f"{url}/") as response:
                page = await response.text()
            assert 'id="model-loading"' in page and "Waiting for the model to load" in page
            csrf = page.split('name="csrf" content="', 1)[1].split('"', 1)[0]
            typed = asyncio.create_task(imagine(http, url, csrf, "a fox"))
            await asyncio.sleep(0.5)
            assert not typed.done()  # waiting for the model, not refused
            loaded.set()
            await starting
            answer = await asyncio.wait_for(typed, 30)
            (job,) = answer["jobs"]
            async with asyncio.timeout(30):
                async for _event in jobs.subscribe(job["id"]):
                    pass
            assert (await repository.get_job(job["id"])).status is JobStatus.DONE
            async with http.get(f"{url}/") as response:
                assert 'id="model-loading"' not in await response.text()
    finally:
        loaded.set()
        await server.stop()
        if starting.done() and starting.exception() is None:
            await jobs.stop()
        await repository.close()


async def repository_jobs(settings) -> int:
    import sqlite3

    with sqlite3.connect(settings.database_path) as connection:
        return connection.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
