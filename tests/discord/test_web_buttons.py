"""The web app's buttons in Discord: `Web ↗` links to the job page (with PUBLIC_URL), ❤️ toggles a
favourite seen on the web, a used U button keeps the link, and /stealth, /public switch modes."""

from __future__ import annotations

import asyncio
import dataclasses

import discord

from bot.web.links import WebAddresses, job_url
from tests.discord.helpers import button, is_result


def _link(message: discord.Message) -> discord.Button | None:
    return next(
        (child for row in message.components for child in row.children if getattr(child, "url", None)), None
    )


async def test_web_link_and_favourite_button(world):
    """With PUBLIC_URL the grid and Image #n carry `Web ↗`; ❤️ on Image #2 toggles alice's favourite."""
    world.front.settings = dataclasses.replace(world.settings, public_url="https://mj.example.org")
    world.front.pages = WebAddresses(world.front.settings)
    await world.alice.slash(world.channel, "imagine", prompt="a red fox")
    grid = await world.wait_for(is_result)
    job = await world.job_of(grid)
    link = _link(grid)
    assert link is not None and link.label == "Web ↗" and link.url == job_url(world.front.settings, job.id)
    await world.alice.click(grid, label="U2")
    single = await world.wait_for(lambda m: "Image #2" in m.content, after=grid.id)
    updated = next(m for m in world.messages() if m.id == grid.id)
    assert _link(updated) is not None  # the green U2 edit kept the link
    assert _link(single).url.endswith(f"/jobs/{job.id}")
    heart = button(single, emoji="❤️")
    await world.alice.click(single, custom_id=heart.custom_id)
    assert await world.service.repository.favourite_indexes(world.alice.id, job.id) == {1}
    await world.alice.click(single, custom_id=heart.custom_id)
    assert await world.service.repository.favourite_indexes(world.alice.id, job.id) == set()


async def test_no_web_link_without_public_url(world):
    """Without PUBLIC_URL there is no `Web ↗` button (the web app may not be reachable)."""
    await world.alice.slash(world.channel, "imagine", prompt="a red fox")
    grid = await world.wait_for(is_result)
    assert _link(grid) is None


async def test_stealth_and_public(world):
    """/stealth marks the member's next jobs stealth; /public turns it off."""
    await world.alice.slash(world.channel, "stealth")
    assert await world.service.repository.is_stealth(world.alice.id)
    await world.alice.slash(world.channel, "imagine", prompt="a hidden fox")
    job = await world.job_of(await world.wait_for(is_result))
    assert job.meta.get("stealth") is True
    assert await world.service.repository.gallery(world.guild.id) == []
    await world.alice.slash(world.channel, "public")
    assert not await world.service.repository.is_stealth(world.alice.id)
    assert await world.service.repository.gallery(world.guild.id) == []  # made in stealth: stays hidden


async def test_the_same_prompt_on_the_web_and_in_imagine_stores_the_same_request(world):
    """One admission path: alice's /imagine and her web prompt bar store identical requests."""
    import aiohttp

    from bot.web.app import WebServer
    from bot.web.context import WebContext
    from bot.web.sessions import LocalUser

    await world.service.repository.update_user_settings(world.alice.id, suffix="--s 250", stylize=50)
    prompt = "a lighthouse at dusk --ar 3:2 --seed 42 --no fog"
    await world.alice.slash(world.channel, "imagine", prompt=prompt)
    discord_job = await world.job_of(await world.wait_for(is_result))
    context = WebContext.create(world.settings, world.service, local_user=LocalUser(world.alice.id, "alice"))
    server = WebServer(context, host="127.0.0.1", port=0)
    url = await server.start()
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.get(f"{url}/") as response:
                page = await response.text()
            csrf = page.split('name="csrf" content="', 1)[1].split('"', 1)[0]
            async with http.post(
                f"{url}/api/imagine", json={"prompt": prompt}, headers={"X-CSRF-Token": csrf}
            ) as response:
                web_id = (await response.json())["jobs"][0]["id"]
    finally:
        await server.stop()
    web_job = await world.service.get_job(web_id)
    assert web_job.request == discord_job.request
    assert web_job.prompt == discord_job.prompt and web_job.user_id == discord_job.user_id


async def test_a_web_job_is_posted_to_a_channel_the_member_may_post_in(world):
    """The web lists only channels where alice may post; posting there shows the grid with its
    buttons; a channel closed to her is refused (403) and nothing is posted."""
    import aiohttp

    from bot.discord.web_posting import DiscordPoster
    from bot.web.app import WebServer
    from bot.web.context import WebContext
    from bot.web.sessions import LocalUser

    closed = world.guild.create_text_channel(
        "mods-only", overwrites={world.alice: discord.PermissionOverwrite(send_messages=False)}
    )
    context = WebContext.create(
        world.settings,
        world.service,
        local_user=LocalUser(world.alice.id, "alice"),
        channels=DiscordPoster(world.env.bot),
    )
    server = WebServer(context, host="127.0.0.1", port=0)
    url = await server.start()
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.get(f"{url}/") as response:
                csrf = (await response.text()).split('name="csrf" content="', 1)[1].split('"', 1)[0]
            headers = {"X-CSRF-Token": csrf}
            async with http.post(
                f"{url}/api/imagine", json={"prompt": "a red fox"}, headers=headers
            ) as response:
                job_id = (await response.json())["jobs"][0]["id"]
            # (subscribe() is simcord's to watch here: poll instead)
            while not (await world.service.get_job(job_id)).status.is_terminal:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            async with http.get(f"{url}/api/servers/{world.guild.id}/channels") as response:
                listed = {item["id"] for item in (await response.json())["channels"]}
            assert str(world.channel.id) in listed and str(closed.id) not in listed
            async with http.post(
                f"{url}/api/jobs/{job_id}/post", json={"channel": str(closed.id)}, headers=headers
            ) as r:
                assert r.status == 403
            async with http.post(
                f"{url}/api/jobs/{job_id}/post", json={"channel": str(world.channel.id)}, headers=headers
            ) as response:
                assert response.status == 200, await response.text()
    finally:
        await server.stop()
    posted = await world.wait_for(is_result)
    assert (await world.job_of(posted)).id == job_id
    assert closed.history() == []


async def test_the_web_asks_the_bot_who_may_sign_in(world):
    """Issue 19 items 3-4: the bot tells the web app its servers and whether someone is still a
    member (a stranger is not)."""
    from bot.discord.web_posting import DiscordPoster
    from bot.web.membership import MembershipSource

    poster = DiscordPoster(world.env.bot)
    assert isinstance(poster, MembershipSource)
    assert world.guild.id in poster.bot_guild_ids()
    assert await poster.is_member(world.alice.id, world.guild.id) is True
    assert await poster.is_member(4242424242, world.guild.id) is False
    assert await poster.is_member(world.alice.id, 999999) is False
