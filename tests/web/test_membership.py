"""Who may sign in to the web app and which servers a session keeps (issue 19 items 3, 4), with a
fake Discord side (`MembershipSource` + `ChannelPoster`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import aiohttp
import pytest

from bot.jobs.models import Job
from bot.web import membership
from bot.web.membership import MembershipSource

pytestmark = pytest.mark.timeout(120)

CAROL = {"id": "333", "username": "carol", "global_name": "Carol"}
OTHER = {"id": "901", "name": "Another Club"}
ELSEWHERE = {"id": "555", "name": "A server without the bot"}


@dataclass
class FakeDiscordSide:
    """The bot's view: the servers it is in, who is a member of which; counts channel look-ups."""

    guilds: set[int] = field(default_factory=lambda: {900, 901})
    members: set[tuple[int, int]] = field(
        default_factory=lambda: {(111, 900), (111, 901), (222, 900), (222, 901)}
    )
    channel_lookups: list[int] = field(default_factory=list)

    def bot_guild_ids(self) -> set[int]:
        return set(self.guilds)

    async def is_member(self, user_id: int, guild_id: int) -> bool | None:
        return guild_id in self.guilds and (user_id, guild_id) in self.members

    async def postable_channels(self, user_id: int, guild_id: int) -> list[tuple[int, str]]:
        self.channel_lookups.append(guild_id)
        return [(1, "general")]

    async def post(self, job: Job, user_id: int, channel_id: int) -> int:
        return 1


def client() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def _sign_in(web, http, fake_oauth, user: str) -> int:
    """The status of the page the sign-in ends on, and whether a session was opened."""
    fake_oauth.next_user = user
    async with http.get(f"{web.url}/auth/login") as response:
        return response.status, str(response.url)


def test_the_fake_is_a_membership_source():
    """The fake answers what the web app asks of the Discord side."""
    assert isinstance(FakeDiscordSide(), MembershipSource)


async def test_someone_sharing_no_server_with_the_bot_cannot_sign_in(start_web, fake_oauth):
    """Item 3: a Discord account in no server of the bot is refused at the callback (no session)."""
    fake_oauth.users["333"] = CAROL
    fake_oauth.guilds["333"] = [ELSEWHERE]
    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url, channels=FakeDiscordSide())
    async with client() as http:
        _, landed = await _sign_in(web, http, fake_oauth, "333")
        assert "/signin?error=not_allowed" in landed
        assert "mj_session" not in {cookie.key for cookie in http.cookie_jar}
        async with http.post(f"{web.url}/api/imagine", json={"prompt": "a fox"}) as response:
            assert response.status == 401
    async with client() as http:  # a member of a server of the bot may
        _, landed = await _sign_in(web, http, fake_oauth, "111")
        assert landed.rstrip("/") == web.url


async def test_the_allowlist_admits_a_user_without_a_shared_server(start_web, fake_oauth):
    """Item 3: WEB_ALLOWED_USERS admits a listed user who shares no server with the bot."""
    fake_oauth.users["333"] = CAROL
    fake_oauth.guilds["333"] = [ELSEWHERE]
    web = await start_web(
        DISCORD_OAUTH_BASE=fake_oauth.url, channels=FakeDiscordSide(), WEB_ALLOWED_USERS="333"
    )
    async with client() as http:
        csrf = await web.sign_in(http, fake_oauth, "333")
        async with http.post(
            f"{web.url}/api/imagine",
            json={"prompt": "a fox", "server": "555"},
            headers={"X-CSRF-Token": csrf},
        ) as response:
            assert response.status == 403  # not a server of the bot: no server's limits skipped


async def test_web_only_mode_admits_only_the_allowlist(start_web, fake_oauth):
    """Item 3: without the bot (web-only), only WEB_ALLOWED_USERS may sign in."""
    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url, WEB_ALLOWED_USERS="222")
    async with client() as http:
        _, landed = await _sign_in(web, http, fake_oauth, "111")
        assert "/signin?error=not_allowed" in landed
    async with client() as http:
        _, landed = await _sign_in(web, http, fake_oauth, "222")
        assert landed.rstrip("/") == web.url


async def test_a_member_removed_from_a_server_loses_its_gallery_and_jobs(start_web, fake_oauth, monkeypatch):
    """Item 4: membership is checked again (here at every request): a member removed from a
    server loses that server's gallery and jobs at once; a server the bot left drops too."""
    monkeypatch.setattr(membership, "REFRESH_SECONDS", 0.0)
    fake_oauth.guilds["111"] = fake_oauth.guilds["222"] = [{"id": "900", "name": "Club"}, OTHER]
    side = FakeDiscordSide()
    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url, channels=side, WEB_ALLOWED_USERS="")
    async with client() as bob:
        csrf = await web.sign_in(bob, fake_oauth, "222")
        async with bob.post(
            f"{web.url}/api/imagine",
            json={"prompt": "a fox", "server": "900"},
            headers={"X-CSRF-Token": csrf},
        ) as response:
            job_id = (await response.json())["jobs"][0]["id"]
    async with client() as alice:
        await web.sign_in(alice, fake_oauth, "111")
        for path in ("/servers/900", f"/jobs/{job_id}", f"/api/jobs/{job_id}"):
            async with alice.get(f"{web.url}{path}") as response:
                assert response.status == 200, path
        side.members.discard((111, 900))
        for path in ("/servers/900", f"/jobs/{job_id}", f"/api/jobs/{job_id}", f"/images/{job_id}/grid.png"):
            async with alice.get(f"{web.url}{path}", allow_redirects=False) as response:
                assert response.status == 404, path
        async with alice.get(f"{web.url}/servers/901") as response:
            assert response.status == 200
        side.guilds.discard(901)  # the bot left the other server: nothing shared, signed out
        async with alice.get(f"{web.url}/archive", allow_redirects=False) as response:
            assert response.status == 302 and response.headers["Location"].startswith("/signin")


async def test_channels_are_listed_only_for_the_members_servers(start_web, fake_oauth):
    """Item 6: /api/servers/{id}/channels for a server the member is not in is 403, and Discord is
    not asked (the bot's rate limit is not spent)."""
    side = FakeDiscordSide()
    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url, channels=side)
    async with client() as http:
        await web.sign_in(http, fake_oauth, "111")
        async with http.get(f"{web.url}/api/servers/123456/channels") as response:
            assert response.status == 403
        assert side.channel_lookups == []
        async with http.get(f"{web.url}/api/servers/900/channels") as response:
            assert response.status == 200
        assert side.channel_lookups == [900]


async def test_servers_come_back_when_the_bots_guild_cache_does(start_web, fake_oauth):
    """Item 4: while the bot reconnects (its guild cache empty) the servers do not count, but they
    are not forgotten: they count again as soon as the cache is back."""
    side = FakeDiscordSide()
    web = await start_web(DISCORD_OAUTH_BASE=fake_oauth.url, channels=side, WEB_ALLOWED_USERS="")
    async with client() as alice:
        await web.sign_in(alice, fake_oauth, "111")
        side.guilds = set()
        async with alice.get(f"{web.url}/servers/900", allow_redirects=False) as response:
            assert response.status == 302
        side.guilds = {900, 901}
        async with alice.get(f"{web.url}/servers/900", allow_redirects=False) as response:
            assert response.status == 200
