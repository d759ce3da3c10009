"""Image links never reach the bot's own network (SSRF), and only real pictures are decoded.

A local aiohttp server on 127.0.0.1 (and ::1 when available) plays the internal service and
records every request it gets; a second one plays a public web server, reached through a stubbed
resolver and a patched `sock_connect` that routes its public address to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from PIL import Image

from bot.errors import InvalidLink
from bot.jobs.downloads import (
    INVALID_LINK_TEXT,
    ForbiddenAddress,
    LinkFetcher,
    _guarded_socket,
    decode_image,
    is_forbidden_address,
)

PUBLIC_IP = "93.184.216.34"


def png(colour: tuple[int, int, int], size: tuple[int, int] = (32, 32), fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=fmt)
    return buffer.getvalue()


@dataclass
class Server:
    port: int
    hits: list[str] = field(default_factory=list)


async def _serve(app: web.Application, hosts: list[str]) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app)
    await runner.setup()
    first = web.TCPSite(runner, hosts[0], 0)
    await first.start()
    port = first._server.sockets[0].getsockname()[1]
    for host in hosts[1:]:
        with contextlib.suppress(OSError):  # no IPv6: [::1] is still refused, just not observed
            await web.TCPSite(runner, host, port).start()
    return runner, port


@pytest.fixture
async def internal() -> AsyncIterator[Server]:
    """The internal service: /secret.png, recording every request path."""
    server = Server(0)

    async def secret(request: web.Request) -> web.Response:
        server.hits.append(request.path)
        return web.Response(body=png((1, 2, 3)), content_type="image/png")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", secret)
    runner, server.port = await _serve(app, ["127.0.0.1", "::1"])
    yield server
    await runner.cleanup()


class StubResolver(AbstractResolver):
    """Answers from a table; a list of answers is used one per lookup (DNS rebinding)."""

    def __init__(self, table: dict[str, list[list[str]]]) -> None:
        self.table = table
        self.lookups: list[str] = []

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[ResolveResult]:
        self.lookups.append(host)
        answers = self.table[host]
        addresses = answers.pop(0) if len(answers) > 1 else answers[0]
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                "proto": 0,
                "flags": 0,
            }
            for address in addresses
        ]

    async def close(self) -> None:
        pass


@pytest.fixture
async def public(internal: Server) -> AsyncIterator[Server]:
    """A 'public' web server at PUBLIC_IP:80 (really 127.0.0.1): /cat.png and redirects."""
    server = Server(0)

    async def handle(request: web.Request) -> web.StreamResponse:
        server.hits.append(request.path)
        if request.path == "/cat.png":
            return web.Response(body=png((200, 10, 10)), content_type="image/png")
        if request.path == "/to-internal":
            raise web.HTTPFound(f"http://127.0.0.1:{internal.port}/secret.png")
        if request.path == "/to-rebind":
            raise web.HTTPFound("http://rebind.example/secret.png")
        if request.path.startswith("/loop"):
            raise web.HTTPFound(f"/loop{len(server.hits)}")
        return web.Response(status=404)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner, server.port = await _serve(app, ["127.0.0.1"])
    loop = asyncio.get_running_loop()
    original = loop.sock_connect

    async def routed(sock: socket.socket, address: tuple) -> None:
        if address[0] == PUBLIC_IP:
            # The network: PUBLIC_IP:80 is routed to the public server, or to the internal one
            # when a test asks for it (to show that the checks ran on the public address).
            address = ("127.0.0.1", server.port)
        await original(sock, address)

    loop.sock_connect = routed  # type: ignore[method-assign]
    yield server
    loop.sock_connect = original  # type: ignore[method-assign]
    await runner.cleanup()


def fetcher(resolver: AbstractResolver | None = None, **kwargs) -> LinkFetcher:
    return LinkFetcher(resolver=resolver, seconds=5.0, **kwargs)


INTERNAL_FORMS = [
    "http://127.0.0.1:{port}/secret.png",
    "http://localhost:{port}/secret.png",
    "http://LOCALHOST.:{port}/secret.png",
    "http://0x7f000001:{port}/secret.png",
    "http://2130706433:{port}/secret.png",
    "http://127.1:{port}/secret.png",
    "http://[::1]:{port}/secret.png",
    "http://[::ffff:127.0.0.1]:{port}/secret.png",
    "http://[::ffff:7f00:1]:{port}/secret.png",
    "http://0.0.0.0:{port}/secret.png",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]:{port}/secret.png",
    "http://user:pw@127.0.0.1:{port}/secret.png",
]


@pytest.mark.parametrize("form", INTERNAL_FORMS)
async def test_internal_addresses_are_refused_without_a_request(internal: Server, form: str) -> None:
    """Every spelling of an internal address → the neutral Invalid link; no request arrives."""
    with pytest.raises(InvalidLink) as caught:
        await fetcher().fetch_image(form.format(port=internal.port))
    assert caught.value.message == INVALID_LINK_TEXT
    assert internal.hits == []


async def test_a_name_resolving_to_a_private_address_is_refused(internal: Server) -> None:
    """A public-looking name whose records include a private address is refused (each record)."""
    resolver = StubResolver({"mixed.example": [[PUBLIC_IP, "10.0.0.5"]], "inside.example": [["127.0.0.1"]]})
    for host in ("mixed.example", "inside.example"):
        with pytest.raises(InvalidLink):
            await fetcher(resolver).fetch_image(f"http://{host}:{internal.port}/secret.png")
    assert internal.hits == []


async def test_a_public_address_works(public: Server) -> None:
    """With the resolver stubbed to a public address, the picture is fetched and decoded."""
    resolver = StubResolver({"images.example": [[PUBLIC_IP]]})
    image = await fetcher(resolver).fetch_image("http://images.example/cat.png")
    assert image.getpixel((0, 0)) == (200, 10, 10)
    assert public.hits == ["/cat.png"]


async def test_a_redirect_to_an_internal_address_is_refused(public: Server, internal: Server) -> None:
    """Each redirect hop is checked: public → 127.0.0.1 is refused before connecting."""
    resolver = StubResolver({"images.example": [[PUBLIC_IP]]})
    with pytest.raises(InvalidLink):
        await fetcher(resolver).fetch_image("http://images.example/to-internal")
    assert public.hits == ["/to-internal"]
    assert internal.hits == []


async def test_dns_rebinding_between_hops_is_refused(public: Server, internal: Server) -> None:
    """A name that answered publicly once and privately the next time is refused the second time."""
    resolver = StubResolver({"images.example": [[PUBLIC_IP]], "rebind.example": [[PUBLIC_IP], ["127.0.0.1"]]})
    await fetcher(resolver).fetch_bytes("http://rebind.example/cat.png")  # first answer: public
    with pytest.raises(InvalidLink):
        await fetcher(resolver).fetch_bytes("http://images.example/to-rebind")
    assert internal.hits == []


async def test_redirect_loops_stop_after_a_few_hops(public: Server) -> None:
    """At most three redirects are followed."""
    resolver = StubResolver({"images.example": [[PUBLIC_IP]]})
    with pytest.raises(InvalidLink):
        await fetcher(resolver).fetch_bytes("http://images.example/loop")
    assert len(public.hits) == 4


def test_the_socket_factory_refuses_forbidden_addresses() -> None:
    """The connection-time check sees the address actually dialled."""
    with pytest.raises(ForbiddenAddress):
        _guarded_socket((socket.AF_INET, socket.SOCK_STREAM, 0, "", ("127.0.0.1", 80)))
    with pytest.raises(ForbiddenAddress):
        _guarded_socket((socket.AF_INET6, socket.SOCK_STREAM, 0, "", ("::ffff:10.1.2.3", 80, 0, 0)))
    _guarded_socket((socket.AF_INET, socket.SOCK_STREAM, 0, "", (PUBLIC_IP, 80))).close()


@pytest.mark.parametrize(
    ("address", "forbidden"),
    [
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("172.16.0.1", True),
        ("192.168.1.1", True),
        ("100.64.0.1", True),
        ("169.254.169.254", True),
        ("224.0.0.1", True),
        ("240.0.0.1", True),
        ("0.0.0.0", True),
        ("255.255.255.255", True),
        ("::1", True),
        ("::", True),
        ("fe80::1", True),
        ("fc00::1", True),
        ("ff02::1", True),
        ("::ffff:127.0.0.1", True),
        ("::ffff:169.254.169.254", True),
        ("64:ff9b::a00:1", True),
        ("2002:7f00:1::", True),
        ("not-an-ip", True),
        (PUBLIC_IP, False),
        ("2606:2800:220:1:248:1893:25c8:1946", False),
        ("::ffff:93.184.216.34", False),
    ],
)
def test_address_classes(address: str, forbidden: bool) -> None:
    """Private, loopback, link-local, multicast, reserved and unspecified, in every IPv6 wrapping."""
    assert is_forbidden_address(address) is forbidden


async def test_allow_private_links_lets_operators_use_local_links(internal: Server) -> None:
    """ALLOW_PRIVATE_LINKS=1: the local server is fetched."""
    image = await fetcher(allow_private=True).fetch_image(f"http://127.0.0.1:{internal.port}/secret.png")
    assert image.getpixel((0, 0)) == (1, 2, 3)
    assert internal.hits == ["/secret.png"]


def test_the_setting_is_read() -> None:
    """ALLOW_PRIVATE_LINKS is a documented setting, off by default."""
    from bot.config import Config

    assert Config.from_env({}).allow_private_links is False
    assert Config.from_env({"ALLOW_PRIVATE_LINKS": "1"}).allow_private_links is True


# ---- decoding -----------------------------------------------------------------------------


def _animated_gif() -> bytes:
    frames = [Image.new("RGB", (16, 16), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=50)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF"])
def test_the_four_formats_decode(fmt: str) -> None:
    """PNG, JPEG, WebP and GIF are read, whatever the link or Content-Type says."""
    assert decode_image(png((0, 200, 0), fmt=fmt)).size == (32, 32)


@pytest.mark.parametrize("fmt", ["BMP", "TIFF", "PPM", "ICO"])
def test_other_formats_are_refused(fmt: str) -> None:
    """Formats Pillow could read but we don't accept are refused from their first bytes."""
    with pytest.raises(ValueError, match="not a PNG"):
        decode_image(png((0, 200, 0), fmt=fmt))


def test_an_animation_gives_its_first_frame() -> None:
    """An animated GIF becomes its first frame."""
    assert decode_image(_animated_gif()).getpixel((0, 0)) == (255, 0, 0)


def test_a_decompression_bomb_is_refused_before_decoding() -> None:
    """A tiny file declaring a huge picture is refused from its header."""
    bomb = png((0, 0, 0), size=(5000, 5000))  # compresses to a few kB
    assert len(bomb) < 100_000
    with pytest.raises(ValueError, match="pixels"):
        decode_image(bomb)


def test_large_pictures_are_downscaled_to_the_working_size() -> None:
    """`fit` scales down to cover the model's size, keeping the aspect; never scales up."""
    assert decode_image(png((9, 9, 9), size=(4000, 2000)), fit=(1024, 1024)).size == (2048, 1024)
    assert decode_image(png((9, 9, 9), size=(4000, 2000), fmt="JPEG"), fit=(512, 512)).size == (1024, 512)
    assert decode_image(png((9, 9, 9), size=(100, 50)), fit=(1024, 1024)).size == (100, 50)
