"""/imagine with an image link: internal links refused, a link fetched once per prompt."""

from __future__ import annotations

import io

import pytest
from aiohttp import web
from PIL import Image

from bot.jobs.downloads import LinkFetcher
from bot.jobs.prompt_images import ImageLinks
from tests.discord.helpers import is_result


@pytest.fixture
async def picture_server():
    """http://127.0.0.1:<port>/cat.png, counting requests."""
    hits: list[str] = []
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), (200, 10, 10)).save(buffer, format="PNG")

    async def cat(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(body=buffer.getvalue(), content_type="image/png")

    app = web.Application()
    app.router.add_get("/cat.png", cat)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/cat.png", hits
    await runner.cleanup()


async def test_an_internal_link_is_an_invalid_link_and_never_fetched(world, picture_server):
    """A link to the bot's own network: ephemeral `Invalid link`, no request, no job."""
    url, hits = picture_server
    result = await world.alice.slash(world.channel, "imagine", prompt=f"{url} a cat")
    assert [embed.title for embed in result.response.embeds] == ["Invalid link"]
    assert hits == []
    assert world.messages() == []


async def test_a_link_is_fetched_once_for_all_the_jobs_of_a_prompt(world, picture_server):
    """`--repeat 3` with a link (private links allowed here): one download, three grids."""
    url, hits = picture_server
    world.service.image_links = ImageLinks(LinkFetcher(allow_private=True))
    await world.alice.slash(world.channel, "imagine", prompt=f"{url} a cat --repeat 3")
    await world.wait_until(lambda: len([m for m in world.messages() if is_result(m)]) == 3)
    assert hits == ["/cat.png"]
