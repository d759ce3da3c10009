"""Fetching a prompt's image link (`/imagine https://... a cat`), safely.

A link is a request the bot makes on a member's behalf, so it must never reach the bot's own
network (server-side request forgery):

1. Only http(s) links, at most `MAX_REDIRECTS` redirects, each hop checked again.
2. Every host name is resolved by `GuardedResolver`: if any A/AAAA record is loopback, private,
   link-local, multicast, reserved or unspecified (IPv4-mapped / NAT64 IPv6 included), the link
   is refused. aiohttp connects only to the addresses the resolver returned.
3. The socket factory checks the address of the connection actually being made (this covers
   IP literals, which aiohttp never resolves, and any address a later lookup could change).
4. No proxy from the environment, no DNS cache (a cached answer would skip step 2's check).

Whatever goes wrong, the member sees one neutral `Invalid link` text (the reason is logged for
the operator), so the bot cannot be used to map internal ports and paths. `allow_private=True`
(setting ALLOW_PRIVATE_LINKS) lifts the address checks for operators who need local links.

Decoding is sniffed from the bytes (PNG, JPEG, WebP, GIF only), refused above `MAX_IMAGE_PIXELS`
before any pixel is decoded (decompression bombs), takes the first frame of an animation and
runs in a thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import io
import ipaddress
import logging
import socket
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from PIL import Image
from yarl import URL

from bot.errors import InvalidLink

__all__ = [
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_PIXELS",
    "ForbiddenAddress",
    "GuardedResolver",
    "LinkFetcher",
    "decode_image",
    "decode_or_refuse",
    "fetch_image",
    "is_forbidden_address",
    "sniff_format",
]

log = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 20 * 1024 * 1024
# 4096 × 4096: a decoded RGBA picture of this size is 64 MiB; larger ones are refused unread.
MAX_IMAGE_PIXELS = 4096 * 4096
# Modes whose pixels can be averaged (not palette indices): `Image.reduce` before converting.
REDUCIBLE_MODES = ("RGB", "RGBA", "L", "LA")
DOWNLOAD_TIMEOUT = 30.0
MAX_REDIRECTS = 3
INVALID_LINK_TEXT = (
    "That link can't be used as an image. Use a public http(s) link to a PNG, JPEG, WebP or GIF."
)

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_FORMATS = ("PNG", "JPEG", "WEBP", "GIF")


class ForbiddenAddress(OSError):
    """A link resolved to (or connected to) an address the bot must not reach."""


def is_forbidden_address(address: str) -> bool:
    """True for loopback, private, link-local, multicast, reserved, unspecified or non-global
    addresses, looking through IPv4-mapped, NAT64 and 6to4 IPv6 forms; unparsable → True."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d dials a.b.c.d
            return is_forbidden_address(str(ip.ipv4_mapped))
        if ip in _NAT64:
            return is_forbidden_address(str(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)))
        if ip.sixtofour is not None and is_forbidden_address(str(ip.sixtofour)):
            return True
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


class GuardedResolver(AbstractResolver):
    """Resolves with `inner` and refuses a host if ANY of its records is a forbidden address."""

    def __init__(self, inner: AbstractResolver | None = None) -> None:
        self._inner = inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if self._inner is None:
            self._inner = ThreadedResolver()
        records = await self._inner.resolve(host, port, family)
        bad = [record["host"] for record in records if is_forbidden_address(record["host"])]
        if bad or not records:
            raise ForbiddenAddress(f"{host} resolves to a forbidden address {bad}")
        return records

    async def close(self) -> None:
        if self._inner is not None:
            await self._inner.close()


def _guarded_socket(addr_info: Any) -> socket.socket:
    """aiohttp's socket factory: the last check, on the address the socket will connect to."""
    family, kind, proto, _, address = addr_info
    if is_forbidden_address(address[0]):
        raise ForbiddenAddress(f"connection to forbidden address {address[0]}")
    sock = socket.socket(family=family, type=kind, proto=proto)
    sock.setblocking(False)
    return sock


