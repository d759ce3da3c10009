"""Fixtures for the web app: a running app on 127.0.0.1 (random port) over a real job service, and
a local fake of Discord's OAuth2 endpoints to sign members in."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest
from aiohttp import web

from bot.config import Config
from bot.jobs.backend import ThreadBackend
from bot.jobs.service import JobService
from bot.store.repository import Repository
from bot.web.app import WebServer
from bot.web.context import WebContext
from bot.web.serve import register_web_delivery
from bot.web.sessions import LocalUser
from tests.jobs.conftest import FakeEngine

ALICE = {"id": "111", "username": "alice", "global_name": "Alice"}
BOB = {"id": "222", "username": "bob", "global_name": "Bob"}
SERVER = {"id": "900", "name": "Lighthouse Club"}


@dataclass
class FakeDiscordOAuth:
    """Discord's authorize page, token and identity endpoints, on 127.0.0.1.

    `next_user` is who the authorize page signs in (it redirects straight back, as Discord does
    for an application the member already authorised). Records every token exchange.
    """

    users: dict[str, dict[str, Any]] = field(default_factory=lambda: {"111": ALICE, "222": BOB})
    guilds: dict[str, list[dict[str, str]]] = field(
        default_factory=lambda: {"111": [SERVER], "222": [SERVER]}
    )
    next_user: str = "111"
    codes: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    exchanges: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/oauth2/authorize", self.authorize)
        app.router.add_post("/api/v10/oauth2/token", self.token)
        app.router.add_get("/api/v10/users/@me", self.me)
        app.router.add_get("/api/v10/users/@me/guilds", self.my_guilds)
        return app

    async def authorize(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        assert query["response_type"] == "code" and query["scope"] == "identify guilds"
        code = secrets.token_hex(8)
        self.codes[code] = self.next_user
        target = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
        raise web.HTTPFound(target)

    async def token(self, request: web.Request) -> web.StreamResponse:
        form = dict(await request.post())
        self.exchanges.append({k: str(v) for k, v in form.items()})
        user = self.codes.pop(str(form.get("code")), None)
        if user is None or form.get("client_secret") != "fake-secret":
            return web.json_response({"error": "invalid_grant"}, status=400)
        access = secrets.token_hex(8)
        self.tokens[access] = user
        return web.json_response({"access_token": access, "token_type": "Bearer", "scope": "identify guilds"})

    def _user(self, request: web.Request) -> str:
        header = request.headers.get("Authorization", "")
        user = self.tokens.get(header.removeprefix("Bearer "))
        if user is None:
            raise web.HTTPUnauthorized()
        return user

    async def me(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self.users[self._user(request)])

    async def my_guilds(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self.guilds[self._user(request)])


@pytest.fixture
async def fake_oauth() -> AsyncIterator[FakeDiscordOAuth]:
    fake = FakeDiscordOAuth()
    runner = web.AppRunner(fake.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    fake.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield fake
    await runner.cleanup()


@dataclass
class RunningWeb:
    """The web app under test: its URL, the job service behind it and the app's context."""

    url: str
    jobs: JobService
    context: WebContext
    settings: Config
    server: WebServer

    async def sign_in(self, http: aiohttp.ClientSession, fake: FakeDiscordOAuth, user: str = "111") -> str:
        """Sign `http` in as `user` through the fake Discord; return the session's CSRF token."""
        fake.next_user = user
        async with http.get(f"{self.url}/auth/login") as response:
            assert response.status == 200, await response.text()
        return await self.csrf(http)

    async def csrf(self, http: aiohttp.ClientSession) -> str:
        async with http.get(f"{self.url}/") as response:
            text = await response.text()
        marker = 'name="csrf" content="'
        assert marker in text, text[:500]
        return text.split(marker, 1)[1].split('"', 1)[0]


WebFactory = Callable[..., Any]


@pytest.fixture
async def start_web(tmp_path: Path) -> AsyncIterator[WebFactory]:
    """`await start_web(engine, local=False, checker=None, channels=None, **env)` → RunningWeb
    (`checker`: the NSFW checker of the GPU worker; `channels`: the Discord side, e.g. a fake
    membership source); everything stops after the test."""
    opened: list[tuple[WebServer, JobService]] = []

    async def start(
        engine: Any = None, *, local: bool = False, checker: Any = None, channels: Any = None, **env: str
    ) -> RunningWeb:
        settings = Config.from_env(
            {
                "DATA_DIR": str(tmp_path / "data"),
                "MODEL": "tiny",
                "DEVICE": "cpu",
                "PROGRESS_INTERVAL": "0",
                "WEB_SECRET": "test-secret",
                "DISCORD_CLIENT_ID": "" if local else "fake-client",
                "DISCORD_CLIENT_SECRET": "" if local else "fake-secret",
                # Web-only mode (no bot) admits only the allowlist: alice and bob.
                "WEB_ALLOWED_USERS": "111,222",
                **env,
            }
        )
        repository = await Repository.open(settings.database_path, settings.images_dir)
        the_engine = engine if engine is not None else FakeEngine()
        backend = ThreadBackend(lambda: the_engine, load_checker=lambda: checker)
        jobs = JobService(settings, repository, backend, delivery_retry_delay=0.01)
        register_web_delivery(jobs)
        await jobs.start()
        context = WebContext.create(
            settings, jobs, local_user=LocalUser() if local else None, channels=channels
        )
        server = WebServer(context, host="127.0.0.1", port=0)
        url = await server.start()
        opened.append((server, jobs))
        return RunningWeb(url, jobs, context, settings, server)

    yield start
    for server, jobs in opened:
        await server.stop()
        await jobs.stop(1.0)
        await jobs.repository.close()


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
