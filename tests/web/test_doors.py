"""The web app's doors (issue 19): Host and Origin in local mode, the sign-in redirect and its
page, headers on every answer, slow sockets, stream and session limits, strict JSON switches."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from bot.web import app as web_app
from bot.web import guards
from bot.web.guards import MAX_STREAMS_PER_SESSION, safe_next

pytestmark = pytest.mark.timeout(120)


def client() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def _csrf(http: aiohttp.ClientSession, url: str) -> str:
    async with http.get(f"{url}/") as response:
        text = await response.text()
    return text.split('name="csrf" content="', 1)[1].split('"', 1)[0]


@pytest.mark.parametrize(
    "host", ["attacker.example:8080", "attacker.example", "10.0.0.7:8080", "127.0.0.1.evil.example"]
)
async def test_local_mode_refuses_a_foreign_host(start_web, host):
    """Item 1 (DNS rebinding): a request naming another host gets no session, no page, no job."""
    web = await start_web(local=True)
    async with client() as http:
        async with http.get(f"{web.url}/", headers={"Host": host}) as response:
            assert response.status == 421
            assert "mj_session" not in response.cookies
        async with http.post(
            f"{web.url}/api/imagine", json={"prompt": "a fox"}, headers={"Host": host}
        ) as response:
            assert response.status == 421
        async with http.get(f"{web.url}/archive", headers={"Host": host}) as response:
            assert response.status == 421
    assert await web.jobs.repository.archive(0, limit=5) == []


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "[::1]:{port}", "LOCALHOST"])
async def test_local_mode_answers_its_loopback_names(start_web, host):
    """Item 1: the loopback names it listens on still work."""
    web = await start_web(local=True)
    port = web.url.rsplit(":", 1)[1]
    async with client() as http, http.get(f"{web.url}/", headers={"Host": host.format(port=port)}) as r:
        assert r.status == 200


async def test_a_cross_site_post_is_refused_even_with_the_token(start_web):
    """Item 1: every POST's Origin is checked: another site's is 403, this site's passes."""
    web = await start_web(local=True)
    async with client() as http:
        csrf = await _csrf(http, web.url)
        for headers in (
            {"Origin": "http://attacker.example"},
            {"Origin": "null"},
            {"Sec-Fetch-Site": "cross-site"},
        ):
            async with http.post(
                f"{web.url}/api/imagine", json={"prompt": "a fox"}, headers={"X-CSRF-Token": csrf, **headers}
            ) as response:
                assert response.status == 403, headers
        async with http.post(
            f"{web.url}/api/imagine",
            json={"prompt": "a fox"},
            headers={"X-CSRF-Token": csrf, "Origin": web.url, "Sec-Fetch-Site": "same-origin"},
        ) as response:
            assert response.status == 200, await response.text()


@pytest.mark.parametrize(
    "next_value",
    [
        "/%09/evil.example/phish",
        "/%0a/evil.example",
        "/%0d/evil.example",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example",
        "/%2F%2Fevil.example",
        "/ /evil.example",
    ],
)
async def test_sign_in_never_redirects_off_site(start_web, next_value):
    """Item 2: `next` with a tab, newline, CR, slashes or a scheme sends the browser to `/`."""
    web = await start_web(local=True)
    async with client() as http:
        await _csrf(http, web.url)  # signed in (local mode)
        async with http.get(f"{web.url}/signin?next={next_value}", allow_redirects=False) as response:
            assert response.status == 302
            assert response.headers["Location"] == "/"


def test_safe_next_keeps_own_paths():
    """Item 2: a plain path of this site is kept."""
    assert safe_next("/archive?page=2") == "/archive?page=2"
    assert safe_next("/jobs/abc") == "/jobs/abc"


async def test_the_sign_in_page_shows_no_text_from_the_link(start_web, fake_oauth):
    """Item 6: `?error=` cannot put words on the page; an unencoded path cannot add one either."""
    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url)
    async with client() as http:
        async with http.get(f"{web.url}/signin?error=Your+account+is+locked.+Call+555-0100") as response:
            assert "555-0100" not in await response.text()
        async with http.get(f"{web.url}/archive%26error=Call+555", allow_redirects=False) as response:
            location = response.headers["Location"]
        assert "&error" not in location and location.startswith("/signin?next=")
        async with http.get(f"{web.url}/signin?error=failed") as response:
            assert "did not sign you in" in await response.text()


@pytest.mark.parametrize("path", ["/", "/nope", "/signin", "/archive", "/static/app.js", "/healthz"])
async def test_every_answer_carries_the_security_headers(start_web, fake_oauth, path):
    """Item 6: CSP and the other headers on 200, 302, 404 alike; `Server` names no version."""
    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url)
    async with client() as http, http.get(f"{web.url}{path}", allow_redirects=False) as response:
        headers = response.headers
        assert "default-src 'self'" in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Server"] == "mj-bot"
    assert "Python" not in headers["Server"] and "aiohttp" not in headers["Server"]


async def test_csrf_refusals_carry_the_headers_too(start_web):
    """Item 6: a 403 (no CSRF token) has the CSP as well."""
    web = await start_web(local=True)
    async with client() as http:
        await _csrf(http, web.url)
        async with http.post(f"{web.url}/api/imagine", json={"prompt": "a fox"}) as response:
            assert response.status == 403
            assert "Content-Security-Policy" in response.headers


