"""The web's Retexture and Edit buttons over HTTP: prompt forms, the same admission as Discord."""

from __future__ import annotations

import pytest

from bot.jobs.models import JobKind, JobStatus
from tests.jobs.conftest import FakeEngine
from tests.web.test_web_actions import act, client, finished, imagine

pytestmark = pytest.mark.timeout(120)


async def test_retexture_and_edit_take_a_prompt_through_the_admission(start_web, fake_oauth):
    """The job page draws both buttons with their form; a prompt makes a RETEXTURE / INSTRUCT job
    of the chosen image; a banned word or no prompt is refused and makes no job."""
    web = await start_web(FakeEngine(), DISCORD_OAUTH_BASE=fake_oauth.url, CONTROLNET_MODEL="tiny")
    async with client() as http:
        csrf = await web.sign_in(http, fake_oauth)
        parent = await finished(web, await imagine(web, http, csrf, "a red fox --seed 10"))
        async with http.get(f"{web.url}/jobs/{parent.id}/1") as response:
            page = await response.text()
        assert 'data-action="retexture"' in page and 'data-form="retexture"' in page
        assert 'data-action="edit"' in page and 'data-form="instruct"' in page

        made = {}
        for action, kind, prompt in (
            ("retexture", JobKind.RETEXTURE, "a glass fox --seed 3"),
            ("edit", JobKind.INSTRUCT, "blue fur --no snow"),
        ):
            status, answer = await act(web, http, csrf, parent.id, action=action, index=2, prompt=prompt)
            assert status == 200, answer
            job = await finished(web, answer["jobs"][0]["id"])
            assert (job.kind, job.parent_index, job.status) == (kind, 1, JobStatus.DONE)
            made[action] = job
        assert made["retexture"].seeds[0] == 3 and made["retexture"].request["prompt"] == "a glass fox"
        assert made["edit"].request["negative_prompt"] == "snow"

        before = len(await web.jobs.repository.child_jobs(parent.id))
        for body, title in (
            ({"action": "edit", "index": 1, "prompt": "a nude fox"}, "Banned prompt detected"),
            ({"action": "retexture", "index": 1, "prompt": "a nude fox"}, "Banned prompt detected"),
            ({"action": "retexture", "index": 1}, "Empty prompt"),
            ({"action": "edit", "index": 1, "prompt": "  "}, "Empty prompt"),
        ):
            status, answer = await act(web, http, csrf, parent.id, **body)
            assert status == 400 and answer["error"]["title"] == title, (body, answer)
        assert len(await web.jobs.repository.child_jobs(parent.id)) == before
