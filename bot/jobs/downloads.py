"""Fetching a prompt's image link (`/imagine https://... a cat`) on the event loop, with limits."""

from __future__ import annotations

import asyncio
import io
import logging
from urllib.parse import urlsplit

import aiohttp
from PIL import Image

from bot.errors import InvalidLink

log = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000
DOWNLOAD_TIMEOUT = 30.0


async def fetch_image(
    url: str, *, max_bytes: int = MAX_IMAGE_BYTES, seconds: float = DOWNLOAD_TIMEOUT
) -> Image.Image:
    """Download an http(s) image, at most `max_bytes`; raise InvalidLink naming what was wrong."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidLink(f"{url} is not an http(s) link.")
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=seconds)) as session,
            session.get(url) as response,
        ):
            if response.status != 200:
                raise InvalidLink(f"{url} answered HTTP {response.status}.")
            if (response.content_length or 0) > max_bytes:
                raise InvalidLink(f"{url} is larger than {max_bytes // (1024 * 1024)} MB.")
            data = bytearray()
            async for chunk in response.content.iter_chunked(65536):
                data.extend(chunk)
                if len(data) > max_bytes:
                    raise InvalidLink(f"{url} is larger than {max_bytes // (1024 * 1024)} MB.")
    except (TimeoutError, aiohttp.ClientError) as error:
        log.info("could not download %s: %r", url, error)
        raise InvalidLink(f"Could not download {url}.") from None
    return await asyncio.to_thread(_decode, url, bytes(data))


def _decode(url: str, data: bytes) -> Image.Image:
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise InvalidLink(f"{url} is too large an image ({image.width}x{image.height}).")
            return image.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        raise InvalidLink(f"{url} is not an image I can read.") from None
