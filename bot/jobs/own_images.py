"""Links to the web app's own pictures (`<web app>/images/<job>/<n>.png`), read from disk.

The web app's "Use as --sref", "Use as image prompt" and the images dropped on the Create page's
prompt bar put such links in prompts. Fetching them over HTTP would not work (the web app is on
loopback or a private address, which the link guard of bot/jobs/downloads.py refuses, and its
pictures need a signed-in member) and would be a detour: the picture is in our own store. So a
link whose address is the web app's (PUBLIC_URL, the address it listens on per WEB_HOST /
WEB_PORT, or the address the running web server reports; loopback names are interchangeable) and
whose path is one image of a job is read from the job's stored file instead, by the rule of who
may see a job on the web (bot/web/access.py): the member's own jobs; another member's only when
the new job is made in the same server and that job is neither stealth nor hidden. Anything else (no such job
or image, not visible, a grid) is the neutral `Invalid link`, as an unusable link is.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from bot.config import Config
from bot.errors import InvalidLink
from bot.jobs.downloads import INVALID_LINK_TEXT
from bot.jobs.models import JobStatus
from bot.jobs.ports import JobRecords

__all__ = ["IMAGE_PATH", "OwnImages", "origin_of"]

log = logging.getLogger(__name__)

IMAGE_PATH = re.compile(r"^/images/(?P<job>[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12})/(?P<n>\d{1,2})\.png$")
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0", "::"})  # as one
DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int]


def origin_of(url: str) -> Origin | None:
    """(scheme, host, port) of an http(s) URL, loopback names as one; None if it is not one."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".").lower()
    if scheme not in DEFAULT_PORTS or not host:
        return None
    if host in LOOPBACK:
        host = "loopback"
    return scheme, host, port or DEFAULT_PORTS[scheme]


def config_origins(config: Config) -> set[Origin]:
    """The web app's addresses by the settings: PUBLIC_URL and http://WEB_HOST:WEB_PORT."""
    host = "127.0.0.1" if config.web_host in ("", "0.0.0.0", "::") else config.web_host
    urls = [f"http://{host}:{config.web_port}"] + ([config.public_url] if config.public_url else [])
    return {origin for origin in map(origin_of, urls) if origin is not None}


class OwnImages:
    """Recognises links to the web app's pictures and reads them for the member who may see them."""

    def __init__(self, settings: Callable[[], Config], repository: JobRecords) -> None:
        self._settings = settings
        self._repository = repository
        self._origins: set[Origin] = set()  # added by the running web server (its real port)

    def add_origin(self, url: str) -> None:
        """Another address the web app answers on (the web server registers its own on start)."""
        origin = origin_of(url)
        if origin is not None:
            self._origins.add(origin)

    def target(self, url: str) -> tuple[str, int] | None:
        """(job id, image index) when `url` is one of our pictures, else None."""
        origin = origin_of(url)
        if origin is None or origin not in self._origins | config_origins(self._settings()):
            return None
        match = IMAGE_PATH.match(urlsplit(url.strip()).path)
        return (match.group("job"), int(match.group("n"))) if match else None

    def reader(self, url: str, user_id: int, guild_id: int | None) -> Callable[[], Awaitable[bytes]] | None:
        """None for a link that is not ours (it is downloaded); else what reads its bytes for this
        member and this server, raising InvalidLink when they may not see it."""
        target = self.target(url)
        if target is None:
            return None
        job_id, index = target

        async def read() -> bytes:
            job = await self._repository.get_job(job_id)
            image = await self._repository.get_image(job_id, index) if job is not None else None
            if job is None or image is None or job.status is not JobStatus.DONE:
                log.info("own image link %s: no such image", url)
                raise InvalidLink(INVALID_LINK_TEXT)
            if not await self._may_see(job.user_id, job.guild_id, job.meta, user_id, guild_id) or (
                job.user_id != user_id and self._blocked(job.meta, index)
            ):
                log.info("own image link %s: not visible to %s in %s", url, user_id, guild_id)
                raise InvalidLink(INVALID_LINK_TEXT)
            try:
                return await asyncio.to_thread(image.path.read_bytes)
            except OSError as error:
                log.info("own image link %s: %s", url, error)
                raise InvalidLink(INVALID_LINK_TEXT) from None

        return read

    def _blocked(self, meta: dict, index: int) -> bool:
        """Under NSFW_FILTER=block nobody but the owner gets a flagged picture (bot/web/screened.py
        serves it blanked), so nobody else may use it as a reference either. Flagged as
        NsfwPolicy.flagged reads it (governance, above this layer): the stored verdict, else
        NSFW_NO_VERDICT's answer."""
        settings = self._settings()
        if settings.nsfw_filter != "block":
            return False
        verdicts = meta.get("nsfw")
        if isinstance(verdicts, list) and index < len(verdicts):
            return bool(verdicts[index])
        return settings.nsfw_no_verdict == "flag"

    async def _may_see(
        self, owner: int, job_guild: int | None, meta: dict, user_id: int, guild_id: int | None
    ) -> bool:
        if owner == user_id:
            return True
        if job_guild is None or job_guild != guild_id or meta.get("stealth") or meta.get("hidden"):
            return False
        return not await self._repository.is_stealth(owner)
