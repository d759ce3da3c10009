"""The Archive page: a date on every card, from/to date filters, and several jobs downloaded as
one zip of their PNGs (only jobs the member may see)."""

from __future__ import annotations

import io
import time
import zipfile

from bot.jobs.files import parse_a1111_parameters
from bot.web.archive import day_start
from tests.web.test_http import client, finished, imagine


async def _made(web, http, csrf: str, prompt: str):
    return await finished(web, (await imagine(http, web.url, csrf, prompt))["jobs"][0]["id"])


def test_day_start_reads_dates_only():
    """A date input's value is midnight UTC; anything else is no filter."""
    assert day_start("2026-12-06") == 1796515200.0
    assert day_start("yesterday") is None and day_start("") is None


async def test_archive_shows_dates_and_filters_by_them(start_web, fake_oauth):
    """Each card shows its day; `from`/`to` keep only the jobs made in those days (inclusive)."""
    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url)
    async with client() as http:
        csrf = await web.sign_in(http, fake_oauth)
        old = await _made(web, http, csrf, "an old fox")
        new = await _made(web, http, csrf, "a new fox")
        db = web.jobs.repository._db
        await db.execute(
            "UPDATE jobs SET enqueued_at = ? WHERE id = ?", (day_start("2025-03-04") + 3600, old.id)
        )
        await db.commit()
        today = time.strftime("%Y-%m-%d", time.gmtime())
        async with http.get(f"{web.url}/archive") as response:
            page = await response.text()
        assert '<span class="date">2025-03-04</span>' in page and f'<span class="date">{today}</span>' in page
        async with http.get(f"{web.url}/archive?from=2025-03-04&to=2025-03-04") as response:
            only_old = await response.text()
        assert old.id in only_old and new.id not in only_old
        assert 'value="2025-03-04"' in only_old
        async with http.get(f"{web.url}/archive?from=2025-03-05") as response:
            only_new = await response.text()
        assert new.id in only_new and old.id not in only_new


async def test_several_jobs_download_as_one_zip(start_web, fake_oauth):
    """Two ticked jobs → one zip with their eight PNGs (recipes inside); Bob's private job is left out."""
    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url)
    async with client() as alice, client() as bob:
        csrf = await web.sign_in(alice, fake_oauth, "111")
        bob_csrf = await web.sign_in(bob, fake_oauth, "222")
        first = await _made(web, alice, csrf, "a red fox --seed 5")
        second = await _made(web, alice, csrf, "a blue fox")
        private = await _made(web, bob, bob_csrf, "bob's own fox")
        form = [("csrf", csrf), ("job", first.id), ("job", second.id), ("job", private.id)]
        async with alice.post(f"{web.url}/archive/zip", data=form) as response:
            assert response.status == 200
            assert response.headers["Content-Disposition"] == 'attachment; filename="mj-images.zip"'
            body = await response.read()
        async with alice.post(f"{web.url}/archive/zip", data=[("job", first.id)]) as response:
            assert response.status == 403  # no CSRF field: refused
    names = zipfile.ZipFile(io.BytesIO(body)).namelist()
    assert sorted(names) == sorted(f"{job.id}_{n}.png" for job in (first, second) for n in range(1, 5))
    from PIL import Image

    picture = Image.open(io.BytesIO(zipfile.ZipFile(io.BytesIO(body)).read(f"{first.id}_1.png")))
    assert parse_a1111_parameters(picture.info["parameters"])["Seed"] == "5"


async def test_hide_takes_a_job_out_of_the_archive_and_the_gallery(start_web, fake_oauth):
    """Hide: gone from Alice's archive and the server gallery, listed under "Hidden only", back
    after Unhide; Bob cannot hide Alice's job."""
    from tests.web.conftest import SERVER

    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url)
    async with client() as alice, client() as bob:
        csrf = await web.sign_in(alice, fake_oauth, "111")
        bob_csrf = await web.sign_in(bob, fake_oauth, "222")
        job = await finished(
            web, (await imagine(alice, web.url, csrf, "a fox", SERVER["id"]))["jobs"][0]["id"]
        )

        async def listed(http, path: str) -> bool:
            async with http.get(f"{web.url}{path}") as response:
                return f'href="/jobs/{job.id}"' in await response.text()

        async def hide(http, token: str, hidden: bool) -> int:
            async with http.post(
                f"{web.url}/api/jobs/{job.id}/hide", json={"hidden": hidden}, headers={"X-CSRF-Token": token}
            ) as response:
                return response.status

        gallery = f"/servers/{SERVER['id']}"
        assert await listed(alice, "/archive") and await listed(bob, gallery)
        async with alice.get(f"{web.url}/jobs/{job.id}") as response:
            assert 'id="hide-job" data-hidden="0"' in await response.text()
        assert await hide(bob, bob_csrf, True) == 404
        assert await hide(alice, csrf, True) == 200
        assert not await listed(alice, "/archive") and not await listed(bob, gallery)
        assert await listed(alice, "/archive?hidden=1")
        assert await hide(alice, csrf, False) == 200
        assert await listed(alice, "/archive") and not await listed(alice, "/archive?hidden=1")


async def test_delete_removes_a_job_its_rows_and_files_and_keeps_its_children(start_web, fake_oauth):
    """🗑 Delete: the job, its images and favourites are gone (page 404, folder removed); a
    variation made from it stays, without a parent; Bob cannot delete Alice's job."""
    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url)
    async with client() as alice, client() as bob:
        csrf = await web.sign_in(alice, fake_oauth, "111")
        bob_csrf = await web.sign_in(bob, fake_oauth, "222")
        job = await _made(web, alice, csrf, "a fox")
        await web.jobs.repository.toggle_favourite(111, job.id, 0)
        async with alice.post(
            f"{web.url}/api/jobs/{job.id}/actions",
            json={"action": "variation", "index": 1},
            headers={"X-CSRF-Token": csrf},
        ) as response:
            child = await finished(web, (await response.json())["jobs"][0]["id"])
        folder = web.jobs.job_folder(job.id)
        assert folder.is_dir()
        async with bob.post(
            f"{web.url}/api/jobs/{job.id}/delete", headers={"X-CSRF-Token": bob_csrf}
        ) as response:
            assert response.status == 404
        async with alice.post(
            f"{web.url}/api/jobs/{job.id}/delete", headers={"X-CSRF-Token": csrf}
        ) as response:
            assert (response.status, await response.json()) == (200, {"deleted": job.id})
        async with alice.get(f"{web.url}/jobs/{job.id}") as response:
            assert response.status == 404
        assert not folder.exists()
        assert await web.jobs.get_job(job.id) is None
        assert await web.context.services.library.images(job.id) == []
        assert await web.jobs.repository.favourite_indexes(111, job.id) == set()
        kept = await web.jobs.get_job(child.id)
        assert kept is not None and kept.parent_id is None
