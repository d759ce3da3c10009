"""A prompt's image link, fetched ONCE for all the jobs the prompt makes.

`/imagine https://x/big.png a cat --repeat 5` makes five jobs from one link. `ImageLinks.prepare`
downloads and decodes the link once (decoding in a thread, under a concurrency limit, so a burst
of huge pictures can neither block the event loop nor hold many decoded pictures in memory at
once), scales it down to the model's working size and encodes it as a small PNG. The resulting
`PromptImage` goes to every job of the prompt (`NewJob.input_image`); the first job writes
`input.png`, later ones hard-link that file, so the picture is stored once on disk too.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TypeVar

from PIL import Image

from bot.errors import InvalidLink
from bot.jobs.downloads import INVALID_LINK_TEXT, MAX_IMAGE_PIXELS, LinkFetcher, decode_image
from bot.jobs.files import write_atomically

__all__ = ["DECODE_CONCURRENCY", "UPLOAD_FIT", "ImageLinks", "PromptImage", "PromptImages"]

log = logging.getLogger(__name__)

T = TypeVar("T")

# Uploads (/blend, /describe) are scaled down to cover this size, as references from links are.
UPLOAD_FIT = (1024, 1024)
# Pictures decoded at the same time. One 4096² RGBA picture is 64 MiB decoded (plus its RGB
# copy), so this bounds the memory image links can take whatever the number of members.
DECODE_CONCURRENCY = 1
DOWNLOAD_CONCURRENCY = 4


@dataclass
class PromptImage:
    """One prompt's input picture, downscaled and PNG-encoded, shared by all its jobs."""

    url: str
    png: bytes
    size: tuple[int, int]
    _stored: Path | None = field(default=None, repr=False)

    def store(self, path: Path) -> Path:
        """Put the picture at `path`: a hard link to the first stored copy when possible."""
        path.parent.mkdir(parents=True, exist_ok=True)
        if self._stored is not None and self._stored.exists():
            try:
                path.unlink(missing_ok=True)
                os.link(self._stored, path)
                return path
            except OSError:
                pass  # another file system, or links not allowed: write a copy
        write_atomically(path, self.png)
        self._stored = path
        return path

    def open(self) -> Image.Image:
        with Image.open(io.BytesIO(self.png)) as image:
            return image.convert("RGB")


class ImageLinks:
    """Prepares prompt image links: one download and one decode each, concurrency-limited."""

    def __init__(
        self,
        fetcher: LinkFetcher,
        *,
        decode_concurrency: int = DECODE_CONCURRENCY,
        download_concurrency: int = DOWNLOAD_CONCURRENCY,
        max_pixels: int = MAX_IMAGE_PIXELS,
    ) -> None:
        self.fetcher = fetcher
        self.max_pixels = max_pixels
        self._decoding = asyncio.Semaphore(decode_concurrency)
        # Decoding threads of their own (as many as may decode at once), not the loop's shared
        # pool: each thread's malloc arena keeps what a 20 MB picture needed, so spreading
        # decodes over many threads multiplied the resident memory (+138 → see benchmarks).
        self._decoder = ThreadPoolExecutor(decode_concurrency, thread_name_prefix="decode")
        self._downloading = asyncio.Semaphore(download_concurrency)
        self.downloads = 0  # links fetched since start (for tests and logs)

    async def _in_decoder(self, function: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._decoder, function, *args)

    async def decode_upload(
        self, name: str, data: bytes | IO[bytes], fit: tuple[int, int] = UPLOAD_FIT
    ) -> Image.Image:
        """An uploaded picture (a web form's file, a Discord attachment) decoded by the rules of
        links: in a thread, one at a time, refused above the pixel limit, scaled down to cover
        `fit`. `data` may be a file (a spooled web upload): it is read inside the decoding slot,
        so at most one upload's bytes are in memory at once. Raises InvalidLink."""
        async with self._decoding:
            return await self._in_decoder(_decode_upload, name, data, fit, self.max_pixels)

    async def read_upload(
        self, name: str, read: Callable[[], Awaitable[bytes]], fit: tuple[int, int] = UPLOAD_FIT
    ) -> Image.Image:
        """`read()` the picture's bytes (a Discord attachment) under the download limit, and decode
        it before the slot is freed: at most DOWNLOAD_CONCURRENCY uploads' bytes are held at once,
        however many members /blend together. Raises InvalidLink."""
        async with self._downloading:
            data = await read()
            try:
                return await self.decode_upload(name, data, fit)
            finally:
                del data

    async def prepare(
        self, url: str, fit: tuple[int, int], read: Callable[[], Awaitable[bytes]] | None = None
    ) -> PromptImage:
        """Fetch `url` (or `read()` it: a link to our own web app's picture, bot/jobs/own_images.py),
        decode it in a thread, scale it down to cover `fit`; InvalidLink if unusable."""
        async with self._downloading:
            if read is None:
                self.downloads += 1
                data = await self.fetcher.fetch_bytes(url)
            else:
                data = await read()
        async with self._decoding:
            try:
                png, size = await self._in_decoder(_downscaled_png, data, fit, self.max_pixels)
            except (OSError, ValueError, Image.DecompressionBombError, EOFError) as error:
                log.info("refused image link %s: %s", url, error)
                raise InvalidLink(INVALID_LINK_TEXT) from None
            finally:
                del data
        return PromptImage(url, png, size)


def _decode_upload(name: str, data: bytes | IO[bytes], fit: tuple[int, int], max_pixels: int) -> Image.Image:
    raw = data if isinstance(data, bytes) else data.read()
    try:
        return decode_image(raw, max_pixels=max_pixels, fit=fit)
    except (OSError, ValueError, Image.DecompressionBombError, EOFError) as error:
        log.info("refused picture %s: %s", name, error)
        raise InvalidLink(INVALID_LINK_TEXT) from None


def _downscaled_png(data: bytes, fit: tuple[int, int], max_pixels: int) -> tuple[bytes, tuple[int, int]]:
    picture = decode_image(data, max_pixels=max_pixels, fit=fit)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue(), picture.size


class PromptImages:
    """The image links of ONE prompt: each (link, working size) is prepared once, however many
    jobs (`--repeat`, permutations) the prompt makes. Make one per prompt, give it to each of
    its jobs (`NewJob.prompt_images`, done by `Admission.imagine_jobs`), then drop it. The job
    service fetches through it with its own `ImageLinks` (limits and ALLOW_PRIVATE_LINKS)."""

    def __init__(self) -> None:
        self._prepared: dict[tuple[str, int, int], PromptImage] = {}
        self._lock = asyncio.Lock()

    async def get(
        self,
        url: str,
        fit: tuple[int, int],
        links: ImageLinks,
        read: Callable[[], Awaitable[bytes]] | None = None,
    ) -> PromptImage:
        """The link prepared at `fit` (downloaded, or `read()`, the first time only). Raises
        InvalidLink."""
        key = (url, fit[0], fit[1])
        async with self._lock:  # two jobs of one prompt asking at once still fetch once
            if key not in self._prepared:
                self._prepared[key] = await links.prepare(url, fit, read)
        return self._prepared[key]

    def cached(self, url: str, fit: tuple[int, int]) -> PromptImage | None:
        """The link prepared at `fit`, if it was."""
        return self._prepared.get((url, fit[0], fit[1]))