def sniff_format(data: bytes) -> str | None:
    """ "PNG" / "JPEG" / "WEBP" / "GIF" from the first bytes, else None (the header decides, not
    the URL or the Content-Type)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    return None


def decode_image(
    data: bytes, *, max_pixels: int = MAX_IMAGE_PIXELS, fit: tuple[int, int] | None = None
) -> Image.Image:
    """Decode a PNG/JPEG/WebP/GIF (first frame) to RGB; raise ValueError for anything else or
    more than `max_pixels`. With `fit=(w, h)` the result is scaled down (never up), keeping its
    aspect, to the smallest size that still covers w × h — the model's working size."""
    kind = sniff_format(data)
    if kind is None:
        raise ValueError("not a PNG, JPEG, WebP or GIF")
    with Image.open(io.BytesIO(data), formats=[kind]) as image:
        width, height = image.size  # from the header: nothing decoded yet
        if width * height > max_pixels or width < 1 or height < 1:
            raise ValueError(f"{width}x{height} is more than {max_pixels} pixels")
        scale = 1.0 if fit is None else min(1.0, max(fit[0] / width, fit[1] / height))
        target = (max(1, round(width * scale)), max(1, round(height * scale)))
        if kind == "JPEG" and scale < 1.0:
            image.draft("RGB", target)  # decode at 1/2, 1/4 or 1/8 size directly
        image.seek(0)
        factor = min(image.width // target[0], image.height // target[1])
        if factor >= 2 and image.mode in REDUCIBLE_MODES:
            # Box-average by a whole factor first: the full-size picture is not copied again
            # (a 2600² upload peaks at ≈ 30 MiB instead of ≈ 66 MiB), and Lanczos finishes.
            picture = image.reduce(factor).convert("RGB")
        else:
            picture = image.convert("RGB")
    if picture.size != target:
        picture = picture.resize(target, Image.Resampling.LANCZOS)
    return picture


def decode_or_refuse(name: str, data: bytes, *, fit: tuple[int, int] | None = None) -> Image.Image:
    """`decode_image` for a picture that did not come through a link (an upload): InvalidLink
    (the neutral text) when it is not a usable picture. Blocking: run in a thread."""
    try:
        return decode_image(data, fit=fit)
    except (OSError, ValueError, Image.DecompressionBombError, EOFError) as error:
        log.info("refused picture %s: %s", name, error)
        raise InvalidLink(INVALID_LINK_TEXT) from None


@dataclass(frozen=True)
class LinkFetcher:
    """Downloads image links under the SSRF rules above. `allow_private` = ALLOW_PRIVATE_LINKS."""

    allow_private: bool = False
    max_bytes: int = MAX_IMAGE_BYTES
    seconds: float = DOWNLOAD_TIMEOUT
    max_redirects: int = MAX_REDIRECTS
    resolver: AbstractResolver | None = None  # the name lookup under the guard (tests stub it)

    async def fetch_bytes(self, url: str) -> bytes:
        """The body of `url`; raise InvalidLink (one neutral text) for any problem."""
        try:
            return await self._fetch(url)
        except (InvalidLink, TimeoutError, aiohttp.ClientError, OSError, ValueError) as error:
            log.info("refused image link %s: %s", url, error)
            raise InvalidLink(INVALID_LINK_TEXT) from None

    def _session(self) -> aiohttp.ClientSession:
        if self.allow_private:
            connector = aiohttp.TCPConnector(resolver=self.resolver, use_dns_cache=False)
        else:
            connector = aiohttp.TCPConnector(
                resolver=GuardedResolver(self.resolver),
                use_dns_cache=False,
                socket_factory=_guarded_socket,
            )
        return aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=self.seconds), trust_env=False
        )

    async def _fetch(self, url: str) -> bytes:
        target = URL(url)
        async with self._session() as session:
            for _ in range(self.max_redirects + 1):
                self._check_url(target)
                async with session.get(target, allow_redirects=False) as response:
                    if response.status in (301, 302, 303, 307, 308):
                        location = response.headers.get("Location")
                        if not location:
                            raise ValueError(f"redirect {response.status} without a Location")
                        target = target.join(URL(location))
                        continue
                    if response.status != 200:
                        raise ValueError(f"HTTP {response.status}")
                    return await self._read(response)
        raise ValueError(f"more than {self.max_redirects} redirects")

    def _check_url(self, target: URL) -> None:
        if target.scheme not in ("http", "https") or not target.host:
            raise ValueError(f"{target.scheme!r} link without a host or not http(s)")
        if target.user or target.password:
            raise ValueError("credentials in the link")
        if self.allow_private:
            return
        host = target.host.strip("[]").rstrip(".").lower()
        if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
            raise ValueError(f"local host name {host}")
        try:
            ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return  # a name: GuardedResolver checks what it resolves to
        if is_forbidden_address(host):
            raise ValueError(f"forbidden address {host}")

    async def _read(self, response: aiohttp.ClientResponse) -> bytes:
        if (response.content_length or 0) > self.max_bytes:
            raise ValueError(f"Content-Length {response.content_length} over {self.max_bytes}")
        data = bytearray()
        async for chunk in response.content.iter_chunked(65536):
            data.extend(chunk)
            if len(data) > self.max_bytes:
                raise ValueError(f"body over {self.max_bytes} bytes")
        return bytes(data)

    async def fetch_image(
        self, url: str, *, fit: tuple[int, int] | None = None, max_pixels: int = MAX_IMAGE_PIXELS
    ) -> Image.Image:
        """Download and decode (in a thread) one image link; InvalidLink for any problem."""
        data = await self.fetch_bytes(url)
        try:
            return await asyncio.to_thread(decode_image, data, max_pixels=max_pixels, fit=fit)
        except (OSError, ValueError, Image.DecompressionBombError, EOFError) as error:
            log.info("refused image link %s: %s", url, error)
            raise InvalidLink(INVALID_LINK_TEXT) from None


async def fetch_image(
    url: str,
    *,
    allow_private: bool = False,
    max_bytes: int = MAX_IMAGE_BYTES,
    seconds: float = DOWNLOAD_TIMEOUT,
    fit: tuple[int, int] | None = None,
) -> Image.Image:
    """Download and decode one image link (see `LinkFetcher`); raise InvalidLink if unusable."""
    fetcher = LinkFetcher(allow_private=allow_private, max_bytes=max_bytes, seconds=seconds)
    return await fetcher.fetch_image(url, fit=fit)
