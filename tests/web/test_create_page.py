"""The Create page's settings panel choices and the web defects of issue 23 seen over HTTP: the
job page lists the prompt's parameters (not engine internals), sign-in keeps the deep link, and
many servers make one menu, not a wall of links."""

from __future__ import annotations

import re

from bot.web.create_panel import ASPECTS, model_choices
from tests.web.conftest import SERVER
from tests.web.test_http import client, finished, imagine


async def _page(http, url: str) -> str:
    async with http.get(url) as response:
        assert response.status == 200, response.status
        return await response.text()


async def test_job_page_lists_the_prompts_parameters_not_engine_internals(start_web, fake_oauth):
    """`--ar 3:2 --s 250` show as typed, with the size they became; no batch_size, extra.*, tile."""
    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url)
    async with client() as http:
        csrf = await web.sign_in(http, fake_oauth)
        made = await imagine(http, web.url, csrf, "a fox --ar 3:2 --s 250 --tile")
        job = await finished(web, made["jobs"][0]["id"])
        page = await _page(http, f"{web.url}/jobs/{job.id}")
    params = page.split('<dl class="params">', 1)[1].split("</dl>", 1)[0]
    assert "<dt>--ar</dt><dd>3:2</dd>" in params
    assert "<dt>--s</dt><dd>250</dd>" in params
    assert "<dt>--tile</dt><dd>on</dd>" in params
    assert f"<dt>Size</dt><dd>{job.request['width']} × {job.request['height']}</dd>" in params
    for internal in ("batch_size", "extra.", "guidance_scale", "weighted_prompts", "False"):
        assert internal not in params, internal


async def test_signing_in_keeps_the_deep_link(start_web, fake_oauth):
    """Discord's Web ↗ link to a job, opened signed out, lands on that job after sign-in."""
    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url)
    async with client() as http:
        csrf = await web.sign_in(http, fake_oauth)
        job_id = (await imagine(http, web.url, csrf, "a fox"))["jobs"][0]["id"]
        await finished(web, job_id)
    async with client() as http:
        async with http.get(f"{web.url}/jobs/{job_id}", allow_redirects=False) as response:
            assert response.headers["Location"] == f"/signin?next=/jobs/{job_id}"
        page = await _page(http, f"{web.url}/signin?next=/jobs/{job_id}")
        login = re.search(r'id="signin" href="([^"]+)"', page).group(1).replace("&amp;", "&")
        async with http.get(f"{web.url}{login}") as response:
            assert response.status == 200
            assert str(response.url) == f"{web.url}/jobs/{job_id}"
            assert job_id in await response.text()


async def test_sign_in_ignores_a_deep_link_to_another_site(start_web, fake_oauth):
    """`next` naming another host lands on Create, as before."""
    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url)
    async with client() as http, http.get(f"{web.url}/auth/login?next=//evil.example/x") as response:
        assert str(response.url) == f"{web.url}/"


async def test_sixty_one_servers_make_one_menu(start_web, fake_oauth):
    """A member of 61 servers gets one "Galleries (61)" menu in the bar, every server inside it."""
    servers = [{"id": str(900 + n), "name": f"Server {n}"} for n in range(61)]
    fake_oauth.guilds["111"] = servers
    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url)
    async with client() as http:
        await web.sign_in(http, fake_oauth)
        page = await _page(http, f"{web.url}/archive")
    nav = page.split('<nav class="top">', 1)[1].split("</nav>", 1)[0]
    outside, menu = nav.split('<details class="server-menu"', 1)
    assert 'class="server"' not in outside
    assert "Galleries (61)" in menu and menu.count('class="server"') == 61


async def test_the_settings_panel_offers_the_configured_models_and_aspects(start_web, fake_oauth):
    """MODEL and every MODEL_ALIASES name are in the picker as the `--v` they stand for."""
    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url, MODEL_ALIASES="7=tiny,8=tiny-sdxl")
    assert model_choices(web.settings)[1:] == [("--v 7", "v 7 · tiny"), ("--v 8", "v 8 · tiny-sdxl")]
    async with client() as http:
        await web.sign_in(http, fake_oauth)
        page = await _page(http, f"{web.url}/")
    assert '<option value="--v 7">' in page and '<option value="--v 8">' in page
    assert "Default (tiny)" in page
    for ar in ASPECTS:
        assert f'data-ar="{ar}"' in page
    assert SERVER["name"] in page


async def test_other_members_gallery_images_offer_the_actions_a_member_may_take(start_web, fake_oauth):
    """Bob on Alice's server image: U, V, 🔄, Vary, Upscale, ❤️ and "Use prompt" (not only "Copy
    prompt"); his V1 is his own job; no Describe, region editor or ❌ of Alice's."""
    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url)
    async with client() as alice, client() as bob:
        csrf = await web.sign_in(alice, fake_oauth, "111")
        bob_csrf = await web.sign_in(bob, fake_oauth, "222")
        made = await imagine(alice, web.url, csrf, "a red fox --ar 3:2", SERVER["id"])
        job = await finished(web, made["jobs"][0]["id"])
        grid = await _page(bob, f"{web.url}/jobs/{job.id}")
        single = await _page(bob, f"{web.url}/jobs/{job.id}/1")
        async with bob.post(
            f"{web.url}/api/jobs/{job.id}/actions",
            json={"action": "variation", "index": 1},
            headers={"X-CSRF-Token": bob_csrf},
        ) as response:
            answer = await response.json()
    assert 'id="u1"' in grid and 'id="v1"' in grid and 'data-action="reroll"' in grid
    assert 'id="favourite"' in single and 'id="use-prompt"' in single and 'id="download"' in single
    assert 'data-action="upscale_subtle"' in single or "Upscale" in single
    assert "Vary (Strong)" in single
    for owner_only in ('id="describe-this"', 'id="vary-region"', 'id="cancel-job"'):
        assert owner_only not in single
    child = await web.jobs.get_job(answer["jobs"][0]["id"])
    assert child.user_id == 222 and child.parent_id == job.id