async def test_probes_make_no_session_rows(start_web):
    """Item 6: cookie-less /healthz and /static requests in local mode write no session."""
    web = await start_web(local=True)
    async with client() as http:
        for _ in range(5):
            for path in ("/healthz", "/static/app.js"):
                async with http.get(f"{web.url}{path}") as response:
                    assert response.status == 200
                    assert "mj_session" not in response.cookies
    rows = await web.jobs.repository._fetchall("SELECT COUNT(*) FROM web_sessions")
    assert rows[0][0] == 0


async def test_stealth_needs_a_json_bool(start_web):
    """Item 6: {"stealth": "no"} is a 400, not stealth on."""
    web = await start_web(local=True)
    async with client() as http:
        csrf = await _csrf(http, web.url)
        for value in ("no", 1, None, "false"):
            async with http.post(
                f"{web.url}/api/stealth", json={"stealth": value}, headers={"X-CSRF-Token": csrf}
            ) as response:
                assert response.status == 400, value
        assert not await web.jobs.repository.is_stealth(0)
        async with http.post(
            f"{web.url}/api/stealth", json={"stealth": True}, headers={"X-CSRF-Token": csrf}
        ) as response:
            assert (await response.json()) == {"stealth": True}


async def test_progress_streams_are_limited_per_session(start_web, monkeypatch):
    """Item 6: one session holds at most MAX_STREAMS_PER_SESSION progress streams; the next is
    429, and a closed stream frees its slot."""
    from tests.jobs.conftest import FakeEngine

    monkeypatch.setattr(guards, "HEARTBEAT_SECONDS", 0.2)
    engine = FakeEngine(hold=True)
    web = await start_web(engine, local=True)
    async with client() as http:
        csrf = await _csrf(http, web.url)
        async with http.post(
            f"{web.url}/api/imagine", json={"prompt": "a fox"}, headers={"X-CSRF-Token": csrf}
        ) as response:
            job_id = (await response.json())["jobs"][0]["id"]
        events = f"{web.url}/api/jobs/{job_id}/events"
        try:
            opened = [await http.get(events) for _ in range(MAX_STREAMS_PER_SESSION)]
            assert {response.status for response in opened} == {200}
            async with http.get(events) as refused:
                assert refused.status == 429
            opened.pop().close()
            for _ in range(40):  # the server notices the closed socket
                async with http.get(events) as again:
                    if again.status == 200:
                        break
                await asyncio.sleep(0.1)
            assert again.status == 200
        finally:
            engine.release.set()
            for response in opened:
                response.close()


async def test_slow_headers_are_cut_off(start_web, monkeypatch):
    """Item 6 (slow loris): sockets trickling a request's headers are closed after HEADER_TIMEOUT."""
    monkeypatch.setattr(web_app, "HEADER_TIMEOUT", 1.0)
    web = await start_web(local=True)
    host, port = web.url.removeprefix("http://").split(":")
    sockets = [await asyncio.open_connection(host, int(port)) for _ in range(20)]
    started = time.monotonic()
    for _reader, writer in sockets:
        writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    closed = 0
    while time.monotonic() - started < 8 and closed < len(sockets):
        await asyncio.sleep(0.25)
        closed = 0
        for reader, writer in sockets:
            if reader.at_eof():
                closed += 1
                continue
            try:
                writer.write(b"X-Slow: 1\r\n")
                await writer.drain()
            except (ConnectionError, OSError):
                closed += 1
    assert closed == len(sockets)
    assert time.monotonic() - started < 6
    for _reader, writer in sockets:
        writer.close()


@pytest.mark.parametrize(
    ("web_host", "signed_in", "in_container", "host", "says"),
    [
        ("0.0.0.0", False, False, "127.0.0.1", "WEB_HOST=0.0.0.0 is ignored"),
        ("0.0.0.0", False, True, "0.0.0.0", "127.0.0.1:8080:8080"),
        ("127.0.0.1", False, False, "127.0.0.1", None),
        ("0.0.0.0", True, False, "0.0.0.0", None),
    ],
)
def test_local_mode_says_where_it_listens(web_host, signed_in, in_container, host, says):
    """Item 6: refusing WEB_HOST=0.0.0.0 is said on the console (not an INFO log line); in a
    container local mode listens on WEB_HOST so the published port answers."""
    from bot.config import Config
    from bot.web.serve import local_bind

    settings = Config.from_env({"WEB_HOST": web_host})
    chosen, notice = local_bind(settings, signed_in=signed_in, in_container=in_container)
    assert chosen == host
    if says is None:
        assert notice is None
    else:
        assert notice is not None and says in notice


async def test_the_oauth_state_cookie_is_secure_behind_https(start_web, fake_oauth):
    """Item 6: with PUBLIC_URL on https, the sign-in state cookie carries Secure (as the session's)."""
    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url, PUBLIC_URL="https://mj.example.org")
    async with client() as http, http.get(f"{web.url}/auth/login", allow_redirects=False) as response:
        cookie = response.cookies["mj_oauth_state"]
        assert cookie["secure"] and cookie["httponly"]
